/**
 * The Event Grid trigger's webhook, as the Functions host serves it at
 * `/runtime/webhooks/eventgrid?functionName={name}` (Microsoft.Azure.WebJobs.Extensions.EventGrid):
 *
 * - `aeg-event-type: SubscriptionValidation`: answer 200 `{"validationResponse": code}` with the
 *   code from `[0].data.validationCode` (Event Grid schema) or from the CloudEvent's `data`
 *   (which may arrive JSON-encoded as a string);
 * - HTTP OPTIONS with `WebHook-Request-Origin` (CloudEvents abuse protection): 200 with
 *   `WebHook-Allowed-Origin` naming that origin;
 * - `aeg-event-type: Notification`: the body is an array of events or one CloudEvent; each event
 *   is its own invocation (single dispatch), all in parallel; 202 when all succeed, else 500
 *   with the first failure's message, so Event Grid redelivers;
 * - `Unsubscribe`: 202; any other event type header: 400; an unknown function: 404.
 */
import type { FunctionDefinition } from "../../functions/definition.js";
import { invokeFunction, type InvocationResult } from "./invoke.js";
import type { HostLog } from "./log.js";

export interface WebhookRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface WebhookResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

type EventGridDef = Extract<FunctionDefinition, { trigger: "eventGrid" }>;

const header = (req: WebhookRequest, name: string): string | undefined => {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

const json = (status: number, body: unknown): WebhookResponse => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: JSON.stringify(body),
});
const text = (status: number, body: string): WebhookResponse => ({
  status,
  headers: { "content-type": "text/plain; charset=utf-8" },
  body,
});

function validationCodeOf(payload: unknown): string | undefined {
  const first = Array.isArray(payload) ? payload[0] : payload;
  if (!first || typeof first !== "object") return undefined;
  let data = (first as { data?: unknown }).data;
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  const code = (data as { validationCode?: unknown } | undefined)?.validationCode;
  return typeof code === "string" ? code : undefined;
}

export async function handleEventGridWebhook(
  req: WebhookRequest,
  functionName: string | null,
  functions: ReadonlyMap<string, EventGridDef>,
  log: HostLog,
  onInvocation: (r: InvocationResult) => void,
  timeoutMs?: number,
): Promise<WebhookResponse> {
  const def = functionName ? functions.get(functionName.toLowerCase()) : undefined;
  if (!def) {
    log.host("warn", `cannot find function: '${functionName ?? ""}'`, { available: [...functions.keys()] });
    return text(404, `cannot find function: '${functionName ?? ""}'`);
  }

  if (req.method === "OPTIONS") {
    const origin = header(req, "webhook-request-origin");
    if (!origin) return text(400, "missing WebHook-Request-Origin header");
    log.host("info", `perform CloudEvents handshake with Event Grid for function: ${def.name}`, { origin });
    return { status: 200, headers: { "WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*" } };
  }
  if (req.method !== "POST") return text(405, `${req.method} is not supported`);

  const eventType = header(req, "aeg-event-type")?.toLowerCase();
  let payload: unknown;
  try {
    payload = req.body ? JSON.parse(req.body) : undefined;
  } catch (e) {
    return text(400, `the request body is not JSON: ${(e as Error).message}`);
  }

  if (eventType === "subscriptionvalidation") {
    const code = validationCodeOf(payload);
    if (!code) return text(400, "the validation event carries no data.validationCode");
    log.host("info", `perform handshake with Event Grid for function: ${def.name}`);
    return json(200, { validationResponse: code });
  }
  if (eventType === "unsubscribe") return { status: 202 };
  if (eventType !== "notification") {
    return text(400, `aeg-event-type must be SubscriptionValidation, Notification or Unsubscribe`);
  }

  const events = Array.isArray(payload) ? payload : payload && typeof payload === "object" ? [payload] : [];
  if (events.length === 0) return text(400, "the notification carries no events");
  const deliveryCount = header(req, "aeg-delivery-count");
  const results = await Promise.all(
    events.map((event: unknown) =>
      invokeFunction(def, event, log, {
        reason: `EventGrid trigger fired${deliveryCount ? ` (delivery ${deliveryCount})` : ""}`,
        ...(timeoutMs ? { timeoutMs } : {}),
      }),
    ),
  );
  results.forEach(onInvocation);
  const failed = results.find((r) => !r.ok);
  return failed ? text(500, failed.error?.message ?? "function failed") : { status: 202 };
}
