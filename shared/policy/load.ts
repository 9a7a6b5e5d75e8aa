/**
 * Reads and checks the estate policy. A bad policy must stop the app at start-up, so every
 * problem is reported at once, each naming the field, the value found and the rule broken.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import type { z } from "zod";
import { actionPatternMatches } from "../azure/abacCondition.js";
import { builtInRoleById, effectivePrivileges } from "./builtInRoles.js";
import { deriveName, LONG_SAMPLE_PROJECT, NamingError, type NameKind } from "./naming.js";
import { estatePolicySchema, type EstatePolicy } from "./schema.js";
import { regionPlanProblems } from "./regionPlans.js";
import { setupProblems } from "./setupRules.js";
import type { PolicyProblem } from "./problem.js";

// PolicyProblem lives in problem.ts (regionPlans.ts reports them too); load.ts still exports it.
export type { PolicyProblem };

export const DEFAULT_POLICY_PATH = defaultPolicyPath();

function defaultPolicyPath(): string {
  const beside = fileURLToPath(new URL("./default-policy.yaml", import.meta.url));
  // Built code (tsc's dist/shared/policy, or the bundle's dist/functions) runs from dist/, while
  // the YAML ships at its source path under the app root.
  const i = beside.lastIndexOf(`${path.sep}dist${path.sep}`);
  return i < 0 ? beside : path.join(beside.slice(0, i), "shared", "policy", "default-policy.yaml");
}

export class PolicyError extends Error {
  constructor(
    readonly source: string,
    readonly problems: PolicyProblem[],
  ) {
    super(
      `invalid estate policy ${source}:\n` +
        problems.map((p) => `  - ${p.path || "(root)"} = ${show(p.value)}: ${p.rule}`).join("\n"),
    );
    this.name = "PolicyError";
  }
}

function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  const s = JSON.stringify(value);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

/** The value at a path of keys in parsed YAML/JSON, or undefined where the path leads nowhere. */
export function valueAt(root: unknown, keys: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const k of keys) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function zodProblems(input: unknown, error: z.ZodError): PolicyProblem[] {
  return error.issues.map((issue) => {
    const keys = issue.path as PropertyKey[];
    const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : undefined;
    return {
      path: [...keys, ...(unknownKeys?.length === 1 ? unknownKeys : [])].map(String).join("."),
      value: unknownKeys?.length === 1 ? valueAt(input, [...keys, unknownKeys[0]!]) : valueAt(input, keys),
      rule: issue.message,
    };
  });
}

/** The rules a JSON Schema cannot state: references between fields, names, privilege order. */
export function crossFieldProblems(p: EstatePolicy): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  const add = (path: string, value: unknown, rule: string) => out.push({ path, value, rule });

  if (!p.regions.allowed.includes(p.regions.default)) {
    add(
      "regions.default",
      p.regions.default,
      `must be one of regions.allowed (${p.regions.allowed.join(", ")})`,
    );
  }
  const envNames = p.environments.map((e) => e.name);
  const roleNames = p.roles.map((r) => r.name);
  dupes(envNames).forEach((n) => add("environments", n, "environment names must be unique"));
  for (const env of Object.keys(p.hardening.publicNetworkAccess))
    if (!envNames.includes(env))
      add(`hardening.publicNetworkAccess.${env}`, env, `is not an environment (${envNames.join(", ")})`);
  dupes(roleNames).forEach((n) => add("roles", n, "role names must be unique"));
  dupes(p.fundedCostCenters.map((c) => c.id)).forEach((n) =>
    add("fundedCostCenters", n, "cost centre ids must be unique"),
  );

  for (const role of Object.keys(p.accessMatrix)) {
    if (!roleNames.includes(role))
      add(`accessMatrix.${role}`, role, `is not a role in roles (${roleNames.join(", ")})`);
  }
  for (const role of roleNames) {
    const row = p.accessMatrix[role];
    if (!row) {
      add(`accessMatrix.${role}`, undefined, "every role needs a row in the access matrix");
      continue;
    }
    for (const env of Object.keys(row)) {
      if (!envNames.includes(env))
        add(`accessMatrix.${role}.${env}`, env, `is not an environment (${envNames.join(", ")})`);
    }
    for (const env of envNames) {
      const grants = row[env];
      if (!grants) {
        add(
          `accessMatrix.${role}.${env}`,
          undefined,
          "every role needs an entry (possibly []) for every environment",
        );
        continue;
      }
      grants.forEach((g, i) => {
        const known = builtInRoleById(g.id);
        if (known && known.name !== g.name) {
          add(
            `accessMatrix.${role}.${env}[${i}].name`,
            g.name,
            `role ${g.id} is the built-in "${known.name}"`,
          );
        }
        if (
          known &&
          ["Owner", "User Access Administrator", "Role Based Access Control Administrator"].includes(
            known.name,
          )
        ) {
          add(
            `accessMatrix.${role}.${env}[${i}]`,
            g.name,
            "the access matrix may not grant roles that manage access",
          );
        }
        if (known?.name === "Contributor") {
          add(
            `accessMatrix.${role}.${env}[${i}]`,
            g.name,
            "the access matrix may not grant Contributor (it reads every key and deletes anything); grant narrower roles",
          );
        }
        const custom = known
          ? undefined
          : p.customRoles.find((c) => c.id.toLowerCase() === g.id.toLowerCase());
        if (!known && !custom) {
          add(
            `accessMatrix.${role}.${env}[${i}]`,
            g.id,
            "is neither a built-in role nor declared in customRoles (with its actions)",
          );
        }
        if (custom && custom.name !== g.name)
          add(`accessMatrix.${role}.${env}[${i}].name`, g.name, `custom role ${g.id} is "${custom.name}"`);
      });
    }
    const prodEnv = p.environments.filter((e) => e.productionData).map((e) => e.name);
    const first = envNames[0]!;
    for (const env of prodEnv) {
      if (env === first || !row[env] || !row[first]) continue;
      const prodPriv = effectivePrivileges(row[env]!.map((g) => g.id));
      const devPriv = effectivePrivileges(row[first]!.map((g) => g.id));
      const extra = [...prodPriv].filter((r) => !devPriv.has(r));
      if (extra.length > 0) {
        add(
          `accessMatrix.${role}.${env}`,
          extra,
          `a production environment may not grant more than ${first} does`,
        );
      }
    }
  }

  p.customRoles.forEach((c, i) => {
    if (builtInRoleById(c.id)) add(`customRoles[${i}].id`, c.id, "is a built-in role's id");
    // Checked against the actions that manage access, whatever notActions says: a role with `*`
    // or `Microsoft.Authorization/*/write` is one notActions edit away from granting anything.
    const escalating = c.actions.filter(
      (a) => a.trim() === "*" || ACCESS_ACTIONS.some((x) => actionPatternMatches(a, x)),
    );
    if (escalating.length > 0)
      add(
        `customRoles[${i}].actions`,
        escalating,
        "may not include `*` or actions that manage access (Microsoft.Authorization/*/write)",
      );
  });
  dupes(p.customRoles.map((c) => c.id.toLowerCase())).forEach((id) =>
    add("customRoles", id, "custom role ids must be unique"),
  );

  const tagNames = new Set(p.tags.required.map((t) => t.toLowerCase()));
  for (const key of ["costCenter", "project", "environment", "owner"] as const) {
    if (!tagNames.has(p.tags[key].toLowerCase()))
      add(`tags.${key}`, p.tags[key], "must be one of tags.required");
  }
  // Who created a resource and when are facts of the resource itself; inheriting them from the
  // resource group would stamp the group's creator onto everything in it.
  const ownTags = [p.tags.createdBy, p.tags.createdOn, p.tags.managedBy].map((n) => n.toLowerCase());
  p.tags.inherited.forEach((t, i) => {
    if (ownTags.includes(t.name.toLowerCase())) {
      add(
        `tags.inherited[${i}].name`,
        t.name,
        "createdBy, createdOn and managedBy belong to each resource and cannot be inherited",
      );
    }
  });
  if (
    !p.governedSubscriptions.some((s) => s.id.toLowerCase() === p.exploration.subscriptionId.toLowerCase())
  ) {
    add("exploration.subscriptionId", p.exploration.subscriptionId, "must be one of governedSubscriptions");
  }
  if (!p.governedSubscriptions.some((s) => s.id.toLowerCase() === p.projectSubscriptionId.toLowerCase())) {
    add("projectSubscriptionId", p.projectSubscriptionId, "must be one of governedSubscriptions");
  }

  const funded = new Set(p.fundedCostCenters.map((c) => c.id));
  p.requests.requesters.forEach((r, i) =>
    (r.costCenters ?? []).forEach((c, j) => {
      if (!funded.has(c))
        add(`requests.requesters[${i}].costCenters[${j}]`, c, "is not one of fundedCostCenters");
    }),
  );
  // An approver group that may also request could approve its own members' requests, which is
  // allowed (the requester still cannot approve themselves); the same group as the platform
  // approvers is allowed too. What is refused is an approval nobody can give.
  p.fundedCostCenters.forEach((c, i) => {
    if (p.requests.requesters.length > 0 && !c.approvers)
      add(
        `fundedCostCenters[${i}].approvers`,
        undefined,
        "every funded cost centre needs an approvers group",
      );
  });

  let projectPattern: RegExp | undefined;
  try {
    projectPattern = new RegExp(p.naming.projectPattern);
  } catch (e) {
    add(
      "naming.projectPattern",
      p.naming.projectPattern,
      `is not a regular expression: ${(e as Error).message}`,
    );
  }
  // Every template must give valid names for the shortest and longest projects the pattern admits.
  const samples = ["ab1", LONG_SAMPLE_PROJECT];
  for (const kind of Object.keys(p.naming).filter(
    (k) => !["projectPattern", "hashLength", "uniquenessSeed"].includes(k),
  )) {
    const template = p.naming[kind as NameKind];
    if (!template.includes("{project}")) add(`naming.${kind}`, template, "must contain {project}");
    for (const project of samples) {
      for (const env of envNames) {
        try {
          deriveName(p, kind as NameKind, { project, env, role: roleNames[0], region: p.regions.default });
        } catch (e) {
          if (e instanceof NamingError) add(`naming.${kind}`, template, e.message);
          else throw e;
        }
      }
    }
  }
  if (projectPattern && !projectPattern.test("ab1")) {
    // Not fatal for the policy, but a pattern that refuses simple names is almost surely a typo.
    add("naming.projectPattern", p.naming.projectPattern, 'must accept a simple project name such as "ab1"');
  }
  out.push(...setupProblems(p), ...regionPlanProblems(p));
  return dedupe(out);
}

/** Actions by which a role holder could grant itself or others more access. */
const ACCESS_ACTIONS = [
  "Microsoft.Authorization/roleAssignments/write",
  "Microsoft.Authorization/roleDefinitions/write",
  "Microsoft.Authorization/elevateAccess/action",
  "Microsoft.Authorization/policyAssignments/write",
  "Microsoft.Authorization/denyAssignments/write",
];

function dupes(list: string[]): string[] {
  return [...new Set(list.filter((x, i) => list.indexOf(x) !== i))];
}

function dedupe(list: PolicyProblem[]): PolicyProblem[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const key = `${p.path}|${p.rule}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** Validate a parsed policy document; throws PolicyError listing every problem. */
export function parsePolicy(input: unknown, source = "(inline)"): EstatePolicy {
  const parsed = estatePolicySchema.safeParse(input);
  if (!parsed.success) throw new PolicyError(source, zodProblems(input, parsed.error));
  const problems = crossFieldProblems(parsed.data);
  if (problems.length > 0) throw new PolicyError(source, problems);
  return Object.freeze(parsed.data) as EstatePolicy;
}

/** Read a policy file (YAML or JSON). */
export function loadPolicyFile(file: string): EstatePolicy {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new PolicyError(file, [
      { path: "", value: file, rule: `cannot read the file: ${(e as Error).message}` },
    ]);
  }
  let doc: unknown;
  try {
    doc = file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new PolicyError(file, [
      {
        path: "",
        value: undefined,
        rule: `not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message}`,
      },
    ]);
  }
  return parsePolicy(doc, file);
}
