/**
 * Event subscriptions as ARM takes them (`Microsoft.EventGrid/eventSubscriptions`, with or
 * without "properties"): the checks and limits Event Grid applies to a PUT body (destination,
 * included event types, subject filters, up to 25 advanced filters of 25 values, retry policy),
 * and the resource the control API answers with.
 */
import {
  isObj,
  type AdvancedFilter,
  type AdvancedFilterOperator,
  type Destination,
  type EventSubscription,
  type Obj,
} from "./types.js";

export class ValidationError extends Error {
  constructor(
    message: string,
    readonly code = "InvalidRequest",
  ) {
    super(message);
  }
}

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

export function parseSubscription(name: string, body: unknown, nowMs: number): EventSubscription {
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
export function subscriptionResource(s: EventSubscription): Obj {
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
