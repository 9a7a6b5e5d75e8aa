/**
 * Emulated Event Grid for the Azure subscription system topic: every ARM write the emulator
 * accepts is published here as a `Microsoft.Resources.ResourceWriteSuccess` event (shape of the
 * documented sample: topic `/subscriptions/{id}`, subject = resource id, dataVersion "2",
 * metadataVersion "1", data {authorization, claims, correlationId, httpRequest, operationName,
 * resourceProvider, resourceUri, status, subscriptionId, tenantId}) and delivered to the event
 * subscriptions registered through the control API, with Event Grid's protocol:
 *
 * - WebHook: validation handshake when the subscription is created (Event Grid schema: POST of a
 *   `Microsoft.EventGrid.SubscriptionValidationEvent` with `aeg-event-type: SubscriptionValidation`,
 *   answered 200 `{"validationResponse": code}`; CloudEvents: OPTIONS with `WebHook-Request-Origin`,
 *   answered with `WebHook-Allowed-Origin`); notifications POST an array of one event (Event Grid
 *   schema) or one `application/cloudevents+json` event, with `aeg-event-type: Notification`,
 *   `aeg-subscription-name`, `aeg-delivery-count`.
 * - StorageQueue: one message per event, the event's JSON in base64, through @azure/storage-queue.
 * - Retries with exponential back-off (emulator-sized delays) on timeouts and non-2xx answers,
 *   except 400/401/403/413, which Event Grid never retries; then the event is dead-lettered (the
 *   event log records it).
 *
 * Control API (all JSON; see docs/emulator.md):
 *   PUT    /_emulator/eventSubscriptions/{name}   body: ARM eventSubscription (with or without "properties")
 *   GET    /_emulator/eventSubscriptions[/{name}]
 *   DELETE /_emulator/eventSubscriptions/{name}
 *   GET    /_emulator/events[?subscription=&eventType=&subject=]   published events and delivery attempts
 *   DELETE /_emulator/events                        clears the log
 *   POST   /_emulator/events/flush                  waits until every pending delivery is done
 *   POST   /_emulator/events/{eventId}/redeliver    delivers the same event again (duplicate delivery)
 */
import { createHash, randomUUID } from "node:crypto";
import { QueueClient } from "@azure/storage-queue";
import type { EmuRequest, EmuResponse, Principal, ResourceWrite, Router } from "./types.js";

// ====================================================================== types

export interface EventGridEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: Record<string, unknown>;
  dataVersion: string;
  metadataVersion: string;
}

export interface CloudEvent {
  specversion: "1.0";
  type: string;
  source: string;
  subject: string;
  id: string;
  time: string;
  data: Record<string, unknown>;
}

export type AdvancedFilterOperator =
  | "NumberIn"
  | "NumberNotIn"
  | "NumberLessThan"
  | "NumberGreaterThan"
  | "NumberLessThanOrEquals"
  | "NumberGreaterThanOrEquals"
  | "NumberInRange"
  | "NumberNotInRange"
  | "BoolEquals"
  | "StringIn"
  | "StringNotIn"
  | "StringBeginsWith"
  | "StringNotBeginsWith"
  | "StringEndsWith"
  | "StringNotEndsWith"
  | "StringContains"
  | "StringNotContains"
  | "IsNullOrUndefined"
  | "IsNotNull";

export interface AdvancedFilter {
  operatorType: AdvancedFilterOperator;
  key: string;
  values?: unknown[];
  value?: unknown;
}

export type Destination =
  | {
      endpointType: "WebHook";
      endpointUrl: string;
      maxEventsPerBatch: number;
      preferredBatchSizeInKilobytes: number;
    }
  | {
      endpointType: "StorageQueue";
      connectionString: string;
      queueName: string;
      queueMessageTimeToLiveInSeconds?: number;
    };

export interface EventSubscription {
  name: string;
  /** Scope of the source: "/subscriptions/{id}" or "/subscriptions/{id}/resourceGroups/{rg}"; undefined = every subscription. */
  topic?: string;
  destination: Destination;
  eventDeliverySchema: "EventGridSchema" | "CloudEventSchemaV1_0";
  filter: {
    includedEventTypes?: string[];
    subjectBeginsWith?: string;
    subjectEndsWith?: string;
    isSubjectCaseSensitive: boolean;
    enableAdvancedFilteringOnArrays: boolean;
    advancedFilters: AdvancedFilter[];
  };
  retryPolicy: { maxDeliveryAttempts: number; eventTimeToLiveInMinutes: number };
  labels: string[];
  createdAt: string;
}

export interface DeliveryAttempt {
  at: string;
  durationMs: number;
  /** HTTP status (WebHook) or 201 for an enqueued message (StorageQueue). */
  status?: number;
  error?: string;
}

export interface DeliveryRecord {
  subscription: string;
  state: "pending" | "delivered" | "deadLettered" | "dropped";
  deadLetterReason?: string;
  attempts: DeliveryAttempt[];
}

export interface EventLogEntry {
  event: EventGridEvent;
  publishedAt: string;
  deliveries: DeliveryRecord[];
}

export interface EventBusOptions {
  tenantId: string;
  now?: () => number;
  /** First retry delay; doubles on each retry (Event Grid: 10 s, 30 s, 1 min...). Default 50 ms. */
  retryDelayMs?: number;
  /** Cap of the retry delay. Default 2000 ms. */
  maxRetryDelayMs?: number;
  /** How long a webhook may take to answer a notification (Event Grid: 30 s). Default 5000 ms. */
  deliveryTimeoutMs?: number;
  /** How long a webhook may take to answer the validation handshake. Default 10000 ms. */
  validationTimeoutMs?: number;
}

class ValidationError extends Error {
  constructor(
    message: string,
    readonly code = "InvalidRequest",
  ) {
    super(message);
  }
}

// ====================================================================== event shape

const ROLE_DEFINITIONS: Record<string, string> = {
  Owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  Contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
};

function dashless(id: string): string {
  return id.replace(/-/g, "").toLowerCase();
}

function statusOf(eventType: string): string {
  if (/Failure$/.test(eventType)) return "Failed";
  if (/Cancel$/.test(eventType)) return "Canceled";
  return "Succeeded";
}

/** The JWT claims of the caller as ARM puts them into the event (all values strings). */
function claimsOf(
  caller: Principal | undefined,
  tenantId: string,
  nowMs: number,
  ip: string,
): Record<string, string> {
  if (!caller) return {};
  const iat = Math.floor(nowMs / 1000) - 60;
  const common: Record<string, string> = {
    aud: "https://management.azure.com/",
    iss: `https://sts.windows.net/${tenantId}/`,
    iat: String(iat),
    nbf: String(iat),
    exp: String(iat + 3600),
    "http://schemas.microsoft.com/identity/claims/objectidentifier": caller.objectId,
    "http://schemas.microsoft.com/identity/claims/tenantid": tenantId,
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier": caller.objectId,
    name: caller.displayName,
    uti: createHash("sha256").update(`${caller.objectId}:${nowMs}`).digest("base64url").slice(0, 22),
    ver: "1.0",
  };
  if (caller.kind === "user") {
    return {
      ...common,
      appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
      appidacr: "0",
      "http://schemas.microsoft.com/claims/authnmethodsreferences": "pwd",
      ipaddr: ip,
      "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
      "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": caller.userPrincipalName ?? "",
      "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller.userPrincipalName ?? "",
      idtyp: "user",
    };
  }
  return {
    ...common,
    appid: caller.appId ?? "",
    appidacr: "1",
    "http://schemas.microsoft.com/identity/claims/identityprovider": `https://sts.windows.net/${tenantId}/`,
    idtyp: "app",
  };
}

/** Builds the Event Grid event for an ARM write, shaped like the documented subscription-topic sample. */
export function buildResourceEvent(write: ResourceWrite, tenantId: string, nowMs: number): EventGridEvent {
  const eventType = write.eventType ?? "Microsoft.Resources.ResourceWriteSuccess";
  const ip = write.clientIpAddress ?? "127.0.0.1";
  const caller = write.caller;
  const evidence =
    write.evidence ??
    (caller
      ? {
          role: "Contributor",
          roleAssignmentScope: `/subscriptions/${write.subscriptionId}`,
          roleAssignmentId: createHash("sha256")
            .update(`${write.subscriptionId}:${caller.objectId}:Contributor`)
            .digest("hex")
            .slice(0, 32),
          roleDefinitionId: dashless(ROLE_DEFINITIONS.Contributor!),
          principalId: dashless(caller.objectId),
          principalType: caller.kind === "user" ? "User" : "ServicePrincipal",
        }
      : undefined);
  return {
    subject: write.resourceId,
    eventType,
    eventTime: new Date(nowMs).toISOString(),
    id: randomUUID(),
    data: {
      authorization: {
        scope: write.resourceId,
        action: write.operationName,
        evidence: evidence ?? {},
      },
      claims: claimsOf(caller, tenantId, nowMs, ip),
      correlationId: write.correlationId,
      httpRequest: {
        clientRequestId: write.clientRequestId ?? randomUUID(),
        clientIpAddress: ip,
        method: write.httpMethod.toUpperCase(),
        url: write.url,
      },
      resourceProvider: write.operationName.split("/")[0] ?? "",
      resourceUri: write.resourceId,
      operationName: write.operationName,
      status: statusOf(eventType),
      subscriptionId: write.subscriptionId,
      tenantId,
    },
    dataVersion: "2",
    metadataVersion: "1",
    topic: `/subscriptions/${write.subscriptionId}`,
  };
}

/** Event Grid's CloudEvents 1.0 rendering of an Event Grid schema event. */
export function toCloudEvent(e: EventGridEvent): CloudEvent {
  return {
    source: e.topic,
    subject: e.subject,
    type: e.eventType,
    time: e.eventTime,
    id: e.id,
    data: e.data,
    specversion: "1.0",
  };
}

// ====================================================================== subscriptions

const OPERATORS: AdvancedFilterOperator[] = [
  "NumberIn",
  "NumberNotIn",
  "NumberLessThan",
  "NumberGreaterThan",
  "NumberLessThanOrEquals",
  "NumberGreaterThanOrEquals",
  "NumberInRange",
  "NumberNotInRange",
  "BoolEquals",
  "StringIn",
  "StringNotIn",
  "StringBeginsWith",
  "StringNotBeginsWith",
  "StringEndsWith",
  "StringNotEndsWith",
  "StringContains",
  "StringNotContains",
  "IsNullOrUndefined",
  "IsNotNull",
];
const SINGLE_VALUE_OPS = new Set([
  "NumberLessThan",
  "NumberGreaterThan",
  "NumberLessThanOrEquals",
  "NumberGreaterThanOrEquals",
  "BoolEquals",
]);
const NO_VALUE_OPS = new Set(["IsNullOrUndefined", "IsNotNull"]);
/** Event Grid: 25 advanced filters and 25 filter values across all filters per subscription; 512 characters per string value. */
const MAX_ADVANCED_FILTERS = 25;
const MAX_FILTER_VALUES = 25;
const MAX_STRING_VALUE = 512;
const NAME_RE = /^[A-Za-z0-9-]{3,64}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function parseSubscription(name: string, body: unknown, nowMs: number): EventSubscription {
  if (!NAME_RE.test(name)) {
    throw new ValidationError(
      `Event subscription name '${name}' is invalid: use 3-64 characters, letters, digits and '-'.`,
    );
  }
  if (!isObj(body))
    throw new ValidationError("The request body must be a JSON object (an ARM eventSubscription).");
  const p: Obj = isObj(body.properties) ? body.properties : body;

  // destination
  const d = p.destination;
  if (!isObj(d)) throw new ValidationError("properties.destination is required.");
  const dp: Obj = isObj(d.properties) ? { ...d, ...d.properties } : d;
  let destination: Destination;
  if (d.endpointType === "WebHook") {
    const url = dp.endpointUrl;
    if (typeof url !== "string")
      throw new ValidationError("destination.properties.endpointUrl is required for a WebHook destination.");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ValidationError(`destination.properties.endpointUrl '${url}' is not a valid URL.`);
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      throw new ValidationError("destination.properties.endpointUrl must be an http or https URL.");
    }
    const maxEventsPerBatch = dp.maxEventsPerBatch === undefined ? 1 : Number(dp.maxEventsPerBatch);
    if (maxEventsPerBatch !== 1) {
      throw new ValidationError(
        "The emulator delivers one event per request: maxEventsPerBatch must be 1 (Event Grid's default).",
      );
    }
    destination = {
      endpointType: "WebHook",
      endpointUrl: url,
      maxEventsPerBatch,
      preferredBatchSizeInKilobytes:
        dp.preferredBatchSizeInKilobytes === undefined ? 64 : Number(dp.preferredBatchSizeInKilobytes),
    };
  } else if (d.endpointType === "StorageQueue") {
    if (typeof dp.connectionString !== "string" || typeof dp.queueName !== "string") {
      throw new ValidationError(
        "A StorageQueue destination needs destination.properties.connectionString and destination.properties.queueName (the emulator delivers through a connection string instead of the storage account's resourceId).",
      );
    }
    if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(dp.queueName)) {
      throw new ValidationError(
        `Queue name '${dp.queueName}' is invalid: 3-63 lowercase letters, digits and single hyphens.`,
      );
    }
    destination = {
      endpointType: "StorageQueue",
      connectionString: dp.connectionString,
      queueName: dp.queueName,
      ...(typeof dp.queueMessageTimeToLiveInSeconds === "number"
        ? { queueMessageTimeToLiveInSeconds: dp.queueMessageTimeToLiveInSeconds }
        : {}),
    };
  } else {
    throw new ValidationError(
      `destination.endpointType '${String(d.endpointType)}' is not supported by the emulator: use WebHook or StorageQueue.`,
    );
  }

  // schema
  const schema = p.eventDeliverySchema ?? "EventGridSchema";
  if (schema !== "EventGridSchema" && schema !== "CloudEventSchemaV1_0") {
    throw new ValidationError(
      `eventDeliverySchema '${String(schema)}' is not supported: use EventGridSchema or CloudEventSchemaV1_0.`,
    );
  }

  // filter
  const f: Obj = isObj(p.filter) ? p.filter : {};
  const str = (v: unknown, what: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new ValidationError(`${what} must be a string.`);
    return v;
  };
  let includedEventTypes: string[] | undefined;
  if (f.includedEventTypes !== undefined && f.includedEventTypes !== null) {
    if (!Array.isArray(f.includedEventTypes) || f.includedEventTypes.some((t) => typeof t !== "string")) {
      throw new ValidationError("filter.includedEventTypes must be an array of strings.");
    }
    includedEventTypes = f.includedEventTypes as string[];
    if (includedEventTypes.length === 1 && includedEventTypes[0]!.toLowerCase() === "all")
      includedEventTypes = undefined;
  }
  const rawFilters = f.advancedFilters ?? [];
  if (!Array.isArray(rawFilters)) throw new ValidationError("filter.advancedFilters must be an array.");
  if (rawFilters.length > MAX_ADVANCED_FILTERS) {
    throw new ValidationError(
      `Too many advanced filters: ${rawFilters.length}. Event Grid allows ${MAX_ADVANCED_FILTERS} per event subscription.`,
    );
  }
  let valueCount = 0;
  const advancedFilters: AdvancedFilter[] = rawFilters.map((raw, i) => {
    if (!isObj(raw)) throw new ValidationError(`advancedFilters[${i}] must be an object.`);
    const op = raw.operatorType as AdvancedFilterOperator;
    if (!OPERATORS.includes(op))
      throw new ValidationError(
        `advancedFilters[${i}].operatorType '${String(raw.operatorType)}' is not a valid operator type.`,
      );
    if (typeof raw.key !== "string" || raw.key.length === 0)
      throw new ValidationError(`advancedFilters[${i}].key is required.`);
    if (NO_VALUE_OPS.has(op)) return { operatorType: op, key: raw.key };
    if (SINGLE_VALUE_OPS.has(op)) {
      const v = raw.value;
      if (op === "BoolEquals" ? typeof v !== "boolean" : typeof v !== "number") {
        throw new ValidationError(
          `advancedFilters[${i}] (${op}) needs a ${op === "BoolEquals" ? "boolean" : "number"} 'value'.`,
        );
      }
      valueCount += 1;
      return { operatorType: op, key: raw.key, value: v };
    }
    const values = raw.values;
    if (!Array.isArray(values) || values.length === 0)
      throw new ValidationError(`advancedFilters[${i}] (${op}) needs a non-empty 'values' array.`);
    for (const v of values) {
      if (op.startsWith("String")) {
        if (typeof v !== "string")
          throw new ValidationError(`advancedFilters[${i}] (${op}) values must be strings.`);
        if (v.length > MAX_STRING_VALUE)
          throw new ValidationError(
            `advancedFilters[${i}] has a value longer than ${MAX_STRING_VALUE} characters.`,
          );
      } else if (op.endsWith("Range")) {
        if (!Array.isArray(v) || v.length !== 2 || v.some((n) => typeof n !== "number")) {
          throw new ValidationError(
            `advancedFilters[${i}] (${op}) values must be [low, high] pairs of numbers.`,
          );
        }
      } else if (typeof v !== "number") {
        throw new ValidationError(`advancedFilters[${i}] (${op}) values must be numbers.`);
      }
    }
    valueCount += values.length;
    return { operatorType: op, key: raw.key, values };
  });
  if (valueCount > MAX_FILTER_VALUES) {
    throw new ValidationError(
      `Too many advanced filter values: ${valueCount}. Event Grid allows ${MAX_FILTER_VALUES} values across all advanced filters of an event subscription.`,
    );
  }

  // retry policy
  const r: Obj = isObj(p.retryPolicy) ? p.retryPolicy : {};
  const maxDeliveryAttempts = r.maxDeliveryAttempts === undefined ? 30 : Number(r.maxDeliveryAttempts);
  const ttl = r.eventTimeToLiveInMinutes === undefined ? 1440 : Number(r.eventTimeToLiveInMinutes);
  if (!Number.isInteger(maxDeliveryAttempts) || maxDeliveryAttempts < 1 || maxDeliveryAttempts > 30) {
    throw new ValidationError("retryPolicy.maxDeliveryAttempts must be an integer between 1 and 30.");
  }
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 1440) {
    throw new ValidationError("retryPolicy.eventTimeToLiveInMinutes must be an integer between 1 and 1440.");
  }

  const topic = str(p.topic, "properties.topic");
  if (topic !== undefined && !/^\/subscriptions\/[^/]+(\/resourceGroups\/[^/]+)?$/i.test(topic)) {
    throw new ValidationError(
      "properties.topic must be /subscriptions/{id} or /subscriptions/{id}/resourceGroups/{name}.",
    );
  }
  const labels = Array.isArray(p.labels)
    ? (p.labels as unknown[]).filter((l): l is string => typeof l === "string")
    : [];

  const subjectBeginsWith = str(f.subjectBeginsWith, "filter.subjectBeginsWith");
  const subjectEndsWith = str(f.subjectEndsWith, "filter.subjectEndsWith");
  return {
    name,
    ...(topic !== undefined ? { topic } : {}),
    destination,
    eventDeliverySchema: schema,
    filter: {
      ...(includedEventTypes ? { includedEventTypes } : {}),
      ...(subjectBeginsWith ? { subjectBeginsWith } : {}),
      ...(subjectEndsWith ? { subjectEndsWith } : {}),
      isSubjectCaseSensitive: f.isSubjectCaseSensitive === true,
      enableAdvancedFilteringOnArrays: f.enableAdvancedFilteringOnArrays === true,
      advancedFilters,
    },
    retryPolicy: { maxDeliveryAttempts, eventTimeToLiveInMinutes: ttl },
    labels,
    createdAt: new Date(nowMs).toISOString(),
  };
}

/** The ARM-shaped view of a subscription (endpointUrl hidden behind endpointBaseUrl, as ARM does). */
function subscriptionResource(s: EventSubscription): Obj {
  const dest =
    s.destination.endpointType === "WebHook"
      ? {
          endpointType: "WebHook",
          properties: {
            endpointBaseUrl: s.destination.endpointUrl.split("?")[0],
            maxEventsPerBatch: s.destination.maxEventsPerBatch,
            preferredBatchSizeInKilobytes: s.destination.preferredBatchSizeInKilobytes,
          },
        }
      : {
          endpointType: "StorageQueue",
          properties: {
            queueName: s.destination.queueName,
            ...(s.destination.queueMessageTimeToLiveInSeconds !== undefined
              ? { queueMessageTimeToLiveInSeconds: s.destination.queueMessageTimeToLiveInSeconds }
              : {}),
          },
        };
  return {
    id: `${s.topic ?? ""}/providers/Microsoft.EventGrid/eventSubscriptions/${s.name}`,
    name: s.name,
    type: "Microsoft.EventGrid/eventSubscriptions",
    properties: {
      topic: s.topic ?? null,
      provisioningState: "Succeeded",
      destination: dest,
      filter: s.filter,
      labels: s.labels,
      eventDeliverySchema: s.eventDeliverySchema,
      retryPolicy: s.retryPolicy,
    },
  };
}

// ====================================================================== filtering

/** Case-insensitive lookup of an advanced-filter key ("data.operationName", "Subject", "type"...). */
function lookupKey(event: Obj, key: string): unknown {
  let cur: unknown = event;
  for (const part of key.split(".")) {
    if (!isObj(cur)) return undefined;
    const hit = Object.keys(cur).find((k) => k.toLowerCase() === part.toLowerCase());
    if (hit === undefined) return undefined;
    cur = cur[hit];
  }
  return cur;
}

function advancedMatch(f: AdvancedFilter, rendered: Obj, arrays: boolean): boolean {
  const raw = lookupKey(rendered, f.key);
  const negated = /Not(In|BeginsWith|EndsWith|Contains|InRange)$/.test(f.operatorType);
  if (f.operatorType === "IsNullOrUndefined") return raw === undefined || raw === null;
  if (f.operatorType === "IsNotNull") return raw !== undefined && raw !== null;
  if (raw === undefined || raw === null) return negated;
  const candidates: unknown[] = Array.isArray(raw) ? (arrays ? raw : []) : [raw];
  if (candidates.length === 0) return negated;
  const one = (v: unknown): boolean => {
    const values = f.values ?? [];
    switch (f.operatorType) {
      case "BoolEquals":
        return v === f.value;
      case "NumberLessThan":
        return typeof v === "number" && v < (f.value as number);
      case "NumberGreaterThan":
        return typeof v === "number" && v > (f.value as number);
      case "NumberLessThanOrEquals":
        return typeof v === "number" && v <= (f.value as number);
      case "NumberGreaterThanOrEquals":
        return typeof v === "number" && v >= (f.value as number);
      case "NumberIn":
      case "NumberNotIn":
        return typeof v === "number" && values.includes(v);
      case "NumberInRange":
      case "NumberNotInRange":
        return typeof v === "number" && (values as number[][]).some(([lo, hi]) => v >= lo! && v <= hi!);
      default: {
        const s = String(v).toLowerCase();
        const vs = (values as string[]).map((x) => x.toLowerCase());
        if (f.operatorType === "StringIn" || f.operatorType === "StringNotIn") return vs.includes(s);
        if (f.operatorType === "StringBeginsWith" || f.operatorType === "StringNotBeginsWith")
          return vs.some((x) => s.startsWith(x));
        if (f.operatorType === "StringEndsWith" || f.operatorType === "StringNotEndsWith")
          return vs.some((x) => s.endsWith(x));
        return vs.some((x) => s.includes(x));
      }
    }
  };
  return negated ? !candidates.some(one) : candidates.some(one);
}

function matches(s: EventSubscription, e: EventGridEvent): boolean {
  if (s.topic) {
    const scope = s.topic.toLowerCase();
    const subject = e.subject.toLowerCase();
    if (!(e.topic.toLowerCase() === scope || subject === scope || subject.startsWith(`${scope}/`)))
      return false;
  }
  const f = s.filter;
  if (
    f.includedEventTypes &&
    !f.includedEventTypes.some((t) => t.toLowerCase() === e.eventType.toLowerCase())
  )
    return false;
  const cs = f.isSubjectCaseSensitive;
  const subj = cs ? e.subject : e.subject.toLowerCase();
  if (f.subjectBeginsWith && !subj.startsWith(cs ? f.subjectBeginsWith : f.subjectBeginsWith.toLowerCase()))
    return false;
  if (f.subjectEndsWith && !subj.endsWith(cs ? f.subjectEndsWith : f.subjectEndsWith.toLowerCase()))
    return false;
  const rendered = (s.eventDeliverySchema === "CloudEventSchemaV1_0" ? toCloudEvent(e) : e) as unknown as Obj;
  return f.advancedFilters.every((af) => advancedMatch(af, rendered, f.enableAdvancedFilteringOnArrays));
}

// ====================================================================== the bus

const NO_RETRY_STATUSES = new Set([400, 401, 403, 413]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EventBus {
  readonly tenantId: string;
  private readonly now: () => number;
  /** Delivery timings; tests may change them at any time. */
  readonly settings: {
    retryDelayMs: number;
    maxRetryDelayMs: number;
    deliveryTimeoutMs: number;
    validationTimeoutMs: number;
  };
  private subscriptions = new Map<string, EventSubscription>();
  private log: EventLogEntry[] = [];
  private pending = new Set<Promise<void>>();
  private queues = new Map<string, QueueClient>();
  /** Bumped by reset(): deliveries of an older generation stop at their next step. */
  private generation = 0;

  constructor(opts: EventBusOptions) {
    this.tenantId = opts.tenantId;
    this.now = opts.now ?? Date.now;
    this.settings = {
      retryDelayMs: opts.retryDelayMs ?? 50,
      maxRetryDelayMs: opts.maxRetryDelayMs ?? 2000,
      deliveryTimeoutMs: opts.deliveryTimeoutMs ?? 5000,
      validationTimeoutMs: opts.validationTimeoutMs ?? 10_000,
    };
  }

  /** Builds the event for an ARM write, logs it and delivers it asynchronously to each matching subscription. */
  publish(write: ResourceWrite): void {
    const event = buildResourceEvent(write, this.tenantId, this.now());
    this.dispatch(event);
  }

  /** Delivers an already-built event again to every subscription it matches (a duplicate, as at-least-once delivery allows). */
  redeliver(eventId: string): boolean {
    const entry = this.log.find((l) => l.event.id === eventId);
    if (!entry) return false;
    this.deliverToMatching(entry);
    return true;
  }

  /** Resolves when every pending delivery has finished or given up (including ones started meanwhile). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.allSettled([...this.pending]);
    }
  }

  /** Forgets subscriptions and the event log; in-flight deliveries stop at their next step. */
  reset(): void {
    this.generation++;
    this.subscriptions.clear();
    this.log = [];
    this.queues.clear();
  }

  dump(): unknown {
    return {
      subscriptions: [...this.subscriptions.values()].map(subscriptionResource),
      events: this.log,
    };
  }

  /** The log of published events and their delivery attempts (oldest first). */
  events(): EventLogEntry[] {
    return this.log;
  }

  listSubscriptions(): EventSubscription[] {
    return [...this.subscriptions.values()];
  }

  getSubscription(name: string): EventSubscription | undefined {
    return this.subscriptions.get(name.toLowerCase());
  }

  deleteSubscription(name: string): boolean {
    return this.subscriptions.delete(name.toLowerCase());
  }

  clearLog(): void {
    this.log = [];
  }

  /**
   * Creates or replaces an event subscription; a WebHook must pass the validation handshake first
   * (again whenever its endpoint changes). Throws with a message meant for the caller on failure.
   */
  async putSubscription(
    name: string,
    body: unknown,
  ): Promise<{ created: boolean; subscription: EventSubscription }> {
    const sub = parseSubscription(name, body, this.now());
    const existing = this.subscriptions.get(name.toLowerCase());
    const sameEndpoint =
      existing?.destination.endpointType === "WebHook" &&
      sub.destination.endpointType === "WebHook" &&
      existing.destination.endpointUrl === sub.destination.endpointUrl &&
      existing.eventDeliverySchema === sub.eventDeliverySchema;
    if (sub.destination.endpointType === "WebHook" && !sameEndpoint) {
      await this.validateWebhook(sub);
    }
    this.subscriptions.set(name.toLowerCase(), sub);
    if (sub.destination.endpointType === "StorageQueue") this.queues.delete(name.toLowerCase());
    return { created: !existing, subscription: sub };
  }

  // ------------------------------------------------------------------ internals

  private dispatch(event: EventGridEvent): void {
    const entry: EventLogEntry = { event, publishedAt: new Date(this.now()).toISOString(), deliveries: [] };
    this.log.push(entry);
    this.deliverToMatching(entry);
  }

  private deliverToMatching(entry: EventLogEntry): void {
    for (const sub of this.subscriptions.values()) {
      if (!matches(sub, entry.event)) continue;
      const record: DeliveryRecord = { subscription: sub.name, state: "pending", attempts: [] };
      entry.deliveries.push(record);
      const p = this.deliver(sub, entry.event, record, this.generation).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  private async deliver(
    sub: EventSubscription,
    event: EventGridEvent,
    record: DeliveryRecord,
    generation: number,
  ): Promise<void> {
    const publishedMs = Date.parse(event.eventTime);
    for (let attempt = 1; ; attempt++) {
      if (generation !== this.generation || this.subscriptions.get(sub.name.toLowerCase()) !== sub) {
        record.state = "dropped";
        record.deadLetterReason =
          "The event subscription was deleted, replaced or reset before delivery finished.";
        return;
      }
      const started = Date.now();
      let status: number | undefined;
      let error: string | undefined;
      try {
        status =
          sub.destination.endpointType === "WebHook"
            ? await this.postWebhook(sub, event, attempt - 1)
            : await this.enqueue(sub, event);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      record.attempts.push({
        at: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        ...(status !== undefined ? { status } : {}),
        ...(error !== undefined ? { error } : {}),
      });
      if (status !== undefined && status >= 200 && status <= 204) {
        record.state = "delivered";
        return;
      }
      if (status !== undefined && NO_RETRY_STATUSES.has(status)) {
        record.state = "deadLettered";
        record.deadLetterReason = `The endpoint answered ${status}, which Event Grid does not retry.`;
        return;
      }
      if (attempt >= sub.retryPolicy.maxDeliveryAttempts) {
        record.state = "deadLettered";
        record.deadLetterReason = `MaxDeliveryAttemptsExceeded: ${attempt} attempt(s) failed; last: ${error ?? `HTTP ${status}`}.`;
        return;
      }
      const delay = Math.min(this.settings.retryDelayMs * 2 ** (attempt - 1), this.settings.maxRetryDelayMs);
      if (Date.now() + delay - publishedMs > sub.retryPolicy.eventTimeToLiveInMinutes * 60_000) {
        record.state = "deadLettered";
        record.deadLetterReason =
          "TimeToLiveExceeded: the event's time to live ran out before it was delivered.";
        return;
      }
      await sleep(delay);
    }
  }

  private async postWebhook(
    sub: EventSubscription,
    event: EventGridEvent,
    deliveryCount: number,
  ): Promise<number> {
    if (sub.destination.endpointType !== "WebHook") throw new Error("not a webhook");
    const cloud = sub.eventDeliverySchema === "CloudEventSchemaV1_0";
    const res = await fetch(sub.destination.endpointUrl, {
      method: "POST",
      headers: {
        "content-type": cloud
          ? "application/cloudevents+json; charset=utf-8"
          : "application/json; charset=utf-8",
        "aeg-event-type": "Notification",
        "aeg-subscription-name": sub.name.toUpperCase(),
        "aeg-delivery-count": String(deliveryCount),
        "aeg-data-version": event.dataVersion,
        "aeg-metadata-version": event.metadataVersion,
        "user-agent": "aml-steward-emulator EventGrid",
      },
      body: JSON.stringify(cloud ? toCloudEvent(event) : [event]),
      signal: AbortSignal.timeout(this.settings.deliveryTimeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  }

  private async enqueue(sub: EventSubscription, event: EventGridEvent): Promise<number> {
    if (sub.destination.endpointType !== "StorageQueue") throw new Error("not a queue");
    const key = sub.name.toLowerCase();
    let client = this.queues.get(key);
    if (!client) {
      client = new QueueClient(sub.destination.connectionString, sub.destination.queueName, {
        retryOptions: { maxTries: 1 },
      });
      this.queues.set(key, client);
    }
    const payload = sub.eventDeliverySchema === "CloudEventSchemaV1_0" ? toCloudEvent(event) : event;
    const text = Buffer.from(JSON.stringify(payload), "utf8").toString("base64");
    const ttl = sub.destination.queueMessageTimeToLiveInSeconds;
    const res = await client.sendMessage(text, ttl !== undefined ? { messageTimeToLive: ttl } : {});
    return res._response.status;
  }

  private async validateWebhook(sub: EventSubscription): Promise<void> {
    if (sub.destination.endpointType !== "WebHook") return;
    const url = sub.destination.endpointUrl;
    const base = url.split("?")[0];
    const signal = AbortSignal.timeout(this.settings.validationTimeoutMs);
    const fail = (detail: string): never => {
      throw new ValidationError(
        `Webhook validation handshake failed for ${base}. ${detail} The endpoint must answer Event Grid's validation handshake (https://aka.ms/esvalidation).`,
        "Url validation",
      );
    };
    if (sub.eventDeliverySchema === "CloudEventSchemaV1_0") {
      let res: Response;
      try {
        res = await fetch(url, {
          method: "OPTIONS",
          headers: { "WebHook-Request-Origin": "eventgrid.azure.net", "WebHook-Request-Rate": "120" },
          signal,
        });
      } catch (e) {
        return fail(`Http OPTIONS request failed: ${e instanceof Error ? e.message : String(e)}.`);
      }
      await res.arrayBuffer().catch(() => undefined);
      const allowed = res.headers.get("webhook-allowed-origin");
      if (res.status < 200 || res.status > 299)
        return fail(`Http OPTIONS request failed with response code ${res.status}.`);
      if (allowed !== "eventgrid.azure.net" && allowed !== "*") {
        return fail(
          "Http OPTIONS response did not carry a WebHook-Allowed-Origin header naming eventgrid.azure.net (or *).",
        );
      }
      return;
    }
    const validationCode = randomUUID();
    const event: EventGridEvent = {
      id: randomUUID(),
      topic: sub.topic ?? "/subscriptions/00000000-0000-0000-0000-000000000000",
      subject: "",
      data: {
        validationCode,
        validationUrl: `https://eventgrid.emulator.invalid/eventsubscriptions/${sub.name}/validate?id=${validationCode}`,
      },
      eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
      eventTime: new Date(this.now()).toISOString(),
      metadataVersion: "1",
      dataVersion: "1",
    };
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "aeg-event-type": "SubscriptionValidation",
          "aeg-subscription-name": sub.name.toUpperCase(),
          "aeg-delivery-count": "0",
          "aeg-data-version": "1",
          "aeg-metadata-version": "1",
          "user-agent": "aml-steward-emulator EventGrid",
        },
        body: JSON.stringify([event]),
        signal,
      });
    } catch (e) {
      return fail(`Http POST request failed: ${e instanceof Error ? e.message : String(e)}.`);
    }
    const text = await res.text().catch(() => "");
    if (res.status < 200 || res.status > 299)
      return fail(`Http POST request failed with response code ${res.status}.`);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = undefined;
    }
    const code = isObj(answer)
      ? Object.entries(answer).find(([k]) => k.toLowerCase() === "validationresponse")?.[1]
      : undefined;
    if (code !== validationCode) {
      return fail(
        `Http POST request returned ${res.status} with body '${text.slice(0, 200)}' instead of {"validationResponse":"${validationCode}"}.`,
      );
    }
  }
}

// ====================================================================== router

function jsonRes(status: number, body?: unknown): EmuResponse {
  return body === undefined
    ? { status }
    : { status, headers: { "content-type": "application/json; charset=utf-8" }, body };
}

function armError(status: number, code: string, message: string): EmuResponse {
  return jsonRes(status, { error: { code, message } });
}

export function eventsRouter(bus: EventBus): Router {
  // Paths arrive percent-decoded (server.ts decodes each segment).
  return async (req: EmuRequest) => {
    const segs = req.path.split("/").filter(Boolean);
    if (segs[0] !== "_emulator") return undefined;
    const method = req.method.toUpperCase();

    if (segs[1] === "eventSubscriptions") {
      if (segs.length === 2 && method === "GET") {
        return jsonRes(200, { value: bus.listSubscriptions().map(subscriptionResource) });
      }
      const name = segs[2] ? segs[2] : undefined;
      if (!name || segs.length !== 3)
        return armError(404, "NotFound", "Use /_emulator/eventSubscriptions/{name}.");
      if (method === "PUT") {
        try {
          const { created, subscription } = await bus.putSubscription(name, req.body);
          return jsonRes(created ? 201 : 200, subscriptionResource(subscription));
        } catch (e) {
          if (e instanceof ValidationError) return armError(400, e.code, e.message);
          throw e;
        }
      }
      if (method === "GET") {
        const s = bus.getSubscription(name);
        return s
          ? jsonRes(200, subscriptionResource(s))
          : armError(404, "ResourceNotFound", `Event subscription '${name}' was not found.`);
      }
      if (method === "DELETE") {
        return jsonRes(bus.deleteSubscription(name) ? 200 : 204);
      }
      return armError(405, "MethodNotAllowed", `${method} is not supported here.`);
    }

    if (segs[1] === "events") {
      if (segs.length === 2 && method === "GET") {
        const sub = req.query.get("subscription")?.toLowerCase();
        const type = req.query.get("eventType")?.toLowerCase();
        const subject = req.query.get("subject")?.toLowerCase();
        const value = bus
          .events()
          .filter((e) => !type || e.event.eventType.toLowerCase() === type)
          .filter((e) => !subject || e.event.subject.toLowerCase() === subject)
          .map((e) =>
            sub ? { ...e, deliveries: e.deliveries.filter((d) => d.subscription.toLowerCase() === sub) } : e,
          )
          .filter((e) => !sub || e.deliveries.length > 0);
        return jsonRes(200, { value });
      }
      if (segs.length === 2 && method === "DELETE") {
        bus.clearLog();
        return jsonRes(204);
      }
      if (segs.length === 3 && segs[2] === "flush" && method === "POST") {
        await bus.flush();
        return jsonRes(200, { pending: 0 });
      }
      if (segs.length === 4 && segs[3] === "redeliver" && method === "POST") {
        return bus.redeliver(segs[2]!)
          ? jsonRes(202)
          : armError(404, "NotFound", `No event with id '${segs[2]}' in the log.`);
      }
      return armError(404, "NotFound", "Unknown events endpoint.");
    }
    return undefined;
  };
}
