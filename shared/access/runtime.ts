/**
 * Wires the access-drift dependencies from the process's settings, policy and clients. The
 * estate (what promotions created) is kept for a minute: it changes only when a promotion
 * succeeds, and reading it costs a Table query plus a read per promotion.
 */
import { azure, type AzureClients } from "../azure/clients.js";
import { ML_API_VERSION } from "../azure/mlApi.js";
import { getSettings, TABLES } from "../config/settings.js";
import { AuditLog } from "../ledger/audit.js";
import { ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import { getPolicy } from "../policy/index.js";
import { PromotionRecords } from "../promotion/record.js";
import { loadEstate, type ManagedEstate } from "./estate.js";
import type { AccessEventDeps } from "./event.js";

const ESTATE_TTL_MS = 60_000;

/** Workspace id -> its system identity's object id: fixed for the workspace's lifetime. */
const identities = new Map<string, Promise<string | undefined>>();
const MAX_IDENTITIES = 5_000;

function workspaceIdentity(clients: AzureClients, workspaceId: string, subscriptionId: string) {
  const key = workspaceId.toLowerCase();
  let p = identities.get(key);
  if (!p) {
    p = clients
      .resources(subscriptionId)
      .resources.getById(workspaceId, ML_API_VERSION)
      .then((r) => r.identity?.principalId?.toLowerCase())
      .catch((e: { statusCode?: number }) => {
        // A workspace that is gone has no identity to allow; other failures are tried again.
        if (e.statusCode === 404) return undefined;
        identities.delete(key);
        throw e;
      });
    if (identities.size >= MAX_IDENTITIES) identities.clear();
    identities.set(key, p);
  }
  return p;
}

let cached: { clients: AzureClients; at: number; estate: Promise<ManagedEstate> } | undefined;

function estateOf(clients: AzureClients, readAfter?: number): Promise<ManagedEstate> {
  const fresh = cached?.clients === clients && Date.now() - cached.at < ESTATE_TTL_MS;
  if (fresh && (readAfter === undefined || cached!.at >= readAfter)) return cached!.estate;
  const estate = loadEstate(new PromotionRecords(clients.table(TABLES.promotions)));
  const entry = { clients, at: Date.now(), estate };
  cached = entry;
  estate.catch(() => {
    if (cached === entry) cached = undefined;
  });
  return estate;
}

export function accessDeps(log: Logger): AccessEventDeps {
  const clients = azure();
  const settings = getSettings();
  return {
    policy: getPolicy(),
    self: { objectId: settings.STEWARD_IDENTITY_OBJECT_ID, clientId: settings.STEWARD_IDENTITY_CLIENT_ID },
    authorization: (s) => clients.authorization(s),
    workspaceIdentity: (id, s) => workspaceIdentity(clients, id, s),
    violations: new ViolationLog(clients.table(TABLES.violations)),
    audit: new AuditLog(clients.table(TABLES.audit)),
    estate: (opts) => estateOf(clients, opts?.readAfter),
    log,
  };
}

/** Forget the estate (a promotion just succeeded; tests switch stacks). */
export function resetAccessState(): void {
  cached = undefined;
  identities.clear();
}
