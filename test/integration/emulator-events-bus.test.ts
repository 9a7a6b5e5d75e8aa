/**
 * The emulated Event Grid delivering to a real local webhook (plain http on loopback, like the
 * local Functions runner) and to a real Azurite queue: handshake, notification protocol, both
 * schemas, filters, retries and dead-lettering. Events here are published straight to the bus;
 * emulator-events.test.ts drives the same path through ARM writes made with the real SDK.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueueClient } from "@azure/storage-queue";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EventBus } from "../../emulator/eventgrid/bus.js";
import { eventsRouter } from "../../emulator/eventgrid/router.js";
import type { EmuRequest, Principal, ResourceWrite } from "@aml-steward/azure-emulator";
import { resourceWriteEventFilter } from "../../shared/setup/contract.js";

const TENANT = "11111111-1111-4111-8111-111111111111";
const SUB = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const RG_ID = `/subscriptions/${SUB}/resourceGroups/rg-proj-dev`;
const WS_ID = `${RG_ID}/providers/Microsoft.MachineLearningServices/workspaces/mlw-proj-dev`;
const ALICE: Principal = {
  objectId: "44444444-4444-4444-8444-444444444444",
  kind: "user",
  displayName: "Alice Analyst",
  userPrincipalName: "alice@contoso.test",
  createdAt: 0,
};
const APP: Principal = {
  objectId: "22222222-2222-4222-8222-222222222222",
  kind: "servicePrincipal",
  displayName: "aml-steward",
  appId: "33333333-3333-4333-8333-333333333333",
  createdAt: 0,
};

/** aml-steward's identity, whose own writes the deployed filter drops (APP stands for another app). */
const STEWARD: Principal = {
  objectId: "55555555-5555-4555-8555-555555555555",
  kind: "servicePrincipal",
  displayName: "aml-steward",
  appId: "66666666-6666-4666-8666-666666666666",
  createdAt: 0,
};

interface Received {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** A webhook that answers Event Grid's handshakes and records notifications; `failNext` makes it answer 500. */
class Hook {
  server = http.createServer((req, res) => this.handle(req, res));
  received: Received[] = [];
  failNext = 0;
  failStatus = 500;
  refuseValidation = false;
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/runtime/webhooks/eventgrid?functionName=onResourceWrite`;
  }

  notifications(): Received[] {
    return this.received.filter((r) => r.headers["aeg-event-type"] === "Notification");
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      const body = raw ? (JSON.parse(raw) as unknown) : undefined;
      this.received.push({ method: req.method ?? "", headers: req.headers, body });
      if (req.method === "OPTIONS") {
        if (this.refuseValidation) return void res.writeHead(403).end();
        res.writeHead(200, { "WebHook-Allowed-Origin": String(req.headers["webhook-request-origin"]) }).end();
        return;
      }
      if (req.headers["aeg-event-type"] === "SubscriptionValidation") {
        if (this.refuseValidation) return void res.writeHead(200).end("{}");
        const code = (body as Array<{ data: { validationCode: string } }>)[0]!.data.validationCode;
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ validationResponse: code }));
        return;
      }
      if (this.failNext > 0) {
        this.failNext--;
        return void res.writeHead(this.failStatus).end();
      }
      res.writeHead(200).end();
    });
  }
}

function write(overrides: Partial<ResourceWrite> = {}): ResourceWrite {
  return {
    subscriptionId: SUB,
    resourceId: WS_ID,
    operationName: "Microsoft.MachineLearningServices/workspaces/write",
    caller: ALICE,
    correlationId: "c0ffee00-0000-4000-8000-000000000000",
    httpMethod: "PUT",
    url: `https://management.azure.com${WS_ID}?api-version=2022-10-01`,
    ...overrides,
  };
}

let hook: Hook;
let bus: EventBus;
const router = () => eventsRouter(bus);

async function control(method: string, path: string, body?: unknown) {
  const req: EmuRequest = {
    method,
    path,
    query: new URLSearchParams(),
    headers: {},
    rawBody: body === undefined ? "" : JSON.stringify(body),
    body,
    baseUrl: "https://127.0.0.1:1",
  };
  const res = await router()(req);
  if (!res) throw new Error(`no route ${method} ${path}`);
  return res as {
    status: number;
    body: Record<string, unknown> & { error?: { code: string; message: string } };
  };
}

const webhookSub = (extra: Record<string, unknown> = {}) => ({
  properties: {
    destination: { endpointType: "WebHook", properties: { endpointUrl: hook.url } },
    filter: resourceWriteEventFilter(STEWARD.objectId),
    eventDeliverySchema: "EventGridSchema",
    retryPolicy: { maxDeliveryAttempts: 3, eventTimeToLiveInMinutes: 60 },
    ...extra,
  },
});

beforeAll(async () => {
  hook = new Hook();
  await hook.start();
});
afterAll(async () => {
  await new Promise((r) => hook.server.close(r));
});
beforeEach(() => {
  bus = new EventBus({ tenantId: TENANT, retryDelayMs: 10 });
  hook.received = [];
  hook.failNext = 0;
  hook.failStatus = 500;
  hook.refuseValidation = false;
});

describe("event subscriptions", () => {
  it("does the Event Grid validation handshake on PUT and delivers the documented event shape", async () => {
    const put = await control("PUT", "/_emulator/eventSubscriptions/steward-writes", webhookSub());
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({
      name: "steward-writes",
      type: "Microsoft.EventGrid/eventSubscriptions",
      properties: { provisioningState: "Succeeded" },
    });
    const validation = hook.received[0]!;
    expect(validation.headers["aeg-event-type"]).toBe("SubscriptionValidation");
    expect((validation.body as Array<Record<string, unknown>>)[0]).toMatchObject({
      eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
    });

    bus.publish(write());
    await bus.flush();
    const [n] = hook.notifications();
    expect(hook.notifications()).toHaveLength(1);
    expect(n!.headers).toMatchObject({
      "aeg-event-type": "Notification",
      "aeg-subscription-name": "STEWARD-WRITES",
      "aeg-delivery-count": "0",
    });
    const events = n!.body as Array<Record<string, unknown>>;
    expect(Array.isArray(events)).toBe(true);
    expect(events[0]).toMatchObject({
      topic: `/subscriptions/${SUB}`,
      subject: WS_ID,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      dataVersion: "2",
      metadataVersion: "1",
      data: {
        authorization: {
          scope: WS_ID,
          action: "Microsoft.MachineLearningServices/workspaces/write",
          evidence: { principalType: "User", role: "Contributor" },
        },
        claims: {
          "http://schemas.microsoft.com/identity/claims/objectidentifier": ALICE.objectId,
          "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "alice@contoso.test",
          "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
          name: "Alice Analyst",
        },
        correlationId: "c0ffee00-0000-4000-8000-000000000000",
        httpRequest: { method: "PUT", clientIpAddress: "127.0.0.1" },
        operationName: "Microsoft.MachineLearningServices/workspaces/write",
        resourceProvider: "Microsoft.MachineLearningServices",
        resourceUri: WS_ID,
        status: "Succeeded",
        subscriptionId: SUB,
        tenantId: TENANT,
      },
    });
    expect(String(events[0]!.id)).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(String(events[0]!.eventTime)))).toBe(false);
    expect(bus.events()[0]!.deliveries[0]).toMatchObject({
      subscription: "steward-writes",
      state: "delivered",
    });
  });

  it("filters aml-steward's own writes out with StringNotIn on the evidence's principal and honours includedEventTypes", async () => {
    await control("PUT", "/_emulator/eventSubscriptions/steward-writes", webhookSub());
    bus.publish(write({ operationName: "Microsoft.Resources/tags/write", caller: STEWARD }));
    bus.publish(write({ caller: STEWARD }));
    bus.publish(
      write({
        eventType: "Microsoft.Resources.ResourceActionSuccess",
        operationName: "Microsoft.MachineLearningServices/workspaces/listKeys/action",
      }),
    );
    await bus.flush();
    expect(hook.notifications()).toHaveLength(0);
    // Someone else's tag write and a delete get through.
    bus.publish(write({ operationName: "Microsoft.Resources/tags/write", caller: ALICE }));
    bus.publish(
      write({
        eventType: "Microsoft.Resources.ResourceDeleteSuccess",
        operationName: "Microsoft.Authorization/roleAssignments/delete",
      }),
    );
    await bus.flush();
    expect(hook.notifications()).toHaveLength(2);
    expect(bus.events()).toHaveLength(5);
  });

  it("refuses a subscription whose webhook fails the handshake, and bad filters", async () => {
    hook.refuseValidation = true;
    const put = await control("PUT", "/_emulator/eventSubscriptions/bad-hook", webhookSub());
    expect(put.status).toBe(400);
    expect(put.body.error?.message).toMatch(/Webhook validation handshake failed/);
    expect(bus.listSubscriptions()).toHaveLength(0);
    hook.refuseValidation = false;
    const tooMany = await control(
      "PUT",
      "/_emulator/eventSubscriptions/too-many",
      webhookSub({
        filter: {
          advancedFilters: [
            {
              operatorType: "StringIn",
              key: "data.operationName",
              values: Array.from({ length: 26 }, (_, i) => `op${i}`),
            },
          ],
        },
      }),
    );
    expect(tooMany.status).toBe(400);
    const badOp = await control(
      "PUT",
      "/_emulator/eventSubscriptions/bad-op",
      webhookSub({
        filter: { advancedFilters: [{ operatorType: "StringLike", key: "subject", values: ["x"] }] },
      }),
    );
    expect(badOp.status).toBe(400);
  });

  it("delivers CloudEvents 1.0 after the OPTIONS handshake", async () => {
    const put = await control(
      "PUT",
      "/_emulator/eventSubscriptions/cloud",
      webhookSub({ eventDeliverySchema: "CloudEventSchemaV1_0" }),
    );
    expect(put.status).toBe(201);
    expect(hook.received[0]).toMatchObject({
      method: "OPTIONS",
      headers: { "webhook-request-origin": "eventgrid.azure.net" },
    });
    bus.publish(write({ caller: APP }));
    await bus.flush();
    const [n] = hook.notifications();
    expect(n!.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
    expect(n!.body).toMatchObject({
      specversion: "1.0",
      type: "Microsoft.Resources.ResourceWriteSuccess",
      source: `/subscriptions/${SUB}`,
      subject: WS_ID,
      data: {
        claims: { appid: APP.appId, idtyp: "app" },
        operationName: "Microsoft.MachineLearningServices/workspaces/write",
      },
    });
    expect(n!.body).toHaveProperty("time");
    expect(n!.body).toHaveProperty("id");
  });

  it("retries a 500 with back-off, counts deliveries, then dead-letters", async () => {
    await control("PUT", "/_emulator/eventSubscriptions/steward-writes", webhookSub());
    hook.failNext = 1;
    bus.publish(write());
    await bus.flush();
    const ns = hook.notifications();
    expect(ns.map((n) => n.headers["aeg-delivery-count"])).toEqual(["0", "1"]);
    expect((ns[0]!.body as Array<{ id: string }>)[0]!.id).toBe((ns[1]!.body as Array<{ id: string }>)[0]!.id);
    expect(bus.events()[0]!.deliveries[0]).toMatchObject({
      state: "delivered",
      attempts: [{ status: 500 }, { status: 200 }],
    });

    hook.received = [];
    hook.failNext = 10;
    bus.publish(write());
    await bus.flush();
    expect(hook.notifications()).toHaveLength(3);
    expect(bus.events()[1]!.deliveries[0]).toMatchObject({ state: "deadLettered" });

    hook.received = [];
    hook.failNext = 1;
    hook.failStatus = 400;
    bus.publish(write());
    await bus.flush();
    expect(hook.notifications()).toHaveLength(1);
    expect(bus.events()[2]!.deliveries[0]!.deadLetterReason).toMatch(/400/);
  });

  it("redelivers an event as a duplicate on request and exposes the log", async () => {
    await control("PUT", "/_emulator/eventSubscriptions/steward-writes", webhookSub());
    bus.publish(write());
    await bus.flush();
    const id = bus.events()[0]!.event.id;
    expect((await control("POST", `/_emulator/events/${id}/redeliver`)).status).toBe(202);
    await control("POST", "/_emulator/events/flush");
    const ids = hook.notifications().map((n) => (n.body as Array<{ id: string }>)[0]!.id);
    expect(ids).toEqual([id, id]);
    const log = await control("GET", "/_emulator/events");
    expect((log.body.value as unknown[]).length).toBe(1);
    expect((await control("DELETE", "/_emulator/eventSubscriptions/steward-writes")).status).toBe(200);
    expect((await control("GET", "/_emulator/eventSubscriptions")).body.value).toEqual([]);
  });

  it("delivers to a storage queue as base64 JSON", async (ctx) => {
    const cs = process.env.STEWARD_TEST_STORAGE_CONNECTION;
    if (!cs) return ctx.skip("STEWARD_TEST_STORAGE_CONNECTION is unset (globalSetup did not start Azurite)");
    const queueName = `eg-${Date.now().toString(36)}`;
    const queue = new QueueClient(cs, queueName);
    await queue.create();
    const put = await control("PUT", "/_emulator/eventSubscriptions/to-queue", {
      properties: {
        destination: { endpointType: "StorageQueue", properties: { connectionString: cs, queueName } },
        eventDeliverySchema: "EventGridSchema",
      },
    });
    expect(put.status).toBe(201);
    bus.publish(write({ operationName: "Microsoft.Resources/tags/write", caller: APP }));
    await bus.flush();
    const got = await queue.receiveMessages({ numberOfMessages: 5 });
    expect(got.receivedMessageItems).toHaveLength(1);
    const event = JSON.parse(
      Buffer.from(got.receivedMessageItems[0]!.messageText, "base64").toString("utf8"),
    ) as Record<string, unknown>;
    expect(event).toMatchObject({
      subject: WS_ID,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      data: { operationName: "Microsoft.Resources/tags/write", resourceProvider: "Microsoft.Resources" },
    });
    await queue.delete();
  });
});
