/**
 * Wires the event path's dependencies from the process's settings, policy and clients. The
 * caches are process-wide (that is their point); the clients and ledgers follow `azure()`, which
 * tests and the local runner rebuild between stacks.
 */
import { azure, type AzureClients } from "../azure/clients.js";
import { principalName } from "../azure/principalNames.js";
import { getSettings, TABLES } from "../config/settings.js";
import { ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import { getPolicy } from "../policy/index.js";
import { TaggingCaches } from "./caches.js";
import type { TaggingDeps } from "./handleResourceWrite.js";
import { applyTagPatch } from "./tagWriter.js";
import { AuditLog } from "../ledger/audit.js";

let caches = new TaggingCaches();
let ledgers: { clients: AzureClients; violations: ViolationLog; audit: AuditLog } | undefined;

export function taggingDeps(log: Logger): TaggingDeps {
  const clients = azure();
  if (ledgers?.clients !== clients) {
    ledgers = {
      clients,
      violations: new ViolationLog(clients.table(TABLES.violations)),
      audit: new AuditLog(clients.table(TABLES.audit)),
    };
  }
  const { violations, audit } = ledgers;
  const settings = getSettings();
  const resources = (s: string) => clients.resources(s);
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
  ledgers = undefined;
}
