/**
 * ARM writes made with the real ARM SDK, as a seeded data scientist and as the app, come out of
 * the emulated Event Grid as documented `Microsoft.Resources.ResourceWriteSuccess` events on a
 * real local webhook (plain http on loopback, as the local Functions runner serves it).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ResourceManagementClient } from "@azure/arm-resources";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { resourceWriteEventFilter } from "../../shared/setup/contract.js";
import { armClientOptions, startTestEmulator } from "../helpers/emulator.js";

const TENANT = "7e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b";
const SUB = "aaaaaaaa-0000-4000-8000-000000000002";
const RG = `/subscriptions/${SUB}/resourceGroups/rg-fraud-dev`;
const APP = {
  objectId: "a2000000-0000-4000-8000-00000000000a",
  appId: "b2000000-0000-4000-8000-00000000000b",
  clientSecret: "s",
};
const ALICE = {
  objectId: "e4000000-0000-4000-8000-00000000000e",
  userPrincipalName: "alice@contoso.test",
  displayName: "Alice Analyst",
};

const seed: EmulatorSeed = {
  tenantId: TENANT,
  subscriptions: [{ subscriptionId: SUB, displayName: "Dev" }],
  resourceGroups: [
    { subscriptionId: SUB, name: "rg-fraud-dev", location: "westeurope", tags: { costCenter: "CC-1" } },
  ],
  users: [ALICE],
  servicePrincipals: [{ ...APP, displayName: "aml-steward" }],
  // The emulator enforces RBAC: Alice builds in the subscription, the app only tags.
  roleAssignments: [
    {
      scope: `/subscriptions/${SUB}`,
      roleDefinitionId: "b24988ac-6180-42a0-ab88-20f7382dd24c",
      principalId: ALICE.objectId,
    },
    {
      scope: `/subscriptions/${SUB}`,
      roleDefinitionId: "4a9ae827-6dc8-4573-8ac7-8239d42aa03f",
      principalId: APP.objectId,
      principalType: "ServicePrincipal",
    },
  ],
};

interface Hit {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

let emu: EmulatorHandle;
let hits: Hit[] = [];
let failNext = 0;
let hookServer: http.Server;
let hookUrl = "";

const notifications = (): Hit[] => hits.filter((h) => h.headers["aeg-event-type"] === "Notification");
const armAs = (objectId: string) =>
  new ResourceManagementClient(
    new EmulatorPrincipalCredential(emu.url, { objectId }),
    SUB,
    armClientOptions(emu.url),
  );

async function subscribe(name: string, properties: Record<string, unknown>): Promise<Response> {
  return fetch(`${emu.url}/_emulator/eventSubscriptions/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ properties }),
  });
}

async function flush(): Promise<void> {
  const res = await fetch(`${emu.url}/_emulator/events/flush`, { method: "POST" });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  hookServer = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      const body = raw ? (JSON.parse(raw) as unknown) : undefined;
      hits.push({ method: req.method ?? "", headers: req.headers, body });
      if (req.method === "OPTIONS")
        return void res.writeHead(200, { "WebHook-Allowed-Origin": "eventgrid.azure.net" }).end();
      if (req.headers["aeg-event-type"] === "SubscriptionValidation") {
        const [event] = body as Array<{ data: { validationCode: string } }>;
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ validationResponse: event!.data.validationCode }));
      }
      if (failNext > 0) {
        failNext--;
        return void res.writeHead(500).end();
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/runtime/webhooks/eventgrid?functionName=onResourceWrite`;
  emu = await startTestEmulator({ seed });
  emu.events.settings.retryDelayMs = 10;
});
afterAll(async () => {
  await emu?.stop();
  await new Promise((r) => hookServer.close(r));
});
beforeEach(async () => {
  await fetch(`${emu.url}/_emulator/reset`, { method: "POST" });
  hits = [];
  failNext = 0;
});

describe("events from ARM writes", () => {
  it("delivers exactly one documented ResourceWriteSuccess for a resource PUT by a data scientist", async () => {
    const put = await subscribe("steward-writes", {
      destination: { endpointType: "WebHook", properties: { endpointUrl: hookUrl } },
      filter: { includedEventTypes: ["Microsoft.Resources.ResourceWriteSuccess"] },
      eventDeliverySchema: "EventGridSchema",
    });
    expect(put.status).toBe(201);
    expect(hits.filter((h) => h.headers["aeg-event-type"] === "SubscriptionValidation")).toHaveLength(1);

    const id = `${RG}/providers/Microsoft.Storage/storageAccounts/stfrauddev01`;
    await armAs(ALICE.objectId).resources.beginCreateOrUpdateByIdAndWait(
      id,
      "2023-05-01",
      { location: "westeurope", kind: "StorageV2", sku: { name: "Standard_LRS" } },
      { updateIntervalInMs: 10 },
    );
    await flush();

    const ns = notifications();
    expect(ns).toHaveLength(1);
    expect(ns[0]!.headers).toMatchObject({
      "aeg-event-type": "Notification",
      "aeg-subscription-name": "STEWARD-WRITES",
      "aeg-delivery-count": "0",
    });
    const events = ns[0]!.body as Array<Record<string, unknown> & { data: Record<string, unknown> }>;
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(String(e!.subject).toLowerCase()).toBe(id.toLowerCase());
    expect(e).toMatchObject({
      topic: `/subscriptions/${SUB}`,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      dataVersion: "2",
      metadataVersion: "1",
    });
    expect(Object.keys(e!).sort()).toEqual([
      "data",
      "dataVersion",
      "eventTime",
      "eventType",
      "id",
      "metadataVersion",
      "subject",
      "topic",
    ]);
    expect(e!.data).toMatchObject({
      authorization: {
        action: "Microsoft.Storage/storageAccounts/write",
        evidence: { principalId: ALICE.objectId.replace(/-/g, ""), principalType: "User" },
      },
      claims: {
        "http://schemas.microsoft.com/identity/claims/objectidentifier": ALICE.objectId,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": ALICE.userPrincipalName,
        "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
        name: ALICE.displayName,
      },
      httpRequest: { method: "PUT" },
      operationName: "Microsoft.Storage/storageAccounts/write",
      resourceProvider: "Microsoft.Storage",
      status: "Succeeded",
      subscriptionId: SUB,
      tenantId: TENANT,
    });
    expect(String(e!.data.resourceUri).toLowerCase()).toBe(id.toLowerCase());
    expect(e!.data.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("reports a tag write as Microsoft.Resources/tags/write on the tagged resource, which a StringNotIn filter drops", async () => {
    await subscribe("all-writes", {
      destination: { endpointType: "WebHook", properties: { endpointUrl: hookUrl } },
    });
    await subscribe("no-tag-writes", {
      destination: { endpointType: "WebHook", properties: { endpointUrl: `${hookUrl}&sub=filtered` } },
      filter: resourceWriteEventFilter(APP.objectId),
    });
    hits = [];
    const appArm = new ResourceManagementClient(
      new EmulatorPrincipalCredential(emu.url, { objectId: APP.objectId }),
      SUB,
      armClientOptions(emu.url),
    );
    await appArm.tagsOperations.beginUpdateAtScopeAndWait(
      RG,
      { operation: "Merge", properties: { tags: { owner: "alice" } } },
      { updateIntervalInMs: 10 },
    );
    await flush();
    const ns = notifications();
    expect(ns).toHaveLength(1);
    expect(ns[0]!.headers["aeg-subscription-name"]).toBe("ALL-WRITES");
    const [e] = ns[0]!.body as Array<{
      subject: string;
      data: Record<string, unknown> & { claims: Record<string, string> };
    }>;
    expect(e!.subject.toLowerCase()).toBe(RG.toLowerCase());
    expect(e!.data).toMatchObject({
      operationName: "Microsoft.Resources/tags/write",
      resourceProvider: "Microsoft.Resources",
    });
    expect(e!.data.claims).toMatchObject({
      appid: APP.appId,
      idtyp: "app",
      "http://schemas.microsoft.com/identity/claims/objectidentifier": APP.objectId,
    });
    expect(e!.data.claims).not.toHaveProperty("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn");
  });

  it("delivers CloudEvents 1.0 and retries after a 500", async () => {
    const put = await subscribe("cloud", {
      destination: { endpointType: "WebHook", properties: { endpointUrl: hookUrl } },
      eventDeliverySchema: "CloudEventSchemaV1_0",
      retryPolicy: { maxDeliveryAttempts: 5, eventTimeToLiveInMinutes: 10 },
    });
    expect(put.status).toBe(201);
    expect(hits[0]).toMatchObject({ method: "OPTIONS" });
    failNext = 1;
    await armAs(ALICE.objectId).resourceGroups.createOrUpdate("rg-fraud-qa", { location: "westeurope" });
    await flush();
    const ns = notifications();
    expect(ns.map((n) => n.headers["aeg-delivery-count"])).toEqual(["0", "1"]);
    expect(ns[1]!.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
    expect(ns[1]!.body).toMatchObject({
      specversion: "1.0",
      type: "Microsoft.Resources.ResourceWriteSuccess",
      source: `/subscriptions/${SUB}`,
      data: { operationName: "Microsoft.Resources/subscriptions/resourceGroups/write" },
    });
    const log = (await (await fetch(`${emu.url}/_emulator/events?subscription=cloud`)).json()) as {
      value: Array<{ deliveries: Array<{ state: string; attempts: unknown[] }> }>;
    };
    expect(log.value[0]!.deliveries[0]).toMatchObject({ state: "delivered" });
    expect(log.value[0]!.deliveries[0]!.attempts).toHaveLength(2);
  });

  it("refuses a webhook that does not answer the handshake", async () => {
    const res = await subscribe("dead-end", {
      destination: { endpointType: "WebHook", properties: { endpointUrl: "http://127.0.0.1:1/nothing" } },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toMatch(
      /Webhook validation handshake failed for http:\/\/127\.0\.0\.1:1\/nothing/,
    );
  });
});
