/**
 * One datastore or workspace connection checked against the data-segregation rules, and its
 * violations recorded: shared by the event path and the nightly run, so both judge alike.
 *
 * Level-triggered: the event says only "this id changed"; the datastore is read from ARM, its
 * storage resolved, and the violation rows of that id made to say what applies now (so a
 * redelivered, duplicated, forged or out-of-order event converges on the same rows, and a fixed
 * or deleted datastore resolves its violation). Only workspaces aml-steward created are judged:
 * their environment comes from the promotion records, never from tags or names.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { errorFacts } from "../azure/errors.js";
import { parseResourceId } from "../azure/resourceId.js";
import type { ManagedEstate } from "../access/estate.js";
import type { FoundViolation, ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import type { EstatePolicy } from "../policy/schema.js";
import { normaliseRegion } from "../tagging/decideTags.js";
import { connectionStorage, datastoreStorage, type StorageRef } from "./storageRef.js";
import {
  findStorageAccount,
  holdsProductionData,
  productionReason,
  scopeOf,
  type StorageAccountFacts,
} from "./storageAccounts.js";

/** The ML API version the app pins (the SDK's); datastores and connections exist in it. */
export const ML_API_VERSION = "2022-10-01";

const CHILD =
  /\/providers\/Microsoft\.MachineLearningServices\/workspaces\/[^/]+\/(datastores|connections)\/[^/]+$/i;

export interface DataAccessDeps {
  policy: EstatePolicy;
  resources(subscriptionId: string): ResourceManagementClient;
  estate(opts?: { readAfter?: number }): Promise<ManagedEstate>;
  violations: Pick<ViolationLog, "syncFor">;
  log: Logger;
  /** Account lookups by name, shared by the checks of one run (the nightly scan passes one). */
  accounts?: Map<string, Promise<StorageAccountFacts | undefined>>;
}

export type DataAccessOutcome =
  | { result: "off" | "notDataAccess" | "production" }
  | { result: "notManaged"; workspaceId: string }
  | { result: "gone" }
  | { result: "checked"; storage: string; violations: FoundViolation[] };

/** Whether an id is a workspace datastore or connection (what this module checks). */
export const isDataAccessId = (id: string) => CHILD.test(id.trim().replace(/\/+$/, ""));

export async function checkDataAccess(
  resourceId: string,
  deps: DataAccessDeps,
  opts: { correlationId?: string; readAfter?: number; properties?: unknown } = {},
): Promise<DataAccessOutcome> {
  const { policy } = deps;
  if (policy.dataSegregation.mode === "off") return { result: "off" };
  const id = resourceId.trim().replace(/\/+$/, "");
  const parts = parseResourceId(id);
  const kind = CHILD.exec(id)?.[1]?.toLowerCase();
  if (!parts?.parentId || !kind) return { result: "notDataAccess" };
  const workspaceId = parts.parentId;
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
    deps.violations.syncFor(id, parts.subscriptionId, found, {
      project: scope.project,
      correlationId: opts.correlationId,
    });

  // The nightly list already holds the properties; the event path reads them.
  let properties = opts.properties;
  if (properties === undefined) {
    const body = await readChild(deps, parts.subscriptionId, id);
    if (!body) {
      await sync([]);
      return { result: "gone" };
    }
    properties = body;
  }
  const ref = kind === "datastores" ? datastoreStorage(properties) : connectionStorage(properties);
  const what = `${kind === "datastores" ? "datastore" : "connection"} ${parts.name} of ${scope.project}'s ${scope.env} workspace`;
  const account = ref.kind === "account" ? await lookUp(deps, ref.accountName) : undefined;
  const found: FoundViolation[] = [];
  const segregation = production
    ? undefined
    : segregationViolation(policy, estate, what, scope.env, ref, account);
  if (segregation) found.push(segregation);
  const residency = account
    ? await residencyViolation(deps, what, workspaceId, parts.subscriptionId, account)
    : undefined;
  if (residency) found.push(residency);
  await sync(found);
  return { result: "checked", storage: describeRef(ref, account), violations: found };
}

async function readChild(deps: DataAccessDeps, subscriptionId: string, id: string): Promise<unknown> {
  try {
    const r = await deps.resources(subscriptionId).resources.getById(id, ML_API_VERSION);
    return r.properties ?? {};
  } catch (e) {
    if (errorFacts(e).status === 404) return undefined;
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
  const ws = await deps.resources(subscriptionId).resources.getById(workspaceId, ML_API_VERSION);
  const wsRegion = ws.location ? normaliseRegion(ws.location) : undefined;
  if (wsRegion === region) return undefined;
  return {
    kind: "dataResidency",
    detail: `${what} (in ${wsRegion ?? "an unknown region"}) uses storage account ${account.name} in ${region}, a restricted region: its data may be used only from ${region}`,
  };
}

function describeRef(ref: StorageRef, account: StorageAccountFacts | undefined): string {
  if (ref.kind !== "account") return `${ref.kind}: ${ref.why}`;
  return account ? account.id : `${ref.accountName} (not in a governed subscription)`;
}
