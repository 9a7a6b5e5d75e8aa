/**
 * Directory objects: any user, group or service principal by id (`/directoryObjects/{id}`,
 * getByIds), the membership questions asked of any of them (checkMemberGroups,
 * getMemberGroups, memberOf), and the resolution of @odata.id references to them.
 */
import type { EmuResponse } from "../types.js";
import { groupJson, META, spJson, userJson, type Json } from "./entities.js";
import { idFromReference } from "./paths.js";
import { listCollection, project } from "./query.js";
import { badRequest, GraphFail, notFound, ok, type GraphContext } from "./responses.js";
import type { GroupRecord } from "../directory.js";

/** An object rendered as a directoryObject (with its @odata.type), or undefined when unknown or not yet visible. */
export function objectJson(ctx: GraphContext, id: string, withType: boolean): Json | undefined {
  const { dir } = ctx;
  const o = dir.getDirectoryObject(id);
  if (!o) return undefined;
  let body: Json;
  if (o.type === "user") body = userJson(dir, o.principal);
  else if (o.type === "servicePrincipal") body = spJson(dir, o.principal);
  else {
    if (!ctx.visible(o.group)) return undefined;
    body = groupJson(o.group);
  }
  if (!withType) return body;
  const meta = META[o.type];
  return { "@odata.type": meta.odataType, ...project(body, o.type, undefined, false) };
}

/** The object id an @odata.id reference names, checked to exist and to fit the relation. */
export function resolveReference(ctx: GraphContext, url: unknown, relation: "members" | "owners"): string {
  const { dir } = ctx;
  if (typeof url !== "string")
    throw new GraphFail(400, "BadRequest", "Invalid request body: '@odata.id' must be a URL string.");
  const id = idFromReference(url);
  if (!id) throw badRequest(`Invalid object identifier '${url.split("/").pop() ?? url}'.`);
  const o = dir.getDirectoryObject(id);
  if (!o || (o.type === "group" && !ctx.visible(o.group))) throw notFound(id);
  if (relation === "owners" && o.type === "group")
    throw badRequest(`Invalid object identifier '${id}'. Owners must be users or service principals.`);
  return id;
}

/** The groups an object is a direct (or, transitive, any) member of, as a directoryObject collection. */
export function memberOf(ctx: GraphContext, objectId: string, transitive = false): EmuResponse {
  const { dir } = ctx;
  const seen = new Set<string>();
  const queue = dir.groupsWithMember(objectId);
  const out: GroupRecord[] = [];
  while (queue.length > 0) {
    const g = queue.shift()!;
    if (seen.has(g.id)) continue;
    seen.add(g.id);
    if (ctx.visible(g)) out.push(g);
    if (transitive) queue.push(...dir.groupsWithMember(g.id));
  }
  const items = out.map((g) => ({ "@odata.type": META.group.odataType, ...groupJson(g) }));
  return listCollection(ctx, items, "directoryObject", "directoryObjects", true);
}

/** `/directoryObjects/...`: get by id, getByIds, checkMemberGroups, getMemberGroups. */
export function directoryObjects(ctx: GraphContext, segs: string[]): EmuResponse | undefined {
  const { req, dir } = ctx;
  const method = req.method.toUpperCase();
  const [s0, s1, s2] = segs;
  // ------------------------------------------------------------ directory objects
  if (s0 === "directoryObjects") {
    if (s1 === "getByIds" && segs.length === 2 && method === "POST") {
      const body = (req.body ?? {}) as Json;
      const ids = body.ids;
      if (!Array.isArray(ids) || ids.some((i) => typeof i !== "string"))
        throw new GraphFail(400, "BadRequest", "Invalid request body: 'ids' must be an array of strings.");
      if (ids.length > 1000) throw badRequest("A maximum of 1000 ids can be requested at once.");
      const types = Array.isArray(body.types)
        ? (body.types as string[]).map((t) => t.toLowerCase())
        : undefined;
      const value: Json[] = [];
      for (const id of ids as string[]) {
        const o = dir.getDirectoryObject(id);
        if (!o || (types && !types.includes(o.type.toLowerCase()))) continue;
        const j = objectJson(ctx, id, true);
        if (j) value.push(j);
      }
      return ok(ctx, 200, { "@odata.context": `${ctx.root}/$metadata#directoryObjects`, value });
    }
    // checkMemberGroups: which of up to 20 groups the object is in, transitively (Graph's
    // documented limit), in one call however many groups the object belongs to.
    if (s1 && segs.length === 3 && s2 === "checkMemberGroups" && method === "POST") {
      if (!dir.getDirectoryObject(s1)) throw notFound(s1);
      const groupIds = ((req.body ?? {}) as Json).groupIds;
      if (!Array.isArray(groupIds) || groupIds.some((g) => typeof g !== "string"))
        throw badRequest("Invalid request body: 'groupIds' must be an array of strings.");
      if (groupIds.length > 20) throw badRequest("A maximum of 20 groupIds can be checked at once.");
      const memberOfAll = new Set<string>();
      const queue = dir.groupsWithMember(s1);
      while (queue.length > 0) {
        const g = queue.shift()!;
        if (memberOfAll.has(g.id)) continue;
        memberOfAll.add(g.id);
        queue.push(...dir.groupsWithMember(g.id));
      }
      const value = (groupIds as string[]).filter((g) => memberOfAll.has(g.toLowerCase()));
      return ok(ctx, 200, { "@odata.context": `${ctx.root}/$metadata#Collection(Edm.String)`, value });
    }
    // getMemberGroups: every group the object is in, transitively (securityEnabledOnly keeps
    // security groups only), as the Azure CLI asks for a signed-in user's groups.
    if (s1 && segs.length === 3 && s2 === "getMemberGroups" && method === "POST") {
      if (!dir.getDirectoryObject(s1)) throw notFound(s1);
      const securityOnly = ((req.body ?? {}) as Json).securityEnabledOnly === true;
      const all = new Map<string, { id: string; securityEnabled?: boolean }>();
      const queue = [...dir.groupsWithMember(s1)];
      while (queue.length > 0) {
        const g = queue.shift()!;
        if (all.has(g.id)) continue;
        all.set(g.id, g as { id: string; securityEnabled?: boolean });
        queue.push(...dir.groupsWithMember(g.id));
      }
      const value = [...all.values()]
        .filter((g) => !securityOnly || g.securityEnabled !== false)
        .map((g) => g.id);
      return ok(ctx, 200, { "@odata.context": `${ctx.root}/$metadata#Collection(Edm.String)`, value });
    }
    if (s1 && segs.length === 2 && method === "GET") {
      const j = objectJson(ctx, s1, true);
      if (!j) throw notFound(s1);
      return ok(ctx, 200, { "@odata.context": `${ctx.root}/$metadata#directoryObjects/$entity`, ...j });
    }
  }

  return undefined;
}
