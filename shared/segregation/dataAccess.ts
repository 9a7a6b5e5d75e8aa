/**
 * One datastore, workspace connection or data version checked against the data-segregation
 * rules, and its violations recorded: shared by the event path and the nightly run, so both
 * judge alike.
 *
 * Level-triggered: the event says only "this id changed"; the datastore is read from ARM, its
 * storage resolved, and the violation rows of that id made to say what applies now (so a
 * redelivered, duplicated, forged or out-of-order event converges on the same rows, and a fixed
 * or deleted datastore resolves its violation). A data version is judged by its `dataUri`
 * (assetData.ts, as promotion judges it): a storage URL, or an `azureml://` datastore path judged
 * through that datastore. Only workspaces aml-steward created are judged:
 * their environment comes from the promotion records, never from tags or names.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { isNotFound } from "../azure/errors.js";
import { parseResourceId } from "../azure/resourceId.js";
import type { ManagedEstate } from "../access/estate.js";
import type { FoundViolation, ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import type { EstatePolicy } from "../policy/schema.js";
import { normaliseRegion } from "../tagging/decideTags.js";
import { dataUriStorage, type WorkspaceRef } from "./assetData.js";
import { ML_API_VERSION } from "../azure/mlApi.js";
import { connectionStorage, dataVersionUri, datastoreStorage, type StorageRef } from "./storageRef.js";
import {
  findStorageAccount,
  holdsProductionData,
  productionReason,
  scopeOf,
  type StorageAccountFacts,
} from "./storageAccounts.js";

/** A workspace's datastore, connection or data version (`data/{name}/versions/{version}`). */
const CHILD =
  /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.MachineLearningServices\/workspaces\/[^/]+)\/(datastores|connections|data\/([^/]+)\/versions)\/[^/]+$/i;

export interface DataAccessDeps {
  policy: EstatePolicy;
  resources(subscriptionId: string): ResourceManagementClient;
  estate(opts?: { readAfter?: number }): Promise<ManagedEstate>;
  violations: Pick<ViolationLog, "syncFor">;
  log: Logger;
  /** Account lookups by name, shared by the checks of one run (the nightly scan passes one). */
  accounts?: Map<string, Promise<StorageAccountFacts | undefined>>;
  /** Datastores already read, by lower-cased id (the nightly scan's list), for data versions. */
  datastoreRefs?: Map<string, Promise<StorageRef>>;
  /** Workspace regions by lower-cased id, shared by the checks of one run (the nightly scan passes one). */
  workspaceRegions?: Map<string, Promise<string | undefined>>;
}

/** What a checked id is, from its id alone (the body is read or listed separately). */
interface Child {
  kind: "datastores" | "connections" | "data";
  workspace: WorkspaceRef;
  /** How its violation details name it. */
  label: string;
}

/**
 * The child an id names, or undefined. `.` and `..` segments are refused: ARM would fold them
 * into another resource, and the row must be keyed by the resource that was read.
 */
function childOf(id: string): Child | undefined {
  const m = CHILD.exec(id);
  const ws = m && parseResourceId(m[1]!);
  if (!m || !ws?.resourceGroup || id.split("/").some((s) => s === "." || s === "..")) return undefined;
  const workspace = {
    id: m[1]!,
    subscriptionId: ws.subscriptionId,
    resourceGroup: ws.resourceGroup,
    name: ws.name,
  };
  const name = id.slice(id.lastIndexOf("/") + 1);
  if (m[3]) return { kind: "data", workspace, label: `data version ${m[3]}:${name}` };
  const kind = m[2]!.toLowerCase() as "datastores" | "connections";
  return { kind, workspace, label: `${kind === "datastores" ? "datastore" : "connection"} ${name}` };
}

export type DataAccessOutcome =
  | { result: "off" | "notDataAccess" | "production" }
  | { result: "notManaged"; workspaceId: string }
  | { result: "gone" }
  | { result: "checked"; storage: string; violations: FoundViolation[] };

/** Whether an id is a workspace datastore, connection or data version (what this module checks). */
export const isDataAccessId = (id: string) => childOf(id.trim().replace(/\/+$/, "")) !== undefined;

export async function checkDataAccess(
  resourceId: string,
  deps: DataAccessDeps,
  opts: { correlationId?: string; readAfter?: number; properties?: unknown } = {},
): Promise<DataAccessOutcome> {
  const { policy } = deps;
  if (policy.dataSegregation.mode === "off") return { result: "off" };
  const id = resourceId.trim().replace(/\/+$/, "");
  const child = childOf(id);
  if (!child) return { result: "notDataAccess" };
  const { subscriptionId } = child.workspace;
  const workspaceId = child.workspace.id;
  // A workspace this copy of the estate does not know may belong to a promotion that has
  // finished since: read again once (the access path does the same).
  let estate = await deps.estate();
  if (!scopeOf(estate, workspaceId)) estate = await deps.estate({ readAfter: opts.readAfter });
  const scope = scopeOf(estate, workspaceId);
  if (!scope) return { result: "notManaged", workspaceId };
  const production = holdsProductionData(policy, scope.env);
  // An environment that may hold production data can only break the residency rule.
  if (production && policy.regions.restricted.length === 0) return { result: "production" };
  const sync = (found: FoundViolation[]) =>
    deps.violations.syncFor(id, subscriptionId, found, {
      project: scope.project,
      correlationId: opts.correlationId,
    });

  // The nightly list already holds the properties; the event path reads them.
  let properties = opts.properties;
  if (properties === undefined) {
    const body = await readChild(deps, subscriptionId, id);
    if (!body) {
      await sync([]);
      return { result: "gone" };
    }
    properties = body;
  }
  const ref = await storageOf(deps, child, properties);
  const what = `${child.label} of ${scope.project}'s ${scope.env} workspace`;
  const account = ref.kind === "account" ? await lookUp(deps, ref.accountName) : undefined;
  const found: FoundViolation[] = [];
  const segregation = production
    ? undefined
    : segregationViolation(policy, estate, what, scope.env, ref, account);
  if (segregation) found.push(segregation);
  const residency = account
    ? await residencyViolation(deps, what, workspaceId, subscriptionId, account)
    : undefined;
  if (residency) found.push(residency);
  await sync(found);
  return { result: "checked", storage: describeRef(ref, account), violations: found };
}

/** Where a child's body points. A data version without a dataUri reaches no data. */
async function storageOf(deps: DataAccessDeps, child: Child, properties: unknown): Promise<StorageRef> {
  if (child.kind === "datastores") return datastoreStorage(properties);
  if (child.kind === "connections") return connectionStorage(properties);
  const uri = dataVersionUri(properties);
  return uri
    ? dataUriStorage(deps, uri, child.workspace)
    : { kind: "outside", why: "the data version has no dataUri" };
}

async function readChild(deps: DataAccessDeps, subscriptionId: string, id: string): Promise<unknown> {
  try {
    const r = await deps.resources(subscriptionId).resources.getById(id, ML_API_VERSION);
    return r.properties ?? {};
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

function lookUp(deps: DataAccessDeps, accountName: string): Promise<StorageAccountFacts | undefined> {
  const cache = deps.accounts;
  const hit = cache?.get(accountName);
  if (hit) return hit;
  const p = findStorageAccount(deps.policy, deps.resources, accountName);
  cache?.set(accountName, p);
  return p;
}

function segregationViolation(
  policy: EstatePolicy,
  estate: ManagedEstate,
  what: string,
  env: string,
  ref: StorageRef,
  account: StorageAccountFacts | undefined,
): FoundViolation | undefined {
  if (ref.kind === "outside") return undefined;
  if (ref.kind === "invalid") return { kind: "dataSegregation", detail: `unresolved: ${what}: ${ref.why}` };
  if (!account)
    return {
      kind: "dataSegregation",
      detail: `unresolved: ${what} uses storage account ${ref.accountName}, which is in no governed subscription: whether it holds production data cannot be told`,
    };
  const why = productionReason(policy, estate, account);
  return why
    ? {
        kind: "dataSegregation",
        detail: `${what} uses production storage account ${account.name} (${why}); ${env} may not hold production data`,
      }
    : undefined;
}

/**
 * Storage in a restricted region used from a workspace in another region. Costs one read of
 * the workspace (its location), only when the account is in a restricted region.
 */
async function residencyViolation(
  deps: DataAccessDeps,
  what: string,
  workspaceId: string,
  subscriptionId: string,
  account: StorageAccountFacts,
): Promise<FoundViolation | undefined> {
  const restricted = deps.policy.regions.restricted.map(normaliseRegion);
  const region = account.location ? normaliseRegion(account.location) : undefined;
  if (!region || !restricted.includes(region)) return undefined;
  const wsRegion = await workspaceRegion(deps, subscriptionId, workspaceId);
  if (wsRegion === region) return undefined;
  return {
    kind: "dataResidency",
    detail: `${what} (in ${wsRegion ?? "an unknown region"}) uses storage account ${account.name} in ${region}, a restricted region: its data may be used only from ${region}`,
  };
}

/** The workspace's region: one read per workspace and run (a failed read is not kept). */
function workspaceRegion(
  deps: DataAccessDeps,
  subscriptionId: string,
  workspaceId: string,
): Promise<string | undefined> {
  const cache = deps.workspaceRegions;
  const key = workspaceId.toLowerCase();
  const hit = cache?.get(key);
  if (hit) return hit;
  const p = deps
    .resources(subscriptionId)
    .resources.getById(workspaceId, ML_API_VERSION)
    .then((ws) => (ws.location ? normaliseRegion(ws.location) : undefined));
  if (cache) {
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

function describeRef(ref: StorageRef, account: StorageAccountFacts | undefined): string {
  if (ref.kind !== "account") return `${ref.kind}: ${ref.why}`;
  return account ? account.id : `${ref.accountName} (not in a governed subscription)`;
}
