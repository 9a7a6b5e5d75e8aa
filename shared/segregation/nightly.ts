/**
 * The nightly data-segregation scan: every datastore, connection and data version (up to
 * DATA_VERSIONS_PER_WORKSPACE) of every workspace aml-steward created, checked as its event would be (shared/segregation/dataAccess.ts), so a
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
import { datastoreStorage, type StorageRef } from "./storageRef.js";

/**
 * Data versions listed per workspace and night, at most. Each costs no read of its own (the
 * list holds its dataUri; its datastore is the list's), but a workspace with a generated version
 * per run can hold tens of thousands: beyond this the rest wait for their events, the scan says
 * so in the log, and rows of versions not listed are not resolved as gone.
 */
export const DATA_VERSIONS_PER_WORKSPACE = 1_000;

export interface DataAccessNightlyDeps extends Omit<DataAccessDeps, "violations"> {
  machineLearning(subscriptionId: string): AzureMachineLearningWorkspaces;
  violations: Pick<ViolationLog, "syncFor" | "resolveUnseen">;
  /** DATA_VERSIONS_PER_WORKSPACE unless given (tests). */
  dataVersionCap?: number;
}

export interface DataAccessRunResult {
  workspaces: number;
  checked: number;
  /** Datastores, connections and data versions with a violation now. */
  flagged: string[];
  /** Rows of datastores, connections and data versions no longer there. */
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
    datastoreRefs: new Map<string, Promise<StorageRef>>(),
    workspaceRegions: new Map<string, Promise<string | undefined>>(),
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
      for await (const d of ml.datastores.list(parts.resourceGroup, parts.name)) {
        children.push(d);
        // Data versions on azureml://datastores/... URIs resolve through this list, not a read each.
        if (d.id) run.datastoreRefs!.set(d.id.toLowerCase(), Promise.resolve(datastoreStorage(d.properties)));
      }
      for await (const c of ml.workspaceConnections.list(parts.resourceGroup, parts.name)) children.push(c);
      const cap = deps.dataVersionCap ?? DATA_VERSIONS_PER_WORKSPACE;
      const versions = await listDataVersions(ml, parts.resourceGroup, parts.name, cap);
      if (!versions.complete)
        deps.log.warn(
          "data-access scan: too many data versions in a workspace; the rest wait for their events",
          {
            workspaceId: scope.workspaceId,
            listed: versions.items.length,
            cap,
          },
        );
      children.push(...versions.items);
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
      // Only what was listed completely may have its unseen rows resolved as gone.
      const ws = scope.workspaceId.toLowerCase();
      if (versions.complete) subs.add(`${ws}/`);
      else for (const child of ["datastores", "connections"]) subs.add(`${ws}/${child}/`);
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

/** A workspace's data versions (archived ones too: they still point at data), capped. */
async function listDataVersions(
  ml: AzureMachineLearningWorkspaces,
  resourceGroup: string,
  workspace: string,
  cap: number,
): Promise<{ items: Array<{ id?: string; properties?: unknown }>; complete: boolean }> {
  const items: Array<{ id?: string; properties?: unknown }> = [];
  for await (const container of ml.dataContainers.list(resourceGroup, workspace, { listViewType: "All" })) {
    if (!container.name) continue;
    for await (const v of ml.dataVersions.list(resourceGroup, workspace, container.name, {
      listViewType: "All",
    })) {
      if (items.length >= cap) return { items, complete: false };
      items.push(v);
    }
  }
  return { items, complete: true };
}
