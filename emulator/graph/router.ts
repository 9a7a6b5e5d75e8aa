/**
 * Emulated Microsoft Graph v1.0 over the emulated directory: users, service principals (with
 * their app roles and app role assignments), directory objects and security groups with members
 * and owners. Shapes, status codes and
 * error codes follow Graph's documentation; docs/emulator.md lists what differs.
 *
 * Read-after-write delay (faults().graphReadAfterWriteDelayMs): a group younger than the delay is
 * missing from reads by id, from lists and $filter, and as the parent or target of a $ref, as it
 * would be on a directory replica that has not caught up. `PATCH /groups(uniqueName='...')` is a
 * write keyed by the group's alternate key and always sees the group (upsert by uniqueName is
 * the documented way to create a group idempotently).
 */
import { randomUUID } from "node:crypto";
import { GRAPH_APP_ID, type Directory, type GroupRecord } from "./directory.js";
import { graphCallAllowed, INSUFFICIENT_PRIVILEGES } from "./graphPermissions.js";
import { DEFAULT_DELTA_PAGE, groupsDelta, type DeltaGroup } from "./graphDelta.js";
import { readStringLiteral } from "./odataLiteral.js";
import type {
  AppRoleAssignmentRecord,
  EmuRequest,
  EmuResponse,
  FaultSettings,
  Principal,
  Router,
} from "./types.js";

// ====================================================================== responses

const JSON_CT =
  "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

function header(req: EmuRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

interface Ctx {
  req: EmuRequest;
  requestId: string;
  clientRequestId: string;
  /** e.g. https://127.0.0.1:8443/v1.0 */
  root: string;
  caller?: Principal;
  callerAppId?: string;
  callerIsApp: boolean;
}

function baseHeaders(ctx: Ctx): Record<string, string> {
  return { "request-id": ctx.requestId, "client-request-id": ctx.clientRequestId };
}

function ok(ctx: Ctx, status: number, body?: unknown, extra: Record<string, string> = {}): EmuResponse {
  if (body === undefined) return { status, headers: { ...baseHeaders(ctx), ...extra } };
  return { status, headers: { "content-type": JSON_CT, ...baseHeaders(ctx), ...extra }, body };
}

class GraphFail extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Graph's error body, with the innerError (date and request ids) Graph adds to every error. */
export function graphErrorBody(
  code: string,
  message: string,
  requestId: string,
  clientRequestId: string,
): { error: { code: string; message: string; innerError: Record<string, string> } } {
  return {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().replace(/\.\d+Z$/, ""),
        "request-id": requestId,
        "client-request-id": clientRequestId,
      },
    },
  };
}

function errorResponse(ctx: Ctx, status: number, code: string, message: string): EmuResponse {
  return {
    status,
    headers: { "content-type": "application/json", ...baseHeaders(ctx) },
    body: graphErrorBody(code, message, ctx.requestId, ctx.clientRequestId),
  };
}

const notFound = (id: string): GraphFail =>
  new GraphFail(
    404,
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

const badRequest = (message: string): GraphFail => new GraphFail(400, "Request_BadRequest", message);

// ====================================================================== entities

type EntityType = "user" | "group" | "servicePrincipal" | "appRoleAssignment";
type Json = Record<string, unknown>;

interface EntityMeta {
  odataType: string;
  resourceName: string; // as in Request_UnsupportedQuery messages: 'User', 'Group', 'ServicePrincipal'
  defaults: string[];
  filterable: string[];
  /** Collection properties that take lambda filters (any). */
  collections?: string[];
  /** Filterable only with ConsistencyLevel: eventual and $count=true (advanced queries). */
  advancedFilterable: string[];
}

const USER_DEFAULTS = [
  "businessPhones",
  "displayName",
  "givenName",
  "jobTitle",
  "mail",
  "mobilePhone",
  "officeLocation",
  "preferredLanguage",
  "surname",
  "userPrincipalName",
  "id",
];
const GROUP_PROPS = [
  "id",
  "deletedDateTime",
  "classification",
  "createdDateTime",
  "createdByAppId",
  "description",
  "displayName",
  "expirationDateTime",
  "groupTypes",
  "isAssignableToRole",
  "mail",
  "mailEnabled",
  "mailNickname",
  "membershipRule",
  "membershipRuleProcessingState",
  "onPremisesLastSyncDateTime",
  "onPremisesSecurityIdentifier",
  "onPremisesSyncEnabled",
  "preferredDataLocation",
  "preferredLanguage",
  "proxyAddresses",
  "renewedDateTime",
  "resourceBehaviorOptions",
  "resourceProvisioningOptions",
  "securityEnabled",
  "securityIdentifier",
  "theme",
  "uniqueName",
  "visibility",
  "onPremisesProvisioningErrors",
];
const SP_PROPS = [
  "id",
  "deletedDateTime",
  "accountEnabled",
  "alternativeNames",
  "appDisplayName",
  "appId",
  "appOwnerOrganizationId",
  "appRoles",
  "displayName",
  "servicePrincipalNames",
  "servicePrincipalType",
  "signInAudience",
  "tags",
];

const APP_ROLE_ASSIGNMENT_PROPS = [
  "id",
  "deletedDateTime",
  "appRoleId",
  "createdDateTime",
  "principalDisplayName",
  "principalId",
  "principalType",
  "resourceDisplayName",
  "resourceId",
];

const META: Record<EntityType, EntityMeta> = {
  user: {
    odataType: "#microsoft.graph.user",
    resourceName: "User",
    defaults: USER_DEFAULTS,
    filterable: [
      "id",
      "displayName",
      "userPrincipalName",
      "mailNickname",
      "mail",
      "givenName",
      "surname",
      "accountEnabled",
      "userType",
    ],
    advancedFilterable: ["createdDateTime"],
  },
  group: {
    odataType: "#microsoft.graph.group",
    resourceName: "Group",
    defaults: GROUP_PROPS,
    filterable: [
      "id",
      "displayName",
      "mailNickname",
      "mail",
      "mailEnabled",
      "securityEnabled",
      "uniqueName",
      "createdDateTime",
      "isAssignableToRole",
      "visibility",
    ],
    advancedFilterable: ["description"],
  },
  servicePrincipal: {
    odataType: "#microsoft.graph.servicePrincipal",
    resourceName: "ServicePrincipal",
    defaults: SP_PROPS,
    filterable: [
      "id",
      "appId",
      "displayName",
      "servicePrincipalType",
      "accountEnabled",
      "appOwnerOrganizationId",
    ],
    collections: ["servicePrincipalNames", "tags", "alternativeNames"],
    advancedFilterable: [],
  },
  appRoleAssignment: {
    odataType: "#microsoft.graph.appRoleAssignment",
    resourceName: "AppRoleAssignment",
    defaults: APP_ROLE_ASSIGNMENT_PROPS,
    filterable: ["principalId", "resourceId", "appRoleId"],
    advancedFilterable: [],
  },
};

/** Users' properties that $select can reach besides the default ones. */
const USER_EXTRA = ["accountEnabled", "createdDateTime", "mailNickname", "userType"];

function knownProps(entity: EntityType): Set<string> {
  return new Set([...META[entity].defaults, ...(entity === "user" ? USER_EXTRA : [])]);
}

function userJson(dir: Directory, p: Principal): Json {
  return {
    id: p.objectId,
    businessPhones: [],
    displayName: p.displayName,
    givenName: null,
    jobTitle: null,
    mail: p.userPrincipalName ?? null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: null,
    userPrincipalName: p.userPrincipalName ?? null,
    // Not returned by default; reachable through $select.
    accountEnabled: true,
    createdDateTime: isoSeconds(p.createdAt),
    mailNickname: dir.mailNicknameOf(p.objectId) ?? null,
    userType: "Member",
  };
}

function spJson(dir: Directory, p: Principal): Json {
  const mi = p.kind === "managedIdentity";
  return {
    id: p.objectId,
    deletedDateTime: null,
    accountEnabled: true,
    alternativeNames: [],
    appDisplayName: mi ? null : p.displayName,
    appId: p.appId ?? null,
    appOwnerOrganizationId: mi ? null : (p.appOwnerOrganizationId ?? dir.tenantId),
    appRoles: (p.appRoles ?? []).map((r) => ({ ...r })),
    displayName: p.displayName,
    servicePrincipalNames: [...(p.appId ? [p.appId] : []), ...(p.identifierUris ?? [])],
    servicePrincipalType: mi ? "ManagedIdentity" : "Application",
    signInAudience: mi ? null : "AzureADMyOrg",
    tags: [],
  };
}

function appRoleAssignmentJson(a: AppRoleAssignmentRecord): Json {
  return {
    id: a.id,
    deletedDateTime: null,
    appRoleId: a.appRoleId,
    createdDateTime: new Date(a.createdAt).toISOString(),
    principalDisplayName: a.principalDisplayName,
    principalId: a.principalId,
    principalType: a.principalType,
    resourceDisplayName: a.resourceDisplayName,
    resourceId: a.resourceId,
  };
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

function securityIdentifier(id: string): string {
  const hex = id.replace(/-/g, "");
  const parts = [0, 8, 16, 24].map((i) => Buffer.from(hex.slice(i, i + 8), "hex").readUInt32LE(0));
  return `S-1-12-1-${parts.join("-")}`;
}

function groupJson(g: GroupRecord): Json {
  return {
    id: g.id,
    deletedDateTime: null,
    classification: null,
    createdDateTime: isoSeconds(g.createdAt),
    createdByAppId: g.createdByAppId,
    description: g.description,
    displayName: g.displayName,
    expirationDateTime: null,
    groupTypes: [...g.groupTypes],
    isAssignableToRole: g.isAssignableToRole,
    mail: null,
    mailEnabled: g.mailEnabled,
    mailNickname: g.mailNickname,
    membershipRule: null,
    membershipRuleProcessingState: null,
    onPremisesLastSyncDateTime: null,
    onPremisesSecurityIdentifier: null,
    onPremisesSyncEnabled: null,
    preferredDataLocation: null,
    preferredLanguage: null,
    proxyAddresses: [],
    renewedDateTime: isoSeconds(g.createdAt),
    resourceBehaviorOptions: [],
    resourceProvisioningOptions: [],
    securityEnabled: g.securityEnabled,
    securityIdentifier: securityIdentifier(g.id),
    theme: null,
    uniqueName: g.uniqueName,
    visibility: g.visibility,
    onPremisesProvisioningErrors: [],
  };
}

// ====================================================================== $filter

type Literal = string | number | boolean | null;
type FilterNode =
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "not"; expr: FilterNode }
  | { kind: "cmp"; op: "eq" | "ne" | "gt" | "ge" | "lt" | "le"; prop: string; value: Literal }
  | { kind: "fn"; fn: "startswith" | "endswith" | "contains"; prop: string; value: string }
  | { kind: "in"; prop: string; values: Literal[] }
  /** A lambda over a collection property: `servicePrincipalNames/any(c:c eq 'x')`. */
  | { kind: "any"; prop: string; test: "eq" | "startswith"; value: string };

type Token =
  | { t: "(" | ")" | "," | ":"; pos: number }
  | { t: "str"; v: string; pos: number }
  | { t: "num"; v: number; pos: number }
  | { t: "id"; v: string; pos: number };

class FilterSyntaxError extends Error {}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === "," || c === ":") {
      out.push({ t: c, pos: i });
      i++;
      continue;
    }
    if (c === "'") {
      const literal = readStringLiteral(src, i);
      if (!literal)
        throw new FilterSyntaxError(`There is an unterminated string literal at position ${i} in '${src}'.`);
      out.push({ t: "str", v: literal.value, pos: i });
      i = literal.end;
      continue;
    }
    if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(src.slice(i));
      if (m) {
        out.push({ t: "num", v: Number(m[0]), pos: i });
        i += m[0].length;
        continue;
      }
    }
    if (/[A-Za-z_$@]/.test(c)) {
      const m = /^[A-Za-z_$@][A-Za-z0-9_./@$]*/.exec(src.slice(i))!;
      out.push({ t: "id", v: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    throw new FilterSyntaxError(`Syntax error: character '${c}' is not valid at position ${i} in '${src}'.`);
  }
  return out;
}

function parseFilter(src: string): FilterNode {
  const toks = tokenize(src);
  let k = 0;
  const peek = (): Token | undefined => toks[k];
  const syntax = (tok?: Token): never => {
    throw new FilterSyntaxError(`Syntax error at position ${tok ? tok.pos : src.length} in '${src}'.`);
  };
  const isKw = (tok: Token | undefined, kw: string): boolean => tok?.t === "id" && tok.v.toLowerCase() === kw;
  const expect = (t: "(" | ")" | "," | ":"): void => {
    const tok = toks[k];
    if (tok?.t !== t) syntax(tok);
    k++;
  };
  const literal = (): Literal => {
    const tok = toks[k];
    if (!tok) return syntax();
    k++;
    if (tok.t === "str") return tok.v;
    if (tok.t === "num") return tok.v;
    if (tok.t === "id") {
      const v = tok.v.toLowerCase();
      if (v === "true") return true;
      if (v === "false") return false;
      if (v === "null") return null;
      // A property where a value belongs: Graph only compares properties to constants.
      throw new GraphFail(
        400,
        "Request_UnsupportedQuery",
        `Unsupported Query. Comparing property '${tok.v}' with another property is not supported.`,
      );
    }
    return syntax(tok);
  };
  const property = (): string => {
    const tok = toks[k];
    if (tok?.t === "str" || tok?.t === "num") {
      throw new GraphFail(
        400,
        "Request_UnsupportedQuery",
        `Unsupported Query. The left operand at position ${tok.pos} in '${src}' must be a property, not a constant.`,
      );
    }
    if (tok?.t !== "id") return syntax(tok);
    k++;
    return tok.v;
  };
  const primary = (): FilterNode => {
    const tok = peek();
    if (tok?.t === "(") {
      k++;
      const e = orExpr();
      expect(")");
      return e;
    }
    if (isKw(tok, "not")) {
      k++;
      return { kind: "not", expr: primary() };
    }
    if (
      tok?.t === "id" &&
      ["startswith", "endswith", "contains"].includes(tok.v.toLowerCase()) &&
      toks[k + 1]?.t === "("
    ) {
      k += 2;
      const prop = property();
      expect(",");
      const v = literal();
      if (typeof v !== "string") return syntax(toks[k - 1]);
      expect(")");
      return {
        kind: "fn",
        fn: tok.v.toLowerCase() as "startswith" | "endswith" | "contains",
        prop,
        value: v,
      };
    }
    // Lambda on a collection of strings: prop/any(v:v eq 'x') or prop/any(v:startswith(v,'x')).
    if (tok?.t === "id" && /\/any$/i.test(tok.v) && toks[k + 1]?.t === "(") {
      const prop = tok.v.slice(0, -"/any".length);
      k += 2;
      const variable = toks[k];
      if (variable?.t !== "id") return syntax(variable);
      k++;
      expect(":");
      let test: "eq" | "startswith";
      let value: Literal;
      if (isKw(peek(), "startswith") && toks[k + 1]?.t === "(") {
        k += 2;
        if (toks[k]?.t !== "id" || (toks[k] as { v: string }).v !== variable.v) return syntax(toks[k]);
        k++;
        expect(",");
        value = literal();
        expect(")");
        test = "startswith";
      } else {
        if (toks[k]?.t !== "id" || (toks[k] as { v: string }).v !== variable.v) return syntax(toks[k]);
        k++;
        if (!isKw(peek(), "eq")) return syntax(peek());
        k++;
        value = literal();
        test = "eq";
      }
      if (typeof value !== "string") return syntax(toks[k - 1]);
      expect(")");
      return { kind: "any", prop, test, value };
    }
    const prop = property();
    const opTok = peek();
    if (opTok?.t !== "id") return syntax(opTok);
    const op = opTok.v.toLowerCase();
    k++;
    if (op === "in") {
      expect("(");
      const values: Literal[] = [literal()];
      while (peek()?.t === ",") {
        k++;
        values.push(literal());
      }
      expect(")");
      return { kind: "in", prop, values };
    }
    if (!["eq", "ne", "gt", "ge", "lt", "le"].includes(op)) return syntax(opTok);
    return { kind: "cmp", op: op as "eq", prop, value: literal() };
  };
  const andExpr = (): FilterNode => {
    let left = primary();
    while (isKw(peek(), "and")) {
      k++;
      left = { kind: "and", left, right: primary() };
    }
    return left;
  };
  const orExpr = (): FilterNode => {
    let left = andExpr();
    while (isKw(peek(), "or")) {
      k++;
      left = { kind: "or", left, right: andExpr() };
    }
    return left;
  };
  if (toks.length === 0) syntax();
  const tree = orExpr();
  if (k < toks.length) syntax(toks[k]);
  return tree;
}

/** Checks properties and operators against what Graph supports for the entity; throws GraphFail. */
function checkFilter(node: FilterNode, entity: EntityType, advanced: boolean): void {
  const meta = META[entity];
  const known = knownProps(entity);
  const unsupported = (prop: string): GraphFail =>
    new GraphFail(
      400,
      "Request_UnsupportedQuery",
      `Unsupported or invalid query filter clause specified for property '${prop}' of resource '${meta.resourceName}'.`,
    );
  const checkProp = (prop: string, needsAdvanced: boolean): void => {
    if (!known.has(prop)) {
      throw new GraphFail(
        400,
        "BadRequest",
        `Invalid filter clause: Could not find a property named '${prop}' on type '${meta.odataType.slice(1)}'.`,
      );
    }
    const filterable = meta.filterable.includes(prop);
    const adv = meta.advancedFilterable.includes(prop);
    if (!filterable && !(adv && advanced)) throw unsupported(prop);
    if (needsAdvanced && !advanced) throw unsupported(prop);
  };
  switch (node.kind) {
    case "and":
    case "or":
      checkFilter(node.left, entity, advanced);
      checkFilter(node.right, entity, advanced);
      return;
    case "not":
      if (!advanced)
        throw new GraphFail(
          400,
          "Request_UnsupportedQuery",
          "Unsupported Query. 'not' needs an advanced query (ConsistencyLevel: eventual and $count=true).",
        );
      checkFilter(node.expr, entity, advanced);
      return;
    case "cmp":
      // Directory objects take eq, ge and le; ne only as an advanced query; gt and lt not at all.
      if (node.op === "gt" || node.op === "lt") throw unsupported(node.prop);
      checkProp(node.prop, node.op === "ne");
      return;
    case "in":
      checkProp(node.prop, false);
      return;
    case "fn":
      if (node.fn === "contains") throw unsupported(node.prop);
      checkProp(node.prop, node.fn === "endswith");
      return;
    case "any":
      if (!known.has(node.prop) || !meta.collections?.includes(node.prop)) throw unsupported(node.prop);
      return;
  }
}

function norm(v: unknown): unknown {
  return typeof v === "string" ? v.toLowerCase() : v;
}

function evaluate(node: FilterNode, item: Json): boolean {
  switch (node.kind) {
    case "and":
      return evaluate(node.left, item) && evaluate(node.right, item);
    case "or":
      return evaluate(node.left, item) || evaluate(node.right, item);
    case "not":
      return !evaluate(node.expr, item);
    case "in":
      return node.values.some((v) => norm(item[node.prop] ?? null) === norm(v));
    case "any": {
      const values = item[node.prop];
      if (!Array.isArray(values)) return false;
      const want = node.value.toLowerCase();
      return values.some(
        (v) =>
          typeof v === "string" &&
          (node.test === "eq" ? v.toLowerCase() === want : v.toLowerCase().startsWith(want)),
      );
    }
    case "fn": {
      const actual = item[node.prop];
      if (typeof actual !== "string") return false;
      const a = actual.toLowerCase();
      const v = node.value.toLowerCase();
      return node.fn === "startswith"
        ? a.startsWith(v)
        : node.fn === "endswith"
          ? a.endsWith(v)
          : a.includes(v);
    }
    case "cmp": {
      const a = norm(item[node.prop] ?? null);
      const b = norm(node.value);
      switch (node.op) {
        case "eq":
          return a === b;
        case "ne":
          return a !== b;
        default: {
          if (a === null || b === null) return false;
          const [x, y] = [a as string | number | boolean, b as string | number | boolean];
          return node.op === "gt" ? x > y : node.op === "ge" ? x >= y : node.op === "lt" ? x < y : x <= y;
        }
      }
    }
  }
}

// ====================================================================== collections

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

function parseSelect(ctx: Ctx, entity: EntityType | "directoryObject"): string[] | undefined {
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

function project(
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
function listCollection(
  ctx: Ctx,
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

// ====================================================================== router

/** `groups(uniqueName='a''b')` -> {entity: "groups", key: "uniqueName", value: "a'b"} */
function parseAlternateKey(seg: string): { entity: string; key: string; value: string } | undefined {
  const m = /^(\w*)\((\w+)=(?:'((?:[^']|'')*)'|"([^"]*)")\)$/.exec(seg);
  if (!m) return undefined;
  return { entity: m[1]!, key: m[2]!, value: (m[3] ?? m[4] ?? "").replace(/''/g, "'") };
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Extracts the object id from an @odata.id / @odata.bind URL; any host is accepted. */
function idFromReference(url: string): string | undefined {
  const clean = url.split("?")[0]!.replace(/\/+$/, "");
  const last = clean.split("/").pop() ?? "";
  const alt = parseAlternateKey(last);
  const id = alt ? alt.value : decodeSegment(last);
  return GUID.test(id) ? id.toLowerCase() : undefined;
}

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

export function graphRouter(
  dir: Directory,
  faults: () => FaultSettings,
  opts: { enforcePermissions?: boolean } = {},
): Router {
  const visible = (g: GroupRecord): boolean =>
    dir.now() - g.createdAt >= Math.max(0, faults().graphReadAfterWriteDelayMs || 0);

  function visibleGroup(id: string): GroupRecord {
    const g = dir.getGroup(id);
    if (!g || !visible(g)) throw notFound(id);
    return g;
  }

  function objectJson(id: string, withType: boolean): Json | undefined {
    const o = dir.getDirectoryObject(id);
    if (!o) return undefined;
    let body: Json;
    if (o.type === "user") body = userJson(dir, o.principal);
    else if (o.type === "servicePrincipal") body = spJson(dir, o.principal);
    else {
      if (!visible(o.group)) return undefined;
      body = groupJson(o.group);
    }
    if (!withType) return body;
    const meta = META[o.type];
    return { "@odata.type": meta.odataType, ...project(body, o.type, undefined, false) };
  }

  function resolveReference(url: unknown, relation: "members" | "owners"): string {
    if (typeof url !== "string")
      throw new GraphFail(400, "BadRequest", "Invalid request body: '@odata.id' must be a URL string.");
    const id = idFromReference(url);
    if (!id) throw badRequest(`Invalid object identifier '${url.split("/").pop() ?? url}'.`);
    const o = dir.getDirectoryObject(id);
    if (!o || (o.type === "group" && !visible(o.group))) throw notFound(id);
    if (relation === "owners" && o.type === "group")
      throw badRequest(`Invalid object identifier '${id}'. Owners must be users or service principals.`);
    return id;
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
    if (
      "groupTypes" in b &&
      (!Array.isArray(b.groupTypes) || b.groupTypes.some((t) => typeof t !== "string"))
    )
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
    if (
      "isAssignableToRole" in b &&
      b.isAssignableToRole !== null &&
      typeof b.isAssignableToRole !== "boolean"
    )
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
        throw new GraphFail(
          400,
          "BadRequest",
          `Invalid value for '${rel}': expected an array of URL strings.`,
        );
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

  function bindsOf(b: Json): { owners: string[]; members: string[] } {
    const owners = ((b["owners@odata.bind"] as string[] | undefined) ?? []).map((u) =>
      resolveReference(u, "owners"),
    );
    const members = ((b["members@odata.bind"] as string[] | undefined) ?? []).map((u) =>
      resolveReference(u, "members"),
    );
    return { owners: [...new Set(owners)], members: [...new Set(members)] };
  }

  function createGroup(ctx: Ctx, b: Json, uniqueName: string | null): GroupRecord {
    checkBindCount(b);
    const binds = bindsOf(b);
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

  function updateGroup(g: GroupRecord, b: Json): void {
    checkBindCount(b);
    if ("uniqueName" in b && b.uniqueName !== g.uniqueName) {
      if (g.uniqueName !== null)
        throw badRequest("Property 'uniqueName' is immutable once set and cannot be changed.");
      if (typeof b.uniqueName === "string" && dir.findGroupByUniqueName(b.uniqueName)) {
        throw badRequest("Another object with the same value for property uniqueName already exists.");
      }
    }
    const binds = bindsOf(b);
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

  function createdResponse(ctx: Ctx, g: GroupRecord): EmuResponse {
    return ok(
      ctx,
      201,
      { "@odata.context": `${ctx.root}/$metadata#groups/$entity`, ...groupJson(g) },
      {
        location: `${ctx.req.baseUrl}/v2/${dir.tenantId}/directoryObjects/${g.id}/Microsoft.DirectoryServices.Group`,
      },
    );
  }

  function handle(ctx: Ctx, segs: string[]): EmuResponse {
    const { req } = ctx;
    const method = req.method.toUpperCase();
    const [s0, s1, s2, s3, s4] = segs;
    const alt0 = s0 ? parseAlternateKey(s0) : undefined;
    const alt1 = s1 ? parseAlternateKey(s1) : undefined;

    // ------------------------------------------------------------ /me
    if (s0 === "me") {
      if (ctx.callerIsApp || !ctx.caller)
        throw new GraphFail(
          400,
          "BadRequest",
          "/me request is only valid with delegated authentication flow.",
        );
      if (segs.length === 1 && method === "GET") {
        return ok(ctx, 200, {
          "@odata.context": `${ctx.root}/$metadata#users/$entity`,
          ...project(userJson(dir, ctx.caller), "user", parseSelect(ctx, "user"), false),
        });
      }
      if (s1 === "memberOf" && segs.length === 2 && method === "GET")
        return memberOf(ctx, ctx.caller.objectId);
    }

    // ------------------------------------------------------------ users
    if (s0 === "users") {
      if (segs.length === 1 && method === "GET") {
        return listCollection(
          ctx,
          dir.listUsers().map((p) => userJson(dir, p)),
          "user",
          "users",
        );
      }
      if (s1 && method === "GET") {
        const p = GUID.test(s1) ? dir.getPrincipal(s1) : dir.getUserByUpn(s1);
        if (!p || p.kind !== "user") throw notFound(s1);
        if (segs.length === 2) {
          return ok(ctx, 200, {
            "@odata.context": `${ctx.root}/$metadata#users/$entity`,
            ...project(userJson(dir, p), "user", parseSelect(ctx, "user"), false),
          });
        }
        if (segs.length === 3 && (s2 === "memberOf" || s2 === "transitiveMemberOf"))
          return memberOf(ctx, p.objectId, s2 === "transitiveMemberOf");
      }
    }

    // ------------------------------------------------------------ service principals
    if (s0 === "servicePrincipals" || alt0?.entity === "servicePrincipals") {
      const readOnly = (): GraphFail =>
        new GraphFail(
          405,
          "Request_BadRequest",
          "The emulator serves service principals read-only (app role assignments aside).",
        );
      let p: Principal | undefined;
      if (alt0) {
        if (alt0.key !== "appId") throw badRequest(`Unsupported alternate key '${alt0.key}'.`);
        p = dir.getServicePrincipalByAppId(alt0.value);
        if (!p) throw notFound(alt0.value);
      } else if (segs.length === 1) {
        if (method !== "GET") throw readOnly();
        return listCollection(
          ctx,
          dir.listServicePrincipals().map((sp) => spJson(dir, sp)),
          "servicePrincipal",
          "servicePrincipals",
        );
      } else if (s1) {
        p = dir.getPrincipal(s1);
        if (!p || p.kind === "user") throw notFound(s1);
      }
      const rest = alt0 ? segs.slice(1) : segs.slice(2);
      if (p && (rest[0] === "appRoleAssignments" || rest[0] === "appRoleAssignedTo"))
        return appRoleAssignments(ctx, p, rest[0], rest.slice(1));
      if (method !== "GET") throw readOnly();
      if (p && rest.length === 0) {
        return ok(ctx, 200, {
          "@odata.context": `${ctx.root}/$metadata#servicePrincipals/$entity`,
          ...project(spJson(dir, p), "servicePrincipal", parseSelect(ctx, "servicePrincipal"), false),
        });
      }
      if (p && rest.length === 1 && (rest[0] === "memberOf" || rest[0] === "transitiveMemberOf"))
        return memberOf(ctx, p.objectId, rest[0] === "transitiveMemberOf");
    }

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
          const j = objectJson(id, true);
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
        const j = objectJson(s1, true);
        if (!j) throw notFound(s1);
        return ok(ctx, 200, { "@odata.context": `${ctx.root}/$metadata#directoryObjects/$entity`, ...j });
      }
    }

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
          updateGroup(existing, b);
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
        if (!existing || !visible(existing)) throw notFound(groupAlt.value);
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
        return listCollection(ctx, dir.listGroups().filter(visible).map(groupJson), "group", "groups");
      }
      if (segs.length === 1 && method === "POST") {
        const b = validateGroupBody(req.body, true);
        const uniqueName = typeof b.uniqueName === "string" ? b.uniqueName : null;
        return createdResponse(ctx, createGroup(ctx, b, uniqueName));
      }
      if (!s1) throw badRequest("Unsupported request.");
      if (segs.length === 2) {
        const g = visibleGroup(s1);
        if (method === "GET") {
          return ok(ctx, 200, {
            "@odata.context": `${ctx.root}/$metadata#groups/$entity`,
            ...project(groupJson(g), "group", parseSelect(ctx, "group"), false),
          });
        }
        if (method === "PATCH") {
          updateGroup(g, validateGroupBody(req.body, false));
          return ok(ctx, 204);
        }
        if (method === "DELETE") {
          dir.deleteGroup(g.id);
          return ok(ctx, 204);
        }
      }
      if ((s2 === "members" || s2 === "owners" || s2 === "transitiveMembers") && segs.length >= 3) {
        const g = visibleGroup(s1);
        const relation = s2 === "owners" ? "owners" : "members";
        if (segs.length === 3 && method === "GET") {
          const ids = s2 === "transitiveMembers" ? transitiveMembers(g) : g[relation];
          const items = ids.map((id) => objectJson(id, true)).filter((j): j is Json => j !== undefined);
          return listCollection(ctx, items, "directoryObject", "directoryObjects", true);
        }
        if (s2 !== "transitiveMembers" && segs.length === 4 && s3 === "$ref" && method === "POST") {
          const body = (req.body ?? {}) as Json;
          if (!("@odata.id" in body))
            throw new GraphFail(400, "BadRequest", "The request body must contain an '@odata.id' reference.");
          const target = resolveReference(body["@odata.id"], relation);
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

    throw new GraphFail(400, "BadRequest", `Resource not found for the segment '${segs[0] ?? ""}'.`);
  }

  /** `/groups/delta` (emulator/graphDelta.ts). */
  function delta(ctx: Ctx): EmuResponse {
    const prefer = header(ctx.req, "prefer") ?? "";
    const max = /odata\.maxpagesize=(\d+)/i.exec(prefer);
    const asDelta = (g: GroupRecord): DeltaGroup => ({
      id: g.id,
      displayName: g.displayName,
      members: [...g.members],
      typeOf: (id) => {
        const o = dir.getDirectoryObject(id);
        return o?.type === "group"
          ? "#microsoft.graph.group"
          : o?.type === "servicePrincipal"
            ? "#microsoft.graph.servicePrincipal"
            : "#microsoft.graph.user";
      },
    });
    const answer = groupsDelta({
      log: dir.groupChanges,
      query: ctx.req.query,
      pageSize: max ? Math.max(1, Number(max[1])) : DEFAULT_DELTA_PAGE,
      link: `${ctx.root}/groups/delta`,
      context: `${ctx.root}/$metadata#groups`,
      group: (id) => {
        const g = dir.getGroup(id);
        return g ? asDelta(g) : undefined;
      },
      all: () => dir.listGroups().map(asDelta),
    });
    if (answer.status !== 200) throw new GraphFail(answer.status, answer.code, answer.message);
    return ok(ctx, 200, answer.body);
  }

  /**
   * `/servicePrincipals/{id}/appRoleAssignments` (roles granted to the service principal) and
   * `/servicePrincipals/{id}/appRoleAssignedTo` (roles granted on it, the resource): list, get,
   * grant (POST) and revoke (DELETE), with Graph's answers for duplicates and unknown ids.
   */
  function appRoleAssignments(
    ctx: Ctx,
    sp: Principal,
    relation: "appRoleAssignments" | "appRoleAssignedTo",
    rest: string[],
  ): EmuResponse {
    const method = ctx.req.method.toUpperCase();
    const side = relation === "appRoleAssignments" ? "principalId" : "resourceId";
    const mine = (a: AppRoleAssignmentRecord): boolean => a[side] === sp.objectId;
    const contextBase = `${ctx.root}/$metadata#servicePrincipals('${sp.objectId}')/${relation}`;
    if (rest.length === 0 && method === "GET") {
      const items = dir.listAppRoleAssignments({ [side]: sp.objectId }).map((a) => appRoleAssignmentJson(a));
      return listCollection(
        ctx,
        items,
        "appRoleAssignment",
        `servicePrincipals('${sp.objectId}')/${relation}`,
      );
    }
    if (rest.length === 0 && method === "POST") {
      const b = ctx.req.body;
      if (typeof b !== "object" || b === null || Array.isArray(b))
        throw new GraphFail(400, "BadRequest", "Empty Payload. JSON content expected.");
      const body = b as Json;
      for (const key of ["principalId", "resourceId", "appRoleId"]) {
        if (typeof body[key] !== "string" || !GUID.test(body[key] as string))
          throw badRequest("One or more properties are invalid.");
      }
      const principalId = (body.principalId as string).toLowerCase();
      const resourceId = (body.resourceId as string).toLowerCase();
      const appRoleId = (body.appRoleId as string).toLowerCase();
      if (body[side] !== undefined && (body[side] as string).toLowerCase() !== sp.objectId)
        throw badRequest(
          `The ${side} in the request body must be the service principal in the URL, '${sp.objectId}'.`,
        );
      const principal = dir.getDirectoryObject(principalId);
      if (!principal || (principal.type === "group" && !visible(principal.group)))
        throw notFound(principalId);
      const resource = dir.getPrincipal(resourceId);
      if (!resource || resource.kind === "user") throw notFound(resourceId);
      const principalType =
        principal.type === "user" ? "User" : principal.type === "group" ? "Group" : "ServicePrincipal";
      const memberType = principalType === "ServicePrincipal" ? "Application" : "User";
      const role = (resource.appRoles ?? []).find(
        (r) => r.id.toLowerCase() === appRoleId && r.isEnabled && r.allowedMemberTypes.includes(memberType),
      );
      if (!role)
        throw badRequest(
          `Permission being assigned was not found on application '${resource.appId ?? resourceId}'.`,
        );
      const created = dir.addAppRoleAssignment({
        principalId,
        principalType,
        principalDisplayName:
          principal.type === "group" ? principal.group.displayName : principal.principal.displayName,
        resourceId,
        resourceDisplayName: resource.displayName,
        appRoleId,
      });
      if (created === "exists") throw badRequest("Permission being assigned already exists on the object");
      return ok(ctx, 201, { "@odata.context": `${contextBase}/$entity`, ...appRoleAssignmentJson(created) });
    }
    if (rest.length === 1) {
      const id = rest[0]!;
      const a = dir.getAppRoleAssignment(id);
      if (!a || !mine(a)) throw notFound(id);
      if (method === "GET") {
        return ok(ctx, 200, {
          "@odata.context": `${contextBase}/$entity`,
          ...project(
            appRoleAssignmentJson(a),
            "appRoleAssignment",
            parseSelect(ctx, "appRoleAssignment"),
            false,
          ),
        });
      }
      if (method === "DELETE") {
        dir.removeAppRoleAssignment(a.id);
        return ok(ctx, 204);
      }
    }
    throw new GraphFail(
      405,
      "Request_BadRequest",
      `${method} is not supported on ${relation}${rest.length ? "/{id}" : ""}.`,
    );
  }

  function memberOf(ctx: Ctx, objectId: string, transitive = false): EmuResponse {
    const seen = new Set<string>();
    const queue = dir.groupsWithMember(objectId);
    const out: GroupRecord[] = [];
    while (queue.length > 0) {
      const g = queue.shift()!;
      if (seen.has(g.id)) continue;
      seen.add(g.id);
      if (visible(g)) out.push(g);
      if (transitive) queue.push(...dir.groupsWithMember(g.id));
    }
    const items = out.map((g) => ({ "@odata.type": META.group.odataType, ...groupJson(g) }));
    return listCollection(ctx, items, "directoryObject", "directoryObjects", true);
  }

  function transitiveMembers(g: GroupRecord): string[] {
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

  return (req) => {
    const rawSegs = req.path.split("/").filter(Boolean);
    if (rawSegs[0] !== "v1.0" && rawSegs[0] !== "beta") return undefined;
    const requestId = randomUUID();
    const ctx: Ctx = {
      req,
      requestId,
      clientRequestId: header(req, "client-request-id") ?? requestId,
      root: `${req.baseUrl}/${rawSegs[0]}`,
      callerIsApp: false,
    };
    if (rawSegs[0] === "beta")
      return errorResponse(ctx, 400, "BadRequest", "The emulator serves Microsoft Graph v1.0 only.");

    // Authentication, as Graph checks it.
    const auth = header(req, "authorization");
    if (!auth || !/^Bearer\s+\S/i.test(auth))
      return errorResponse(ctx, 401, "InvalidAuthenticationToken", "Access token is empty.");
    const check = dir.checkToken(auth.replace(/^Bearer\s+/i, "").trim());
    if (!check.ok) {
      const message =
        check.reason === "expired"
          ? "Lifetime validation failed, the token is expired."
          : check.reason === "malformed"
            ? "IDX14100: JWT is not well formed, there are no dots (.)."
            : "Access token validation failure. Invalid signature.";
      return errorResponse(ctx, 401, "InvalidAuthenticationToken", message);
    }
    const aud = check.claims.aud.replace(/\/+$/, "");
    // A client set up for a custom cloud asks for a token whose resource is the Graph endpoint
    // it was given, i.e. the emulator's own URL; Graph in such a cloud accepts exactly that.
    const ownUrl = req.baseUrl.replace(/\/+$/, "");
    if (aud !== "https://graph.microsoft.com" && aud !== GRAPH_APP_ID && aud !== ownUrl) {
      return errorResponse(
        ctx,
        401,
        "InvalidAuthenticationToken",
        "Access token validation failure. Invalid audience.",
      );
    }
    const caller = dir.getPrincipal(check.claims.oid);
    if (!caller)
      return errorResponse(
        ctx,
        401,
        "InvalidAuthenticationToken",
        "Access token validation failure: the token's principal no longer exists.",
      );
    ctx.caller = caller;
    ctx.callerIsApp = check.claims.idtyp === "app";
    ctx.callerAppId = check.claims.ver === "1.0" ? check.claims.appid : check.claims.azp;

    const segs = rawSegs.slice(1).map(decodeSegment);
    // Application permissions, in one place before any handler (graphPermissions.ts).
    if (opts.enforcePermissions && ctx.callerIsApp && !graphCallAllowed(dir, caller, req.method, segs))
      return errorResponse(ctx, 403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES);
    try {
      return handle(ctx, segs);
    } catch (e) {
      if (e instanceof GraphFail) return errorResponse(ctx, e.status, e.code, e.message);
      throw e;
    }
  };
}

/** Exposed for unit tests: parse an OData $filter the way the emulated Graph does. */
export const __filterForTests = { parseFilter, evaluate };
