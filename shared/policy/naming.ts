/**
 * Turns the policy's name templates into names Azure accepts. Every kind has Azure's own
 * limits (length, characters, first and last character); a project name is sanitised to fit,
 * shortened when the result is too long, and given a short stable hash whenever shortening
 * could make two projects collide. The hash depends only on the policy's uniqueness seed and
 * the name's inputs, so a retried promotion always derives the same names.
 */
import { createHash } from "node:crypto";
import type { EstatePolicy } from "./schema.js";

export type NameKind =
  | "resourceGroup"
  | "workspace"
  | "storageAccount"
  | "keyVault"
  | "containerRegistry"
  | "applicationInsights"
  | "logAnalytics"
  | "group";

export interface NameRule {
  min: number;
  max: number;
  /** Whole-name pattern Azure enforces (after the length check). */
  pattern: RegExp;
  /** Characters allowed anywhere in the name. */
  allowedChar: RegExp;
  /** Whether '-' may separate words; kinds without it have words run together. */
  hyphen: boolean;
  lowerCase: boolean;
  /** Azure's rule in words, for error messages. */
  description: string;
}

export const NAME_RULES: Record<NameKind, NameRule> = {
  resourceGroup: {
    min: 1,
    max: 90,
    pattern: /^[a-zA-Z0-9._()-]*[a-zA-Z0-9_()-]$/,
    allowedChar: /[a-zA-Z0-9._()-]/,
    hyphen: true,
    lowerCase: true,
    description: "1-90 letters, digits, '.', '_', '-', '(', ')'; not ending in '.'",
  },
  workspace: {
    min: 3,
    max: 33,
    pattern: /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/,
    allowedChar: /[a-zA-Z0-9_-]/,
    hyphen: true,
    lowerCase: true,
    description: "3-33 letters, digits, '-' or '_', starting with a letter or digit",
  },
  storageAccount: {
    min: 3,
    max: 24,
    pattern: /^[a-z0-9]+$/,
    allowedChar: /[a-z0-9]/,
    hyphen: false,
    lowerCase: true,
    description: "3-24 lower-case letters and digits, globally unique",
  },
  keyVault: {
    min: 3,
    max: 24,
    pattern: /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]$/,
    allowedChar: /[a-zA-Z0-9-]/,
    hyphen: true,
    lowerCase: true,
    description:
      "3-24 letters, digits and '-', starting with a letter, ending with a letter or digit, no '--', globally unique",
  },
  containerRegistry: {
    min: 5,
    max: 50,
    pattern: /^[a-zA-Z0-9]+$/,
    allowedChar: /[a-zA-Z0-9]/,
    hyphen: false,
    lowerCase: true,
    description: "5-50 letters and digits, globally unique",
  },
  applicationInsights: {
    min: 1,
    max: 255,
    pattern: /^[a-zA-Z0-9._()-]*[a-zA-Z0-9_()-]$/,
    allowedChar: /[a-zA-Z0-9._()-]/,
    hyphen: true,
    lowerCase: true,
    description: "1-255 letters, digits, '.', '_', '-', '(', ')'; not ending in '.'",
  },
  logAnalytics: {
    min: 4,
    max: 63,
    pattern: /^[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]$/,
    allowedChar: /[a-zA-Z0-9-]/,
    hyphen: true,
    lowerCase: true,
    description: "4-63 letters, digits and '-', starting and ending with a letter or digit",
  },
  group: {
    min: 1,
    max: 64,
    pattern: /^[a-z0-9][a-z0-9._-]*[a-z0-9]$|^[a-z0-9]$/,
    allowedChar: /[a-z0-9._-]/,
    hyphen: true,
    lowerCase: true,
    description:
      "1-64 lower-case letters, digits, '.', '_', '-' (valid as an Entra mailNickname and uniqueName)",
  },
};

export class NamingError extends Error {
  constructor(
    readonly kind: NameKind,
    readonly input: string,
    reason: string,
  ) {
    super(`cannot derive a valid ${kind} name from "${input}": ${reason}`);
    this.name = "NamingError";
  }
}

export interface NameInputs {
  project: string;
  env?: string;
  role?: string;
  region?: string;
}

/** Why a name breaks Azure's rule for its kind, or undefined when it is valid. */
export function azureNameProblem(kind: NameKind, name: string): string | undefined {
  const rule = NAME_RULES[kind];
  if (name.length < rule.min || name.length > rule.max || !rule.pattern.test(name)) {
    return `"${name}" is not a valid ${kind} name: ${rule.description}`;
  }
  return undefined;
}

/**
 * A project name as long as admission lets through: the policy checks derive name templates for
 * it (load.ts for every kind, regionPlans.ts for each planned region).
 */
export const LONG_SAMPLE_PROJECT = "a".repeat(60) + "-forecasting-and-anomaly-detection";

/**
 * Why a project name is not canonical, or undefined when it is. Derivation turns every run of
 * separators into one '-' and drops them at the ends (and kinds without '-' drop them all), so
 * `fraud--detection`, `-fraud-detection` and `fraud.detection` would share names with
 * `fraud-detection`. Accepting only lower-case words joined by single hyphens makes the
 * derivation of each kind one-to-one (test/unit/policy-naming-injective.test.ts).
 */
export function canonicalProjectProblem(project: string): string | undefined {
  if (/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(project)) return undefined;
  return `"${project}" is not a canonical project name: lower-case letters and digits in words joined by single '-', with no separator at the start or end and no other separator (names derived from it would collide with another project's)`;
}

export function stableHash(parts: readonly string[], length: number): string {
  const digest = createHash("sha256").update(parts.join("\u0000")).digest();
  // Base 36 of the first 8 bytes: lower-case letters and digits, valid in every kind's name.
  return BigInt("0x" + digest.subarray(0, 8).toString("hex"))
    .toString(36)
    .padStart(length, "0")
    .slice(0, length);
}

function sanitiseToken(value: string, rule: NameRule): string {
  let out = value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  if (rule.lowerCase) out = out.toLowerCase();
  out = [...out].map((c) => (rule.allowedChar.test(c) && c !== "." ? c : rule.hyphen ? "-" : "")).join("");
  return rule.hyphen ? out.replace(/-+/g, "-").replace(/^-|-$/g, "") : out;
}

/** Derive the name of a `kind` for the given inputs from the policy's template. */
export function deriveName(policy: EstatePolicy, kind: NameKind, inputs: NameInputs): string {
  const rule = NAME_RULES[kind];
  const template = policy.naming[kind];
  const hash = stableHash(
    [policy.naming.uniquenessSeed, kind, inputs.project, inputs.env ?? "", inputs.role ?? ""],
    policy.naming.hashLength,
  );
  const project = sanitiseToken(inputs.project, rule);
  if (project.length === 0)
    throw new NamingError(kind, inputs.project, "nothing of it is usable in this kind of name");

  const render = (p: string) =>
    template
      .replace(/\{project\}/g, p)
      .replace(/\{env\}/g, sanitiseToken(inputs.env ?? "", rule))
      .replace(/\{role\}/g, sanitiseToken(inputs.role ?? "", rule))
      .replace(/\{region\}/g, sanitiseToken(inputs.region ?? "", rule))
      .replace(/\{hash\}/g, hash);

  let name = clean(render(project), rule);
  if (name.length > rule.max) {
    // Shorten the project part; without a {hash} in the template, put the hash in its place so
    // two long project names sharing a prefix still get different names.
    const overflow = name.length - rule.max;
    const suffix = template.includes("{hash}") ? "" : (rule.hyphen ? "-" : "") + hash;
    const room = project.length - overflow - suffix.length;
    if (room < 1)
      throw new NamingError(
        kind,
        inputs.project,
        `the template "${template}" leaves no room for the project`,
      );
    name = clean(render(project.slice(0, room).replace(/-+$/, "") + suffix), rule);
  }
  const problem = azureNameProblem(kind, name);
  if (problem) throw new NamingError(kind, inputs.project, problem);
  return name;
}

function clean(name: string, rule: NameRule): string {
  let out = rule.lowerCase ? name.toLowerCase() : name;
  out = [...out].filter((c) => rule.allowedChar.test(c)).join("");
  if (rule.hyphen) out = out.replace(/--+/g, "-").replace(/^[-.]+|[-.]+$/g, "");
  return out;
}

/** Every name a project environment uses, derived once so callers never disagree. */
export interface EnvironmentNames {
  resourceGroup: string;
  workspace: string;
  storageAccount: string;
  keyVault: string;
  containerRegistry?: string;
  applicationInsights: string;
  logAnalytics: string;
  /** role name -> Entra group name (also its mailNickname and uniqueName). */
  groups: Record<string, string>;
}

/**
 * `region` is the `{region}` token: the estate's default region unless a region plan puts a
 * workspace elsewhere (regionPlans.ts; a plan with several workspaces per environment needs
 * `{region}` in their templates, so names stay one-to-one).
 */
export function environmentNames(
  policy: EstatePolicy,
  project: string,
  env: string,
  region: string = policy.regions.default,
): EnvironmentNames {
  const inputs = { project, env, region };
  const groups: Record<string, string> = {};
  for (const role of policy.roles)
    groups[role.name] = deriveName(policy, "group", { ...inputs, role: role.name });
  return {
    resourceGroup: deriveName(policy, "resourceGroup", inputs),
    workspace: deriveName(policy, "workspace", inputs),
    storageAccount: deriveName(policy, "storageAccount", inputs),
    keyVault: deriveName(policy, "keyVault", inputs),
    containerRegistry:
      policy.containerRegistry === "perEnvironment"
        ? deriveName(policy, "containerRegistry", inputs)
        : undefined,
    applicationInsights: deriveName(policy, "applicationInsights", inputs),
    logAnalytics: deriveName(policy, "logAnalytics", inputs),
    groups,
  };
}

/** ARM resource type (lower case) -> naming kind, for convention checks on written resources. */
export const KIND_BY_RESOURCE_TYPE: Record<string, NameKind> = {
  "microsoft.resources/resourcegroups": "resourceGroup",
  "microsoft.machinelearningservices/workspaces": "workspace",
  "microsoft.storage/storageaccounts": "storageAccount",
  "microsoft.keyvault/vaults": "keyVault",
  "microsoft.containerregistry/registries": "containerRegistry",
  "microsoft.insights/components": "applicationInsights",
  "microsoft.operationalinsights/workspaces": "logAnalytics",
};

/**
 * Does `name` follow the policy's template for its kind? Tokens match any run of characters
 * the kind allows, so this checks the convention (prefixes, separators, order), not a project.
 */
export function followsConvention(policy: EstatePolicy, kind: NameKind, name: string): boolean {
  const rule = NAME_RULES[kind];
  const chars = rule.allowedChar.source.replace(/^\[|\]$/g, "");
  const escaped = policy.naming[kind]
    .split(/(\{[a-z]+\})/)
    .map((part) => (/^\{[a-z]+\}$/.test(part) ? `[${chars}]+` : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${escaped}$`, "i").test(name);
}
