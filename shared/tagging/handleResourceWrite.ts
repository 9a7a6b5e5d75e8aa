/**
 * The event path's shell around the pure core: guard, scope, read (or reuse what we already
 * saw), decide, record violations, write the difference. Level-triggered: it never trusts the
 * event's content beyond "this resource was written by this caller at this time", so
 * redelivered, duplicated and reordered events converge on the same tags.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { idKey, parseResourceId, resourceGroupId, type ResourceIdParts } from "../azure/resourceId.js";
import type { PrincipalRef } from "../azure/principalNames.js";
import {
  deliveryKey,
  eventDate,
  RESOURCE_WRITE_SUCCESS,
  TAGS_WRITE_OPERATION,
  type EventCaller,
  type ResourceWriteEvent,
} from "../events/resourceWrite.js";
import { ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import type { EstatePolicy } from "../policy/schema.js";
import type { TaggingCaches, Observation, OpenViolations } from "./caches.js";
import {
  decideTags,
  isResourceGroupType,
  skipReason,
  tagValue,
  type SkipReason,
  type TagDecision,
} from "./decideTags.js";
import { childViolationsOf, showsChildViolations } from "./childViolations.js";
import { loopGuard, type GuardReason, type OwnIdentity } from "./loopGuard.js";
import type { TagArm } from "./tagArm.js";
import { readTagTarget, type ArmCreator, type TagTarget } from "./tagReader.js";
import type { TagPatchRequest, TagPatchResult } from "./tagWriter.js";

export const ACTOR = "onResourceWrite";

export interface TaggingDeps {
  policy: EstatePolicy;
  self: OwnIdentity;
  /** ARM: the lean client in production (runtime.ts); SDK clients by subscription in tests. */
  resources: TagArm | ((subscriptionId: string) => ResourceManagementClient);
  principalName(ref: PrincipalRef): Promise<string | undefined>;
  violations: Pick<ViolationLog, "syncFor" | "openResourceKeys" | "openChildKinds">;
  writeTags(req: TagPatchRequest): Promise<TagPatchResult>;
  caches: TaggingCaches;
  log: Logger;
  now?: () => number;
}

export type Outcome =
  | { result: "guarded"; reason: GuardReason }
  | { result: "notAWrite" }
  | { result: "skipped"; reason: SkipReason }
  | { result: "duplicate" }
  | { result: "gone" }
  | { result: "compliant"; violations: TagDecision["violations"]; fromCache: boolean }
  | {
      result: "tagged";
      patch: Record<string, string>;
      after: Record<string, string>;
      violations: TagDecision["violations"];
    };

/** Handles one parsed ResourceWriteSuccess event. Throws on failures worth a redelivery. */
export async function handleResourceWrite(event: ResourceWriteEvent, deps: TaggingDeps): Promise<Outcome> {
  const guard = loopGuard(event, deps.self);
  if (guard) return { result: "guarded", reason: guard };
  // A deleted resource has nothing left to tag (deleted role assignments go to shared/access);
  // deleting a resource's whole tag set is a delete event about a resource that is still there.
  if (event.eventType !== RESOURCE_WRITE_SUCCESS && !isTagsDelete(event)) return { result: "notAWrite" };
  const parts = parseResourceId(event.resourceId);
  const skip = skipReason(deps.policy, { id: event.resourceId, type: parts?.type });
  if (skip || !parts) return { result: "skipped", reason: skip ?? "notAResource" };

  const { caches } = deps;
  const delivery = deliveryKey(event);
  if (caches.handledEvents.get(delivery)) return { result: "duplicate" };
  return caches.serialise(idKey(event.resourceId), async () => {
    // A copy of this event may have finished while we waited for the lock.
    if (caches.handledEvents.get(delivery)) return { result: "duplicate" } as const;
    const outcome = await converge(event, parts, deps, { fillCreator: true });
    caches.handledEvents.set(delivery, true);
    return outcome;
  });
}

/**
 * Decides a workspace's tags again because one of its datastores or connections was checked
 * (shared/segregation): in `violations.mode: tag` its violation tag shows their open data
 * violations. The datastore's writer did not create the workspace, so createdBy/createdOn are
 * left alone. Our own tag write comes back as an event with our identity, which the loop
 * guard (and the event subscription's filter) drops: this never loops.
 */
export async function retagParent(
  workspaceId: string,
  cause: Pick<ResourceWriteEvent, "id" | "eventTime" | "correlationId" | "operationName" | "schema">,
  deps: TaggingDeps,
): Promise<Outcome> {
  const parts = parseResourceId(workspaceId);
  const skip = skipReason(deps.policy, { id: workspaceId, type: parts?.type });
  if (skip || !parts) return { result: "skipped", reason: skip ?? "notAResource" };
  if (!showsChildViolations(deps.policy, parts.type)) return { result: "notAWrite" };
  const event: ResourceWriteEvent = {
    ...cause,
    eventType: RESOURCE_WRITE_SUCCESS,
    resourceId: workspaceId,
    subscriptionId: parts.subscriptionId,
    operationName: `${cause.operationName} (a datastore or connection of this workspace)`,
    caller: { kind: "unknown" },
  };
  return deps.caches.serialise(idKey(workspaceId), () =>
    converge(event, parts, deps, { fillCreator: false, fresh: true }),
  );
}

async function converge(
  event: ResourceWriteEvent,
  parts: ResourceIdParts,
  deps: TaggingDeps,
  /** fillCreator: the event's writer is the resource's; fresh: never decide on cached tags. */
  opts: { fillCreator: boolean; fresh?: boolean },
): Promise<Outcome> {
  const { caches, policy } = deps;
  const now = deps.now ?? Date.now;
  const key = idKey(event.resourceId);
  const isGroup = isResourceGroupType(parts.type);
  // A group's own write event is the moment its cached tags may have changed.
  if (isGroup) caches.groups.delete(key);

  const cached = isGroup ? undefined : caches.observed.get(key);
  let fromCache = !opts.fresh && caches.covers(cached, event.eventTime);
  let observedAt = fromCache ? cached!.at : now();
  let target: TagTarget | undefined = fromCache
    ? cached
    : await readTagTarget(deps.resources, event.resourceId);

  for (;;) {
    if (!target) return forget(deps, key, isGroup);
    if (isGroup) caches.groups.set(key, { tags: target.tags, location: target.location });

    const groupTags = isGroup ? undefined : await resourceGroupTags(deps, parts);
    if (!isGroup && !groupTags) return forget(deps, key, isGroup); // the group, and so the resource, is gone

    const createdBy =
      opts.fillCreator && tagValue(target.tags, policy.tags.createdBy) === undefined
        ? await creatorFor(event, target.creator, deps)
        : undefined;
    const childViolations = showsChildViolations(policy, parts.type)
      ? await childViolationsOf(deps.violations, event.resourceId)
      : undefined;
    const decision = decideTags({
      policy,
      resource: {
        id: event.resourceId,
        type: parts.type,
        name: parts.name,
        location: target.location,
        tags: target.tags,
      },
      resourceGroupTags: groupTags?.tags,
      createdBy,
      createdOn: opts.fillCreator ? eventDate(event.eventTime) : undefined,
      childViolations,
    });

    const hasPatch = Object.keys(decision.patch).length + Object.keys(decision.remove).length > 0;
    if (hasPatch && fromCache) {
      // What we remembered says a write is due; decide on fresh tags before writing anything.
      fromCache = false;
      observedAt = now();
      target = await readTagTarget(deps.resources, event.resourceId);
      continue;
    }

    const correlationId = event.correlationId ?? event.id;
    const project = tagValue(decision.after, policy.tags.project);
    const violationsKey = await recordViolations(
      deps,
      event,
      parts,
      decision,
      cached,
      project,
      correlationId,
    );

    if (!hasPatch) {
      if (!fromCache)
        caches.observed.set(key, {
          tags: target.tags,
          location: target.location,
          at: observedAt,
          violationsKey,
        });
      else if (cached) cached.violationsKey = violationsKey;
      return { result: "compliant", violations: decision.violations, fromCache };
    }

    const writeAt = now();
    const written = await deps.writeTags({
      resourceId: event.resourceId,
      patch: decision.patch,
      remove: decision.remove,
      before: target.tags,
      actor: ACTOR,
      reason: reasonText(event, decision),
      correlationId,
      project,
    });
    if (written.status === "gone") return forget(deps, key, isGroup);
    const after = written.status === "written" ? written.after : decision.after;
    caches.observed.set(key, { tags: after, location: target.location, at: writeAt, violationsKey });
    if (isGroup) caches.groups.set(key, { tags: after, location: target.location });
    // At debug: the function's one info line per tagged resource ("resource write handled")
    // carries the patch too, and a second line cost a JSON serialisation per new resource.
    deps.log.debug("tagged resource", {
      resourceId: event.resourceId,
      patch: decision.patch,
      eventId: event.id,
    });
    return { result: "tagged", patch: decision.patch, after, violations: decision.violations };
  }
}

function forget(deps: TaggingDeps, key: string, isGroup: boolean): Outcome {
  deps.caches.observed.delete(key);
  if (isGroup) deps.caches.groups.delete(key);
  deps.log.info("resource is gone; nothing to do", { resourceKey: key });
  return { result: "gone" };
}

async function resourceGroupTags(deps: TaggingDeps, parts: ResourceIdParts) {
  const id = resourceGroupId(parts.subscriptionId, parts.resourceGroup!);
  const key = idKey(id);
  const hit = deps.caches.groups.get(key);
  if (hit) return hit;
  const read = await readTagTarget(deps.resources, id);
  if (read) deps.caches.groups.set(key, read);
  return read;
}

/**
 * The createdBy value from ARM's `systemData` when the resource has it, resolved like the
 * claims are (a UPN; a service principal's or managed identity's display name); the event's
 * claims otherwise. A caller in the claims that is not ARM's creator is logged: either the
 * event is about a later write by someone else, or it was not written by Azure.
 */
async function creatorFor(
  event: ResourceWriteEvent,
  creator: ArmCreator | undefined,
  deps: TaggingDeps,
): Promise<string | undefined> {
  const fromArm = creator ? await creatorFromArm(creator, deps) : undefined;
  if (fromArm === undefined) return creatorOf(event.caller, deps);
  const c = event.caller;
  const claimed = [c.upn, c.objectId, c.appId].filter((x): x is string => !!x).map((x) => x.toLowerCase());
  if (claimed.length > 0 && !claimed.includes(creator!.createdBy.toLowerCase()))
    deps.log.warn("the event's caller is not the creator ARM recorded; createdBy follows ARM", {
      resourceId: event.resourceId,
      eventId: event.id,
      armCreatedBy: creator!.createdBy,
      armCreatedByType: creator!.createdByType,
      eventCaller: { upn: c.upn, objectId: c.objectId, appId: c.appId, kind: c.kind },
    });
  return fromArm;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** systemData.createdBy as a name: undefined for a key (no identity) or an unknown type. */
async function creatorFromArm(creator: ArmCreator, deps: TaggingDeps): Promise<string | undefined> {
  const by = creator.createdBy;
  switch (creator.createdByType.toLowerCase()) {
    case "user":
      if (!GUID.test(by)) return by;
      return (await deps.principalName({ kind: "user", objectId: by })) ?? by;
    case "application":
    case "managedidentity":
      // ARM records the client id; some writers' entries carry the object id instead.
      if (!GUID.test(by)) return by;
      return (await deps.principalName({ kind: "servicePrincipal", appId: by, objectId: by })) ?? by;
    default:
      return undefined;
  }
}

/**
 * The createdBy value from the claims: a user's UPN (from the claims, else Graph), a service principal's or
 * managed identity's display name from Graph, else its appid. Transient Graph failures throw:
 * a GUID written now would never be replaced, since createdBy is never overwritten.
 */
async function creatorOf(caller: EventCaller, deps: TaggingDeps): Promise<string | undefined> {
  if (caller.kind === "user") {
    if (caller.upn) return caller.upn;
    const upn = caller.objectId
      ? await deps.principalName({ kind: "user", objectId: caller.objectId })
      : undefined;
    return upn ?? caller.name ?? caller.objectId;
  }
  if (!caller.appId && !caller.objectId) return undefined;
  const name = await deps.principalName({
    kind: "servicePrincipal",
    appId: caller.appId,
    objectId: caller.objectId,
  });
  return name ?? caller.appId ?? caller.objectId;
}

/**
 * Makes the violation log say what applies to this resource now: the current violations
 * recorded, and open rows of kinds that no longer apply resolved (ViolationLog.syncFor: one
 * range query + one write per change). Skipped, at no Table call, when this resource's last
 * observation already synced exactly this set, or when it has no violation now and the
 * subscription's open-violation index says it had none either.
 */
async function recordViolations(
  deps: TaggingDeps,
  event: ResourceWriteEvent,
  parts: ResourceIdParts,
  decision: TagDecision,
  previous: Observation | undefined,
  project: string | undefined,
  correlationId: string,
): Promise<string> {
  const violationsKey = decision.violations.map((v) => `${v.kind}:${v.detail}`).join("\n");
  const resourceKey = ViolationLog.resourceKey(event.resourceId);
  const index = await openViolationsOf(deps, parts.subscriptionId);
  if (decision.violations.length === 0) {
    if (index.keys && !index.keys.has(resourceKey)) return violationsKey;
  } else if (previous?.violationsKey === violationsKey) {
    return violationsKey;
  }
  const synced = await deps.violations.syncFor(event.resourceId, parts.subscriptionId, decision.violations, {
    project,
    correlationId,
  });
  if (synced.open.length > 0) index.keys?.add(resourceKey);
  else index.keys?.delete(resourceKey);
  if (decision.violations.length > 0)
    deps.log.info("policy violations", { resourceId: event.resourceId, violations: decision.violations });
  if (synced.resolved.length > 0)
    deps.log.info("policy violations resolved", { resourceId: event.resourceId, kinds: synced.resolved });
  return violationsKey;
}

/**
 * The subscription's open-violation index, loaded once per TTL with one query (concurrent
 * events share it). A failed load is not kept: the next event tries again.
 */
function openViolationsOf(deps: TaggingDeps, subscriptionId: string): Promise<OpenViolations> {
  const { caches } = deps;
  const key = subscriptionId.toLowerCase();
  let p = caches.openViolations.get(key);
  if (!p) {
    p = deps.violations
      .openResourceKeys(subscriptionId, { max: caches.options.maxOpenViolationRows })
      .then((keys) => ({ keys }));
    caches.openViolations.set(key, p);
    p.catch(() => caches.openViolations.delete(key));
  }
  return p;
}

function reasonText(event: ResourceWriteEvent, decision: TagDecision): string {
  const why = Object.entries(decision.reasons)
    .map(([k, r]) => `${k}: ${r}`)
    .join("; ");
  // A tag write by someone else is tampering with what we wrote: the audit names who did it.
  const by = callerLabel(event.caller);
  const tampering =
    event.operationName.toLowerCase() === TAGS_WRITE_OPERATION.toLowerCase() || isTagsDelete(event);
  return `${event.operationName}${by ? ` by ${by}` : ""} (event ${event.id})${tampering ? ", tags changed by hand put back" : ""}: ${why}`;
}

const TAGS_DELETE_OPERATION = "Microsoft.Resources/tags/delete";
const isTagsDelete = (e: ResourceWriteEvent) =>
  e.operationName.toLowerCase() === TAGS_DELETE_OPERATION.toLowerCase();

/** Who the event says made the write, as readable as the claims allow. */
export function callerLabel(c: EventCaller): string | undefined {
  return c.upn ?? c.name ?? c.objectId ?? c.appId ?? c.evidencePrincipalId;
}
