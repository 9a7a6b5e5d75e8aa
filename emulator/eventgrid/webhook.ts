/**
 * Event Grid's WebHook protocol: the validation handshake when a subscription is created
 * (Event Grid schema: POST of a `Microsoft.EventGrid.SubscriptionValidationEvent` with
 * `aeg-event-type: SubscriptionValidation`, answered 200 `{"validationResponse": code}`;
 * CloudEvents: OPTIONS with `WebHook-Request-Origin`, answered with `WebHook-Allowed-Origin`),
 * and notifications: a POST of an array of one event (Event Grid schema) or one
 * `application/cloudevents+json` event, with `aeg-event-type: Notification`,
 * `aeg-subscription-name`, `aeg-delivery-count`.
 */
import { randomUUID } from "node:crypto";
import { toCloudEvent } from "./resourceEvents.js";
import { ValidationError } from "./subscriptions.js";
import { isObj, type EventGridEvent, type EventSubscription } from "./types.js";

/** Delivers one event; resolves to the endpoint's status (the caller decides about retries). */
export async function postWebhook(
  sub: EventSubscription,
  event: EventGridEvent,
  deliveryCount: number,
  timeoutMs: number,
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
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

/** Throws ValidationError, with Event Grid's message, unless the endpoint passes the handshake. */
export async function validateWebhook(
  sub: EventSubscription,
  nowMs: number,
  timeoutMs: number,
): Promise<void> {
  if (sub.destination.endpointType !== "WebHook") return;
  const url = sub.destination.endpointUrl;
  const base = url.split("?")[0];
  const signal = AbortSignal.timeout(timeoutMs);
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
    eventTime: new Date(nowMs).toISOString(),
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
