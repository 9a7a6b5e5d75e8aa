/**
 * Emulated Event Grid for the Azure subscription system topic: every ARM write the emulator
 * accepts is published here (resourceEvents.ts builds the event) and delivered to each event
 * subscription it matches (subscriptions.ts, filtering.ts), by WebHook (webhook.ts) or to a
 * storage queue (storageQueue.ts). Retries with exponential back-off (emulator-sized delays) on
 * timeouts and non-2xx answers, except 400/401/403/413, which Event Grid never retries; then
 * the event is dead-lettered (the event log records it). Control API: router.ts.
 */
import type { ResourceWrite } from "../types.js";
import { matches } from "./filtering.js";
import { buildResourceEvent } from "./resourceEvents.js";
import { StorageQueueSender } from "./storageQueue.js";
import { parseSubscription, subscriptionResource } from "./subscriptions.js";
import {
  type DeliveryRecord,
  type EventGridEvent,
  type EventLogEntry,
  type EventSubscription,
} from "./types.js";
import { postWebhook, validateWebhook } from "./webhook.js";

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
  private queues = new StorageQueueSender();
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
      await validateWebhook(sub, this.now(), this.settings.validationTimeoutMs);
    }
    this.subscriptions.set(name.toLowerCase(), sub);
    if (sub.destination.endpointType === "StorageQueue") this.queues.forget(name);
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
            ? await postWebhook(sub, event, attempt - 1, this.settings.deliveryTimeoutMs)
            : await this.queues.send(sub, event);
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
}
