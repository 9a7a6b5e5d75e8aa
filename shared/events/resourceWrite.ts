/**
 * Resource write events from an Azure subscription's Event Grid system topic, in either the
 * Event Grid schema or CloudEvents 1.0, parsed into one shape. Nothing downstream looks at the
 * raw envelope. Parsing never throws: a malformed event is reported with its reason so the
 * caller can log and drop it (throwing would only make Event Grid redeliver the same garbage).
 */
import { z } from "zod";

export const RESOURCE_WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess";
export const RESOURCE_DELETE_SUCCESS = "Microsoft.Resources.ResourceDeleteSuccess";
export const TAGS_WRITE_OPERATION = "Microsoft.Resources/tags/write";

/** Who made the write, from the JWT claims Azure copies into the event. */
export interface EventCaller {
  /** Entra object id of the user or service principal. */
  objectId?: string;
  /** Application (client) id: for apps and managed identities, their own; for users, the client app they used. */
  appId?: string;
  /** Users only. */
  upn?: string;
  /** The `name` claim (a display name; users only in practice). */
  name?: string;
  /** "user" when the token was issued to a person, "app" for service principals and managed identities. */
  kind: "user" | "app" | "unknown";
  /** authorization.evidence.principalId: the principal (or group) whose role assignment allowed the write. */
  evidencePrincipalId?: string;
}

export interface ResourceWriteEvent {
  schema: "eventGrid" | "cloudEvents";
  id: string;
  /** RESOURCE_WRITE_SUCCESS or RESOURCE_DELETE_SUCCESS (a delete only matters for role assignments). */
  eventType: typeof RESOURCE_WRITE_SUCCESS | typeof RESOURCE_DELETE_SUCCESS;
  /** ISO 8601, as sent. */
  eventTime: string;
  /** Resource id as the event spells it (casing not normalised; compare with sameId/idKey). */
  resourceId: string;
  subscriptionId: string;
  /** e.g. Microsoft.Storage/storageAccounts/write */
  operationName: string;
  correlationId?: string;
  caller: EventCaller;
  /** Event Grid `topic` or CloudEvents `source`: with `id` and `subject`, what identifies a delivery. */
  source?: string;
  subject?: string;
}

/**
 * What makes two deliveries the same event. Event Grid promises unique ids only per topic, and
 * Microsoft's own samples reuse one id for different subjects, so the id alone would drop a
 * genuine second write.
 */
export function deliveryKey(e: Pick<ResourceWriteEvent, "id" | "source" | "subject" | "resourceId">): string {
  return [e.id, (e.source ?? "").toLowerCase(), (e.subject ?? e.resourceId).toLowerCase()].join("|");
}

export type ParsedEvent =
  | { kind: "resourceWrite"; event: ResourceWriteEvent }
  | { kind: "ignored"; id?: string; eventType: string }
  | { kind: "malformed"; id?: string; reason: string };

/** Copies of `obj` with its keys renamed to the canonical spelling when they match case-insensitively. */
function canonicalKeys(names: readonly string[]) {
  const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
  return (value: unknown): unknown => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const canonical = byLower.get(k.toLowerCase()) ?? k;
      // An exact spelling wins over a differently cased duplicate.
      if (canonical === k || !(canonical in out)) out[canonical] = v;
    }
    return out;
  };
}

const nonEmpty = z.string().trim().min(1);
const timestamp = nonEmpty.refine((s) => !Number.isNaN(Date.parse(s)), "is not a valid timestamp");

/**
 * Only `operationName` is required of `data`. The rest is read leniently: events in the wild
 * carry `"claims": {}` and `"evidence": []` (writes by Azure itself), and an odd optional field
 * must not cost a resource its tags.
 */
const optionalText = z.string().optional().catch(undefined);
const dataSchema = z.preprocess(
  canonicalKeys([
    "authorization",
    "claims",
    "correlationId",
    "operationName",
    "resourceUri",
    "subscriptionId",
    "tenantId",
    "status",
  ]),
  z.looseObject({
    operationName: nonEmpty,
    resourceUri: optionalText,
    subscriptionId: optionalText,
    correlationId: optionalText,
    claims: z.record(z.string(), z.unknown()).optional().catch(undefined),
    authorization: z.unknown().optional(),
  }),
);

/** Case-insensitive property of an object, or undefined. */
function field(value: unknown, name: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const lower = name.toLowerCase();
  return Object.entries(value).find(([k]) => k.toLowerCase() === lower)?.[1];
}

function evidencePrincipalId(authorization: unknown): string | undefined {
  const id = field(field(authorization, "evidence"), "principalId");
  return typeof id === "string" ? id : undefined;
}

const eventGridSchema = z.preprocess(
  canonicalKeys(["id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion"]),
  z.looseObject({
    id: nonEmpty,
    topic: z.string().optional(),
    subject: z.string().optional(),
    eventType: nonEmpty,
    eventTime: timestamp,
    data: z.unknown(),
  }),
);

const cloudEventSchema = z.preprocess(
  canonicalKeys(["id", "source", "subject", "type", "time", "data", "specversion"]),
  z.looseObject({
    specversion: nonEmpty,
    id: nonEmpty,
    source: z.string().optional(),
    subject: z.string().optional(),
    type: nonEmpty,
    time: timestamp,
    data: z.unknown(),
  }),
);

const CLAIM = {
  objectId: ["http://schemas.microsoft.com/identity/claims/objectidentifier", "oid"],
  appId: ["appid", "azp"],
  upn: ["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn"],
  name: ["name"],
  idtyp: ["idtyp"],
  scope: ["http://schemas.microsoft.com/identity/claims/scope", "scp"],
};

function claim(claims: Record<string, unknown> | undefined, names: readonly string[]): string | undefined {
  if (!claims) return undefined;
  for (const name of names) {
    const hit = Object.entries(claims).find(([k]) => k.toLowerCase() === name);
    if (typeof hit?.[1] === "string" && hit[1].trim()) return hit[1].trim();
  }
  return undefined;
}

/** Reads the caller from the claims. A token with a UPN or delegated scopes is a person's. */
export function callerFromClaims(
  claims: Record<string, unknown> | undefined,
  evidencePrincipalId?: string,
): EventCaller {
  const upn = claim(claims, CLAIM.upn);
  const idtyp = claim(claims, CLAIM.idtyp)?.toLowerCase();
  const appId = claim(claims, CLAIM.appId);
  const kind: EventCaller["kind"] =
    idtyp === "app" || idtyp === "user"
      ? idtyp
      : upn || claim(claims, CLAIM.scope)
        ? "user"
        : appId
          ? "app"
          : "unknown";
  return {
    objectId: claim(claims, CLAIM.objectId),
    appId,
    upn,
    name: claim(claims, CLAIM.name),
    kind,
    evidencePrincipalId: evidencePrincipalId?.trim() || undefined,
  };
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(event)"}: ${i.message}`).join("; ");
}

function idOf(raw: unknown): string | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const hit = Object.entries(raw).find(([k]) => k.toLowerCase() === "id");
  return typeof hit?.[1] === "string" ? hit[1] : undefined;
}

/** Parses one event as the Functions host hands it over (an object, or JSON text). */
export function parseResourceWriteEvent(raw: unknown): ParsedEvent {
  let value = raw;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return { kind: "malformed", reason: "event is not valid JSON" };
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { kind: "malformed", reason: "event is not a JSON object" };
  }
  const id = idOf(value);
  const isCloudEvent = Object.keys(value).some((k) => k.toLowerCase() === "specversion");

  let envelope: {
    id: string;
    type: string;
    time: string;
    source?: string;
    subject?: string;
    data: unknown;
  };
  if (isCloudEvent) {
    const r = cloudEventSchema.safeParse(value);
    if (!r.success) return { kind: "malformed", id, reason: `CloudEvent: ${describe(r.error)}` };
    if (r.data.specversion !== "1.0")
      return { kind: "malformed", id, reason: `CloudEvent: unsupported specversion ${r.data.specversion}` };
    envelope = {
      id: r.data.id,
      type: r.data.type,
      time: r.data.time,
      source: r.data.source,
      subject: r.data.subject,
      data: r.data.data,
    };
  } else {
    const r = eventGridSchema.safeParse(value);
    if (!r.success) return { kind: "malformed", id, reason: `Event Grid event: ${describe(r.error)}` };
    envelope = {
      id: r.data.id,
      type: r.data.eventType,
      time: r.data.eventTime,
      source: r.data.topic,
      subject: r.data.subject,
      data: r.data.data,
    };
  }

  const eventType = ([RESOURCE_WRITE_SUCCESS, RESOURCE_DELETE_SUCCESS] as const).find(
    (t) => t.toLowerCase() === envelope.type.toLowerCase(),
  );
  if (!eventType) return { kind: "ignored", id: envelope.id, eventType: envelope.type };

  const data = dataSchema.safeParse(envelope.data);
  if (!data.success) return { kind: "malformed", id: envelope.id, reason: `data: ${describe(data.error)}` };

  const resourceId = (data.data.resourceUri?.trim() || envelope.subject?.trim()) ?? "";
  // Any id under a subscription is well formed; whether it is a taggable resource is the
  // decision core's business (a subscription-scope role assignment is simply skipped).
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(resourceId)?.[1];
  if (!subscription) {
    return {
      kind: "malformed",
      id: envelope.id,
      reason: resourceId ? `not a resource id: ${resourceId}` : "no resourceUri or subject",
    };
  }
  const problem = resourceIdProblem(resourceId);
  if (problem) {
    return {
      kind: "malformed",
      id: envelope.id,
      reason: `not a resource id (${problem}): ${JSON.stringify(resourceId)}`,
    };
  }

  return {
    kind: "resourceWrite",
    event: {
      schema: isCloudEvent ? "cloudEvents" : "eventGrid",
      id: envelope.id,
      eventType,
      eventTime: envelope.time,
      resourceId,
      subscriptionId: data.data.subscriptionId?.trim() || subscription,
      operationName: data.data.operationName,
      correlationId: data.data.correlationId?.trim() || undefined,
      caller: callerFromClaims(data.data.claims, evidencePrincipalId(data.data.authorization)),
      ...(envelope.source ? { source: envelope.source } : {}),
      ...(envelope.subject ? { subject: envelope.subject } : {}),
    },
  };
}

/**
 * Why an id from an event may not become the path of an ARM request, or undefined. The SDKs
 * send scope parameters unencoded and URL handling normalises the path, so each of these would
 * let the sender choose another target than the id seems to name:
 * - '?' or '#' start a query or fragment; control characters are never in ARM names;
 * - '.' and '..' segments are resolved away (`.../resourceGroups/x/..` is the subscription);
 * - a backslash is read as '/' by URL parsers;
 * - %2F, %5C, %2E are separators and dots once decoded, somewhere along the way;
 * - empty segments (`//`, a trailing '/') are not ARM ids and are collapsed by some hops.
 */
export function resourceIdProblem(id: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are refused too
  if (/[?#\u0000-\u001f\u007f]/.test(id)) return "query, fragment or control character";
  if (id.includes("\\")) return "backslash";
  if (/%(2f|5c|2e)/i.test(id)) return "percent-encoded separator or dot";
  if (!id.startsWith("/")) return "does not start with '/'";
  const segments = id.slice(1).split("/");
  if (segments.some((s) => s === "")) return "empty segment";
  if (segments.some((s) => s === "." || s === "..")) return "'.' or '..' segment";
  return undefined;
}

/** `YYYY-MM-DD` (UTC) of an event time. */
export function eventDate(eventTime: string): string {
  return new Date(eventTime).toISOString().slice(0, 10);
}
