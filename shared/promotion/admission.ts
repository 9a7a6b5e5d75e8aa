/**
 * Decides whether a well-formed request may run. The policy checks are pure; the two checks
 * that need Azure (do the principals exist, is the project already someone else's) go through
 * the `AdmissionLookups` port so the rules stay testable. Every reason is collected: a team
 * fixing its request should see all problems at once, not one per attempt.
 */
import { fineTuningRegistryOf, homeRegion, regionRefusals } from "./regionAdmission.js";
import { missingRegistryReason } from "./registryPlan.js";
import {
  canonicalProjectProblem,
  deriveName,
  environmentNames,
  NamingError,
  type NameKind,
} from "../policy/naming.js";
import type { EstatePolicy } from "../policy/schema.js";
import { resourceGroupId } from "../azure/resourceId.js";
import { DEFAULT_USE_CASE_TAG, type AssetRef, type PromotionRequest, type Refusal } from "./request.js";
import {
  assetOwnershipProblem,
  groupOwnershipProblem,
  MEMBER_KINDS,
  resourceGroupOwnershipProblem,
  type ExistingGroup,
  type ProjectOwnership,
  type SecurityFinding,
} from "./ownership.js";
import { ARM_SEGMENT, LINEAGE_TAGS } from "./steps/assets.js";
import { narrowAccessRefusals, projectAccessMatrix } from "./projectAccess.js";
import { assetSource, isTeamRequest, setupRefusals, TEAM_ENV } from "./setupAdmission.js";

export interface ResolvedPrincipal {
  objectId: string;
  kind: "user" | "servicePrincipal" | "group" | "other";
  displayName?: string;
  userPrincipalName?: string;
}

export interface AdmissionLookups {
  /** ref (UPN or object id, as written in the request) -> principal, or undefined when unknown. */
  resolvePrincipals(refs: readonly string[]): Promise<Map<string, ResolvedPrincipal | undefined>>;
  /** Resource group id -> its tags, or undefined when the group does not exist. */
  resourceGroupTags(ids: readonly string[]): Promise<Map<string, Record<string, string> | undefined>>;
  /**
   * Ownership checks (ownership.ts). Optional so the pure rules stay testable without them;
   * the production lookups (lookups.ts) always provide them.
   */
  ownership?: OwnershipLookups;
  /** Quota checks; optional for the same reason. */
  quotas?: QuotaLookups;
  /** Whether an Azure ML registry exists (the fine-tuning registry the policy names); optional likewise. */
  registryExists?(id: string): Promise<boolean>;
}

export interface QuotaLookups {
  /** cost centre -> the projects promotions created for it (from the promotion records). */
  projectsByCostCenter(): Promise<Map<string, Set<string>>>;
  /** Role assignments that exist in a subscription (every scope in it). */
  roleAssignmentCount(subscriptionId: string): Promise<number>;
}

export interface OwnershipLookups {
  stewardObjectId: string;
  /** What the project's promotion records say aml-steward created. */
  owned(project: string): Promise<ProjectOwnership>;
  /** uniqueName -> the existing group with its owners, or undefined when there is none. */
  groups(uniqueNames: readonly string[]): Promise<Map<string, ExistingGroup | undefined>>;
  /** `kind/name/version` -> tags of an exploration version, or undefined when it does not exist. */
  assetTags(
    exploration: EstatePolicy["exploration"],
    refs: readonly AssetRef[],
  ): Promise<Map<string, Record<string, string | null> | undefined>>;
  /** Puts refusals for ownership on record (the violations ledger). */
  report(
    findings: readonly SecurityFinding[],
    ctx: { project: string; correlationId: string },
  ): Promise<void>;
}

export const assetKey = (r: AssetRef) => `${r.kind}/${r.name}/${r.version}`;

export type Admission =
  | {
      ok: true;
      request: PromotionRequest;
      environments: string[];
      region: string;
      principals: Map<string, ResolvedPrincipal>;
    }
  | { ok: false; reasons: Refusal[] };

/** The environments a request asks for, in the policy's promotion order. */
export function requestedEnvironments(policy: EstatePolicy, request: PromotionRequest): string[] {
  if (isTeamRequest(request)) return [TEAM_ENV];
  const wanted = new Set(
    (request.environments ?? policy.environments.map((e) => e.name)).map((e) => e.toLowerCase()),
  );
  return policy.environments.map((e) => e.name).filter((n) => wanted.has(n));
}

/** Every principal reference in a request (owners, members, requester), deduplicated. */
export function principalRefs(request: PromotionRequest): string[] {
  const refs = [...request.owners, request.requestedBy, ...Object.values(request.members).flat()];
  return [...new Set(refs.map(normaliseRef))];
}

export function normaliseRef(ref: string): string {
  return ref.toLowerCase();
}

/** The checks that need nothing but the policy. */
export function policyRefusals(policy: EstatePolicy, request: PromotionRequest): Refusal[] {
  const out: Refusal[] = [];
  const add = (path: string, reason: string) => out.push({ path, reason });

  let pattern: RegExp | undefined;
  try {
    pattern = new RegExp(policy.naming.projectPattern);
  } catch {
    add("project", "the estate policy's naming.projectPattern is not a valid regular expression");
  }
  const nonCanonical = canonicalProjectProblem(request.project);
  if (pattern && !pattern.test(request.project)) {
    add(
      "project",
      `"${request.project}" does not match the policy's project pattern ${policy.naming.projectPattern}`,
    );
  } else if (nonCanonical) {
    add("project", nonCanonical);
  } else if (pattern) {
    // The pattern is necessary, not sufficient: every name of every environment must derive.
    for (const env of policy.environments) {
      try {
        environmentNames(policy, request.project, env.name);
        deriveName(policy, "group" as NameKind, {
          project: request.project,
          env: env.name,
          role: policy.roles[0]!.name,
        });
      } catch (e) {
        if (e instanceof NamingError) add("project", e.message);
        else throw e;
      }
    }
  }

  if (!policy.fundedCostCenters.some((c) => c.id === request.costCenter)) {
    add("costCenter", `"${request.costCenter}" is not a funded cost centre of the estate policy`);
  }
  out.push(...regionRefusals(policy, request));
  const envNames = policy.environments.map((e) => e.name);
  for (const env of request.environments ?? []) {
    if (!envNames.includes(env.toLowerCase()))
      add("environments", `"${env}" is not an environment of the policy (${envNames.join(", ")})`);
  }
  if (
    request.environments &&
    new Set(request.environments.map((e) => e.toLowerCase())).size !== request.environments.length
  ) {
    add("environments", "each environment may be named once");
  }
  out.push(...narrowAccessRefusals(policy, request), ...setupRefusals(policy, request));
  const roleNames = policy.roles.map((r) => r.name);
  for (const role of Object.keys(request.members)) {
    if (!roleNames.includes(role)) {
      add(
        `members.${role}`,
        `"${role}" is not a role of the estate policy (${roleNames.join(", ")}); roles and their Azure permissions come only from the policy`,
      );
    }
  }
  return out;
}

/** Policy checks, then the Azure lookups; the lookups run only when their inputs are sound. */
export async function admit(
  policy: EstatePolicy,
  request: PromotionRequest,
  lookups: AdmissionLookups,
): Promise<Admission> {
  const reasons = policyRefusals(policy, request);
  // Names that cannot be derived (or are not canonical) leave nothing to look up under them.
  const namesOk = !reasons.some((r) => r.path === "project");
  const environments = requestedEnvironments(policy, request);
  const region = homeRegion(policy, request);

  const refs = principalRefs(request);
  const resolved = await lookups.resolvePrincipals(refs);
  const principals = new Map<string, ResolvedPrincipal>();
  for (const ref of refs) {
    const p = resolved.get(ref);
    if (p) principals.set(ref, p);
    else
      reasons.push({
        path: pathOfRef(request, ref),
        reason: `"${ref}" is not a known user, group or service principal in the directory`,
      });
  }
  reasons.push(...principalKindRefusals(request, principals));

  let tags = new Map<string, Record<string, string> | undefined>();
  if (namesOk) {
    const ids = environments.map((env) =>
      resourceGroupId(
        policy.projectSubscriptionId,
        environmentNames(policy, request.project, env).resourceGroup,
      ),
    );
    tags = await lookups.resourceGroupTags(ids);
    for (const id of ids) {
      const t = tags.get(id);
      if (!t) continue;
      const existing = tagValue(t, policy.tags.costCenter);
      if (existing !== undefined && existing !== request.costCenter) {
        reasons.push({
          path: "costCenter",
          reason: `project "${request.project}" already exists under cost centre "${existing}" (${id}); it cannot be promoted again under "${request.costCenter}"`,
        });
      }
      const project = tagValue(t, policy.tags.project);
      if (project !== undefined && project !== request.project) {
        reasons.push({
          path: "project",
          reason: `resource group ${id} already belongs to project "${project}"`,
        });
      }
    }
  }

  if (lookups.ownership && namesOk) {
    const findings = await ownershipRefusals(policy, request, environments, tags, lookups.ownership);
    reasons.push(...findings.map((f) => ({ path: f.path, reason: f.detail })));
    if (findings.length > 0)
      await lookups.ownership.report(findings, {
        project: request.project,
        correlationId: request.requestId.toLowerCase(),
      });
  }

  // The policy's registry is the platform team's: refused rather than created when missing.
  const named = fineTuningRegistryOf(policy, request);
  if (named && lookups.registryExists && !(await lookups.registryExists(named)))
    reasons.push({ path: "regionPlan", reason: missingRegistryReason(named) });

  if (lookups.quotas && namesOk && reasons.length === 0)
    reasons.push(...(await quotaRefusals(policy, request, environments, tags, lookups.quotas)));

  if (reasons.length > 0) return { ok: false, reasons: dedupe(reasons) };
  return { ok: true, request, environments, region, principals };
}

/**
 * Limits that would otherwise be found half-way: a cost centre's project cap, and Azure's
 * role assignment limit per subscription (after which every promotion fails part-built). The
 * access matrix rows of environments whose resource group does not exist yet are what this
 * request would add.
 */
export async function quotaRefusals(
  policy: EstatePolicy,
  request: PromotionRequest,
  environments: readonly string[],
  rgTags: ReadonlyMap<string, Record<string, string> | undefined>,
  lookups: QuotaLookups,
): Promise<Refusal[]> {
  const out: Refusal[] = [];
  const cap = policy.quotas.maxProjectsPerCostCenter;
  if (cap !== undefined) {
    const projects = (await lookups.projectsByCostCenter()).get(request.costCenter) ?? new Set<string>();
    if (!projects.has(request.project) && projects.size >= cap)
      out.push({
        path: "costCenter",
        reason: `cost centre "${request.costCenter}" already has ${projects.size} project(s), the policy's cap (quotas.maxProjectsPerCostCenter = ${cap})`,
      });
  }
  const sub = policy.projectSubscriptionId;
  const added = environments
    .filter(
      (env) =>
        !rgTags.get(resourceGroupId(sub, environmentNames(policy, request.project, env).resourceGroup)),
    )
    .reduce(
      (n, env) =>
        n +
        policy.roles.reduce(
          (m, role) =>
            m +
            // A project's own (narrowed) matrix; a team workspace takes the first environment's column.
            (projectAccessMatrix(policy, request.narrowAccess)[role.name]?.[
              env === TEAM_ENV ? policy.environments[0]!.name : env
            ]?.length ?? 0),
          0,
        ),
      0,
    );
  if (added > 0) {
    const limit = policy.quotas.roleAssignmentsPerSubscription;
    const existing = await lookups.roleAssignmentCount(sub);
    if (existing + added > limit)
      out.push({
        path: "environments",
        reason: `the project's ${added} role assignment(s) would take subscription ${sub} from ${existing} to ${existing + added}, over its limit of ${limit} (quotas.roleAssignmentsPerSubscription); nothing was created`,
      });
  }
  return out;
}

/**
 * Owners and members become owners and members of the project's groups, so each must be one
 * person or one workload: a group named there would nest in a prod group everyone it holds
 * (or will ever hold, at its owners' discretion). Nesting is always refused.
 */
export function principalKindRefusals(
  request: PromotionRequest,
  principals: ReadonlyMap<string, ResolvedPrincipal>,
): Refusal[] {
  const out: Refusal[] = [];
  const check = (path: string, ref: string) => {
    const p = principals.get(normaliseRef(ref));
    if (p && !MEMBER_KINDS.has(p.kind))
      out.push({
        path,
        reason: `"${ref}" is a ${p.kind === "group" ? "group" : `directory object of kind "${p.kind}"`} (${p.displayName ?? p.objectId}); only users, service principals and managed identities may be owners or members, groups are never nested`,
      });
  };
  request.owners.forEach((ref, i) => check(`owners.${i}`, ref));
  for (const [role, list] of Object.entries(request.members))
    list.forEach((ref, i) => check(`members.${role}.${i}`, ref));
  check("requestedBy", request.requestedBy);
  return out;
}

/**
 * Existing objects under the project's derived names that aml-steward did not create for this
 * project (resource groups, Entra groups), and explicitly named assets that are not this use
 * case's: each stops the request before anything is written.
 */
export async function ownershipRefusals(
  policy: EstatePolicy,
  request: PromotionRequest,
  environments: readonly string[],
  rgTags: ReadonlyMap<string, Record<string, string> | undefined>,
  lookups: OwnershipLookups,
): Promise<(SecurityFinding & { path: string })[]> {
  const out: (SecurityFinding & { path: string })[] = [];
  const owned = await lookups.owned(request.project);
  const sub = policy.projectSubscriptionId;
  const names = environments.map((env) => environmentNames(policy, request.project, env));
  const rgIds = names.map((n) => resourceGroupId(sub, n.resourceGroup));
  const uniqueNames = names.flatMap((n) => Object.values(n.groups));
  const groups = await lookups.groups(uniqueNames);
  for (const id of rgIds) {
    const tags = rgTags.get(id);
    if (!tags) continue;
    const problem = resourceGroupOwnershipProblem(policy.tags, owned, id, tags);
    if (problem) out.push({ path: "project", target: id, subscriptionId: sub, detail: problem });
  }
  for (const name of uniqueNames) {
    const g = groups.get(name);
    if (!g) continue;
    const problem = groupOwnershipProblem(owned, name, g, lookups.stewardObjectId);
    if (problem) out.push({ path: "project", target: `group:${name}`, subscriptionId: sub, detail: problem });
  }
  if ("versions" in request.assets) {
    const ex = assetSource(policy, request);
    const refs = request.assets.versions;
    const tags = await lookups.assetTags(ex, refs);
    refs.forEach((ref, i) => {
      const t = tags.get(assetKey(ref));
      if (t === undefined) return; // a missing version is the asset step's permanent conflict, as before
      const problem = assetOwnershipProblem(ref, t, {
        tagName: DEFAULT_USE_CASE_TAG,
        useCaseId: request.useCaseId,
        project: request.project,
        promotedToTag: LINEAGE_TAGS.promotedTo,
      });
      if (problem)
        out.push({
          path: `assets.versions.${i}`,
          target: explorationAssetId(ex, ref),
          subscriptionId: ex.subscriptionId,
          detail: problem,
        });
    });
  }
  return out;
}

/** Tag names are case-insensitive in Azure. */
export function tagValue(tags: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(tags).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : tags[key];
}

function pathOfRef(request: PromotionRequest, ref: string): string {
  if (request.owners.some((o) => normaliseRef(o) === ref)) return "owners";
  if (normaliseRef(request.requestedBy) === ref) return "requestedBy";
  const role = Object.entries(request.members).find(([, list]) => list.some((m) => normaliseRef(m) === ref));
  return role ? `members.${role[0]}` : "";
}

function dedupe(list: Refusal[]): Refusal[] {
  const seen = new Set<string>();
  return list.filter((r) =>
    seen.has(`${r.path}|${r.reason}`) ? false : (seen.add(`${r.path}|${r.reason}`), true),
  );
}

function explorationAssetId(ex: EstatePolicy["exploration"], ref: AssetRef): string {
  return `${resourceGroupId(ex.subscriptionId, ex.resourceGroup)}/providers/Microsoft.MachineLearningServices/workspaces/${ex.workspace}/${ARM_SEGMENT[ref.kind]}/${ref.name}/versions/${ref.version}`;
}
