/**
 * Event Grid's shapes as the emulator serves them: the Event Grid and CloudEvents v1.0 event
 * schemas, event subscriptions (destination, filters, retry policy) and the delivery log.
 */

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

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
