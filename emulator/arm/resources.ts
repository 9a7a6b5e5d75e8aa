/**
 * Typed and generic resources under resource groups: PUT/GET/PATCH/DELETE/HEAD of a resource
 * id, lists of a type's collection (ML workspaces by group or subscription, ML asset
 * containers and versions) and the generic /resources lists. Per-type behaviour (names,
 * required location, LRO style) comes from resourceTypes.ts.
 */
import { randomUUID } from "node:crypto";
import type { EmuResponse } from "../types.js";
import {
  type ArmContext,
  type ArmRequest,
  isRecord,
  publishWrite,
  requireBody,
  systemDataFor,
} from "./context.js";
import { fail, parentResourceNotFound, resourceNotFound } from "./errors.js";
import { filtersByTagValue, matches, parseFilter } from "./filter.js";
import { lower, type ParsedResourceId, parseResourceId, resourceGroupId } from "./ids.js";
import { cursorFrom, nextLinkFor, page, pageSizeFor } from "./listing.js";
import { defer } from "./lro.js";
import { grantBuiltInRole, BUILT_IN } from "./rbac.js";
import { DATASTORE_TYPE, defaultDatastores } from "./mlDataAccess.js";
import { requireGroup, requireWritableGroup } from "./resourceGroups.js";
import { typeInfo, type TypeInfo } from "./resourceTypes.js";
import { normalizeLocation, provisioningStateOf, type ResourceRecord } from "./state.js";
import { requireSubscription } from "./subscriptions.js";
import { checkTags } from "./tagRules.js";

export function resourceView(rec: ResourceRecord, now: number): Record<string, unknown> {
  const info = typeInfo(rec.type);
  const v: Record<string, unknown> = { id: rec.id, name: rec.name, type: rec.type };
  if (info.mlAsset || info.workspaceChild) {
    v.properties = info.view ? info.view(rec.properties) : { ...rec.properties };
    if (rec.systemData) v.systemData = rec.systemData;
    return v;
  }
  if (rec.kind !== undefined) v.kind = rec.kind;
  if (rec.location !== undefined) v.location = rec.location;
  if (rec.tags !== undefined) v.tags = rec.tags;
  if (rec.sku !== undefined) v.sku = rec.sku;
  if (rec.identity !== undefined) v.identity = rec.identity;
  if (rec.managedBy !== undefined) v.managedBy = rec.managedBy;
  if (rec.plan !== undefined) v.plan = rec.plan;
  if (rec.zones !== undefined) v.zones = rec.zones;
  v.properties = { ...rec.properties, provisioningState: provisioningStateOf(rec, now) };
  if (rec.systemData) v.systemData = rec.systemData;
  return v;
}

/** The shape of GET .../resources items (GenericResourceExpanded): no properties. */
function genericView(
  rec: ResourceRecord,
  now: number,
  expand: Set<string>,
  omitTags: boolean,
): Record<string, unknown> {
  const v: Record<string, unknown> = { id: rec.id, name: rec.name, type: rec.type };
  for (const k of ["sku", "kind", "location", "identity", "managedBy", "plan"] as const)
    if (rec[k] !== undefined) v[k] = rec[k];
  if (!omitTags && rec.tags !== undefined) v.tags = rec.tags;
  if (expand.has("createdtime")) v.createdTime = new Date(rec.createdAt).toISOString();
  if (expand.has("changedtime")) v.changedTime = new Date(rec.changedAt).toISOString();
  if (expand.has("provisioningstate")) v.provisioningState = provisioningStateOf(rec, now);
  return v;
}

export function resourcesRouter(ctx: ArmContext, req: ArmRequest, seg: string[]): EmuResponse | undefined {
  const s2 = lower(seg[2] ?? "");
  // /subscriptions/{s}/resources
  if (seg.length === 3 && s2 === "resources")
    return req.method === "GET" ? listGeneric(ctx, req, seg[1]!) : undefined;
  // /subscriptions/{s}/providers/{ns}/{type}: a top-level type across the subscription.
  if (seg.length === 5 && s2 === "providers") {
    if (req.method !== "GET") return undefined;
    requireSubscription(ctx, seg[1]!);
    return listCollection(ctx, req, `/subscriptions/${seg[1]}`, `${seg[3]}/${seg[4]}`);
  }
  if (s2 !== "resourcegroups" || seg.length < 5) return undefined;
  // /subscriptions/{s}/resourceGroups/{rg}/resources
  if (seg.length === 5 && lower(seg[4]!) === "resources")
    return req.method === "GET" ? listGeneric(ctx, req, seg[1]!, seg[3]!) : undefined;
  if (lower(seg[4]!) !== "providers" || seg.length < 7) return undefined;
  const rest = seg.slice(6);
  if (rest.length % 2 === 1) {
    if (req.method !== "GET") return undefined;
    return listUnder(ctx, req, seg, rest);
  }
  const parsed = parseResourceId("/" + seg.join("/"));
  if (!parsed) return undefined;
  switch (req.method) {
    case "PUT":
      return putResource(ctx, req, parsed);
    case "GET":
      return { status: 200, body: resourceView(requireResource(ctx, parsed), ctx.now()) };
    case "HEAD":
      requireGroup(ctx, parsed.subscriptionId, parsed.resourceGroup);
      return { status: ctx.state.getResource(parsed.id) ? 204 : 404 };
    case "PATCH":
      return patchResource(ctx, req, parsed);
    case "DELETE":
      return deleteResource(ctx, req, parsed);
    default:
      return undefined;
  }
}

/** The resource, or the 404 Azure gives (group, parent or the resource itself missing). */
export function requireResource(ctx: ArmContext, parsed: ParsedResourceId): ResourceRecord {
  const g = requireGroup(ctx, parsed.subscriptionId, parsed.resourceGroup);
  const rec = ctx.state.getResource(parsed.id);
  if (rec) return rec;
  if (parsed.parentId && !ctx.state.getResource(parsed.parentId))
    parentResourceNotFound(parsed.names.slice(0, -1).join("/"));
  return resourceNotFound(typeInfo(parsed.type).type, parsed.names.join("/"), g.name);
}

function listUnder(ctx: ArmContext, req: ArmRequest, seg: string[], rest: string[]): EmuResponse {
  const sub = seg[1]!;
  const g = requireGroup(ctx, sub, seg[3]!);
  const ns = seg[5]!;
  const typeSegs = rest.filter((_, i) => i % 2 === 0);
  const type = `${ns}/${typeSegs.join("/")}`;
  if (rest.length === 1) return listCollection(ctx, req, resourceGroupId(sub, g.name), type);
  const parentPath = "/" + seg.slice(0, seg.length - 1).join("/");
  const parent = parseResourceId(parentPath)!;
  if (!ctx.state.getResource(parent.id)) parentResourceNotFound(parent.names.join("/"));
  return listCollection(ctx, req, parent.id, type);
}

function listCollection(ctx: ArmContext, req: ArmRequest, containerId: string, type: string): EmuResponse {
  const now = ctx.now();
  const { items, next } = ctx.state
    .collection(containerId, type)
    .scan(cursorFrom(req), pageSizeFor(req, ctx.pageSize), () => true);
  return {
    status: 200,
    body: page(
      items.map((r) => resourceView(r, now)),
      nextLinkFor(req, next),
    ),
  };
}

function listGeneric(ctx: ArmContext, req: ArmRequest, sub: string, rg?: string): EmuResponse {
  requireSubscription(ctx, sub);
  const g = rg === undefined ? undefined : requireGroup(ctx, sub, rg);
  const filter = parseFilter(req.query.get("$filter"));
  // Azure: "when resources are filtered by tag name and value, the original tags for each
  // resource will not be returned in the results."
  const omitTags = filtersByTagValue(filter);
  const expand = new Set(
    (req.query.get("$expand") ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const index = g ? ctx.state.topLevelInGroup(sub, g.name) : ctx.state.topLevelInSubscription(sub);
  const now = ctx.now();
  const { items, next } = index.scan(cursorFrom(req), pageSizeFor(req, ctx.pageSize), (r) =>
    matches(filter, {
      tags: r.tags,
      field: (f) => {
        switch (f.toLowerCase()) {
          case "resourcetype":
            return r.type;
          case "name":
            return r.name;
          case "location":
            return r.location;
          case "resourcegroup":
            return r.resourceGroup;
          case "identity/principalid":
            return typeof r.identity?.principalId === "string" ? r.identity.principalId : undefined;
          default:
            return undefined;
        }
      },
    }),
  );
  return {
    status: 200,
    body: page(
      items.map((r) => genericView(r, now, expand, omitTags)),
      nextLinkFor(req, next),
    ),
  };
}

function putResource(ctx: ArmContext, req: ArmRequest, parsed: ParsedResourceId): EmuResponse {
  const g = requireWritableGroup(ctx, parsed.subscriptionId, parsed.resourceGroup);
  const info = typeInfo(parsed.type);
  const now = ctx.now();
  let parentKey: string | undefined;
  if (parsed.parentId) {
    parentKey = lower(parsed.parentId);
    if (!ctx.state.getResource(parsed.parentId)) {
      // Azure ML creates an asset's container when its first version is written.
      const grand = parseResourceId(parsed.parentId)!;
      if (info.mlAsset === "version" && grand.parentId && ctx.state.getResource(grand.parentId)) {
        const versionProps = isRecord(req.body) && isRecord(req.body.properties) ? req.body.properties : {};
        // A data container records its data type, which its versions share.
        const containerProps =
          typeof versionProps.dataType === "string"
            ? { isArchived: false, dataType: versionProps.dataType }
            : { isArchived: false };
        ctx.state.putResource(
          newRecord(ctx, req, grand, typeInfo(grand.type), g.name, { properties: containerProps }, now),
        );
      } else parentResourceNotFound(parsed.names.slice(0, -1).join("/"));
    }
  } else if (info.nameRule && !info.nameRule.test(parsed.name)) {
    fail(400, info.nameRule.code, info.nameRule.message(parsed.name));
  }
  const body = requireBody(req);
  info.validate?.(body);
  if (info.locationRequired && (typeof body.location !== "string" || body.location === ""))
    fail(400, "LocationRequired", "The location property is required for this definition.");
  if (info.globallyUnique) {
    const owner = ctx.state.globalNameOwner(info.type, parsed.name);
    if (owner && owner !== lower(parsed.id))
      fail(409, info.globallyUnique.code, info.globallyUnique.message(parsed.name));
  }
  const existing = ctx.state.getResource(parsed.id);
  if (existing?.busy && existing.busy.state === "Deleting" && existing.busy.until > now)
    fail(409, "Conflict", `The resource '${parsed.name}' is being deleted and cannot be updated.`);
  const rec = newRecord(ctx, req, parsed, info, g.name, body, now, existing);
  if (parentKey) rec.parentKey = parentKey;
  if (info.mlAsset === "version") bumpLatestVersion(ctx, parsed, req);
  if (info.type === "Microsoft.MachineLearningServices/workspaces")
    giveWorkspaceIdentity(ctx, req, rec, existing);
  ctx.state.putResource(rec);
  if (info.type === "Microsoft.MachineLearningServices/workspaces" && !existing)
    createDefaultDatastores(ctx, req, rec, g.name, now);
  return finishWrite(
    ctx,
    req,
    rec,
    info,
    existing ? "Updating" : (info.creatingState ?? "Creating"),
    existing ? 200 : (info.createdStatus ?? 201),
    info.put,
  );
}

function newRecord(
  ctx: ArmContext,
  req: ArmRequest,
  parsed: ParsedResourceId,
  info: TypeInfo,
  groupName: string,
  body: Record<string, unknown>,
  now: number,
  existing?: ResourceRecord,
): ResourceRecord {
  const properties = isRecord(body.properties) ? { ...body.properties } : {};
  delete properties.provisioningState;
  const rec: ResourceRecord = {
    key: lower(parsed.id),
    id: existing?.id ?? parsed.id.replace(/\/resourceGroups\/[^/]+/i, `/resourceGroups/${groupName}`),
    subscriptionId: parsed.subscriptionId,
    resourceGroup: groupName,
    type: info.type,
    name: existing?.name ?? parsed.name,
    parentKey: parsed.parentId ? lower(parsed.parentId) : undefined,
    location: info.mlAsset
      ? undefined
      : normalizeLocation(typeof body.location === "string" ? body.location : undefined),
    tags: info.mlAsset
      ? undefined
      : body.tags === undefined
        ? undefined
        : checkTags(body.tags, {
            maxNameLength: info.type === "Microsoft.Storage/storageAccounts" ? 128 : 512,
          }),
    properties,
    sku: isRecord(body.sku) ? body.sku : undefined,
    kind: typeof body.kind === "string" ? body.kind : undefined,
    identity: isRecord(body.identity) ? { ...body.identity } : undefined,
    managedBy: typeof body.managedBy === "string" ? body.managedBy : undefined,
    plan: isRecord(body.plan) ? body.plan : undefined,
    zones: Array.isArray(body.zones) ? body.zones : undefined,
    systemData: systemDataFor(req.caller, now, existing?.systemData),
    createdAt: existing?.createdAt ?? now,
    changedAt: now,
  };
  if (info.mlAsset === "version") {
    properties.isArchived ??= false;
    properties.isAnonymous ??= false;
  }
  if (info.mlAsset === "container") properties.isArchived ??= false;
  if (existing) {
    // Read-only properties Azure generated on create survive a full PUT.
    for (const [k, v] of Object.entries(existing.properties))
      if (!(k in properties) && isReadOnlyGenerated(k)) properties[k] = v;
  } else {
    info.onCreate?.({ name: parsed.name, tenantId: ctx.tenantId, location: rec.location }, rec);
  }
  return rec;
}

const GENERATED = new Set([
  "workspaceid",
  "vaulturi",
  "tenantid",
  "appid",
  "instrumentationkey",
  "customerid",
  "loginserver",
  "discoveryurl",
  "mlflowtrackinguri",
  "latestversion",
  "nextversion",
  "environmenttype",
]);
const isReadOnlyGenerated = (k: string): boolean => GENERATED.has(k.toLowerCase());

function bumpLatestVersion(ctx: ArmContext, parsed: ParsedResourceId, req: ArmRequest): void {
  const container = ctx.state.getResource(parsed.parentId!);
  if (!container) return;
  container.properties.latestVersion = parsed.name;
  const n = Number(parsed.name);
  if (Number.isInteger(n)) container.properties.nextVersion = String(n + 1);
  container.changedAt = ctx.now();
  container.systemData = systemDataFor(req.caller, ctx.now(), container.systemData);
}

/** Azure ML's own datastores of a new workspace (mlDataAccess.ts), stored as its children. */
function createDefaultDatastores(
  ctx: ArmContext,
  req: ArmRequest,
  workspace: ResourceRecord,
  groupName: string,
  now: number,
): void {
  for (const d of defaultDatastores(workspace.properties) ?? []) {
    const parsed = parseResourceId(`${workspace.id}/datastores/${d.name}`)!;
    const rec = newRecord(
      ctx,
      req,
      parsed,
      typeInfo(DATASTORE_TYPE),
      groupName,
      { properties: d.properties },
      now,
    );
    rec.parentKey = workspace.key;
    // The type's onCreate marks user datastores non-default; workspaceblobstore is the default.
    rec.properties.isDefault = d.properties.isDefault;
    ctx.state.putResource(rec);
  }
}

/**
 * A workspace with a system-assigned identity gets a principal in the directory and, as Azure
 * has done since Nov 2024, the Azure AI Administrator role on its resource group.
 */
function giveWorkspaceIdentity(
  ctx: ArmContext,
  req: ArmRequest,
  rec: ResourceRecord,
  existing: ResourceRecord | undefined,
): void {
  const type = typeof rec.identity?.type === "string" ? rec.identity.type : "";
  if (!/systemassigned/i.test(type)) return;
  const previous = existing?.identity?.principalId;
  const principalId = typeof previous === "string" ? previous : randomUUID();
  rec.identity = { ...rec.identity, principalId, tenantId: ctx.tenantId };
  if (typeof previous === "string") return;
  ctx.directory.seed({
    servicePrincipals: [
      {
        objectId: principalId,
        appId: randomUUID(),
        displayName: rec.name,
        kind: "managedIdentity",
        createdAt: ctx.now(),
      },
    ],
  });
  grantBuiltInRole(
    ctx,
    req,
    resourceGroupId(rec.subscriptionId, rec.resourceGroup),
    principalId,
    "ServicePrincipal",
    BUILT_IN.AZURE_AI_ADMINISTRATOR,
  );
}

/** Replies to a write in the type's LRO style and publishes the event when the write is done. */
function finishWrite(
  ctx: ArmContext,
  req: ArmRequest,
  rec: ResourceRecord,
  info: TypeInfo,
  busyState: string,
  status: 200 | 201,
  style: TypeInfo["put"],
): EmuResponse {
  const publish = (): void => publishWrite(ctx, req, rec.subscriptionId, rec.id, `${info.type}/write`);
  const now = ctx.now();
  const durationMs = ctx.lro.durationFor(rec.type);
  if (style === "immediate" || durationMs <= 0) {
    rec.busy = undefined;
    publish();
    return { status, body: resourceView(rec, now) };
  }
  rec.busy = { state: busyState, until: now + durationMs };
  if (style === "provisioning-state") {
    defer(durationMs, () => ctx.state.generation, publish);
    return { status, body: resourceView(rec, now) };
  }
  const { headers } = ctx.lro.start({
    kind: style === "location" ? "location" : "async",
    provider: style === "location" ? "Microsoft.Storage" : "Microsoft.MachineLearningServices",
    subscriptionId: rec.subscriptionId,
    location: rec.location,
    apiVersion: req.apiVersion,
    baseUrl: req.baseUrl,
    durationMs,
    onComplete: publish,
    result: () => {
      const current = ctx.state.getResource(rec.id);
      return current ? resourceView(current, ctx.now()) : undefined;
    },
  });
  return { status: 202, headers };
}

function patchResource(ctx: ArmContext, req: ArmRequest, parsed: ParsedResourceId): EmuResponse {
  requireWritableGroup(ctx, parsed.subscriptionId, parsed.resourceGroup);
  const rec = requireResource(ctx, parsed);
  const info = typeInfo(rec.type);
  const body = requireBody(req);
  const now = ctx.now();
  if (body.tags !== undefined && !info.mlAsset) rec.tags = checkTags(body.tags);
  if (isRecord(body.properties)) {
    const { provisioningState: _ignored, ...props } = body.properties;
    Object.assign(rec.properties, props);
  }
  if (isRecord(body.sku)) rec.sku = body.sku;
  if (isRecord(body.identity)) rec.identity = { ...rec.identity, ...body.identity };
  if (typeof body.kind === "string") rec.kind = body.kind;
  rec.changedAt = now;
  rec.systemData = systemDataFor(req.caller, now, rec.systemData);
  return finishWrite(ctx, req, rec, info, "Updating", 200, info.patch);
}

function deleteResource(ctx: ArmContext, req: ArmRequest, parsed: ParsedResourceId): EmuResponse {
  requireGroup(ctx, parsed.subscriptionId, parsed.resourceGroup);
  const rec = ctx.state.getResource(parsed.id);
  // ARM deletes are idempotent: deleting what is not there is 204 No Content.
  if (!rec) return { status: 204 };
  const info = typeInfo(rec.type);
  const remove = (): void => {
    if (ctx.state.getResource(rec.id) !== rec) return;
    for (const removed of ctx.state.removeResource(rec.key))
      publishWrite(ctx, req, removed.subscriptionId, removed.id, `${removed.type}/delete`);
  };
  const durationMs = ctx.lro.durationFor(rec.type);
  if (info.delete === "immediate" || durationMs <= 0) {
    remove();
    return { status: 200 };
  }
  rec.busy = { state: "Deleting", until: ctx.now() + durationMs };
  const { headers } = ctx.lro.start({
    kind: "async",
    provider: "Microsoft.MachineLearningServices",
    subscriptionId: rec.subscriptionId,
    location: rec.location,
    apiVersion: req.apiVersion,
    baseUrl: req.baseUrl,
    durationMs,
    onComplete: remove,
  });
  return { status: 202, headers };
}
