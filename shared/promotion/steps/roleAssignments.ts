/**
 * The access matrix on the environment's resource group: one assignment per (group, role),
 * named deterministically so a retry PUTs the same name. One list of what already exists at
 * the scope saves a GET per assignment. `409 RoleAssignmentExists` (same principal, role and
 * scope under another name) means done; `400 PrincipalNotFound` means Entra has not replicated
 * the new group yet and is retried with back-off (minutes, as Microsoft advises).
 */
import type { RoleAssignment } from "@azure/arm-authorization";
import { errorFacts, hasCode } from "../../azure/errors.js";
import { withGroupIds, type EnvironmentPlan, type PlannedRoleAssignment } from "../plan.js";
import { mapLimit, withBackoff } from "../retry.js";
import { WriteTally, type StepContext, type StepResult } from "./context.js";

export async function ensureRoleAssignments(
  ctx: StepContext,
  env: EnvironmentPlan,
  groupIds: ReadonlyMap<string, string>,
): Promise<StepResult> {
  const auth = ctx.clients.authorization(env.subscriptionId);
  const tally = new WriteTally(ctx);
  const scope = env.resourceGroup.id;
  const wanted = withGroupIds(env, groupIds);

  const existing = new Set<string>();
  for await (const ra of auth.roleAssignments.listForScope(scope, { filter: "atScope()" }))
    existing.add(key(ra));
  const missing = wanted.filter(
    (w) => !existing.has(`${w.principalId!.toLowerCase()}|${w.roleDefinitionGuid}|${scope.toLowerCase()}`),
  );

  await mapLimit(missing, 4, (w) => create(ctx, tally, w, env.subscriptionId));
  return {
    outcome: tally.outcome(tally.count > 0),
    writes: tally.count,
    resources: wanted.map((w) => `${w.scope}/providers/Microsoft.Authorization/roleAssignments/${w.name}`),
  };
}

function key(ra: RoleAssignment): string {
  const guid = (ra.roleDefinitionId ?? "").split("/").pop()!.toLowerCase();
  return `${(ra.principalId ?? "").toLowerCase()}|${guid}|${(ra.scope ?? "").toLowerCase()}`;
}

async function create(
  ctx: StepContext,
  tally: WriteTally,
  w: PlannedRoleAssignment,
  subscriptionId: string,
): Promise<void> {
  const auth = ctx.clients.authorization(subscriptionId);
  const body = {
    roleDefinitionId: w.roleDefinitionId,
    principalId: w.principalId!,
    principalType: w.principalType,
  };
  try {
    await withBackoff(
      () => auth.roleAssignments.create(w.scope, w.name!, body),
      (e) => hasCode(e, "PrincipalNotFound"),
      ctx.backoff.replication,
      (e, attempt, delay) =>
        ctx.log.info("role assignment waits for Entra replication", {
          group: w.groupUniqueName,
          attempt,
          delayMs: delay,
          error: errorFacts(e).message,
        }),
    );
    await tally.record(
      "roleAssignment.create",
      `${w.scope}/providers/Microsoft.Authorization/roleAssignments/${w.name}`,
      { ...body, role: w.roleName, group: w.groupUniqueName },
      { subscriptionId },
    );
  } catch (e) {
    if (!hasCode(e, "RoleAssignmentExists")) throw e;
  }
}
