/**
 * Tag tampering corrected from its event: the event subscription drops only aml-steward's own
 * writes (by principal), so a person's tag write reaches the handler and a removed or changed
 * cost tag is put back within one delivery: 1 read + 1 write, audited with who changed it.
 * Real SDKs against the emulator, events delivered by its Event Grid through a webhook.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE, STEWARD_APP } from "../../local/seeds/contoso.js";
import type { RequestLogEntry } from "@aml-steward/azure-emulator";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { AuditLog } from "../../shared/ledger/audit.js";
import { resourceWriteEventFilter } from "../../shared/setup/contract.js";
import type { TestStack } from "../helpers/stack.js";
import { startWebhook, type WebhookHarness, startTaggingStack } from "./tagging-harness.js";

let stack: TestStack;
let hook: WebhookHarness;
let SUB: string;
let REGION: string;
let seq = 0;

beforeAll(async () => {
  process.env.STEWARD_LOG_LEVEL = "debug";
  stack = await startTaggingStack();
  SUB = stack.policy.projectSubscriptionId;
  REGION = stack.policy.regions.default;
  hook = await startWebhook();
  await stack.control("POST", "/_emulator/faults", { lroDurationMs: 0, lroRetryAfterSeconds: 0 });
});

afterAll(async () => {
  await hook?.close();
  await stack?.stop();
});

const settle = () => stack.emulator.events.flush();

async function stewardRequests(): Promise<RequestLogEntry[]> {
  const { requests } = await stack.control<{ requests: RequestLogEntry[] }>("GET", "/_emulator/requests");
  return requests.filter(
    (r) => r.caller === STEWARD_APP.objectId && (r.kind === "arm" || r.kind === "graph"),
  );
}

/** A tagged group with a storage account alice made, subscribed exactly as infra/ deploys it. */
async function setup() {
  const n = ++seq;
  const rg = `rg-aml-tt${n}-dev`;
  const rgId = `/subscriptions/${SUB}/resourceGroups/${rg}`;
  const id = `${rgId}/providers/Microsoft.Storage/storageAccounts/sttt${n}dev`;
  const tags = {
    costCenter: "CC-2100-FRAUD",
    project: `tt${n}`,
    environment: "dev",
    owner: "erin@contoso.com",
  };
  const filter = resourceWriteEventFilter(STEWARD_APP.objectId);
  await stack.control("PUT", `/_emulator/eventSubscriptions/tt-${n}`, {
    properties: {
      destination: { endpointType: "WebHook", properties: { endpointUrl: hook.url } },
      eventDeliverySchema: "EventGridSchema",
      filter: { ...filter, subjectBeginsWith: rgId },
    },
  });
  await stack.armAs(PEOPLE.erin.objectId, SUB).resourceGroups.createOrUpdate(rg, { location: REGION, tags });
  await stack
    .armAs(PEOPLE.alice.objectId, SUB)
    .resources.beginCreateOrUpdateByIdAndWait(
      id,
      "2023-05-01",
      { location: REGION, kind: "StorageV2", sku: { name: "Standard_LRS" } },
      { updateIntervalInMs: 10 },
    );
  await settle();
  return { n, rg, rgId, id, tags };
}

const tagsOf = async (id: string) =>
  (await stack.armAs(PEOPLE.erin.objectId, SUB).tagsOperations.getAtScope(id)).properties?.tags ?? {};

const deliveredOps = (id: string) =>
  stack.emulator.events
    .events()
    .filter((e) => e.event.subject.toLowerCase() === id.toLowerCase())
    .map((e) => ({ op: String(e.event.data.operationName), delivered: e.deliveries.length > 0 }));

describe("tag writes by others are governed at once", () => {
  it("aml-steward's own tag write is dropped at the subscription: no delivery, no call", async () => {
    const { id } = await setup();
    expect((await tagsOf(id)).costCenter).toBe("CC-2100-FRAUD");
    // Our Merge came back as a tags/write event, which the principal filter kept from the app.
    expect(deliveredOps(id)).toEqual([
      { op: "Microsoft.Storage/storageAccounts/write", delivered: true },
      { op: "Microsoft.Resources/tags/write", delivered: false },
    ]);
  });

  it("a user's tag write removing a required tag is put back from its event with 1 read + 1 write, audited with who", async () => {
    const { id } = await setup();
    await stack.control("DELETE", "/_emulator/requests");
    // Dave (Tag Contributor) removes the cost centre through the Tags API, as `az tag` does.
    await stack
      .armAs(PEOPLE.dave.objectId, SUB)
      .tagsOperations.beginUpdateAtScopeAndWait(
        id,
        { operation: "Delete", properties: { tags: { costCenter: "CC-2100-FRAUD" } } },
        { updateIntervalInMs: 10 },
      );
    await settle();

    expect((await tagsOf(id)).costCenter).toBe("CC-2100-FRAUD");
    const calls = await stewardRequests();
    expect(calls.map((r) => r.method)).toEqual(["GET", "PATCH"]);
    const audit = await new AuditLog(azure().table(TABLES.audit)).byResource(id);
    const last = audit.at(-1)!;
    expect(last.after).toMatchObject({ costCenter: "CC-2100-FRAUD" });
    expect(last.reason).toMatch(/^Microsoft\.Resources\/tags\/write by dave@contoso\.com .*put back/);
  });

  it("a changed correct-mode tag is corrected; a fill-mode value a person set is respected (1 read, 0 writes)", async () => {
    const { id } = await setup();
    await stack.control("DELETE", "/_emulator/requests");
    await stack
      .armAs(PEOPLE.dave.objectId, SUB)
      .tagsOperations.beginUpdateAtScopeAndWait(
        id,
        { operation: "Merge", properties: { tags: { costCenter: "CC-9999-OTHER" } } },
        { updateIntervalInMs: 10 },
      );
    await settle();
    expect((await tagsOf(id)).costCenter).toBe("CC-2100-FRAUD");
    expect((await stewardRequests()).map((r) => r.method)).toEqual(["GET", "PATCH"]);

    await stack.control("DELETE", "/_emulator/requests");
    await stack
      .armAs(PEOPLE.dave.objectId, SUB)
      .tagsOperations.beginUpdateAtScopeAndWait(
        id,
        { operation: "Merge", properties: { tags: { owner: "dave@contoso.com" } } },
        { updateIntervalInMs: 10 },
      );
    await settle();
    expect((await tagsOf(id)).owner).toBe("dave@contoso.com");
    expect((await stewardRequests()).map((r) => r.method)).toEqual(["GET"]);
  });

  it("deleting the whole tag set (Tags API DELETE) is put back too", async () => {
    const { id, tags } = await setup();
    await stack
      .armAs(PEOPLE.dave.objectId, SUB)
      .tagsOperations.beginDeleteAtScopeAndWait(id, { updateIntervalInMs: 10 });
    await settle();
    expect(await tagsOf(id)).toMatchObject(tags);
  });
});
