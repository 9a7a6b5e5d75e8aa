/**
 * Approving a run the blast-radius guard blocked: only a member of the policy's platform
 * approvers group, known from a validated token, and recorded on the blocked run before any run
 * may apply it. The HTTP front and `steward reconcile --approve` both come through here; the
 * queue message that then asks for the approved run carries no authority (run.ts re-reads the
 * recorded approval and compares change sets).
 */
import type { Caller } from "../auth/callerToken.js";
import type { EstatePolicy } from "../policy/schema.js";
import { approvable } from "./guard.js";
import type { RunStore } from "./runStore.js";

export type ApprovalResult =
  | { ok: true; subscriptionId: string; changeSetHash: string }
  | { ok: false; status: 403 | 404 | 409; reason: string };

export async function approveBlockedRun(
  deps: {
    policy: EstatePolicy;
    runs: RunStore;
    memberGroups(objectId: string, groupIds: readonly string[]): Promise<Set<string>>;
  },
  caller: Caller,
  runId: string,
  now = Date.now(),
): Promise<ApprovalResult> {
  const group = deps.policy.reconcile.approvers;
  if (!group)
    return {
      ok: false,
      status: 403,
      reason: "the estate policy names no reconcile.approvers group, so no blocked run can be approved",
    };
  const member = await deps.memberGroups(caller.objectId, [group.id]);
  if (!member.has(group.id.toLowerCase()))
    return {
      ok: false,
      status: 403,
      reason: `${caller.userPrincipalName ?? caller.objectId} is not a member of ${group.name} (${group.id}), who approve blocked reconcile runs`,
    };
  const blocked = await deps.runs.get(runId);
  if (!blocked) return { ok: false, status: 404, reason: `run ${runId} not found` };
  const open = approvable(blocked, runId, now);
  if (!open.ok) return { ok: false, status: 409, reason: open.reason };
  const recorded = await deps.runs.recordApproval(runId, {
    objectId: caller.objectId,
    userPrincipalName: caller.userPrincipalName,
    displayName: caller.displayName,
  });
  if (!recorded.ok) return { ok: false, status: 409, reason: recorded.reason };
  return { ok: true, subscriptionId: blocked.subscriptionId, changeSetHash: open.changeSetHash };
}
