/**
 * The one way aml-steward writes tags: the Tags API with PATCH `Merge` of only the keys that
 * change (and, for the violation tag alone, `Delete` of a name/value pair), each followed by an
 * audit record. Merge (never Replace) means a tag someone else wrote
 * between our read and our write survives: we send no opinion about keys we do not change.
 * Used by the event path and by the nightly reconciliation alike.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { azure } from "../azure/clients.js";
import { errorFacts, isNotFound } from "../azure/errors.js";
import { parseResourceId } from "../azure/resourceId.js";
import { TABLES } from "../config/settings.js";
import { AuditLog } from "../ledger/audit.js";
import type { Logger } from "../log.js";
import type { AuditRecorder } from "./auditRecorder.js";
import { sdkTagArm, type TagArm, type TagsOperation } from "./tagArm.js";

export interface TagPatchRequest {
  /** Resource (or resource group) id; the Tags API takes it as the scope. */
  resourceId: string;
  /** Only the keys to add or change. Empty = nothing to do. */
  patch: Record<string, string>;
  /**
   * Tags to delete, each with the value it must still have (decideTags' `remove`: only the
   * violation tag, in `violations.mode: tag`). A tag whose value changed meanwhile stays.
   */
  remove?: Record<string, string>;
  /** The tags read before deciding (audit "before"). */
  before: Record<string, string>;
  /** Which part of aml-steward writes (audit actor): onResourceWrite, reconcile... */
  actor: string;
  /** Why, for humans reading the audit log. */
  reason: string;
  correlationId?: string;
  /** Project the resource belongs to, so the audit entry is also filed under it. */
  project?: string;
}

export type TagPatchResult =
  | { status: "written"; after: Record<string, string> }
  | { status: "unchanged" }
  /** The resource no longer exists (404): nothing to tag. */
  | { status: "gone" };

export interface TagWriterDeps {
  /** The event path's lean client, or (reconciliation) the SDK clients by subscription. */
  resources: TagArm | ((subscriptionId: string) => ResourceManagementClient);
  audit: AuditRecorder;
  log?: Logger;
}

let defaultAudit: AuditLog | undefined;
let defaultAuditFor: ReturnType<typeof azure> | undefined;

function defaultDeps(): TagWriterDeps {
  const clients = azure();
  // One AuditLog per client set: tests and the local runner replace the clients between stacks.
  if (!defaultAudit || defaultAuditFor !== clients) {
    defaultAudit = new AuditLog(clients.table(TABLES.audit));
    defaultAuditFor = clients;
  }
  return { resources: (s) => clients.resources(s), audit: defaultAudit };
}

/**
 * Merges `patch` onto the resource's tags and records the write in the audit log. Throws the
 * SDK's error on anything but 404 (the SDK has already honoured Retry-After on 429 and retried
 * 5xx); callers decide whether that is worth a redelivery (errors.isTransient).
 */
export async function applyTagPatch(
  req: TagPatchRequest,
  deps: TagWriterDeps = defaultDeps(),
): Promise<TagPatchResult> {
  const remove = req.remove ?? {};
  if (Object.keys(req.patch).length === 0 && Object.keys(remove).length === 0) return { status: "unchanged" };
  const parts = parseResourceId(req.resourceId);
  if (!parts) throw new Error(`not a resource id: ${req.resourceId}`);

  const arm = typeof deps.resources === "function" ? sdkTagArm(deps.resources) : deps.resources;
  let after = req.before;
  for (const [operation, tags] of [
    ["Merge", req.patch],
    ["Delete", remove],
  ] as const) {
    if (Object.keys(tags).length === 0) continue;
    const before = after;
    try {
      const written =
        operation === "Merge"
          ? await arm.mergeTags(req.resourceId, tags)
          : await arm.deleteTags(req.resourceId, tags);
      after = written ?? expected(before, operation, tags);
    } catch (e) {
      if (isNotFound(e)) {
        deps.log?.info("resource is gone; nothing to tag", { resourceId: req.resourceId });
        return { status: "gone" };
      }
      throw e;
    }
    await audit(deps, req, parts.subscriptionId, operation, before, after);
  }
  return { status: "written", after };
}

function expected(
  before: Record<string, string>,
  operation: TagsOperation,
  tags: Record<string, string>,
): Record<string, string> {
  if (operation === "Merge") return { ...before, ...tags };
  return Object.fromEntries(Object.entries(before).filter(([k]) => !(k in tags)));
}

async function audit(
  deps: TagWriterDeps,
  req: TagPatchRequest,
  subscriptionId: string,
  operation: TagsOperation,
  before: Record<string, string>,
  after: Record<string, string>,
): Promise<void> {
  const entry = {
    actor: req.actor,
    action: operation === "Merge" ? "tags.merge" : "tags.delete",
    target: req.resourceId,
    subscriptionId,
    project: req.project,
    before,
    after,
    reason: req.reason,
    correlationId: req.correlationId,
  };
  try {
    await deps.audit.record(entry);
  } catch (e) {
    // The write happened; a redelivered event would find the tags compliant and never audit
    // again. Put the whole entry in the log (Application Insights keeps it) before failing.
    deps.log?.error("tag write done but the audit record failed", { ...entry, error: errorFacts(e).message });
    throw e;
  }
}
