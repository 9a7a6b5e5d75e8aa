/**
 * Event Grid's StorageQueue destination: one message per event, the event's JSON in base64,
 * sent through @azure/storage-queue with one client per subscription (no SDK retries: Event
 * Grid's own retry policy applies, in bus.ts).
 */
import { QueueClient } from "@azure/storage-queue";
import { toCloudEvent } from "./resourceEvents.js";
import type { EventGridEvent, EventSubscription } from "./types.js";

export class StorageQueueSender {
  private clients = new Map<string, QueueClient>();

  async send(sub: EventSubscription, event: EventGridEvent): Promise<number> {
    if (sub.destination.endpointType !== "StorageQueue") throw new Error("not a queue");
    const key = sub.name.toLowerCase();
    let client = this.clients.get(key);
    if (!client) {
      client = new QueueClient(sub.destination.connectionString, sub.destination.queueName, {
        retryOptions: { maxTries: 1 },
      });
      this.clients.set(key, client);
    }
    const payload = sub.eventDeliverySchema === "CloudEventSchemaV1_0" ? toCloudEvent(event) : event;
    const text = Buffer.from(JSON.stringify(payload), "utf8").toString("base64");
    const ttl = sub.destination.queueMessageTimeToLiveInSeconds;
    const res = await client.sendMessage(text, ttl !== undefined ? { messageTimeToLive: ttl } : {});
    return res._response.status;
  }

  /** Drops the client of a subscription whose destination may have changed. */
  forget(subscriptionName: string): void {
    this.clients.delete(subscriptionName.toLowerCase());
  }

  clear(): void {
    this.clients.clear();
  }
}
