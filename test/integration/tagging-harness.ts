/**
 * Test plumbing for the tagging integration tests: an HTTP endpoint that speaks Event Grid's
 * webhook protocol (validation handshake for both schemas, notifications) and hands each event
 * to the real onResourceWrite handler with a real InvocationContext, as the Functions host
 * would. A handler exception answers 500, so the emulator's Event Grid redelivers.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InvocationContext } from "@azure/functions";
import { STEWARD_APP } from "../../local/seeds/contoso.js";
import { onResourceWrite } from "../../functions/onResourceWrite.js";
import { clearPrincipalNameCache } from "../../shared/azure/principalNames.js";
import { resourceWriteEventFilter } from "../../shared/setup/contract.js";
import { resetTaggingState } from "../../shared/tagging/runtime.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

export interface Delivery {
  eventId?: string;
  deliveryCount: number;
  status: number;
  error?: string;
  logs: string[];
}

export interface WebhookHarness {
  url: string;
  deliveries: Delivery[];
  logs: string[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startWebhook(): Promise<WebhookHarness> {
  const deliveries: Delivery[] = [];
  const logs: string[] = [];
  let invocation = 0;
  const server: Server = createServer(async (req, res) => {
    try {
      if (req.method === "OPTIONS") {
        // CloudEvents abuse-protection handshake.
        res.writeHead(200, {
          "WebHook-Allowed-Origin": String(req.headers["webhook-request-origin"] ?? "*"),
        });
        res.end();
        return;
      }
      const text = await body(req);
      const payload = JSON.parse(text) as unknown;
      if (req.headers["aeg-event-type"] === "SubscriptionValidation") {
        const first = (payload as Array<{ data: { validationCode: string } }>)[0]!;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ validationResponse: first.data.validationCode }));
        return;
      }
      // Event Grid schema: an array; CloudEvents (structured mode): one event.
      const events = Array.isArray(payload) ? payload : [payload];
      let status = 200;
      for (const event of events) {
        const mine: string[] = [];
        const context = new InvocationContext({
          invocationId: `inv-${++invocation}`,
          functionName: "onResourceWrite",
          logHandler: (level, ...args) => {
            const line = `${level}: ${args.map(String).join(" ")}`;
            mine.push(line);
            logs.push(line);
          },
        });
        const d: Delivery = {
          eventId: (event as { id?: string }).id,
          deliveryCount: Number(req.headers["aeg-delivery-count"] ?? 0),
          status: 200,
          logs: mine,
        };
        try {
          await onResourceWrite(event, context);
        } catch (e) {
          d.status = status = 500;
          d.error = e instanceof Error ? e.message : String(e);
        }
        deliveries.push(d);
      }
      res.writeHead(status);
      res.end();
    } catch (e) {
      res.writeHead(400);
      res.end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/runtime/webhooks/eventgrid?functionName=onResourceWrite`,
    deliveries,
    logs,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Subscribes the webhook to one subscription's resource writes on the emulator's Event Grid,
 * filtered exactly as deployed (aml-steward's own writes dropped).
 */
export async function subscribeToWrites(
  stack: { control(method: string, path: string, body?: unknown): Promise<unknown> },
  name: string,
  hookUrl: string,
  subscriptionId: string,
): Promise<void> {
  await stack.control("PUT", `/_emulator/eventSubscriptions/${name}`, {
    properties: {
      destination: { endpointType: "WebHook", properties: { endpointUrl: hookUrl } },
      eventDeliverySchema: "EventGridSchema",
      filter: {
        ...resourceWriteEventFilter(STEWARD_APP.objectId),
        subjectBeginsWith: `/subscriptions/${subscriptionId}`,
      },
    },
  });
}

/**
 * A test stack with the tagging path's process-wide caches (tag targets, creator names) empty,
 * as a fresh Functions instance has them.
 */
export async function startTaggingStack(): Promise<TestStack> {
  const stack = await startTestStack();
  resetTaggingState();
  clearPrincipalNameCache();
  return stack;
}
