/**
 * The checks behind `steward policy validate`, reporting as much as one pass can: YAML syntax
 * errors with their line and column, structural problems in the product's words rather than
 * the schema library's, and the cross-field rules even while structural problems remain (they
 * run on a copy where each broken field is replaced by the bundled policy's value, so a typo
 * in one place does not hide a wrong reference in another).
 */
import { readFileSync } from "node:fs";
import YAML from "yaml";
import type { z } from "zod";
import {
  DEFAULT_POLICY_PATH,
  estatePolicySchema,
  type EstatePolicy,
  type PolicyProblem,
} from "../../shared/policy/index.js";
import { crossFieldProblems, valueAt } from "../../shared/policy/load.js";
import { UsageError } from "../io.js";

export interface PolicyCheck {
  problems: PolicyProblem[];
  policy?: EstatePolicy;
}

type Issue = z.core.$ZodIssue;

/** A schema issue as a rule a policy author reads; the schema's own messages are kept. */
export function ruleInWords(issue: Issue, value: unknown): string {
  const own = !/^(Invalid|Too (small|big)|Unrecognized key)/.test(issue.message);
  if (own) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      if (value === undefined) return "is required";
      return `must be ${article(issue.expected)}, not ${kindOf(value)}`;
    case "too_small":
      if (issue.origin === "string")
        return Number(issue.minimum) <= 1
          ? "must not be empty"
          : `must have at least ${issue.minimum} characters`;
      if (issue.origin === "array" || issue.origin === "set")
        return `needs at least ${issue.minimum} item${Number(issue.minimum) === 1 ? "" : "s"}`;
      return `must be at least ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "string") return `must have at most ${issue.maximum} characters`;
      if (issue.origin === "array" || issue.origin === "set")
        return `may have at most ${issue.maximum} items`;
      return `must be at most ${issue.maximum}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_format":
      return "pattern" in issue && issue.pattern
        ? `must match ${issue.pattern}`
        : `must be a valid ${issue.format}`;
    case "unrecognized_keys":
      return "is not a field of the estate policy (check its spelling; steward policy show lists the fields in use)";
    case "invalid_union":
      return "has none of the accepted shapes";
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    default:
      return issue.message;
  }
}

function article(type: string): string {
  const word = type === "int" ? "whole number" : type;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v === "number" ? "a number" : typeof v === "string" ? "text" : `a ${typeof v}`}`;
}

function pathText(keys: readonly PropertyKey[]): string {
  return keys.map((k, i) => (typeof k === "number" ? `[${k}]` : `${i ? "." : ""}${String(k)}`)).join("");
}

function structural(input: unknown, issues: readonly Issue[]): PolicyProblem[] {
  return issues.flatMap((issue) => {
    const keys = issue.path as PropertyKey[];
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((k) => {
        const value = valueAt(input, [...keys, k]);
        return { path: pathText([...keys, k]), value, rule: ruleInWords(issue, value) };
      });
    const value = valueAt(input, keys);
    return [{ path: pathText(keys), value, rule: ruleInWords(issue, value) }];
  });
}

/** Replaces (or removes) the value at `keys` in a deep copy; the default policy's value when it has one. */
function repaired(doc: unknown, issues: readonly Issue[], fallback: unknown): unknown {
  const copy = structuredClone(doc) as Record<PropertyKey, unknown>;
  for (const issue of issues) {
    const keys = [...(issue.path as PropertyKey[])];
    if (issue.code === "unrecognized_keys") {
      const parent = valueAt(copy, keys) as Record<string, unknown> | undefined;
      if (parent && typeof parent === "object") for (const k of issue.keys) delete parent[k];
      continue;
    }
    if (keys.length === 0) return undefined;
    const last = keys.pop()!;
    const parent = valueAt(copy, keys) as Record<PropertyKey, unknown> | undefined;
    if (!parent || typeof parent !== "object") return undefined;
    const good = valueAt(fallback, [...keys, last]);
    if (good !== undefined) parent[last] = structuredClone(good);
    else if (Array.isArray(parent) && typeof last === "number") return undefined;
    else delete parent[last];
  }
  return copy;
}

let defaultDoc: unknown;
function bundledPolicyDoc(): unknown {
  defaultDoc ??= YAML.parse(readFileSync(DEFAULT_POLICY_PATH, "utf8"));
  return defaultDoc;
}

/** Every problem of a policy document found in one pass. */
export function checkPolicyDocument(doc: unknown): PolicyCheck {
  const parsed = estatePolicySchema.safeParse(doc);
  if (parsed.success) return { problems: crossFieldProblems(parsed.data), policy: parsed.data };
  const problems = structural(doc, parsed.error.issues);
  // Cross-field rules need a well-formed policy: repair a copy a few times, then check it.
  let copy: unknown = doc;
  let issues: readonly Issue[] = parsed.error.issues;
  for (let round = 0; round < 4 && copy !== undefined; round++) {
    copy = repaired(copy, issues, bundledPolicyDoc());
    const again = estatePolicySchema.safeParse(copy);
    if (again.success) {
      const broken = problems.map((p) => p.path);
      // A rule about a field that was replaced speaks of the bundled value: leave it out.
      const related = (path: string) =>
        broken.some((b) => b && (path === b || path.startsWith(`${b}.`) || path.startsWith(`${b}[`)));
      problems.push(...crossFieldProblems(again.data).filter((p) => !related(p.path)));
      break;
    }
    issues = again.error.issues;
  }
  return { problems };
}

/** Reads and checks a policy file (YAML or JSON). Throws UsageError when it cannot be read. */
export function checkPolicyFile(file: string): PolicyCheck {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  if (file.endsWith(".json")) {
    try {
      return checkPolicyDocument(JSON.parse(text));
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      return { problems: [{ path: "(file)", value: undefined, rule: `not valid JSON: ${e.message}` }] };
    }
  }
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    const lines = text.split(/\r?\n/);
    return {
      problems: doc.errors.map((err) => {
        const pos = err.linePos?.[0] ?? (err.pos ? lineCounter.linePos(err.pos[0]) : undefined);
        const where = pos ? `line ${pos.line}, column ${pos.col}` : "(file)";
        const source = pos ? lines[pos.line - 1]?.trim() : undefined;
        // The library's message repeats the line with a caret under it: keep its first sentence.
        const first = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
        return { path: where, value: source, rule: `YAML syntax: ${first}` };
      }),
    };
  }
  return checkPolicyDocument(doc.toJS());
}
