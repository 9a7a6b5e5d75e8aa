/**
 * createdBy/createdOn for resources the event path never saw: the nightly run fills them
 * (never overwrites them) from ARM's systemData, else from the Activity Log's first successful
 * write, else reports the resource. And the emulator's Activity Log itself: built from the
 * writes it served, $filter on time, resourceUri and resourceGroupName, paging, 90 days.
 * Real SDK clients of Contoso's people write; the real reconcile reads.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { createPipelineRequest } from "@azure/core-rest-pipeline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { runReconcile } from "../../shared/reconcile/index.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import {
  memoryLogger,
  seedEstate,
  tagsOf,
  testPolicy,
  type Estate,
  FRAUD_TAGS,
} from "./reconcile-harness.js";

const policy = testPolicy({ maxChangeShare: 0.99 });
let stack: TestStack;
let estate: Estate;
let SUB: string;
const RG = "rg-aml-fraud-dev";
const today = () => new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  estate = seedEstate(policy);
  SUB = estate.sub;
  stack = await startTestStack({ seed: estate.seed, policy });
  await stack.control("POST", "/_emulator/faults", { lroDurationMs: 0, lroRetryAfterSeconds: 0 });
});
afterAll(async () => stack?.stop());

const storageId = (name: string) =>
  `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/${name}`;
const diskId = (name: string) =>
  `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/${name}`;

async function activity(arm: ResourceManagementClient, query: string) {
  const res = await arm.sendRequest(
    createPipelineRequest({
      url: `${stack.url}/subscriptions/${SUB}/providers/microsoft.insights/eventtypes/management/values?api-version=2015-04-01&${query}`,
      method: "GET",
    }),
  );
  return { status: res.status, body: JSON.parse(res.bodyAsText ?? "{}") as Record<string, unknown> };
}

describe("the emulator's Activity Log", () => {
  it("records the writes it served, with the caller, filters by time, resource and group, pages, and keeps 90 days", async () => {
    const bob = stack.armAs(PEOPLE.bob.objectId, SUB);
    const id = diskId("disk-activity");
    await bob.resources.beginCreateOrUpdateByIdAndWait(id, "2023-04-02", { location: "westeurope" });
    const since = new Date(Date.now() - 3600_000).toISOString();

    const byResource = await activity(
      bob,
      `$filter=${encodeURIComponent(`eventTimestamp ge '${since}' and resourceUri eq '${id}'`)}`,
    );
    expect(byResource.status).toBe(200);
    const events = byResource.body.value as Array<Record<string, unknown>>;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      caller: PEOPLE.bob.userPrincipalName,
      resourceId: id,
      resourceGroupName: RG,
      operationName: { value: "Microsoft.Compute/disks/write" },
      status: { value: "Succeeded" },
      category: { value: "Administrative" },
      subscriptionId: SUB,
    });

    // The Azure CLI sends its timestamps unquoted; Cloud Custodian's auto-tag-user adds the
    // channel and the resource type.
    const bare = await activity(
      bob,
      `$filter=${encodeURIComponent(
        `eventTimestamp ge ${since} and resourceUri eq '${id}' and eventChannels eq 'Operation' and resourceType eq 'Microsoft.Compute/disks'`,
      )}`,
    );
    expect(bare.body.value).toHaveLength(1);

    const byGroup = await activity(
      bob,
      `$filter=${encodeURIComponent(`eventTimestamp ge '${since}' and resourceGroupName eq '${RG}'`)}`,
    );
    expect((byGroup.body.value as unknown[]).length).toBeGreaterThanOrEqual(1);

    // Azure insists on a start time.
    expect((await activity(bob, `$filter=${encodeURIComponent(`resourceUri eq '${id}'`)}`)).status).toBe(400);

    // Older than 90 days: gone, whatever the filter asks.
    stack.emulator.activityLog.backdate(id, Date.now() - 91 * 24 * 3600_000);
    const old = await activity(
      bob,
      `$filter=${encodeURIComponent(`eventTimestamp ge '2000-01-01T00:00:00Z' and resourceUri eq '${id}'`)}`,
    );
    expect(old.body.value).toEqual([]);
  });

  it("pages with nextLink", async () => {
    const bob = stack.armAs(PEOPLE.bob.objectId, SUB);
    const rgId = `/subscriptions/${SUB}/resourceGroups/${RG}`;
    for (let i = 0; i < 210; i++)
      await bob.tagsOperations.beginUpdateAtScopeAndWait(rgId, {
        operation: "Merge",
        properties: { tags: { [`n${i % 10}`]: String(i) } },
      });
    const since = new Date(Date.now() - 3600_000).toISOString();
    const first = await activity(bob, `$filter=${encodeURIComponent(`eventTimestamp ge '${since}'`)}`);
    expect((first.body.value as unknown[]).length).toBe(200);
    expect(typeof first.body.nextLink).toBe("string");
    const next = await bob.sendRequest(
      createPipelineRequest({ url: first.body.nextLink as string, method: "GET" }),
    );
    expect((JSON.parse(next.bodyAsText ?? "{}") as { value: unknown[] }).value.length).toBeGreaterThan(0);
  });
});

describe("the nightly createdBy/createdOn backfill", () => {
  it("fills from systemData, else from the Activity Log, never overwrites, and reports what nobody records", async () => {
    const alice = stack.armAs(PEOPLE.alice.objectId, SUB);
    const bob = stack.armAs(PEOPLE.bob.objectId, SUB);
    // Alice's storage account: ARM keeps systemData for it.
    const viaSystemData = storageId("stbackfillsd01");
    await alice.resources.beginCreateOrUpdateByIdAndWait(viaSystemData, "2023-05-01", {
      location: "westeurope",
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
      tags: { ...FRAUD_TAGS },
    });
    // Bob's disk: a type the reader has no api-version for, so the Activity Log tells.
    const viaActivity = diskId("disk-backfill");
    await bob.resources.beginCreateOrUpdateByIdAndWait(viaActivity, "2023-04-02", {
      location: "westeurope",
      tags: { ...FRAUD_TAGS },
    });
    // Someone else's value stays.
    const alreadyTagged = diskId("disk-tagged");
    await bob.resources.beginCreateOrUpdateByIdAndWait(alreadyTagged, "2023-04-02", {
      location: "westeurope",
      tags: { ...FRAUD_TAGS, createdBy: "somebody@contoso.com", createdOn: "2020-01-01" },
    });

    const [r] = await runReconcile({ subscriptionIds: [SUB], policy, logger: memoryLogger() });
    expect(r!.status).toBe("completed");

    expect(tagsOf(stack, viaSystemData)).toMatchObject({
      createdBy: PEOPLE.alice.userPrincipalName,
      createdOn: today(),
    });
    expect(tagsOf(stack, viaActivity)).toMatchObject({
      createdBy: PEOPLE.bob.userPrincipalName,
      createdOn: today(),
    });
    expect(tagsOf(stack, alreadyTagged)).toMatchObject({
      createdBy: "somebody@contoso.com",
      createdOn: "2020-01-01",
    });
    // The seeded accounts were never written through ARM and carry no systemData: reported.
    expect(r!.creators).toMatchObject({ fromSystemData: 1, fromActivityLog: 1 });
    expect(r!.creators!.unknown).toBeGreaterThan(0);
    expect(r!.creators!.unknownSample).toContain(estate.compliant[0]);
    expect(tagsOf(stack, estate.compliant[0]!)?.createdBy).toBeUndefined();
  });
});
