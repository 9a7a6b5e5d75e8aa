/**
 * The local host's HTTP surface: the Event Grid webhook (validation handshake in both schemas,
 * one invocation per event, 202/500/404/401 as the extension answers) and HTTP triggers (route
 * templates, methods, function keys), plus the admin endpoint that runs a function on demand.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventGridEvent, HttpRequest, InvocationContext } from "@azure/functions";
import type { FunctionDefinition } from "../../functions/definition.js";
import { startHost, type LocalHost } from "../../local/host/index.js";
import { matchRoute } from "../../local/host/httpTrigger.js";

const received: Array<{ event: EventGridEvent; ctx: InvocationContext }> = [];
const defs: FunctionDefinition[] = [
  {
    name: "onWrite",
    trigger: "eventGrid",
    options: {
      handler: (event, ctx) => {
        received.push({ event, ctx });
        if (event.subject === "/boom") throw new Error("handler failed on /boom");
      },
    },
  },
  {
    name: "status",
    trigger: "http",
    options: {
      route: "things/{id:guid}",
      methods: ["GET"],
      authLevel: "function",
      handler: async (req: HttpRequest) => ({
        status: 200,
        jsonBody: { id: req.params.id, q: req.query.get("q") },
      }),
    },
  },
  {
    name: "open",
    trigger: "http",
    options: {
      authLevel: "anonymous",
      methods: ["POST"],
      handler: async (req: HttpRequest) => ({ body: await req.text() }),
    },
  },
];

let host: LocalHost;
beforeAll(async () => {
  host = await startHost({ definitions: defs, env: {}, log: { format: "silent" } });
});
afterAll(() => host.stop());

const egEvent = (subject: string) => ({
  id: crypto.randomUUID(),
  topic: "/subscriptions/00000000-0000-0000-0000-000000000001",
  subject,
  eventType: "Microsoft.Resources.ResourceWriteSuccess",
  eventTime: new Date().toISOString(),
  data: { operationName: "Microsoft.Storage/storageAccounts/write" },
  dataVersion: "2",
  metadataVersion: "1",
});

describe("local host: Event Grid webhook", () => {
  it("answers the Event Grid schema validation handshake with the code", async () => {
    const res = await fetch(host.eventGridWebhookUrl("onWrite"), {
      method: "POST",
      headers: { "aeg-event-type": "SubscriptionValidation", "content-type": "application/json" },
      body: JSON.stringify([
        {
          ...egEvent(""),
          eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
          data: { validationCode: "code-123", validationUrl: "https://x.invalid" },
        },
      ]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: "code-123" });
    expect(received).toHaveLength(0);
  });

  it("answers the CloudEvents handshake (OPTIONS) and a CloudEvents validation with string data", async () => {
    const res = await fetch(host.eventGridWebhookUrl("onWrite"), {
      method: "OPTIONS",
      headers: { "WebHook-Request-Origin": "eventgrid.azure.net" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("webhook-allowed-origin")).toBe("eventgrid.azure.net");
    const v = await fetch(host.eventGridWebhookUrl("onWrite"), {
      method: "POST",
      headers: { "aeg-event-type": "SubscriptionValidation" },
      body: JSON.stringify({ specversion: "1.0", id: "1", data: JSON.stringify({ validationCode: "cv" }) }),
    });
    expect(await v.json()).toEqual({ validationResponse: "cv" });
  });

  it("invokes the handler once per event with a real InvocationContext and answers 202", async () => {
    received.length = 0;
    const res = await fetch(host.eventGridWebhookUrl("onWrite"), {
      method: "POST",
      headers: { "aeg-event-type": "Notification", "content-type": "application/json" },
      body: JSON.stringify([egEvent("/a"), egEvent("/b")]),
    });
    expect(res.status).toBe(202);
    expect(received.map((r) => r.event.subject).sort()).toEqual(["/a", "/b"]);
    expect(received[0]!.ctx.functionName).toBe("onWrite");
    expect(received[0]!.ctx.invocationId).not.toBe(received[1]!.ctx.invocationId);
    // A CloudEvent arrives as one object.
    const cloud = await fetch(host.eventGridWebhookUrl("onWrite"), {
      method: "POST",
      headers: { "aeg-event-type": "Notification", "content-type": "application/cloudevents+json" },
      body: JSON.stringify({
        specversion: "1.0",
        id: "c1",
        type: "x",
        source: "/s",
        subject: "/c",
        data: {},
      }),
    });
    expect(cloud.status).toBe(202);
    expect(received.at(-1)!.event.subject).toBe("/c");
  });

  it("answers 500 when a handler fails (so Event Grid redelivers), 404 for an unknown function, 401 without the key", async () => {
    const fail = await fetch(host.eventGridWebhookUrl("onWrite"), {
      method: "POST",
      headers: { "aeg-event-type": "Notification" },
      body: JSON.stringify([egEvent("/boom")]),
    });
    expect(fail.status).toBe(500);
    expect(await fail.text()).toContain("handler failed on /boom");
    const unknown = await fetch(host.eventGridWebhookUrl("nope"), {
      method: "POST",
      headers: { "aeg-event-type": "Notification" },
      body: "[]",
    });
    expect(unknown.status).toBe(404);
    const noKey = await fetch(`${host.url}/runtime/webhooks/eventgrid?functionName=onWrite`, {
      method: "POST",
      headers: { "aeg-event-type": "Notification" },
      body: JSON.stringify([egEvent("/x")]),
    });
    expect(noKey.status).toBe(401);
    const badType = await fetch(host.eventGridWebhookUrl("onWrite"), { method: "POST", body: "[]" });
    expect(badType.status).toBe(400);
  });
});

describe("local host: HTTP triggers", () => {
  const id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  it("routes by template and checks the function key", async () => {
    const noKey = await fetch(`${host.url}/api/things/${id}`);
    expect(noKey.status).toBe(401);
    const ok = await fetch(`${host.url}/api/things/${id}?q=1&code=${host.keys.function}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id, q: "1" });
    const header = await fetch(`${host.url}/api/things/${id}`, {
      headers: { "x-functions-key": host.keys.master },
    });
    expect(header.status).toBe(200);
    expect((await fetch(`${host.url}/api/things/not-a-guid?code=${host.keys.function}`)).status).toBe(404);
    expect(
      (await fetch(`${host.url}/api/things/${id}?code=${host.keys.function}`, { method: "DELETE" })).status,
    ).toBe(405);
    const anon = await fetch(`${host.url}/api/open`, { method: "POST", body: "hi" });
    expect(await anon.text()).toBe("hi");
  });

  it("matches route templates like the host", () => {
    expect(matchRoute("promotions/{id}", "/promotions/abc")).toEqual({ id: "abc" });
    expect(matchRoute("promotions/{id?}", "/promotions")).toEqual({});
    expect(matchRoute("files/{*rest}", "/files/a/b")).toEqual({ rest: "a/b" });
    expect(matchRoute("promotions/{id}", "/promotions/a/b")).toBeUndefined();
    expect(matchRoute("x/{n:int}", "/x/12")).toEqual({ n: "12" });
    expect(matchRoute("x/{n:int}", "/x/a")).toBeUndefined();
  });
});
