/**
 * Wires the event path's dependencies from the process's settings, policy and clients. The
 * caches are process-wide (that is their point); the clients and ledgers follow `azure()`, which
 * tests and the local runner rebuild between stacks.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { azure, type AzureClients } from "../azure/clients.js";
import { leanClients } from "../azure/leanClients.js";
import { principalName } from "../azure/principalNames.js";
import { getSettings, TABLES, type Settings } from "../config/settings.js";
import { AuditLog } from "../ledger/audit.js";
import { ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import { getPolicy } from "../policy/index.js";
import { leanAuditRecorder, type AuditRecorder } from "./auditRecorder.js";
import { TaggingCaches } from "./caches.js";
import type { TaggingDeps } from "./handleResourceWrite.js";
import { leanTagArm, type TagArm } from "./tagArm.js";
import { applyTagPatch } from "./tagWriter.js";

let caches = new TaggingCaches();

interface EventPathClients {
  arm: TagArm | ((subscriptionId: string) => ResourceManagementClient);
  violations: ViolationLog;
  audit: AuditRecorder;
}

/** Built for one client set and one STEWARD_TAGGING_HTTP, rebuilt when either changes. */
let wired: ({ clients: AzureClients; http: Settings["STEWARD_TAGGING_HTTP"] } & EventPathClients) | undefined;

/**
 * A new resource's three round trips (GET, tags PATCH, audit insert) go through the lean
 * clients unless STEWARD_TAGGING_HTTP=sdk; the violation log, rarely written on this path,
 * keeps the SDK's TableClient either way.
 */
function eventPathClients(clients: AzureClients, http: Settings["STEWARD_TAGGING_HTTP"]): EventPathClients {
  const violations = new ViolationLog(clients.table(TABLES.violations));
  const lean = http === "lean" ? leanClients(clients) : undefined;
  return {
    arm: lean ? leanTagArm(lean.arm) : (s) => clients.resources(s),
    violations,
    audit: lean?.table
      ? leanAuditRecorder(lean.table, TABLES.audit)
      : new AuditLog(clients.table(TABLES.audit)),
  };
}

export function taggingDeps(log: Logger): TaggingDeps {
  const clients = azure();
  const settings = getSettings();
  if (wired?.clients !== clients || wired.http !== settings.STEWARD_TAGGING_HTTP) {
    wired = {
      clients,
      http: settings.STEWARD_TAGGING_HTTP,
      ...eventPathClients(clients, settings.STEWARD_TAGGING_HTTP),
    };
  }
  const { arm: resources, violations, audit } = wired;
  return {
    policy: getPolicy(),
    self: { objectId: settings.STEWARD_IDENTITY_OBJECT_ID, clientId: settings.STEWARD_IDENTITY_CLIENT_ID },
    resources,
    principalName: (ref) => principalName(ref, () => clients.graph()),
    violations,
    writeTags: (req) => applyTagPatch(req, { resources, audit, log }),
    caches,
    log,
  };
}

/** Forget everything this process remembered (tests and benchmarks switch emulators). */
export function resetTaggingState(next = new TaggingCaches()): void {
  caches = next;
  wired = undefined;
}
