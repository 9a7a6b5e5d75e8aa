/**
 * The nightly data-segregation scan: every datastore and connection of every workspace
 * aml-steward created, checked as its event would be (shared/segregation/dataAccess.ts), so a
 * datastore written while events were lost is found by morning. Converges: a row of a
 * datastore that was fixed is resolved by its check; a row of one that is gone (not listed any
 * more in a workspace that was listed completely) is resolved after the scan. A workspace that
 * fails is logged and the rest go on.
 */
import type { AzureMachineLearningWorkspaces } from "@azure/arm-machinelearning";
import { parseResourceId } from "../azure/resourceId.js";
import type { ManagedEstate } from "../access/estate.js";
import type { ViolationLog } from "../ledger/violations.js";
import { checkDataAccess, isDataAccessId, type DataAccessDeps } from "./dataAccess.js";
import { holdsProductionData, type StorageAccountFacts } from "./storageAccounts.js";

export interface DataAccessNightlyDeps extends Omit<DataAccessDeps, "violations"> {
  machineLearning(subscriptionId: string): AzureMachineLearningWorkspaces;
  violations: Pick<ViolationLog, "syncFor" | "resolveUnseen">;
}

export interface DataAccessRunResult {
  workspaces: number;
  checked: number;
  /** Datastores and connections with a violation now. */
  flagged: string[];
  /** Rows of datastores and connections no longer there. */
  resolvedGone: number;
  failedWorkspaces: Array<{ workspaceId: string; error: string }>;
}

export async function runDataAccessReconcile(
  estate: ManagedEstate,
  deps: DataAccessNightlyDeps,
  runId: string,
): Promise<DataAccessRunResult> {
  const result: DataAccessRunResult = {
    workspaces: 0,
    checked: 0,
    flagged: [],
    resolvedGone: 0,
    failedWorkspaces: [],
  };
  if (deps.policy.dataSegregation.mode === "off") return result;
  const startedAt = new Date().toISOString();
  // One lookup per account name for the whole run, whatever the number of datastores using it.
  const run: DataAccessNightlyDeps = {
    ...deps,
    estate: async () => estate,
    accounts: new Map<string, Promise<StorageAccountFacts | undefined>>(),
  };
  const scanned = new Map<string, Set<string>>();
  for (const scope of estate.scopes.values()) {
    const parts = scope.workspaceId ? parseResourceId(scope.workspaceId) : undefined;
    if (!scope.workspaceId || !parts?.resourceGroup) continue;
    // A production workspace can only break the residency rule.
    if (holdsProductionData(deps.policy, scope.env) && deps.policy.regions.restricted.length === 0) continue;
    result.workspaces++;
    try {
      const ml = deps.machineLearning(parts.subscriptionId);
      const children: Array<{ id?: string; properties?: unknown }> = [];
      for await (const d of ml.datastores.list(parts.resourceGroup, parts.name)) children.push(d);
      for await (const c of ml.workspaceConnections.list(parts.resourceGroup, parts.name)) children.push(c);
      for (const child of children) {
        if (!child.id || !isDataAccessId(child.id)) continue;
        const outcome = await checkDataAccess(child.id, run, {
          correlationId: runId,
          properties: child.properties ?? {},
        });
        result.checked++;
        if (outcome.result === "checked" && outcome.violations.length > 0) result.flagged.push(child.id);
      }
      const subs = scanned.get(parts.subscriptionId) ?? new Set<string>();
      subs.add(`${scope.workspaceId.toLowerCase()}/`);
      scanned.set(parts.subscriptionId, subs);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      result.failedWorkspaces.push({ workspaceId: scope.workspaceId, error });
      deps.log.error("data-access scan of a workspace failed", { workspaceId: scope.workspaceId, error });
    }
  }
  // Each check refreshed its rows; an open row under a completely listed workspace that was
  // not refreshed belongs to a datastore or connection that is gone.
  for (const [subscriptionId, workspaces] of scanned)
    result.resolvedGone += await deps.violations.resolveUnseen(subscriptionId, startedAt, {
      correlationId: runId,
      kinds: ["dataSegregation", "dataResidency"],
      where: (v) =>
        isDataAccessId(v.resourceId) &&
        [...workspaces].some((ws) => v.resourceId.toLowerCase().startsWith(ws)),
    });
  return result;
}
