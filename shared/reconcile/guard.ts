/**
 * The blast-radius guard and the approval of a blocked run, as pure functions.
 *
 * A run that would change more than `maxChangeShare` of the resources it scanned, or more than
 * `maxChangeCount` resources, writes nothing: a mass change is far more often a broken input
 * (a resource group's cost centre typed wrong, a policy edit) than real drift, and tags feed
 * the cost reports of the whole company.
 *
 * Approval semantics (approveRun / `--approve RUN_ID`):
 * - only a run whose status is `blocked` can be approved, and only for its own subscription;
 * - only by a member of the policy's platform approvers group, identified by a validated token,
 *   recorded on the blocked run (who, when) before any approved run may use it; a queue message
 *   naming a run to approve carries no authority of its own;
 * - the approval is valid for APPROVAL_VALIDITY_MS after the blocked run finished;
 * - the approved run scans again and goes ahead only if its change set is exactly the one the
 *   blocked run recorded (the same resources and the same tag values, by hash): the approver
 *   approved those changes, not others of the same number; otherwise it is blocked again, and
 *   that new run can be approved in turn;
 * - an approval is used up by the first approved run that completes; a run cut short (time
 *   budget, crash) leaves it usable, so the rerun that finishes the job is still approved.
 */
import type { EstatePolicy } from "../policy/schema.js";
import type { GuardDecision, ReconcileReport } from "./types.js";

export const APPROVAL_VALIDITY_MS = 24 * 60 * 60 * 1000;

export function blastRadius(
  limits: EstatePolicy["reconcile"],
  scanned: number,
  drifted: number,
  approval?: { runId: string; changeSetHash: string },
  changeSetHash?: string,
): GuardDecision {
  const share = scanned > 0 ? drifted / scanned : 0;
  const base = {
    drifted,
    scanned,
    share,
    maxChangeShare: limits.maxChangeShare,
    maxChangeCount: limits.maxChangeCount,
  };
  const reasons: string[] = [];
  if (drifted > limits.maxChangeCount) {
    reasons.push(`${drifted} resources would change, more than maxChangeCount ${limits.maxChangeCount}`);
  }
  if (drifted > 0 && share > limits.maxChangeShare) {
    reasons.push(
      `${pct(share)} of ${scanned} scanned resources would change, more than maxChangeShare ${pct(limits.maxChangeShare)}`,
    );
  }
  if (reasons.length === 0) return { allowed: true, ...base };
  if (approval) {
    if (changeSetHash !== undefined && changeSetHash === approval.changeSetHash)
      return { allowed: true, ...base, approvedRunId: approval.runId };
    reasons.push(
      `the approval of run ${approval.runId} covers its exact change set (${approval.changeSetHash}); this run's is ${changeSetHash ?? "unknown"}, so approve this run instead`,
    );
  }
  return { allowed: false, ...base, reason: reasons.join("; ") };
}

export type ApprovalCheck = { ok: true; changeSetHash: string } | { ok: false; reason: string };

/** Can `blocked` (the run an operator approves) authorise a run of `subscriptionId` at `now`? */
export function checkApproval(
  blocked: ReconcileReport | undefined,
  runId: string,
  subscriptionId: string,
  now: number,
): ApprovalCheck {
  const open = approvable(blocked, runId, now);
  if (!open.ok) return open;
  if (blocked!.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) {
    return { ok: false, reason: `run ${runId} is for subscription ${blocked!.subscriptionId}` };
  }
  if (!blocked!.approval?.approvedBy) {
    return {
      ok: false,
      reason: `run ${runId} has no recorded approval; a member of the platform approvers group approves it with "steward reconcile --approve ${runId}" or POST /api/reconcile/runs/${runId}/approvals`,
    };
  }
  return open;
}

/** May `blocked` still be approved at `now` (blocked, unused, inside its window, hashed)? */
export function approvable(blocked: ReconcileReport | undefined, runId: string, now: number): ApprovalCheck {
  if (!blocked) return { ok: false, reason: `run ${runId} not found` };
  if (blocked.status !== "blocked") {
    return { ok: false, reason: `run ${runId} was not blocked by the guard (status ${blocked.status})` };
  }
  if (blocked.approval?.usedByRunId) {
    return { ok: false, reason: `run ${runId} was already applied by run ${blocked.approval.usedByRunId}` };
  }
  const validUntil = Date.parse(blocked.approval?.validUntil ?? "");
  if (!Number.isFinite(validUntil) || now > validUntil) {
    return {
      ok: false,
      reason: `the approval window of run ${runId} closed at ${blocked.approval?.validUntil ?? "(unknown)"}; run again and approve the new run`,
    };
  }
  if (!blocked.changeSetHash) {
    return { ok: false, reason: `run ${runId} recorded no change set; run again and approve the new run` };
  }
  return { ok: true, changeSetHash: blocked.changeSetHash };
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}
