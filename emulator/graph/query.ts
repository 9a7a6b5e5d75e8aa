/**
 * Graph's query options over an in-memory collection: $filter (filter.ts), $orderby, $count
 * (only with ConsistencyLevel: eventual), $top and $skiptoken paging with nextLink, $select.
 */
import { META, knownProps, type EntityType, type Json } from "./entities.js";
import { checkFilter, evaluate, FilterSyntaxError, parseFilter, type FilterNode } from "./filter.js";
import { GraphFail, header, ok, type GraphContext } from "./responses.js";
import type { EmuResponse } from "../types.js";

const MAX_PAGE = 999;
const DEFAULT_PAGE = 100;

function encodeSkipToken(offset: number): string {
  return Buffer.from(`emu:${offset}`).toString("hex");
}

function decodeSkipToken(token: string): number | undefined {
  const text = Buffer.from(token, "hex").toString("utf8");
  const m = /^emu:(\d+)$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function parseSelect(ctx: GraphContext, entity: EntityType | "directoryObject"): string[] | undefined {
  const raw = ctx.req.query.get("$select");
  if (raw === null || raw.trim() === "") return undefined;
  const props = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (entity !== "directoryObject") {
    const known = knownProps(entity);
    for (const p of props) {
      if (!known.has(p)) {
        throw new GraphFail(
          400,
          "BadRequest",
          `Parsing OData Select and Expand failed: Could not find a property named '${p}' on type '${META[entity].odataType.slice(1)}'.`,
        );
      }
    }
  }
  return props;
}

export function project(
  item: Json,
  entity: EntityType | "directoryObject",
  select: string[] | undefined,
  withType: boolean,
): Json {
  const out: Json = {};
  if (withType && typeof item["@odata.type"] === "string") out["@odata.type"] = item["@odata.type"];
  const keys =
    select ??
    (entity === "directoryObject"
      ? Object.keys(item).filter((k) => k !== "@odata.type")
      : META[entity].defaults);
  for (const k of keys) if (k in item) out[k] = item[k];
  return out;
}

/** $filter, $orderby, $count, $top/$skiptoken paging and $select over an in-memory collection. */
export function listCollection(
  ctx: GraphContext,
  items: Json[],
  entity: EntityType | "directoryObject",
  contextSuffix: string,
  withType = false,
): EmuResponse {
  const q = ctx.req.query;
  const advanced = (header(ctx.req, "consistencylevel") ?? "").toLowerCase() === "eventual";
  const count = (q.get("$count") ?? "").toLowerCase() === "true";
  let rows = items;

  const filter = q.get("$filter");
  if (filter !== null) {
    if (entity === "directoryObject")
      throw new GraphFail(400, "Request_UnsupportedQuery", "Unsupported Query.");
    let tree: FilterNode;
    try {
      tree = parseFilter(filter);
    } catch (e) {
      if (e instanceof FilterSyntaxError)
        throw new GraphFail(400, "BadRequest", `Invalid filter clause: ${e.message}`);
      throw e;
    }
    checkFilter(tree, entity, advanced && count);
    rows = rows.filter((r) => evaluate(tree, r));
  }

  const orderby = q.get("$orderby");
  if (orderby) {
    const m = /^\s*(\w+)(?:\s+(asc|desc))?\s*$/i.exec(orderby);
    if (!m || !["displayName", "userPrincipalName"].includes(m[1]!)) {
      throw new GraphFail(400, "Request_UnsupportedQuery", `Unsupported sort property '${orderby}'.`);
    }
    const prop = m[1]!;
    const dir = (m[2] ?? "asc").toLowerCase() === "desc" ? -1 : 1;
    rows = [...rows].sort(
      (a, b) =>
        dir * String(a[prop] ?? "").localeCompare(String(b[prop] ?? ""), "en", { sensitivity: "base" }),
    );
  }

  if (count && !advanced) {
    throw new GraphFail(
      400,
      "Request_BadRequest",
      "$count is not currently supported without the ConsistencyLevel: eventual header.",
    );
  }

  const topRaw = q.get("$top");
  let top = DEFAULT_PAGE;
  if (topRaw !== null) {
    top = Number(topRaw);
    if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) {
      throw new GraphFail(
        400,
        "Request_UnsupportedQuery",
        `Invalid page size specified: '${topRaw}'. Must be between 1 and ${MAX_PAGE} inclusive.`,
      );
    }
  }
  const skipRaw = q.get("$skiptoken") ?? q.get("$skipToken");
  let offset = 0;
  if (skipRaw !== null) {
    const o = decodeSkipToken(skipRaw);
    if (o === undefined) throw new GraphFail(400, "Request_BadRequest", "Invalid paging token specified.");
    offset = o;
  }
  const select = parseSelect(ctx, entity);
  const page = rows.slice(offset, offset + top).map((r) => project(r, entity, select, withType));

  const body: Json = {
    "@odata.context": `${ctx.root}/$metadata#${contextSuffix}${select ? `(${select.join(",")})` : ""}`,
  };
  if (count) body["@odata.count"] = rows.length;
  if (offset + top < rows.length) {
    const next = new URLSearchParams();
    for (const key of ["$filter", "$select", "$orderby", "$count"]) {
      const v = q.get(key);
      if (v !== null) next.set(key, v);
    }
    next.set("$top", String(top));
    next.set("$skiptoken", encodeSkipToken(offset + top));
    // Keep `$` readable and spaces as %20, like Graph's own links.
    const qs = next.toString().replace(/%24/g, "$").replace(/\+/g, "%20");
    body["@odata.nextLink"] = `${ctx.root}/${ctx.req.path.split("/").slice(2).join("/")}?${qs}`;
  }
  body.value = page;
  return ok(ctx, 200, body);
}
