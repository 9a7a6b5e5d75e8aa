/**
 * Compares one scope aml-steward created with its recorded access matrix, records the result
 * in the violation log, and in restore mode puts the matrix back. Shared by the event path (a
 * role assignment written or deleted on that scope) and the nightly run.
 */
import type { AuthorizationManagementClient } from "@azure/arm-authorization";
import { errorFacts, hasCode } from "../azure/errors.js";
import { roleAssignmentName } from "../ids.js";
import type { AuditLog } from "../ledger/audit.js";
import type { ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import { builtInRoleById } from "../policy/builtInRoles.js";
import type { EstatePolicy } from "../policy/schema.js";
import { blastRadius } from "../reconcile/guard.js";
import {
  compareAccess,
  describeDrift,
  hasDrift,
  roleGuidOf,
  type AccessDrift,
  type ActualAssignment,
} from "./compare.js";
import type { ManagedScope } from "./estate.js";

export const ACCESS_ACTOR = "accessDrift";

export interface AccessCheckDeps {
  policy: EstatePolicy;
  authorization(subscriptionId: string): AuthorizationManagementClient;
  /** The system identity's object id of a workspace aml-steward created (one read, then cached). */
  workspaceIdentity(workspaceId: string, subscriptionId: string): Promise<string | undefined>;
  violations: Pick<ViolationLog, "syncFor">;
  audit: Pick<AuditLog, "record">;
  log: Logger;
}

export interface ScopeCheck {
  scope: string;
  project: string;
  env: string;
  drift: AccessDrift;
  /** restore mode: what was put back. */
  restored: { created: string[]; removed: string[] };
  /** restore mode: why nothing was changed (the blast-radius guard), if so. */
  blocked?: string;
}

const roleName = (guid: string) => builtInRoleById(guid)?.name ?? guid;

/** Id of the violation row of a scope's access: apart from the group's own tag violations. */
export const accessViolationId = (scope: string) =>
  `${scope}/providers/Microsoft.Authorization/roleAssignments`;

/** Assignments at the scope and above it (`atScope()`): one list call. */
export async function readAssignments(
  auth: AuthorizationManagementClient,
  scope: string,
): Promise<ActualAssignment[]> {
  const out: ActualAssignment[] = [];
  for await (const ra of auth.roleAssignments.listForScope(scope, { filter: "atScope()" })) {
    if (!ra.id || !ra.scope || !ra.principalId || !ra.roleDefinitionId) continue;
    out.push({
      id: ra.id,
      scope: ra.scope,
      principalId: ra.principalId.toLowerCase(),
      principalType: ra.principalType ?? "Unknown",
      roleDefinitionGuid: roleGuidOf(ra.roleDefinitionId),
      createdBy: ra.createdBy,
    });
  }
  return out;
}

export async function checkScope(
  managed: ManagedScope,
  deps: AccessCheckDeps,
  ctx: { correlationId: string; who?: string },
): Promise<ScopeCheck> {
  const auth = deps.authorization(managed.subscriptionId);
  const actual = await readAssignments(auth, managed.scope);
  const platform = managed.workspaceId
    ? await deps.workspaceIdentity(managed.workspaceId, managed.subscriptionId)
    : undefined;
  const drift = compareAccess(managed, actual, platform ? [platform] : []);
  const result: ScopeCheck = {
    scope: managed.scope,
    project: managed.project,
    env: managed.env,
    drift,
    restored: { created: [], removed: [] },
  };
  if (drift.inherited.length > 0)
    deps.log.debug("assignments inherited from above the scope are reported, never changed", {
      scope: managed.scope,
      inherited: drift.inherited.map((a) => ({
        scope: a.scope,
        role: roleName(a.roleDefinitionGuid),
        principalId: a.principalId,
      })),
    });
  const violationId = accessViolationId(managed.scope);
  const sync = (open: boolean) =>
    deps.violations.syncFor(
      violationId,
      managed.subscriptionId,
      open ? [{ kind: "access", detail: describeDrift(drift, ctx.who, roleName) }] : [],
      { project: managed.project, correlationId: ctx.correlationId },
    );
  if (!hasDrift(drift)) {
    await sync(false);
    return result;
  }
  // Recorded first, so who made the change stays in the history even when restore undoes it.
  await sync(true);
  deps.log.warn("access drift", { scope: managed.scope, detail: describeDrift(drift, ctx.who, roleName) });
  if (deps.policy.access.drift !== "restore") return result;
  // Records name resource groups; anything else (a subscription) is never restored, whatever a
  // record says.
  if (!/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+$/i.test(managed.scope)) {
    result.blocked = "not a resource group: aml-steward restores access only on resource groups it created";
    return result;
  }

  const scanned = new Set([
    ...actual
      .filter((a) => a.scope.toLowerCase() === managed.scope.toLowerCase())
      .map((a) => a.id.toLowerCase()),
    ...managed.expected.map((e) => `${e.principalId}|${e.roleDefinitionGuid}`),
  ]).size;
  const changes = drift.extra.length + drift.missing.length;
  const guard = blastRadius(deps.policy.reconcile, scanned, changes);
  if (!guard.allowed) {
    result.blocked = guard.reason;
    deps.log.warn("access drift not restored: the blast-radius guard refused", {
      scope: managed.scope,
      reason: guard.reason,
    });
    return result;
  }
  for (const m of drift.missing) {
    const name = roleAssignmentName(managed.scope, m.principalId, m.roleDefinitionGuid);
    const body = {
      roleDefinitionId: `/subscriptions/${managed.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${m.roleDefinitionGuid}`,
      principalId: m.principalId,
      principalType: "Group" as const,
    };
    try {
      await auth.roleAssignments.create(managed.scope, name, body);
    } catch (e) {
      if (!hasCode(e, "RoleAssignmentExists")) throw e;
    }
    const id = `${managed.scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    result.restored.created.push(id);
    await deps.audit.record({
      actor: ACCESS_ACTOR,
      action: "roleAssignment.create",
      target: id,
      subscriptionId: managed.subscriptionId,
      project: managed.project,
      after: { ...body, role: m.roleName, group: m.group },
      reason: `access matrix assignment missing from ${managed.scope}${ctx.who ? ` after a change by ${ctx.who}` : ""}: re-created`,
      correlationId: ctx.correlationId,
    });
  }
  for (const x of drift.extra) {
    // Only on the scope aml-steward created, never above it (compareAccess keeps those apart).
    if (x.scope.toLowerCase() !== managed.scope.toLowerCase()) continue;
    try {
      await auth.roleAssignments.deleteById(x.id);
    } catch (e) {
      const { status } = errorFacts(e);
      if (status === 403) {
        // Outside what the app may delete (docs/deploy.md, the ABAC condition): reported only.
        deps.log.warn("access drift: not allowed to remove this assignment", {
          id: x.id,
          role: roleName(x.roleDefinitionGuid),
        });
        continue;
      }
      if (status !== 404) throw e;
    }
    result.restored.removed.push(x.id);
    await deps.audit.record({
      actor: ACCESS_ACTOR,
      action: "roleAssignment.delete",
      target: x.id,
      subscriptionId: managed.subscriptionId,
      project: managed.project,
      before: {
        roleDefinitionId: x.roleDefinitionGuid,
        role: roleName(x.roleDefinitionGuid),
        principalId: x.principalId,
        principalType: x.principalType,
        createdBy: x.createdBy,
      },
      reason: `${x.why.join(", ")} on ${managed.scope}${ctx.who ? `, made by ${ctx.who}` : ""}: removed`,
      correlationId: ctx.correlationId,
    });
  }
  const complete =
    result.restored.created.length === drift.missing.length &&
    result.restored.removed.length === drift.extra.length;
  if (complete) await sync(false);
  return result;
}
