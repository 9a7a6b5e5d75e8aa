/**
 * Tag governance end to end: real ARM SDK clients (people of the Contoso seed and aml-steward
 * itself) against the emulator, events delivered by the emulator's Event Grid into the real
 * handler through a webhook, audit and violations in Azurite.
 */
import { InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PEOPLE, PIPELINE_IDENTITY, STEWARD_APP } from "../../local/seeds/contoso.js";
import type { EventLogEntry } from "@aml-steward/azure-emulator";
import type { FaultRule } from "@aml-steward/azure-emulator";
import type { RequestLogEntry } from "@aml-steward/azure-emulator";
import { onResourceWrite } from "../../functions/onResourceWrite.js";
import { azure } from "../../shared/azure/clients.js";
import { clearPrincipalNameCache } from "../../shared/azure/principalNames.js";
import { TABLES } from "../../shared/config/settings.js";
import { AuditLog } from "../../shared/ledger/audit.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import type { TestStack } from "../helpers/stack.js";
import { startWebhook, type WebhookHarness, startTaggingStack } from "./tagging-harness.js";

const STORAGE_API = "2023-05-01";

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
});

afterAll(async () => {
  await hook?.close();
  await stack?.stop();
});

beforeEach(async () => {
  await stack.control("DELETE", "/_emulator/faults");
  // Writes complete at once, so each test waits only for what it is about.
  await stack.control("POST", "/_emulator/faults", { lroDurationMs: 0, lroRetryAfterSeconds: 0 });
});

// ---------------------------------------------------------------- helpers

function names() {
  const n = ++seq;
  const rg = `rg-aml-t${n}-dev`;
  return {
    n,
    rg,
    rgId: `/subscriptions/${SUB}/resourceGroups/${rg}`,
    sa: `stt${n}dev${"abcde".slice(0, 5)}`,
  };
}

const saId = (rg: string, sa: string) =>
  `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/${sa}`;

function groupTags(n: number) {
  return {
    costCenter: "CC-2100-FRAUD",
    project: `t${n}`,
    environment: "dev",
    owner: PEOPLE.erin.userPrincipalName,
  };
}

async function subscribe(
  name: string,
  rgId: string,
  schema: "EventGridSchema" | "CloudEventSchemaV1_0" = "EventGridSchema",
) {
  await stack.control("PUT", `/_emulator/eventSubscriptions/${name}`, {
    properties: {
      destination: { endpointType: "WebHook", properties: { endpointUrl: hook.url } },
      eventDeliverySchema: schema,
      filter: { includedEventTypes: ["Microsoft.Resources.ResourceWriteSuccess"], subjectBeginsWith: rgId },
    },
  });
}

async function createGroup(rg: string, tags: Record<string, string>, who: string = PEOPLE.erin.objectId) {
  await stack.armAs(who, SUB).resourceGroups.createOrUpdate(rg, { location: REGION, tags });
}

async function createStorage(id: string, who: string = PEOPLE.alice.objectId, location = REGION) {
  await stack
    .armAs(who, SUB)
    .resources.beginCreateOrUpdateByIdAndWait(
      id,
      STORAGE_API,
      { location, kind: "StorageV2", sku: { name: "Standard_LRS" } },
      { updateIntervalInMs: 10 },
    );
}

async function tagsOf(id: string): Promise<Record<string, string>> {
  const r = await stack.armAs(PEOPLE.erin.objectId, SUB).tagsOperations.getAtScope(id);
  return r.properties?.tags ?? {};
}

const settle = () => stack.emulator.events.flush();

async function clearRequests() {
  await stack.control("DELETE", "/_emulator/requests");
}

/** Requests aml-steward's own identity made since the last clearRequests(). */
async function stewardRequests(): Promise<RequestLogEntry[]> {
  const { requests } = await stack.control<{ requests: RequestLogEntry[] }>("GET", "/_emulator/requests");
  return requests.filter(
    (r) => r.caller === STEWARD_APP.objectId && (r.kind === "arm" || r.kind === "graph"),
  );
}

const tagPatches = (rs: RequestLogEntry[], name: string) =>
  rs.filter(
    (r) =>
      r.kind === "arm" &&
      r.method === "PATCH" &&
      r.path.toLowerCase().includes(`/${name.toLowerCase()}/providers/microsoft.resources/tags/default`),
  );

function events(): EventLogEntry[] {
  return stack.emulator.events.events();
}

function writeEventOf(id: string, operation = "Microsoft.Storage/storageAccounts/write"): EventLogEntry {
  const all = events().filter(
    (e) => e.event.subject.toLowerCase() === id.toLowerCase() && e.event.data.operationName === operation,
  );
  expect(all.length).toBeGreaterThan(0);
  return all[0]!;
}

/**
 * A new project resource group (tagged) holding a storage account alice created, made before
 * any event subscription exists: the test delivers the account's events itself.
 */
async function groupWithStorage() {
  const ns = names();
  await createGroup(ns.rg, groupTags(ns.n));
  const id = saId(ns.rg, ns.sa);
  await createStorage(id);
  return { ...ns, id };
}

/** Redelivers the account's write event and waits until it is handled. */
async function redeliverWriteOf(id: string) {
  const ev = writeEventOf(id).event;
  await redeliver(ev.id);
  await settle();
  return ev;
}

async function redeliver(eventId: string) {
  await stack.control("POST", `/_emulator/events/${eventId}/redeliver`);
}

async function faults(rules: FaultRule[]) {
  await stack.control("POST", "/_emulator/faults", { rules });
}

/** A fault rule that refuses the tag write (PATCH of the tags resource) on account `sa` with 503. */
const tagWrite503 = (sa: string, rule: Pick<FaultRule, "count" | "retryAfterSeconds">): FaultRule => ({
  method: "PATCH",
  path: `${sa}/providers/Microsoft.Resources/tags/default`,
  status: 503,
  ...rule,
});

const today = () => new Date().toISOString().slice(0, 10);

// ---------------------------------------------------------------- tests

describe("onResourceWrite against the emulator", () => {
  it("a user's storage account in a tagged group gets the inherited tags, createdBy = UPN and createdOn, audited", async () => {
    const { n, rg, rgId, sa } = names();
    await subscribe(`eg-${n}`, rgId);
    await createGroup(rg, groupTags(n));
    await settle();
    const id = saId(rg, sa);
    await clearRequests();
    await createStorage(id);
    await settle();

    expect(await tagsOf(id)).toEqual({
      ...groupTags(n),
      createdBy: PEOPLE.alice.userPrincipalName,
      createdOn: today(),
    });
    // The group itself, created by Erin, is also stamped.
    expect(await tagsOf(rgId)).toEqual({
      ...groupTags(n),
      createdBy: PEOPLE.erin.userPrincipalName,
      createdOn: today(),
    });

    // One read of the account, the group's tags from the cache (read when its own event came), one write.
    const mine = await stewardRequests();
    expect(mine.filter((r) => r.path.toLowerCase().includes(sa)).map((r) => r.method)).toEqual([
      "GET",
      "PATCH",
    ]);
    expect(mine.filter((r) => r.kind === "graph")).toEqual([]);

    const audit = await new AuditLog(azure().table(TABLES.audit)).byResource(id);
    expect(audit).toHaveLength(1);
    const created = writeEventOf(id);
    expect(audit[0]).toMatchObject({
      actor: "onResourceWrite",
      action: "tags.merge",
      target: id,
      subscriptionId: SUB,
      project: `t${n}`,
      before: {},
      after: { ...groupTags(n), createdBy: PEOPLE.alice.userPrincipalName, createdOn: today() },
      correlationId: created.event.data.correlationId,
    });
    expect(audit[0]!.reason).toMatch(/inherited from the resource group/);
    const byProject = await new AuditLog(azure().table(TABLES.audit)).byProject(`t${n}`);
    expect(byProject.map((a) => a.target)).toContain(id);
  });

  it("the handler's own tag write comes back as an event and costs zero ARM calls", async () => {
    const { n, rg, rgId, sa } = names();
    await subscribe(`eg-${n}`, rgId);
    await createGroup(rg, groupTags(n));
    const id = saId(rg, sa);
    await createStorage(id);
    await settle();

    const own = events().filter(
      (e) =>
        e.event.subject.toLowerCase() === id.toLowerCase() &&
        e.event.data.operationName === "Microsoft.Resources/tags/write",
    );
    expect(own).toHaveLength(1);
    expect(own[0]!.deliveries.map((d) => d.state)).toEqual(["delivered"]);
    expect(hook.deliveries.find((d) => d.eventId === own[0]!.event.id)?.logs.join("\n")).toMatch(
      /"result":"guarded","reason":"ownWrite"/,
    );

    // Deliver it again, with nothing else going on: not one request by aml-steward.
    await clearRequests();
    await redeliver(own[0]!.event.id);
    await settle();
    expect(await stewardRequests()).toEqual([]);
  });

  it("a managed identity's storage account gets its display name as createdBy, looked up in Graph once", async () => {
    const { n, rg, rgId, sa } = names();
    await subscribe(`eg-${n}`, rgId);
    await createGroup(rg, groupTags(n));
    await settle();
    clearPrincipalNameCache();
    await clearRequests();
    const first = saId(rg, sa);
    const second = saId(rg, `${sa}2`);
    await createStorage(first, PIPELINE_IDENTITY.objectId);
    await settle();
    await createStorage(second, PIPELINE_IDENTITY.objectId);
    await settle();

    expect((await tagsOf(first)).createdBy).toBe(PIPELINE_IDENTITY.displayName);
    expect((await tagsOf(second)).createdBy).toBe(PIPELINE_IDENTITY.displayName);
    const graph = (await stewardRequests()).filter((r) => r.kind === "graph");
    expect(graph).toHaveLength(1);
    expect(graph[0]!.path).toMatch(/servicePrincipals/i);
  });

  it("the same event delivered 5 times gives exactly one tag write", async () => {
    const { n, rgId, sa, id } = await groupWithStorage();
    // The writes happened before anyone subscribed; now deliver the account's event 5 times at once.
    await subscribe(`eg-${n}`, rgId);
    const created = writeEventOf(id);
    await clearRequests();
    await Promise.all(Array.from({ length: 5 }, () => redeliver(created.event.id)));
    await settle();

    const mine = await stewardRequests();
    expect(tagPatches(mine, sa)).toHaveLength(1);
    expect(mine.filter((r) => r.method === "GET")).toHaveLength(2); // the account and its group, once each
    expect(await tagsOf(id)).toEqual({
      ...groupTags(n),
      createdBy: PEOPLE.alice.userPrincipalName,
      createdOn: today(),
    });
    const handled = hook.deliveries.filter((d) => d.eventId === created.event.id);
    expect(handled).toHaveLength(5);
    expect(handled.every((d) => d.status === 200)).toBe(true);
  });

  it("events delivered out of order give one tag write and the same tags as in order", async () => {
    const runScenario = async (order: "inOrder" | "reversed") => {
      const { n, rgId, sa, id } = await groupWithStorage();
      await stack
        .armAs(PEOPLE.alice.objectId, SUB)
        .resources.beginUpdateByIdAndWait(
          id,
          STORAGE_API,
          { properties: { minimumTlsVersion: "TLS1_2" } },
          { updateIntervalInMs: 10 },
        );
      const [create, update] = events().filter(
        (e) =>
          e.event.subject.toLowerCase() === id.toLowerCase() &&
          e.event.data.operationName === "Microsoft.Storage/storageAccounts/write",
      );
      expect(update).toBeDefined();
      await subscribe(`eg-${n}`, rgId);
      await clearRequests();
      for (const e of order === "inOrder" ? [create!, update!] : [update!, create!]) {
        await redeliver(e.event.id);
        await settle();
      }
      const tags = await tagsOf(id);
      const { project: _p, ...rest } = tags;
      return { patches: tagPatches(await stewardRequests(), sa).length, tags: rest };
    };
    const reversed = await runScenario("reversed");
    const inOrder = await runScenario("inOrder");
    expect(reversed.patches).toBe(1);
    expect(inOrder.patches).toBe(1);
    expect(reversed.tags).toEqual(inOrder.tags);
  });

  it("a tag written by someone else between our read and our write is not lost", async () => {
    const { n, rgId, sa, id } = await groupWithStorage();
    await subscribe(`eg-${n}`, rgId);
    // Our first PATCH is refused with 503 + Retry-After: 1 s; Bob writes his tag in that second.
    await faults([tagWrite503(sa, { retryAfterSeconds: 1, count: 1 })]);
    await clearRequests();
    await redeliver(writeEventOf(id).event.id);
    for (
      let i = 0;
      i < 200 && !(await stewardRequests()).some((r) => r.method === "PATCH" && r.faulted);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await stack.armAs(PEOPLE.bob.objectId, SUB).tagsOperations.beginUpdateAtScopeAndWait(id, {
      operation: "Merge",
      properties: { tags: { team: "payments" } },
    });
    await settle();

    expect(await tagsOf(id)).toEqual({
      ...groupTags(n),
      team: "payments",
      createdBy: PEOPLE.alice.userPrincipalName,
      createdOn: today(),
    });
    const patches = tagPatches(await stewardRequests(), sa);
    expect(patches.map((p) => p.status)).toEqual([503, 200]);
  });

  it("survives 429 with Retry-After on the read and 503 on the write within one delivery", async () => {
    const { n, rgId, sa, id } = await groupWithStorage();
    await subscribe(`eg-${n}`, rgId);
    await faults([
      { method: "GET", path: `storageAccounts/${sa}$`, status: 429, retryAfterSeconds: 1, count: 2 },
      tagWrite503(sa, { count: 1 }),
    ]);
    await clearRequests();
    const ev = await redeliverWriteOf(id);

    const mine = await stewardRequests();
    expect(mine.filter((r) => r.status === 429)).toHaveLength(2);
    expect(tagPatches(mine, sa).map((p) => p.status)).toEqual([503, 200]);
    expect(hook.deliveries.filter((d) => d.eventId === ev.id).map((d) => d.status)).toEqual([200]);
    expect((await tagsOf(id)).costCenter).toBe("CC-2100-FRAUD");
  });

  it("a failure that outlasts the SDK's retries throws, Event Grid redelivers, and the tags converge with one write", async () => {
    const { n, rgId, sa, id } = await groupWithStorage();
    await subscribe(`eg-${n}`, rgId);
    // The SDK tries 9 times (maxRetries 8); 12 failures exhaust one invocation and part of the next.
    await faults([tagWrite503(sa, { retryAfterSeconds: 0, count: 12 })]);
    await clearRequests();
    const ev = await redeliverWriteOf(id);

    const handled = hook.deliveries.filter((d) => d.eventId === ev.id);
    expect(handled.map((d) => d.status)).toEqual([500, 200]);
    expect(handled[0]!.logs.join("\n")).toMatch(/Event Grid will redeliver/);
    expect(tagPatches(await stewardRequests(), sa).filter((p) => p.status === 200)).toHaveLength(1);
    expect((await tagsOf(id)).createdBy).toBe(PEOPLE.alice.userPrincipalName);
  });

  it("a resource deleted before its event arrives ends quietly", async () => {
    const { n, rgId, id } = await groupWithStorage();
    await stack
      .armAs(PEOPLE.alice.objectId, SUB)
      .resources.beginDeleteByIdAndWait(id, STORAGE_API, { updateIntervalInMs: 10 });
    await subscribe(`eg-${n}`, rgId);
    await clearRequests();
    const ev = await redeliverWriteOf(id);

    const handled = hook.deliveries.filter((d) => d.eventId === ev.id);
    expect(handled.map((d) => d.status)).toEqual([200]);
    expect(handled[0]!.logs.join("\n")).toMatch(/"result":"gone"/);
    expect((await stewardRequests()).filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("works with the CloudEvents schema", async () => {
    const { n, rg, rgId, sa } = names();
    await subscribe(`ce-${n}`, rgId, "CloudEventSchemaV1_0");
    await createGroup(rg, groupTags(n));
    const id = saId(rg, sa);
    await createStorage(id, PEOPLE.bob.objectId);
    await settle();
    expect(await tagsOf(id)).toEqual({
      ...groupTags(n),
      createdBy: PEOPLE.bob.userPrincipalName,
      createdOn: today(),
    });
  });

  it("works with ids in odd casing", async () => {
    const { n, rg, rgId, sa } = names();
    await subscribe(`eg-${n}`, rgId.toLowerCase());
    await createGroup(rg, groupTags(n));
    await settle();
    const odd = `/SUBSCRIPTIONS/${SUB.toUpperCase()}/resourcegroups/${rg.toUpperCase()}/providers/microsoft.storage/STORAGEACCOUNTS/${sa}`;
    await createStorage(odd);
    await settle();
    const id = saId(rg, sa);
    expect(await tagsOf(id)).toEqual({
      ...groupTags(n),
      createdBy: PEOPLE.alice.userPrincipalName,
      createdOn: today(),
    });

    // The same write reported with yet another casing is recognised as the same resource.
    const ev = structuredClone(writeEventOf(id).event);
    ev.id = `${ev.id}-recased`;
    ev.subject = ev.subject.toUpperCase();
    ev.data.resourceUri = String(ev.data.resourceUri).toLowerCase();
    await clearRequests();
    await onResourceWrite(
      ev,
      new InvocationContext({ functionName: "onResourceWrite", logHandler: () => {} }),
    );
    expect(tagPatches(await stewardRequests(), sa)).toEqual([]);
  });

  it("a group without the required tags is a violation; its tags are re-read after its own write event", async () => {
    const { n, rg, rgId, sa } = names();
    await subscribe(`eg-${n}`, rgId);
    await createGroup(rg, { costCenter: "CC-A" });
    await settle();
    const violations = new ViolationLog(azure().table(TABLES.violations));
    expect(await violations.list({ subscriptionId: SUB, resourceId: rgId })).toMatchObject([
      { kind: "missingTags", detail: "resource group lacks required tags: project, environment, owner" },
    ]);

    const first = saId(rg, sa);
    await createStorage(first);
    await settle();
    expect((await tagsOf(first)).costCenter).toBe("CC-A");
    expect(await violations.list({ subscriptionId: SUB, resourceId: first })).toMatchObject([
      { kind: "missingTags" },
    ]);

    await createGroup(rg, { ...groupTags(n), costCenter: "CC-B" });
    await settle();
    const second = saId(rg, `${sa}2`);
    await createStorage(second);
    await settle();
    expect(await tagsOf(second)).toEqual({
      ...groupTags(n),
      costCenter: "CC-B",
      createdBy: PEOPLE.alice.userPrincipalName,
      createdOn: today(),
    });
  });

  it("records region and naming violations without deleting anything", async () => {
    const { n, rg, rgId } = names();
    await subscribe(`eg-${n}`, rgId);
    await createGroup(rg, groupTags(n));
    await settle();
    const id = saId(rg, `badname${n}`);
    await createStorage(id, PEOPLE.alice.objectId, "eastus");
    await settle();
    const found = await new ViolationLog(azure().table(TABLES.violations)).list({
      subscriptionId: SUB,
      resourceId: id,
    });
    expect(found.map((v) => v.kind).sort()).toEqual(["naming", "region"]);
    expect(found.every((v) => v.correlationId === writeEventOf(id).event.data.correlationId)).toBe(true);
    expect((await tagsOf(id)).costCenter).toBe("CC-2100-FRAUD");
  });

  it("drops malformed events and ignores other event types without throwing", async () => {
    const lines: string[] = [];
    const ctx = new InvocationContext({
      functionName: "onResourceWrite",
      logHandler: (_l, ...a) => lines.push(a.join(" ")),
    });
    await clearRequests();
    await onResourceWrite({ id: "x", eventType: "Microsoft.Resources.ResourceWriteSuccess" }, ctx);
    await onResourceWrite("not json", ctx);
    await onResourceWrite(
      {
        ...writeEventOf(saId("rg-aml-t1-dev", "stt1devabcde")).event,
        eventType: "Microsoft.Resources.ResourceActionSuccess",
      },
      ctx,
    );
    // A delete of a resource (not of a role assignment) reaches the function and costs nothing.
    await onResourceWrite(
      {
        ...writeEventOf(saId("rg-aml-t1-dev", "stt1devabcde")).event,
        eventType: "Microsoft.Resources.ResourceDeleteSuccess",
      },
      ctx,
    );
    expect(lines.filter((l) => l.includes("malformed event dropped"))).toHaveLength(2);
    expect(lines.filter((l) => l.includes("ignored event type"))).toHaveLength(1);
    expect(await stewardRequests()).toEqual([]);
  });
});
