/**
 * Resource groups: PUT/GET/PATCH/HEAD/DELETE and list. Delete is a long-running operation
 * (202 + Location, as Azure does) that removes every contained resource and the role
 * assignments scoped at or below the group when it completes.
 */
import type { EmuResponse } from "../types.js";
import { type ArmContext, type ArmRequest, isRecord, publishWrite } from "./context.js";
import { fail, resourceGroupNotFound } from "./errors.js";
import { matches, parseFilter } from "./filter.js";
import { isAtOrBelow, lower, resourceGroupId } from "./ids.js";
import { cursorFrom, nextLinkFor, page, pageSizeFor } from "./listing.js";
import { normalizeLocation, provisioningStateOf, type ResourceGroupRecord } from "./state.js";
import { requireSubscription } from "./subscriptions.js";
import { checkTags } from "./tagRules.js";

const RG_NAME = /^[-\p{L}\p{N}_.()]{1,90}$/u;

export function checkGroupName(name: string): void {
  if (name.length > 90)
    fail(
      400,
      "InvalidResourceGroup",
      `The provided resource group name '${name}' is too long. The name can be at most 90 characters.`,
    );
  const invalid = [...new Set([...name].filter((c) => !/[-\p{L}\p{N}_.()]/u.test(c)))];
  if (!RG_NAME.test(name) || invalid.length > 0 || name.endsWith("."))
    fail(
      400,
      "InvalidResourceGroup",
      invalid.length > 0
        ? `The provided resource group name '${name}' has these invalid characters: '${invalid.join("")}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.`
        : `The provided resource group name '${name}' is invalid. The name cannot end with a period.`,
    );
}

export function groupView(g: ResourceGroupRecord, now: number): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: g.id,
    name: g.name,
    type: "Microsoft.Resources/resourceGroups",
    location: g.location,
  };
  if (g.managedBy) view.managedBy = g.managedBy;
  if (g.tags && Object.keys(g.tags).length > 0) view.tags = g.tags;
  view.properties = { provisioningState: provisioningStateOf(g, now) };
  return view;
}

/** The group, or 404 ResourceGroupNotFound; a group being deleted counts as present. */
export function requireGroup(ctx: ArmContext, sub: string, rg: string): ResourceGroupRecord {
  requireSubscription(ctx, sub);
  return ctx.state.getGroup(sub, rg) ?? resourceGroupNotFound(rg);
}

/** Writes into a group that is being deleted fail the way Azure's do. */
export function requireWritableGroup(ctx: ArmContext, sub: string, rg: string): ResourceGroupRecord {
  const g = requireGroup(ctx, sub, rg);
  if (g.busy && g.busy.until > ctx.now())
    fail(
      409,
      "ResourceGroupBeingDeleted",
      `The resource group '${g.name}' is in deprovisioning state and cannot perform this operation.`,
    );
  return g;
}

export function resourceGroupsRouter(
  ctx: ArmContext,
  req: ArmRequest,
  seg: string[],
): EmuResponse | undefined {
  // seg: subscriptions/{s}/resourcegroups[/{rg}]
  const sub = seg[1]!;
  if (seg.length === 3) return req.method === "GET" ? listGroups(ctx, req, sub) : undefined;
  if (seg.length !== 4) return undefined;
  const name = seg[3]!;
  switch (req.method) {
    case "PUT":
      return putGroup(ctx, req, sub, name);
    case "GET":
      return { status: 200, body: groupView(requireGroup(ctx, sub, name), ctx.now()) };
    case "HEAD":
      requireSubscription(ctx, sub);
      return { status: ctx.state.getGroup(sub, name) ? 204 : 404 };
    case "PATCH":
      return patchGroup(ctx, req, sub, name);
    case "DELETE":
      return deleteGroup(ctx, req, sub, name);
    default:
      return undefined;
  }
}

function putGroup(ctx: ArmContext, req: ArmRequest, sub: string, name: string): EmuResponse {
  requireSubscription(ctx, sub);
  checkGroupName(name);
  const body = isRecord(req.body)
    ? req.body
    : fail(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.");
  const location =
    typeof body.location === "string" && body.location
      ? normalizeLocation(body.location)!
      : fail(400, "LocationRequired", "The location property is required for this definition.");
  const tags = body.tags === undefined ? undefined : checkTags(body.tags);
  const now = ctx.now();
  const existing = ctx.state.getGroup(sub, name);
  if (existing) {
    if (existing.busy && existing.busy.until > now)
      fail(
        409,
        "ResourceGroupBeingDeleted",
        `The resource group '${existing.name}' is in deprovisioning state and cannot perform this operation.`,
      );
    if (existing.location !== location)
      fail(
        409,
        "InvalidResourceGroupLocation",
        `Invalid resource group location '${location}'. The Resource group already exists in location '${existing.location}'.`,
      );
  }
  const rec: ResourceGroupRecord = {
    key: lower(resourceGroupId(sub, name)),
    id: existing?.id ?? resourceGroupId(ctx.state.getSubscription(sub)!.subscriptionId, name),
    subscriptionId: ctx.state.getSubscription(sub)!.subscriptionId,
    name: existing?.name ?? name,
    location,
    tags,
    managedBy: typeof body.managedBy === "string" ? body.managedBy : undefined,
    createdAt: existing?.createdAt ?? now,
    changedAt: now,
  };
  ctx.state.putGroup(rec);
  publishWrite(
    ctx,
    req,
    rec.subscriptionId,
    rec.id,
    "Microsoft.Resources/subscriptions/resourceGroups/write",
  );
  return { status: existing ? 200 : 201, body: groupView(rec, now) };
}

function patchGroup(ctx: ArmContext, req: ArmRequest, sub: string, name: string): EmuResponse {
  const g = requireWritableGroup(ctx, sub, name);
  const body = isRecord(req.body) ? req.body : {};
  if (body.tags !== undefined) g.tags = checkTags(body.tags);
  if (typeof body.managedBy === "string") g.managedBy = body.managedBy;
  g.changedAt = ctx.now();
  publishWrite(ctx, req, g.subscriptionId, g.id, "Microsoft.Resources/subscriptions/resourceGroups/write");
  return { status: 200, body: groupView(g, ctx.now()) };
}

function deleteGroup(ctx: ArmContext, req: ArmRequest, sub: string, name: string): EmuResponse {
  const g = requireGroup(ctx, sub, name);
  const durationMs = ctx.lro.durationFor("Microsoft.Resources/resourceGroups");
  const until = ctx.now() + durationMs;
  g.busy = { state: "Deleting", until };
  const { headers } = ctx.lro.start({
    kind: "location",
    subscriptionId: g.subscriptionId,
    apiVersion: req.apiVersion,
    baseUrl: req.baseUrl,
    durationMs,
    onComplete: () => {
      if (ctx.state.getGroup(sub, name) !== g) return;
      for (const r of [...ctx.state.topLevelInGroup(sub, name).values()]) {
        for (const removed of ctx.state.removeResource(r.key))
          publishWrite(ctx, req, g.subscriptionId, removed.id, `${removed.type}/delete`);
      }
      for (const ra of [...ctx.state.assignmentsInBucket(g.subscriptionId).values()])
        if (isAtOrBelow(ra.scope, g.id)) ctx.state.removeAssignment(ra.key);
      ctx.state.removeGroup(g);
      publishWrite(
        ctx,
        req,
        g.subscriptionId,
        g.id,
        "Microsoft.Resources/subscriptions/resourceGroups/delete",
      );
    },
  });
  return { status: 202, headers };
}

function listGroups(ctx: ArmContext, req: ArmRequest, sub: string): EmuResponse {
  requireSubscription(ctx, sub);
  const filter = parseFilter(req.query.get("$filter"));
  const now = ctx.now();
  const { items, next } = ctx.state.groupsIn(sub).scan(cursorFrom(req), pageSizeFor(req, ctx.pageSize), (g) =>
    matches(filter, {
      tags: g.tags,
      field: (f) =>
        f.toLowerCase() === "name" ? g.name : f.toLowerCase() === "location" ? g.location : undefined,
    }),
  );
  return {
    status: 200,
    body: page(
      items.map((g) => groupView(g, now)),
      nextLinkFor(req, next),
    ),
  };
}
