/**
 * Role assignments that open production storage to an environment without productionData:
 * one of aml-steward's non-production groups, or the system identity of a non-production
 * workspace it created, holding a role that reaches storage data (a data action on blobs or
 * files, or `listKeys`, which hands out the account key) at a scope that holds production
 * storage (the account or anything inside it, its resource group, the subscription or above).
 *
 * Checked from role-assignment events (the assignment is read, never the event's words) and
 * nightly per non-production principal. The row is the assignment's; a deleted or changed
 * assignment resolves it.
 */
import type { AuthorizationManagementClient } from "@azure/arm-authorization";
import type { ResourceManagementClient } from "@azure/arm-resources";
import { isNotFound } from "../azure/errors.js";
import { idKey, parseResourceId } from "../azure/resourceId.js";
import type { ManagedEstate } from "../access/estate.js";
import type { FoundViolation, ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import type { EstatePolicy } from "../policy/schema.js";
import { holdsProductionData, productionReason, scopeOf, STORAGE_ACCOUNT_TYPE } from "./storageAccounts.js";

export interface RoleGrantDeps {
  policy: EstatePolicy;
  resources(subscriptionId: string): ResourceManagementClient;
  authorization(subscriptionId: string): AuthorizationManagementClient;
  workspaceIdentity(workspaceId: string, subscriptionId: string): Promise<string | undefined>;
  estate(opts?: { readAfter?: number }): Promise<ManagedEstate>;
  violations: Pick<ViolationLog, "syncFor">;
  log: Logger;
  /** Role definition id -> reaches storage data? (definitions change rarely; one read each). */
  roles?: Map<string, Promise<boolean>>;
  /** Scope -> why it holds production storage, shared by the checks of one nightly run. */
  scopes?: Map<string, Promise<string | undefined>>;
}

export interface Assignment {
  id: string;
  scope: string;
  principalId: string;
  roleDefinitionId: string;
}

export type RoleGrantOutcome =
  { result: "off" | "notNonProduction" | "gone" } | { result: "checked"; violations: FoundViolation[] };

const DATA = /^microsoft\.storage\/storageaccounts\/(blobservices|fileservices)\/.*\/(read|write|\*)$|^\*$/i;
const KEYS = /^(\*|microsoft\.storage\/\*|microsoft\.storage\/storageaccounts\/(\*|listkeys\/action))$/i;

/**
 * Whether a role's permissions reach storage data: a data action that reads or writes blobs or
 * files (wildcards included), or an action that lists the account keys (`*` does: Owner and
 * Contributor can read any data of an account with shared keys on). notActions and
 * notDataActions are not subtracted: a role that excludes what it grants is rare, and
 * over-reporting is the safe side.
 */
export function reachesStorageData(
  permissions: ReadonlyArray<{ actions?: string[]; dataActions?: string[] }>,
): boolean {
  return permissions.some(
    (p) => (p.dataActions ?? []).some((a) => DATA.test(a)) || (p.actions ?? []).some((a) => KEYS.test(a)),
  );
}

const roleGuid = (roleDefinitionId: string) => roleDefinitionId.split("/").pop()!.toLowerCase();
const globalRoleCache = new Map<string, Promise<boolean>>();

/** Whether a role definition reaches storage data (read once per role). */
function reachesData(
  deps: RoleGrantDeps,
  subscriptionId: string,
  roleDefinitionId: string,
): Promise<boolean> {
  if (!roleDefinitionId) return Promise.resolve(false);
  const cache = deps.roles ?? globalRoleCache;
  const key = roleGuid(roleDefinitionId);
  let p = cache.get(key);
  if (!p) {
    p = deps
      .authorization(subscriptionId)
      .roleDefinitions.getById(roleDefinitionId)
      .then((def) => reachesStorageData(def.permissions ?? []));
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

/** Which non-production environment a principal belongs to, if it is one of aml-steward's. */
async function nonProductionOwner(
  deps: RoleGrantDeps,
  estate: ManagedEstate,
  principalId: string,
): Promise<{ who: string; project: string; env: string } | undefined> {
  const id = principalId.toLowerCase();
  const group = estate.groups.get(id);
  if (group && !holdsProductionData(deps.policy, group.env))
    return { who: `group ${group.uniqueName}`, project: group.project, env: group.env };
  for (const scope of estate.scopes.values()) {
    if (!scope.workspaceId || holdsProductionData(deps.policy, scope.env)) continue;
    if ((await deps.workspaceIdentity(scope.workspaceId, scope.subscriptionId)) === id)
      return {
        who: `the identity of workspace ${parseResourceId(scope.workspaceId)?.name}`,
        project: scope.project,
        env: scope.env,
      };
  }
  return undefined;
}

/** Why the scope holds production storage, or undefined. */
async function productionAt(
  deps: RoleGrantDeps,
  estate: ManagedEstate,
  scope: string,
): Promise<string | undefined> {
  const s = idKey(scope);
  const parts = parseResourceId(s);
  const prodScopes = [...estate.scopes.values()].filter((m) => holdsProductionData(deps.policy, m.env));
  // The tenant root or a management group: above every subscription.
  if (!parts) return prodScopes.length ? `${scope} is above ${prodScopes[0]!.scope}` : undefined;
  if (!parts.resourceGroup) {
    const inSub = prodScopes.find(
      (m) => m.subscriptionId.toLowerCase() === parts.subscriptionId.toLowerCase(),
    );
    return inSub ? `subscription ${parts.subscriptionId} holds ${inSub.scope}` : undefined;
  }
  const managed = scopeOf(estate, s);
  if (managed && holdsProductionData(deps.policy, managed.env) && !/\/providers\//i.test(s))
    return `${managed.project}'s ${managed.env} resource group`;
  const account = /^(.*\/providers\/microsoft\.storage\/storageaccounts\/[^/]+)/i.exec(s)?.[1];
  if (account) {
    try {
      const r = await deps.resources(parts.subscriptionId).resources.getById(account, "2023-01-01");
      const why = productionReason(deps.policy, estate, {
        id: r.id ?? account,
        name: r.name ?? "",
        tags: r.tags,
      });
      return why ? `storage account ${r.name} (${why})` : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
  if (/\/providers\//i.test(s)) return undefined;
  // Another resource group: production storage when it holds an account tagged production.
  const filter = `resourceType eq '${STORAGE_ACCOUNT_TYPE}'`;
  for await (const r of deps
    .resources(parts.subscriptionId)
    .resources.listByResourceGroup(parts.resourceGroup!, { filter })) {
    const why = r.id
      ? productionReason(deps.policy, estate, { id: r.id, name: r.name ?? "", tags: r.tags })
      : undefined;
    if (why) return `resource group ${parts.resourceGroup} with storage account ${r.name} (${why})`;
  }
  return undefined;
}

/** Checks one assignment as it is now and makes its row say so. */
export async function checkAssignment(
  a: Assignment,
  deps: RoleGrantDeps,
  opts: { correlationId?: string; estate?: ManagedEstate } = {},
): Promise<RoleGrantOutcome> {
  if (deps.policy.dataSegregation.mode === "off") return { result: "off" };
  const estate = opts.estate ?? (await deps.estate());
  const owner = await nonProductionOwner(deps, estate, a.principalId);
  // Rows are written for our principals only; anyone else's assignment costs no Table call.
  if (!owner) return { result: "notNonProduction" };
  const sub = parseResourceId(a.id)?.subscriptionId ?? deps.policy.projectSubscriptionId;
  const found: FoundViolation[] = [];
  if (await reachesData(deps, sub, a.roleDefinitionId)) {
    const key = idKey(a.scope);
    let at = deps.scopes?.get(key);
    if (!at) {
      at = productionAt(deps, estate, a.scope);
      deps.scopes?.set(key, at);
    }
    const where = await at;
    if (where)
      found.push({
        kind: "dataSegregation",
        detail: `${owner.who} (${owner.project} ${owner.env}, no production data) holds role ${roleGuid(a.roleDefinitionId)}, which reaches storage data, on ${a.scope}: ${where}`,
      });
  }
  await deps.violations.syncFor(a.id, sub, found, {
    project: owner.project,
    correlationId: opts.correlationId,
  });
  return { result: "checked", violations: found };
}

/** From an event: read the assignment (the event's words are not trusted); gone resolves. */
export async function checkAssignmentById(
  assignmentId: string,
  deps: RoleGrantDeps,
  opts: { correlationId?: string } = {},
): Promise<RoleGrantOutcome> {
  if (deps.policy.dataSegregation.mode === "off") return { result: "off" };
  const sub = parseResourceId(assignmentId)?.subscriptionId ?? deps.policy.projectSubscriptionId;
  try {
    const ra = await deps.authorization(sub).roleAssignments.getById(assignmentId);
    return checkAssignment(
      {
        id: ra.id ?? assignmentId,
        scope: ra.scope ?? "",
        principalId: ra.principalId ?? "",
        roleDefinitionId: ra.roleDefinitionId ?? "",
      },
      deps,
      opts,
    );
  } catch (e) {
    if (!isNotFound(e)) throw e;
    // Resolves a row it may have had; a subscription-less id (a management group's) has none here.
    if (parseResourceId(assignmentId)) await deps.violations.syncFor(assignmentId, sub, [], opts);
    return { result: "gone" };
  }
}

export interface RoleGrantRunResult {
  principals: number;
  checked: number;
  flagged: string[];
  resolvedGone: number;
  failed: Array<{ subscriptionId: string; error: string }>;
}

/**
 * Nightly: every assignment of every non-production principal aml-steward made (its groups of
 * environments without productionData, and those environments' workspace identities), from one
 * list of each governed subscription's assignments. After a complete pass, open rows of
 * assignments that were not seen again (deleted while no event arrived) are resolved.
 */
export async function runRoleGrantReconcile(
  estate: ManagedEstate,
  deps: RoleGrantDeps & { violations: Pick<ViolationLog, "syncFor" | "resolveUnseen"> },
  runId: string,
): Promise<RoleGrantRunResult> {
  const result: RoleGrantRunResult = { principals: 0, checked: 0, flagged: [], resolvedGone: 0, failed: [] };
  if (deps.policy.dataSegregation.mode === "off") return result;
  const startedAt = new Date().toISOString();
  const principals = new Set<string>();
  for (const g of estate.groups.values())
    if (!holdsProductionData(deps.policy, g.env)) principals.add(g.objectId);
  for (const s of estate.scopes.values()) {
    if (!s.workspaceId || holdsProductionData(deps.policy, s.env)) continue;
    const id = await deps.workspaceIdentity(s.workspaceId, s.subscriptionId);
    if (id) principals.add(id);
  }
  const run = {
    ...deps,
    roles: new Map<string, Promise<boolean>>(),
    scopes: new Map<string, Promise<string | undefined>>(),
  };
  result.principals = principals.size;
  // One list of each governed subscription's assignments (at, above and below it; a few pages
  // at most, Azure holds 4,000 a subscription), kept when the principal is one of ours: far
  // fewer calls than a filtered list per principal and subscription.
  const seen = new Set<string>();
  for (const sub of deps.policy.governedSubscriptions) {
    try {
      for await (const ra of deps.authorization(sub.id).roleAssignments.listForSubscription()) {
        const principalId = (ra.principalId ?? "").toLowerCase();
        if (!ra.id || !principals.has(principalId) || seen.has(ra.id.toLowerCase())) continue;
        seen.add(ra.id.toLowerCase());
        const a = {
          id: ra.id,
          scope: ra.scope ?? "",
          principalId,
          roleDefinitionId: ra.roleDefinitionId ?? "",
        };
        const outcome = await checkAssignment(a, run, { correlationId: runId, estate });
        result.checked++;
        if (outcome.result === "checked" && outcome.violations.length > 0) result.flagged.push(ra.id);
      }
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      result.failed.push({ subscriptionId: sub.id, error });
      deps.log.error("data-access role check of a subscription failed", { subscriptionId: sub.id, error });
    }
  }
  if (result.failed.length === 0)
    for (const sub of deps.policy.governedSubscriptions)
      result.resolvedGone += await deps.violations.resolveUnseen(sub.id, startedAt, {
        correlationId: runId,
        kinds: ["dataSegregation"],
        where: (v) => /\/providers\/Microsoft\.Authorization\/roleAssignments\/[^/]+$/i.test(v.resourceId),
      });
  return result;
}
