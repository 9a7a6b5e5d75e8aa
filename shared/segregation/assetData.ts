/**
 * Where an Azure ML data version's data lives, and whether that is production storage: the
 * promotion's asset step refuses such versions for environments without productionData, naming
 * the storage account and why it is production storage.
 *
 * A data URI is `azureml://[.../workspaces/{ws}/]datastores/{name}/paths/...` (the datastore of
 * the workspace the version is in, read through ARM and resolved like any datastore), or a
 * storage URL (`https://`, `abfss://fs@...`, `wasbs://container@...`). Anything else (a public
 * web URL, a local path) is not judged here.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { isNotFound } from "../azure/errors.js";
import type { ManagedEstate } from "../access/estate.js";
import type { EstatePolicy } from "../policy/schema.js";
import { ML_API_VERSION } from "../azure/mlApi.js";
import { datastoreStorage, storageTarget, type StorageRef } from "./storageRef.js";
import { findStorageAccount, productionReason, type StorageAccountFacts } from "./storageAccounts.js";

export interface AssetDataDeps {
  policy: EstatePolicy;
  resources(subscriptionId: string): ResourceManagementClient;
  estate(): Promise<ManagedEstate>;
  /**
   * Datastores already read, by lower-cased id: the nightly scan fills it from its datastore
   * list, so a thousand versions on one datastore cost no read each.
   */
  datastoreRefs?: Map<string, Promise<StorageRef>>;
  /**
   * Storage accounts already looked up, by lower-cased name: a promotion's data versions mostly
   * share a few accounts, so each is listed once per promotion, not once per version.
   */
  storageAccounts?: Map<string, Promise<StorageAccountFacts | undefined>>;
}

export interface WorkspaceRef {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

const SHORT = /^azureml:\/\/datastores\/([^/]+)\/paths\//i;
const LONG =
  /^azureml:\/\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/(?:providers\/Microsoft\.MachineLearningServices\/)?workspaces\/([^/]+)\/datastores\/([^/]+)\/paths\//i;

/**
 * The storage a data URI points at, in the workspace the version is in (promotion's check and
 * the data-version check of dataAccess.ts share it).
 */
export async function dataUriStorage(
  deps: AssetDataDeps,
  dataUri: string,
  workspace: WorkspaceRef,
): Promise<StorageRef> {
  const uri = dataUri.trim();
  const long = LONG.exec(uri);
  const ds = SHORT.exec(uri)?.[1] ?? long?.[4];
  if (!/^azureml:/i.test(uri)) return storageTarget(uri, "data URI");
  if (!ds || !/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(ds) || ds.includes(".."))
    return { kind: "invalid", why: `an azureml URI that names no valid datastore: ${uri}` };
  // A datastore of another workspace is not read: the version must name its own workspace's.
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (
    long &&
    !(
      same(long[1]!, workspace.subscriptionId) &&
      same(long[2]!, workspace.resourceGroup) &&
      same(long[3]!, workspace.name)
    )
  )
    return { kind: "invalid", why: `a data URI naming another workspace's datastore: ${uri}` };
  const id = `${workspace.id}/datastores/${ds}`;
  const known = deps.datastoreRefs?.get(id.toLowerCase());
  if (known) return known;
  const read = readDatastore(deps, workspace.subscriptionId, id, ds);
  deps.datastoreRefs?.set(id.toLowerCase(), read);
  return read;
}

async function readDatastore(
  deps: AssetDataDeps,
  subscriptionId: string,
  id: string,
  ds: string,
): Promise<StorageRef> {
  try {
    const r = await deps.resources(subscriptionId).resources.getById(id, ML_API_VERSION);
    return datastoreStorage(r.properties ?? {});
  } catch (e) {
    // No such datastore: the version reaches no data through it (a later datastore of that
    // name is a datastore write, checked on its own event).
    if (isNotFound(e)) return { kind: "outside", why: `datastore ${ds} does not exist` };
    throw e;
  }
}

/**
 * Why a data version's data is production data (from its URI's storage), or undefined. A URI
 * whose storage cannot be resolved is refused too: unknown is not safe for a dev environment.
 */
export async function productionDataReason(
  deps: AssetDataDeps,
  dataUri: string | undefined,
  workspace: WorkspaceRef,
): Promise<string | undefined> {
  if (!dataUri) return undefined;
  const ref = await dataUriStorage(deps, dataUri, workspace);
  if (ref.kind === "outside") return undefined;
  if (ref.kind === "invalid") return `its data cannot be placed (${ref.why})`;
  const key = ref.accountName.toLowerCase();
  let lookup = deps.storageAccounts?.get(key);
  if (!lookup) {
    lookup = findStorageAccount(deps.policy, deps.resources, ref.accountName);
    deps.storageAccounts?.set(key, lookup);
  }
  const account = await lookup;
  if (!account)
    return `its data is in storage account ${ref.accountName}, outside the governed subscriptions`;
  const why = productionReason(deps.policy, await deps.estate(), account);
  return why ? `its data is in production storage account ${account.name} (${why})` : undefined;
}
