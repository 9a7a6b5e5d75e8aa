/** The estate policy: the single place for everything organisation-specific. */
import { z } from "zod";
import { DEFAULT_POLICY_PATH, loadPolicyFile } from "./load.js";
import { estatePolicySchema, type EstatePolicy } from "./schema.js";

export * from "./schema.js";
export * from "./naming.js";
export { PolicyError, parsePolicy, loadPolicyFile, DEFAULT_POLICY_PATH, type PolicyProblem } from "./load.js";
export { BUILT_IN_ROLES, builtInRoleById, effectivePrivileges } from "./builtInRoles.js";

export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(estatePolicySchema, { target: "draft-2020-12", io: "input" }) as Record<
    string,
    unknown
  >;
}

const cache = new Map<string, EstatePolicy>();

/** The policy at `file` (default: STEWARD_POLICY_PATH, else the bundled Contoso policy), read once per process. */
export function getPolicy(file = process.env.STEWARD_POLICY_PATH || DEFAULT_POLICY_PATH): EstatePolicy {
  let policy = cache.get(file);
  if (!policy) {
    policy = loadPolicyFile(file);
    cache.set(file, policy);
  }
  return policy;
}

/** Lower-cased environment name -> its definition. */
export function environment(policy: EstatePolicy, name: string) {
  return policy.environments.find((e) => e.name === name.toLowerCase());
}

export function isGovernedSubscription(policy: EstatePolicy, subscriptionId: string): boolean {
  const id = subscriptionId.toLowerCase();
  return policy.governedSubscriptions.some((s) => s.id.toLowerCase() === id);
}

/** Is this ARM type ('Provider/type[/child...]') one the policy says never to tag? */
export function isUntaggedType(policy: EstatePolicy, resourceType: string): boolean {
  const type = resourceType.toLowerCase();
  return policy.untaggedResourceTypes.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.endsWith("/*") ? type.startsWith(p.slice(0, -1)) : type === p;
  });
}
