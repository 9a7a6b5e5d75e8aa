/**
 * Security groups: create (POST, or the idempotent upsert `PATCH /groups(uniqueName='...')`
 * with `Prefer: create-if-missing`), read, update, delete, members and owners by $ref and
 * @odata.bind (at most 20 per request), transitiveMembers. Shapes, checks and error codes
 * follow Graph's documentation.
 */
import { randomUUID } from "node:crypto";
import type { GroupRecord } from "../directory.js";
import type { EmuResponse } from "../types.js";
import { delta } from "./delta.js";
import { objectJson, resolveReference } from "./directoryObjects.js";
import { GROUP_PROPS, groupJson, type Json } from "./entities.js";
import { parseAlternateKey } from "./paths.js";
import { listCollection, parseSelect, project } from "./query.js";
import { badRequest, GraphFail, header, notFound, ok, type GraphContext } from "./responses.js";

const WRITABLE_GROUP_PROPS = new Set([
  "displayName",
  "description",
  "mailNickname",
  "mailEnabled",
  "securityEnabled",
  "groupTypes",
  "uniqueName",
  "visibility",
  "isAssignableToRole",
  "classification",
  "preferredDataLocation",
  "preferredLanguage",
  "theme",
  "owners@odata.bind",
  "members@odata.bind",
  "@odata.type",
]);

const MAX_BINDS_PER_REQUEST = 20;

function visibleGroup(ctx: GraphContext, id: string): GroupRecord {
  const g = ctx.dir.getGroup(id);
  if (!g || !ctx.visible(g)) throw notFound(id);
  return g;
}

function validateGroupBody(body: unknown, creating: boolean): Json {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new GraphFail(400, "BadRequest", "Empty Payload. JSON content expected.");
  }
  const b = body as Json;
  for (const key of Object.keys(b)) {
    if (!WRITABLE_GROUP_PROPS.has(key) && !GROUP_PROPS.includes(key)) {
      throw new GraphFail(
        400,
        "BadRequest",
        `The property '${key}' does not exist on type 'microsoft.graph.group'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
      );
    }
    if (!WRITABLE_GROUP_PROPS.has(key) && key !== "id")
      throw badRequest(`Property '${key}' is read-only and cannot be set.`);
  }
  const invalid = (p: string): GraphFail =>
    badRequest(`Invalid value specified for property '${p}' of resource 'Group'.`);
  const need = (p: string): boolean => creating || p in b;
  if (
    need("displayName") &&
    (typeof b.displayName !== "string" || b.displayName.trim() === "" || b.displayName.length > 256)
  )
    throw invalid("displayName");
  if (need("mailNickname")) {
    const n = b.mailNickname;
    // ASCII 0-127 except @ () \ [] " ; : <> , and space.
    if (
      typeof n !== "string" ||
      n.length === 0 ||
      n.length > 64 ||
      !/^[\x21-\x7e]+$/.test(n) ||
      /[@()\\[\]";:<>,]/.test(n)
    )
      throw invalid("mailNickname");
  }
  if (need("mailEnabled") && typeof b.mailEnabled !== "boolean") throw invalid("mailEnabled");
  if (need("securityEnabled") && typeof b.securityEnabled !== "boolean") throw invalid("securityEnabled");
  if ("groupTypes" in b && (!Array.isArray(b.groupTypes) || b.groupTypes.some((t) => typeof t !== "string")))
    throw invalid("groupTypes");
  if (
    "description" in b &&
    b.description !== null &&
    (typeof b.description !== "string" || b.description.length > 1024)
  )
    throw invalid("description");
  if (
    "uniqueName" in b &&
    b.uniqueName !== null &&
    (typeof b.uniqueName !== "string" || b.uniqueName.length === 0)
  )
    throw invalid("uniqueName");
  if ("isAssignableToRole" in b && b.isAssignableToRole !== null && typeof b.isAssignableToRole !== "boolean")
    throw invalid("isAssignableToRole");
  const unified = Array.isArray(b.groupTypes) && (b.groupTypes as string[]).includes("Unified");
  if (creating && !unified) {
    if (b.mailEnabled === true) {
      throw badRequest(
        "Mail-enabled security groups and distribution groups can't be created through Microsoft Graph. Set mailEnabled to false.",
      );
    }
    if (b.securityEnabled !== true)
      throw badRequest(
        "A group that is not a Microsoft 365 group must be security-enabled: set securityEnabled to true.",
      );
  }
  for (const rel of ["owners@odata.bind", "members@odata.bind"]) {
    if (rel in b && (!Array.isArray(b[rel]) || (b[rel] as unknown[]).some((u) => typeof u !== "string"))) {
      throw new GraphFail(400, "BadRequest", `Invalid value for '${rel}': expected an array of URL strings.`);
    }
  }
  return b;
}

/** Graph takes at most 20 owner/member references in one create or update request. */

function checkBindCount(b: Json): void {
  const total =
    ((b["owners@odata.bind"] as unknown[] | undefined)?.length ?? 0) +
    ((b["members@odata.bind"] as unknown[] | undefined)?.length ?? 0);
  if (total > MAX_BINDS_PER_REQUEST) {
    throw badRequest(
      `A maximum of ${MAX_BINDS_PER_REQUEST} owners and members together can be added in one request; add the rest with $ref afterwards.`,
    );
  }
}

function bindsOf(ctx: GraphContext, b: Json): { owners: string[]; members: string[] } {
  const owners = ((b["owners@odata.bind"] as string[] | undefined) ?? []).map((u) =>
    resolveReference(ctx, u, "owners"),
  );
  const members = ((b["members@odata.bind"] as string[] | undefined) ?? []).map((u) =>
    resolveReference(ctx, u, "members"),
  );
  return { owners: [...new Set(owners)], members: [...new Set(members)] };
}

function createGroup(ctx: GraphContext, b: Json, uniqueName: string | null): GroupRecord {
  const { dir } = ctx;
  checkBindCount(b);
  const binds = bindsOf(ctx, b);
  if (uniqueName !== null && dir.findGroupByUniqueName(uniqueName)) {
    throw badRequest("Another object with the same value for property uniqueName already exists.");
  }
  return dir.addGroup({
    id: randomUUID(),
    displayName: b.displayName as string,
    mailNickname: b.mailNickname as string,
    mailEnabled: b.mailEnabled as boolean,
    securityEnabled: b.securityEnabled as boolean,
    groupTypes: (b.groupTypes as string[] | undefined) ?? [],
    description: (b.description as string | null | undefined) ?? null,
    uniqueName,
    visibility: (b.visibility as string | null | undefined) ?? null,
    isAssignableToRole: (b.isAssignableToRole as boolean | null | undefined) ?? null,
    createdByAppId: ctx.callerAppId ?? null,
    owners: binds.owners,
    members: binds.members,
  });
}

function updateGroup(ctx: GraphContext, g: GroupRecord, b: Json): void {
  const { dir } = ctx;
  checkBindCount(b);
  if ("uniqueName" in b && b.uniqueName !== g.uniqueName) {
    if (g.uniqueName !== null)
      throw badRequest("Property 'uniqueName' is immutable once set and cannot be changed.");
    if (typeof b.uniqueName === "string" && dir.findGroupByUniqueName(b.uniqueName)) {
      throw badRequest("Another object with the same value for property uniqueName already exists.");
    }
  }
  const binds = bindsOf(ctx, b);
  for (const rel of ["owners", "members"] as const) {
    if (binds[rel].some((id) => g[rel].includes(id))) {
      throw badRequest(
        `One or more added object references already exist for the following modified properties: '${rel}'.`,
      );
    }
  }
  if (typeof b.displayName === "string") g.displayName = b.displayName;
  if (typeof b.mailNickname === "string") g.mailNickname = b.mailNickname;
  if ("description" in b) g.description = (b.description as string | null) ?? null;
  if (typeof b.mailEnabled === "boolean") g.mailEnabled = b.mailEnabled;
  if (typeof b.securityEnabled === "boolean") g.securityEnabled = b.securityEnabled;
  if (Array.isArray(b.groupTypes)) g.groupTypes = b.groupTypes as string[];
  if ("visibility" in b) g.visibility = (b.visibility as string | null) ?? null;
  if ("isAssignableToRole" in b) g.isAssignableToRole = (b.isAssignableToRole as boolean | null) ?? null;
  if (typeof b.uniqueName === "string") g.uniqueName = b.uniqueName;
  for (const id of binds.owners) dir.addReference(g.id, "owners", id);
  for (const id of binds.members) dir.addReference(g.id, "members", id);
}

function createdResponse(ctx: GraphContext, g: GroupRecord): EmuResponse {
  const { dir } = ctx;
  return ok(
    ctx,
    201,
    { "@odata.context": `${ctx.root}/$metadata#groups/$entity`, ...groupJson(g) },
    {
      location: `${ctx.req.baseUrl}/v2/${dir.tenantId}/directoryObjects/${g.id}/Microsoft.DirectoryServices.Group`,
    },
  );
}

function transitiveMembers(ctx: GraphContext, g: GroupRecord): string[] {
  const { dir } = ctx;
  const out: string[] = [];
  const seen = new Set<string>([g.id]);
  const queue = [...g.members];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(id);
    const sub = dir.getGroup(id);
    if (sub) queue.push(...sub.members);
  }
  return out;
}

/** `/groups/...` and `/groups(uniqueName='...')`. */
export function groups(ctx: GraphContext, segs: string[]): EmuResponse | undefined {
  const { req, dir } = ctx;
  const method = req.method.toUpperCase();
  const [s0, s1, s2, s3, s4] = segs;
  const alt0 = s0 ? parseAlternateKey(s0) : undefined;
  const alt1 = s1 ? parseAlternateKey(s1) : undefined;
  // ------------------------------------------------------------ groups by alternate key
  const groupAlt =
    alt0?.entity === "groups" ? alt0 : s0 === "groups" && alt1?.entity === "" ? alt1 : undefined;
  if (groupAlt) {
    if (groupAlt.key !== "uniqueName") throw badRequest(`Unsupported alternate key '${groupAlt.key}'.`);
    const restStart = alt0 ? 1 : 2;
    if (segs.length !== restStart)
      throw badRequest("Only the group itself can be addressed by uniqueName in the emulator.");
    const existing = dir.findGroupByUniqueName(groupAlt.value);
    if (method === "PATCH") {
      const prefer = (header(req, "prefer") ?? "").toLowerCase();
      const b = validateGroupBody(req.body, !existing);
      if (existing) {
        updateGroup(ctx, existing, b);
        if (prefer.split(/\s*,\s*/).includes("return=representation")) {
          const body = { "@odata.context": `${ctx.root}/$metadata#groups/$entity`, ...groupJson(existing) };
          return ok(ctx, 200, body, { "preference-applied": "return=representation" });
        }
        return ok(ctx, 204);
      }
      if (!prefer.split(/\s*,\s*/).includes("create-if-missing")) throw notFound(groupAlt.value);
      if ("uniqueName" in b && b.uniqueName !== groupAlt.value)
        throw badRequest("The uniqueName in the body differs from the uniqueName in the URL.");
      return createdResponse(ctx, createGroup(ctx, b, groupAlt.value));
    }
    if (method === "GET") {
      if (!existing || !ctx.visible(existing)) throw notFound(groupAlt.value);
      return ok(ctx, 200, {
        "@odata.context": `${ctx.root}/$metadata#groups/$entity`,
        ...project(groupJson(existing), "group", parseSelect(ctx, "group"), false),
      });
    }
    if (method === "DELETE") {
      // A write keyed by the alternate key, like the upsert: it sees the group at once.
      if (!existing) throw notFound(groupAlt.value);
      dir.deleteGroup(existing.id);
      return ok(ctx, 204);
    }
    throw new GraphFail(
      405,
      "Request_BadRequest",
      `${method} is not supported on a group addressed by uniqueName.`,
    );
  }

  // ------------------------------------------------------------ groups
  if (s0 === "groups" && s1 === "delta" && segs.length === 2 && method === "GET") return delta(ctx);
  if (s0 === "groups") {
    if (segs.length === 1 && method === "GET") {
      return listCollection(ctx, dir.listGroups().filter(ctx.visible).map(groupJson), "group", "groups");
    }
    if (segs.length === 1 && method === "POST") {
      const b = validateGroupBody(req.body, true);
      const uniqueName = typeof b.uniqueName === "string" ? b.uniqueName : null;
      return createdResponse(ctx, createGroup(ctx, b, uniqueName));
    }
    if (!s1) throw badRequest("Unsupported request.");
    if (segs.length === 2) {
      const g = visibleGroup(ctx, s1);
      if (method === "GET") {
        return ok(ctx, 200, {
          "@odata.context": `${ctx.root}/$metadata#groups/$entity`,
          ...project(groupJson(g), "group", parseSelect(ctx, "group"), false),
        });
      }
      if (method === "PATCH") {
        updateGroup(ctx, g, validateGroupBody(req.body, false));
        return ok(ctx, 204);
      }
      if (method === "DELETE") {
        dir.deleteGroup(g.id);
        return ok(ctx, 204);
      }
    }
    if ((s2 === "members" || s2 === "owners" || s2 === "transitiveMembers") && segs.length >= 3) {
      const g = visibleGroup(ctx, s1);
      const relation = s2 === "owners" ? "owners" : "members";
      if (segs.length === 3 && method === "GET") {
        const ids = s2 === "transitiveMembers" ? transitiveMembers(ctx, g) : g[relation];
        const items = ids.map((id) => objectJson(ctx, id, true)).filter((j): j is Json => j !== undefined);
        return listCollection(ctx, items, "directoryObject", "directoryObjects", true);
      }
      if (s2 !== "transitiveMembers" && segs.length === 4 && s3 === "$ref" && method === "POST") {
        const body = (req.body ?? {}) as Json;
        if (!("@odata.id" in body))
          throw new GraphFail(400, "BadRequest", "The request body must contain an '@odata.id' reference.");
        const target = resolveReference(ctx, body["@odata.id"], relation);
        if (target === g.id) throw badRequest("A group cannot be a member of itself.");
        if (dir.addReference(g.id, relation, target) === "exists") {
          throw badRequest(
            `One or more added object references already exist for the following modified properties: '${relation}'.`,
          );
        }
        return ok(ctx, 204);
      }
      if (s2 !== "transitiveMembers" && segs.length === 5 && s3 && s4 === "$ref" && method === "DELETE") {
        if (!dir.removeReference(g.id, relation, s3)) throw notFound(s3);
        return ok(ctx, 204);
      }
    }
  }
  return undefined;
}
