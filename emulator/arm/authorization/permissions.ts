/**
 * Whether a role definition's permissions allow an action. Azure grants an action through a
 * role when some `actions` entry matches it and no `notActions` entry of the same role does
 * (`dataActions`/`notDataActions` likewise for data-plane actions); notActions subtract from
 * that one role only, never from another role the principal also holds.
 */

const patterns = new Map<string, RegExp>();

/**
 * Azure's wildcard match: `*` stands for any run of characters, nothing else is special.
 * Each pattern is turned into a regular expression once, since every request tests every
 * pattern of every role the caller holds.
 */
export function wildcardMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const key = `${ignoreCase ? "i" : "c"}${pattern}`;
  let re = patterns.get(key);
  if (!re) {
    const literal = pattern.split("*").map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, "\\$&"));
    re = new RegExp(`^${literal.join(".*")}$`, ignoreCase ? "i" : "");
    patterns.set(key, re);
  }
  return re.test(value);
}

/** Whether an action pattern of a role (or of ActionMatches) covers an action; case is ignored. */
export function actionPatternMatches(pattern: string, action: string): boolean {
  return wildcardMatches(pattern, action, true);
}

export interface RolePermissions {
  actions: readonly string[];
  notActions?: readonly string[];
  dataActions?: readonly string[];
  notDataActions?: readonly string[];
}

export function roleAllows(role: RolePermissions, action: string, dataAction = false): boolean {
  const allow = dataAction ? (role.dataActions ?? []) : role.actions;
  const deny = dataAction ? (role.notDataActions ?? []) : (role.notActions ?? []);
  return (
    allow.some((p) => actionPatternMatches(p, action)) && !deny.some((p) => actionPatternMatches(p, action))
  );
}
