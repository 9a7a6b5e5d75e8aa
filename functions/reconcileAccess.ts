/**
 * Timer (the nightly reconcile schedule): compares every scope aml-steward created with its
 * recorded access matrix and its groups' members with the recorded ones (shared/access). Apart
 * from the per-subscription tag reconciliation: access needs the promotion records, not a scan
 * of every resource, and must run even when the tag run is blocked by its guard.
 */
import type { InvocationContext, Timer } from "@azure/functions";
import { loggerFor } from "../shared/log.js";
import type { FunctionDefinition } from "./definition.js";

export async function reconcileAccess(timer: Timer, context: InvocationContext): Promise<void> {
  const log = loggerFor(context, { function: "reconcileAccess", invocationId: context.invocationId });
  const runId = `access-${new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}`;
  if (timer?.isPastDue) log.warn("the access timer is past due", { runId });
  // Loaded on the first run, like the tag reconciliation: no other trigger needs it.
  const { reconcileAccessNow } = await import("../shared/access/nightly.js");
  const r = await reconcileAccessNow(log, runId);
  log.info("access reconciled", {
    runId,
    scopes: r.scopes.length,
    scopesWithDrift: r.scopes.filter((s) => s.drift.extra.length + s.drift.missing.length > 0).length,
    failedScopes: r.failedScopes.length,
    groupsChanged: r.members?.changedGroups,
    deltaPages: r.members?.deltaPages,
    membersError: r.membersError,
    dataAccessChecked: r.dataAccess?.checked,
    dataAccessFlagged: r.dataAccess?.flagged.length,
    dataAccessFailedWorkspaces: r.dataAccess?.failedWorkspaces.length,
    roleGrantsFlagged: r.roleGrants?.flagged.length,
    roleGrantsFailed: r.roleGrants?.failed.length,
  });
  // A failed part is retried by the next night; throwing would only re-run the healthy ones.
}

export const definitions: FunctionDefinition[] = [
  {
    name: "reconcileAccess",
    trigger: "timer",
    options: { schedule: "%STEWARD_RECONCILE_SCHEDULE%", handler: reconcileAccess },
  },
];
