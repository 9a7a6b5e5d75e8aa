/** One thing wrong with a policy: where (a dotted path), the value found there and the rule it breaks. */
export interface PolicyProblem {
  path: string;
  value: unknown;
  rule: string;
}
