/**
 * The ARM emulator driven by the real, unmodified SDK clients over HTTPS, authenticated by a
 * ClientSecretCredential against the emulator's own token endpoint.
 */
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { AzureMachineLearningWorkspaces } from "@azure/arm-machinelearning";
import { ResourceManagementClient } from "@azure/arm-resources";
import type { RestError } from "@azure/core-rest-pipeline";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import type { EmulatorSeed, ResourceWrite } from "@aml-steward/azure-emulator";
import { armClientOptions, emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";

const SUB = "3f2a1b0c-4d5e-4f60-8a71-92b3c4d5e6f7";
const OTHER_SUB = "9e8d7c6b-5a49-4382-a716-05f4e3d2c1b0";
const APP = {
  objectId: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
  appId: "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f60",
  secret: "emulator-test-secret",
};
const ALICE = "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8";
const GROUP = "5f6a7b8c-9d0e-4f1a-b2c3-d4e5f6a7b8c9";
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";

const seed: EmulatorSeed = {
  subscriptions: [
    { subscriptionId: SUB, displayName: "ML Dev" },
    { subscriptionId: OTHER_SUB, displayName: "ML Prod" },
  ],
  resourceGroups: [{ subscriptionId: SUB, name: "rg-seeded", location: "westeurope", tags: { env: "dev" } }],
  resources: [
    {
      id: `/subscriptions/${SUB}/resourceGroups/rg-seeded/providers/Microsoft.Network/virtualNetworks/vnet1`,
      location: "westeurope",
    },
  ],
  servicePrincipals: [
    { objectId: APP.objectId, appId: APP.appId, displayName: "steward-test", clientSecret: APP.secret },
  ],
  users: [{ objectId: ALICE, userPrincipalName: "alice@contoso.test", displayName: "Alice" }],
  groups: [{ id: GROUP, displayName: "ml-readers" }],
};

let em: EmulatorHandle;
let arm: ResourceManagementClient;
let auth: AuthorizationManagementClient;
let ml: AzureMachineLearningWorkspaces;
const poll = { updateIntervalInMs: 10 };

async function expectRestError(p: Promise<unknown>, statusCode: number, code: string): Promise<RestError> {
  try {
    await p;
  } catch (err) {
    // Each SDK may bundle its own copy of core-rest-pipeline, so check the name, not the class.
    expect((err as Error).name).toBe("RestError");
    const e = err as RestError;
    expect({ statusCode: e.statusCode, code: e.code, message: e.message }).toMatchObject({
      statusCode,
      code,
    });
    return e;
  }
  throw new Error(`expected ${statusCode} ${code}, but the call succeeded`);
}

/** Raw HTTPS call with the app's token, for things the SDKs cannot send. */
async function raw(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw JSON replies are read freely in assertions
): Promise<{ status: number; body: Record<string, any>; headers: Headers }> {
  const cred = emulatorSecretCredential(em.url, em.tenantId, APP.appId, APP.secret);
  const token = await cred.getToken("https://management.azure.com/.default");
  const res = await fetch(`${em.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

function writesSince(start: number): ResourceWrite[] {
  const dump = em.events.dump() as {
    events: Array<{ event: { subject: string; data: { operationName: string; correlationId: string } } }>;
  };
  return dump.events.slice(start).map(
    (e) =>
      ({
        resourceId: e.event.subject,
        operationName: e.event.data.operationName,
        correlationId: e.event.data.correlationId,
      }) as ResourceWrite,
  );
}
const eventCount = (): number => (em.events.dump() as { events: unknown[] }).events.length;

beforeAll(async () => {
  // ARM mechanics only; authorisation has its own tests (emulator-authorization.test.ts), and the
  // role-assignment listings here must show exactly what the tests create.
  em = await startTestEmulator({ seed, pageSize: 4, enforceRbac: false });
  em.faults.update({ lroDurationMs: 150, lroRetryAfterSeconds: 0 });
  const cred = emulatorSecretCredential(em.url, em.tenantId, APP.appId, APP.secret);
  const opts = armClientOptions(em.url);
  arm = new ResourceManagementClient(cred, SUB, opts);
  auth = new AuthorizationManagementClient(cred, SUB, opts);
  ml = new AzureMachineLearningWorkspaces(cred, SUB, opts);
});

afterAll(async () => {
  await em?.stop();
});

beforeEach(() => {
  em.faults.update({
    rules: [],
    replicationDelayMs: 0,
    lroDurationMs: 150,
    lroDurationMsByType: {},
    lroRetryAfterSeconds: 0,
  });
});

describe("resource groups", () => {
  it("creates (201), updates (200), patches, gets and lists with a tag filter", async () => {
    const created = await arm.resourceGroups.createOrUpdate("rg-crud", {
      location: "West Europe",
      tags: { team: "ml" },
    });
    expect(created).toMatchObject({
      name: "rg-crud",
      location: "westeurope",
      tags: { team: "ml" },
      properties: { provisioningState: "Succeeded" },
    });
    const r = await raw("PUT", `/subscriptions/${SUB}/resourcegroups/rg-crud?api-version=2025-04-01`, {
      location: "westeurope",
      tags: { team: "ml" },
    });
    expect(r.status).toBe(200);
    const patched = await arm.resourceGroups.update("rg-crud", { tags: { team: "ml", cost: "42" } });
    expect(patched.tags).toEqual({ team: "ml", cost: "42" });
    const got = await arm.resourceGroups.get("RG-CRUD");
    expect(got.id).toBe(`/subscriptions/${SUB}/resourceGroups/rg-crud`);
    const filtered = [];
    for await (const g of arm.resourceGroups.list({ filter: "tagName eq 'cost' and tagValue eq '42'" }))
      filtered.push(g.name);
    expect(filtered).toEqual(["rg-crud"]);
    expect((await arm.resourceGroups.checkExistence("rg-crud")).body).toBe(true);
    expect((await arm.resourceGroups.checkExistence("rg-missing")).body).toBe(false);
  });

  it("rejects a bad name, a missing location and a location change the way Azure does", async () => {
    await expectRestError(
      arm.resourceGroups.createOrUpdate("bad/name?", { location: "eastus" }),
      400,
      "InvalidResourceGroup",
    );
    await expectRestError(
      arm.resourceGroups.createOrUpdate("rg-dot.", { location: "eastus" }),
      400,
      "InvalidResourceGroup",
    );
    await expectRestError(
      arm.resourceGroups.createOrUpdate("rg-seeded", { location: "eastus" }),
      409,
      "InvalidResourceGroupLocation",
    );
    await expectRestError(arm.resourceGroups.get("nope"), 404, "ResourceGroupNotFound");
  });

  it("deletes as a Location-style LRO that removes contained resources", async () => {
    await arm.resourceGroups.createOrUpdate("rg-del", { location: "eastus" });
    const id = `/subscriptions/${SUB}/resourceGroups/rg-del/providers/Microsoft.Network/publicIPAddresses/ip1`;
    await arm.resources.beginCreateOrUpdateByIdAndWait(id, "2023-01-01", { location: "eastus" }, poll);
    const raw202 = await raw("DELETE", `/subscriptions/${SUB}/resourcegroups/rg-del?api-version=2025-04-01`);
    expect(raw202.status).toBe(202);
    expect(raw202.headers.get("location")).toMatch(/\/operationresults\//);
    expect((await arm.resourceGroups.get("rg-del")).properties?.provisioningState).toBe("Deleting");
    await expectRestError(
      arm.resourceGroups.createOrUpdate("rg-del", { location: "eastus" }),
      409,
      "ResourceGroupBeingDeleted",
    );
    // Deleting again through the SDK waits on the same kind of operation.
    await arm.resourceGroups.beginDeleteAndWait("rg-del", poll);
    expect((await arm.resourceGroups.checkExistence("rg-del")).body).toBe(false);
    await expectRestError(arm.resources.getById(id, "2023-01-01"), 404, "ResourceGroupNotFound");
  });
});

describe("typed resources and LRO styles", () => {
  const rg = "rg-typed";
  const base = `/subscriptions/${SUB}/resourceGroups/${rg}/providers`;
  beforeAll(async () => {
    await arm.resourceGroups.createOrUpdate(rg, { location: "eastus" });
  });

  it("storage accounts use 202 + Location and end with the resource", async () => {
    const id = `${base}/Microsoft.Storage/storageAccounts/stgsteward01`;
    const first = await raw("PUT", `${id}?api-version=2023-01-01`, {
      location: "eastus",
      sku: { name: "Standard_LRS" },
      kind: "StorageV2",
    });
    expect(first.status).toBe(202);
    expect(first.headers.get("location")).toMatch(/Microsoft\.Storage\/locations\/eastus\/asyncoperations\//);
    const poller = await arm.resources.beginCreateOrUpdateById(
      id,
      "2023-01-01",
      { location: "eastus", sku: { name: "Standard_LRS" }, kind: "StorageV2", tags: { a: "b" } },
      poll,
    );
    const sa = await poller.pollUntilDone();
    expect(sa).toMatchObject({
      name: "stgsteward01",
      type: "Microsoft.Storage/storageAccounts",
      kind: "StorageV2",
      tags: { a: "b" },
      properties: { provisioningState: "Succeeded" },
    });
  });

  it("key vaults report provisioningState until done (body polling)", async () => {
    const id = `${base}/Microsoft.KeyVault/vaults/kv-steward-01`;
    const first = await raw("PUT", `${id}?api-version=2023-07-01`, {
      location: "eastus",
      properties: { sku: { family: "A", name: "standard" }, tenantId: em.tenantId },
    });
    expect(first.status).toBe(201);
    expect(first.body.properties.provisioningState).toBe("RegisteringDns");
    const kv = await arm.resources.beginCreateOrUpdateByIdAndWait(
      id,
      "2023-07-01",
      { location: "eastus", properties: { sku: { family: "A", name: "standard" } } },
      poll,
    );
    expect(kv.properties).toMatchObject({
      provisioningState: "Succeeded",
      vaultUri: "https://kv-steward-01.vault.azure.net/",
    });
  });

  it("ML workspaces use Azure-AsyncOperation for create, update and delete", async () => {
    const first = await raw(
      "PUT",
      `${base}/Microsoft.MachineLearningServices/workspaces/ws-async?api-version=2022-10-01`,
      { location: "eastus" },
    );
    expect(first.status).toBe(202);
    expect(first.headers.get("azure-asyncoperation")).toMatch(/workspaceOperationsStatus/);
    const ws = await ml.workspaces.beginCreateOrUpdateAndWait(
      rg,
      "ws-steward",
      {
        location: "eastus",
        identity: { type: "SystemAssigned" },
        friendlyName: "Steward",
        tags: { project: "churn" },
      },
      poll,
    );
    expect(ws).toMatchObject({
      name: "ws-steward",
      provisioningState: "Succeeded",
      friendlyName: "Steward",
      tags: { project: "churn" },
    });
    expect(ws.identity?.principalId).toMatch(/^[0-9a-f-]{36}$/);
    // Azure grants the new identity Azure AI Administrator on the group.
    const ras = [];
    for await (const ra of auth.roleAssignments.listForResourceGroup(rg, {
      filter: `principalId eq '${ws.identity!.principalId}'`,
    }))
      ras.push(ra.roleDefinitionId);
    expect(ras).toEqual([
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/b78c5d69-af96-48a3-bf8d-a8b4d589de94`,
    ]);
    const updated = await ml.workspaces.beginUpdateAndWait(
      rg,
      "ws-steward",
      { description: "updated" },
      poll,
    );
    expect(updated.description).toBe("updated");
    const byRg = [];
    for await (const w of ml.workspaces.listByResourceGroup(rg)) byRg.push(w.name);
    expect(byRg.sort()).toEqual(["ws-async", "ws-steward"]);
    const bySub = [];
    for await (const w of ml.workspaces.listBySubscription()) bySub.push(w.name);
    expect(bySub).toContain("ws-steward");
    await ml.workspaces.beginDeleteAndWait(rg, "ws-async", poll);
    await expectRestError(ml.workspaces.get(rg, "ws-async"), 404, "ResourceNotFound");
  });

  it("lroDurationMsByType gives one resource type its own LRO duration (case-insensitive)", async () => {
    em.faults.update({
      lroDurationMs: 100,
      lroDurationMsByType: { "microsoft.machinelearningservices/WORKSPACES": 1_500 },
    });
    try {
      const started = Date.now();
      const [sa, ws] = await Promise.all([
        (async () => {
          await arm.resources.beginCreateOrUpdateByIdAndWait(
            `${base}/Microsoft.Storage/storageAccounts/stgbytype01`,
            "2023-01-01",
            { location: "eastus", sku: { name: "Standard_LRS" }, kind: "StorageV2" },
            poll,
          );
          return Date.now() - started;
        })(),
        (async () => {
          await ml.workspaces.beginCreateOrUpdateAndWait(rg, "ws-bytype", { location: "eastus" }, poll);
          return Date.now() - started;
        })(),
      ]);
      expect(sa).toBeLessThan(1_000);
      expect(ws).toBeGreaterThanOrEqual(1_400);
      // A poll in the meantime says InProgress: the workspace's operation runs for its own duration.
      const first = await raw(
        "PATCH",
        `${base}/Microsoft.MachineLearningServices/workspaces/ws-bytype?api-version=2022-10-01`,
        { properties: { description: "x" } },
      );
      expect(first.status).toBe(202);
      await new Promise((r) => setTimeout(r, 300));
      const poll1 = await raw(
        "GET",
        new URL(first.headers.get("azure-asyncoperation")!).pathname + "?api-version=2022-10-01",
      );
      expect(poll1.body.status).toBe("InProgress");
      // Bad maps are refused; {} clears the overrides.
      expect(() => em.faults.update({ lroDurationMsByType: { workspaces: 1 } })).toThrow(/resource type/);
      expect(() =>
        em.faults.update({ lroDurationMsByType: { "Microsoft.Storage/storageAccounts": -1 } }),
      ).toThrow(/non-negative/);
    } finally {
      em.faults.update({ lroDurationMsByType: {} });
    }
    expect(em.faults.get().lroDurationMsByType).toEqual({});
  });

  it("ML asset containers and versions: CRUD, auto-created container, paging", async () => {
    await ml.workspaces.beginCreateOrUpdateAndWait(rg, "ws-assets", { location: "eastus" }, poll);
    await ml.modelContainers.createOrUpdate(rg, "ws-assets", "churn", {
      properties: { description: "churn model", tags: { owner: "alice" } },
    });
    for (let v = 1; v <= 6; v++) {
      await ml.modelVersions.createOrUpdate(rg, "ws-assets", "churn", String(v), {
        properties: {
          modelUri: `azureml://models/churn/${v}`,
          modelType: "custom_model",
          tags: { stage: "dev" },
        },
      });
    }
    const pages: number[] = [];
    for await (const p of ml.modelVersions.list(rg, "ws-assets", "churn").byPage()) pages.push(p.length);
    expect(pages).toEqual([4, 2]);
    const container = await ml.modelContainers.get(rg, "ws-assets", "churn");
    expect(container.properties).toMatchObject({
      description: "churn model",
      latestVersion: "6",
      nextVersion: "7",
    });
    // A version whose container does not exist yet creates it, as Azure ML does.
    const dv = await ml.dataVersions.createOrUpdate(rg, "ws-assets", "features", "1", {
      properties: { dataType: "uri_folder", dataUri: "azureml://datastores/x/paths/y" },
    });
    expect(dv).toMatchObject({
      name: "1",
      type: "Microsoft.MachineLearningServices/workspaces/data/versions",
    });
    expect((await ml.dataContainers.get(rg, "ws-assets", "features")).name).toBe("features");
    await ml.environmentVersions.createOrUpdate(rg, "ws-assets", "env", "1", {
      properties: { image: "mcr.microsoft.com/azureml/base:latest" },
    });
    await ml.componentVersions.createOrUpdate(rg, "ws-assets", "train", "1", {
      properties: { componentSpec: { name: "train" } },
    });
    const containers = [];
    for await (const c of ml.componentContainers.list(rg, "ws-assets")) containers.push(c.name);
    expect(containers).toEqual(["train"]);
    await ml.modelVersions.delete(rg, "ws-assets", "churn", "6");
    await expectRestError(ml.modelVersions.get(rg, "ws-assets", "churn", "6"), 404, "ResourceNotFound");
    await expectRestError(ml.modelContainers.get(rg, "ws-missing", "churn"), 404, "ParentResourceNotFound");
  });

  it("a new workspace comes with Azure ML's default datastores on its own storage account", async () => {
    const storage = `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/stwsdefaults01`;
    const ws = await ml.workspaces.beginCreateOrUpdateAndWait(
      rg,
      "ws-defaults",
      { location: "eastus", storageAccount: storage },
      poll,
    );
    const stores: Record<string, Record<string, unknown>> = {};
    for await (const d of ml.datastores.list(rg, "ws-defaults"))
      stores[d.name!] = d.properties as unknown as Record<string, unknown>;
    expect(Object.keys(stores).sort()).toEqual([
      "workspaceartifactstore",
      "workspaceblobstore",
      "workspacefilestore",
      "workspaceworkingdirectory",
    ]);
    expect(stores.workspaceblobstore).toMatchObject({
      datastoreType: "AzureBlob",
      accountName: "stwsdefaults01",
      containerName: `azureml-blobstore-${ws.workspaceId}`,
      isDefault: true,
      credentials: { credentialsType: "AccountKey" },
    });
    // The account key is never returned, as for any datastore.
    expect(stores.workspaceblobstore!.credentials).not.toHaveProperty("secrets");
    expect(stores.workspacefilestore).toMatchObject({ datastoreType: "AzureFile", isDefault: false });
    // A workspace without a storage account (the emulator allows it) gets none.
    await ml.workspaces.beginCreateOrUpdateAndWait(rg, "ws-nostore", { location: "eastus" }, poll);
    const none: string[] = [];
    for await (const d of ml.datastores.list(rg, "ws-nostore")) none.push(d.name!);
    expect(none).toEqual([]);
  });

  it("applies Azure's name rules per type", async () => {
    const put = (type: string, name: string): Promise<unknown> =>
      arm.resources.beginCreateOrUpdateByIdAndWait(
        `${base}/${type}/${name}`,
        "2023-01-01",
        { location: "eastus" },
        poll,
      );
    const e = await expectRestError(
      put("Microsoft.Storage/storageAccounts", "Bad_Name"),
      400,
      "AccountNameInvalid",
    );
    expect(e.message).toBe(
      "Bad_Name is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.",
    );
    await expectRestError(put("Microsoft.KeyVault/vaults", "1vault"), 400, "VaultNameNotValid");
    await expectRestError(put("Microsoft.KeyVault/vaults", "kv--double"), 400, "VaultNameNotValid");
    await expectRestError(put("Microsoft.OperationalInsights/workspaces", "-law"), 400, "InvalidParameter");
    await expectRestError(put("Microsoft.ContainerRegistry/registries", "acr-1"), 400, "InvalidResourceName");
    await expectRestError(
      ml.workspaces.beginCreateOrUpdateAndWait(rg, "_ws", { location: "eastus" }, poll),
      400,
      "InvalidResourceName",
    );
    await expectRestError(
      arm.resources.beginCreateOrUpdateByIdAndWait(
        `${base}/Microsoft.Insights/components/appi`,
        "2020-02-02",
        {},
        poll,
      ),
      400,
      "LocationRequired",
    );
  });

  it("keeps storage account names globally unique", async () => {
    await arm.resourceGroups.createOrUpdate("rg-typed-2", { location: "eastus" });
    await expectRestError(
      arm.resources.beginCreateOrUpdateByIdAndWait(
        `/subscriptions/${SUB}/resourceGroups/rg-typed-2/providers/Microsoft.Storage/storageAccounts/stgsteward01`,
        "2023-01-01",
        { location: "eastus" },
        poll,
      ),
      409,
      "StorageAccountAlreadyTaken",
    );
  });

  it("404s: missing group, missing resource, missing parent", async () => {
    await expectRestError(
      arm.resources.getById(
        `/subscriptions/${SUB}/resourceGroups/rg-none/providers/Microsoft.Storage/storageAccounts/x123`,
        "2023-01-01",
      ),
      404,
      "ResourceGroupNotFound",
    );
    const e = await expectRestError(
      arm.resources.getById(`${base}/Microsoft.Storage/storageAccounts/nothere1`, "2023-01-01"),
      404,
      "ResourceNotFound",
    );
    expect(e.message).toContain(
      "The Resource 'Microsoft.Storage/storageAccounts/nothere1' under resource group 'rg-typed' was not found",
    );
    await expectRestError(
      arm.resources.beginCreateOrUpdateByIdAndWait(
        `${base}/Microsoft.Network/virtualNetworks/nonet/subnets/s1`,
        "2023-01-01",
        {},
        poll,
      ),
      404,
      "ParentResourceNotFound",
    );
  });
});

describe("generic list", () => {
  it("pages through more than three pages with nextLink and honours $filter and $top", async () => {
    await arm.resourceGroups.createOrUpdate("rg-many", { location: "eastus" });
    for (let i = 0; i < 14; i++) {
      await arm.resources.beginCreateOrUpdateByIdAndWait(
        `/subscriptions/${SUB}/resourceGroups/rg-many/providers/Microsoft.Network/networkSecurityGroups/nsg${i}`,
        "2023-01-01",
        { location: "eastus", tags: i % 2 === 0 ? { parity: "even" } : { parity: "odd" } },
        poll,
      );
    }
    const pages: number[] = [];
    for await (const p of arm.resources.listByResourceGroup("rg-many").byPage()) pages.push(p.length);
    expect(pages).toEqual([4, 4, 4, 2]);
    const even = [];
    for await (const r of arm.resources.listByResourceGroup("rg-many", {
      filter: "tagName eq 'parity' and tagValue eq 'even'",
    }))
      even.push(r);
    expect(even).toHaveLength(7);
    // Azure leaves tags out when filtering by tag name and value.
    expect(even.every((r) => r.tags === undefined)).toBe(true);
    const byType = [];
    for await (const r of arm.resources.list({
      filter: "resourceType eq 'microsoft.network/virtualnetworks'",
    }))
      byType.push(r.name);
    expect(byType).toEqual(["vnet1"]);
    const expanded = await arm.resources
      .list({ top: 2, expand: "createdTime,changedTime,provisioningState" })
      .byPage()
      .next();
    expect(expanded.value).toHaveLength(2);
    expect(expanded.value[0]).toHaveProperty("createdTime");
    expect(expanded.value[0]).toHaveProperty("provisioningState", "Succeeded");
  });
});

describe("tags API", () => {
  it("works at subscription scope (`//subscriptions` on the wire), merges case-insensitively and publishes tags/write", async () => {
    const before = eventCount();
    await arm.tagsOperations.beginCreateOrUpdateAtScopeAndWait(
      `/subscriptions/${SUB}`,
      { properties: { tags: { costCenter: "A1" } } },
      poll,
    );
    const merged = await arm.tagsOperations.beginUpdateAtScopeAndWait(
      `/subscriptions/${SUB}`,
      { operation: "Merge", properties: { tags: { CostCenter: "B2", owner: "ml" } } },
      poll,
    );
    // The existing casing of a tag name survives a merge; the value changes.
    expect(merged.properties.tags).toEqual({ costCenter: "B2", owner: "ml" });
    const got = await arm.tagsOperations.getAtScope(`/subscriptions/${SUB}`);
    expect(got).toMatchObject({
      id: `/subscriptions/${SUB}/providers/Microsoft.Resources/tags/default`,
      name: "default",
      type: "Microsoft.Resources/tags",
    });
    const deleted = await arm.tagsOperations.beginUpdateAtScopeAndWait(
      `/subscriptions/${SUB}`,
      { operation: "Delete", properties: { tags: { OWNER: "" } } },
      poll,
    );
    expect(deleted.properties.tags).toEqual({ costCenter: "B2" });
    await arm.tagsOperations.beginDeleteAtScopeAndWait(`/subscriptions/${SUB}`, poll);
    expect((await arm.tagsOperations.getAtScope(`/subscriptions/${SUB}`)).properties.tags).toEqual({});
    await em.events.flush();
    const writes = writesSince(before).filter((w) => w.operationName === "Microsoft.Resources/tags/write");
    expect(writes).toHaveLength(3);
    expect(writes[0]!.resourceId.toLowerCase()).toBe(`/subscriptions/${SUB}`);
  });

  it("tags a resource without rewriting it and enforces the 50-tag limit and reserved characters", async () => {
    const id = `/subscriptions/${SUB}/resourceGroups/rg-seeded/providers/Microsoft.Network/virtualNetworks/vnet1`;
    await arm.tagsOperations.beginUpdateAtScopeAndWait(
      id,
      { operation: "Merge", properties: { tags: { cost: "1" } } },
      poll,
    );
    const res = await arm.resources.getById(id, "2023-01-01");
    expect(res.tags).toEqual({ cost: "1" });
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`t${i}`, "v"]));
    await expectRestError(
      arm.tagsOperations.beginUpdateAtScopeAndWait(
        id,
        { operation: "Merge", properties: { tags: many } },
        poll,
      ),
      400,
      "TagsLimitExceeded",
    );
    await expectRestError(
      arm.tagsOperations.beginCreateOrUpdateAtScopeAndWait(
        id,
        { properties: { tags: { "a/b": "x" } } },
        poll,
      ),
      400,
      "InvalidTagNameCharacters",
    );
    const rgTags = await arm.tagsOperations.beginUpdateAtScopeAndWait(
      `/subscriptions/${SUB}/resourceGroups/rg-seeded`,
      { operation: "Replace", properties: { tags: { Env: "Dev" } } },
      poll,
    );
    expect(rgTags.properties.tags).toEqual({ Env: "Dev" });
  });
});

describe("role definitions and assignments", () => {
  it("finds built-in roles by name and id", async () => {
    const found = [];
    for await (const d of auth.roleDefinitions.list(`/subscriptions/${SUB}`, {
      filter: "roleName eq 'Tag Contributor'",
    }))
      found.push(d);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      name: "4a9ae827-6dc8-4573-8ac7-8239d42aa03f",
      roleName: "Tag Contributor",
      roleType: "BuiltInRole",
    });
    const byId = await auth.roleDefinitions.getById(
      `/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
    );
    expect(byId.roleName).toBe("Reader");
    await expectRestError(
      auth.roleDefinitions.get(`/subscriptions/${SUB}`, "00000000-0000-0000-0000-00000000dead"),
      404,
      "RoleDefinitionDoesNotExist",
    );
  });

  it("creates (201) at subscription scope, rejects duplicates with 409, lists with atScope() and inheritance", async () => {
    const roleDefinitionId = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${READER}`;
    const before = eventCount();
    const created = await auth.roleAssignments.create(
      `/subscriptions/${SUB}`,
      "6a7b8c9d-0e1f-4a2b-83c4-d5e6f7a8b9c0",
      { roleDefinitionId, principalId: GROUP, principalType: "Group" },
    );
    expect(created).toMatchObject({
      scope: `/subscriptions/${SUB}`,
      principalId: GROUP,
      principalType: "Group",
      roleDefinitionId,
    });
    await expectRestError(
      auth.roleAssignments.create(`/subscriptions/${SUB}`, "7b8c9d0e-1f2a-4b3c-94d5-e6f7a8b9c0d1", {
        roleDefinitionId,
        principalId: GROUP,
        principalType: "Group",
      }),
      409,
      "RoleAssignmentExists",
    );
    const atRg = await auth.roleAssignments.create(
      `/subscriptions/${SUB}/resourceGroups/rg-seeded`,
      "8c9d0e1f-2a3b-4c4d-a5e6-f7a8b9c0d1e2",
      {
        roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${CONTRIBUTOR}`,
        principalId: ALICE,
        principalType: "User",
      },
    );
    expect(atRg.roleDefinitionId).toBe(
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${CONTRIBUTOR}`,
    );
    const inRg = [];
    for await (const ra of auth.roleAssignments.listForResourceGroup("rg-seeded")) inRg.push(ra.scope);
    expect(inRg).toEqual([`/subscriptions/${SUB}`, `/subscriptions/${SUB}/resourceGroups/rg-seeded`]);
    const atSub = [];
    for await (const ra of auth.roleAssignments.listForSubscription({ filter: "atScope()" }))
      atSub.push(ra.name);
    expect(atSub).toContain("6a7b8c9d-0e1f-4a2b-83c4-d5e6f7a8b9c0");
    expect(atSub).not.toContain("8c9d0e1f-2a3b-4c4d-a5e6-f7a8b9c0d1e2");
    const forAlice = [];
    for await (const ra of auth.roleAssignments.listForScope(`/subscriptions/${SUB}`, {
      filter: `principalId eq '${ALICE}'`,
    }))
      forAlice.push(ra.name);
    expect(forAlice).toEqual(["8c9d0e1f-2a3b-4c4d-a5e6-f7a8b9c0d1e2"]);
    const byId = await auth.roleAssignments.getById(created.id!);
    expect(byId.name).toBe(created.name);
    const removed = await auth.roleAssignments.deleteById(created.id!);
    expect(removed.name).toBe(created.name);
    await expectRestError(
      auth.roleAssignments.get(`/subscriptions/${SUB}`, created.name!),
      404,
      "RoleAssignmentNotFound",
    );
    await em.events.flush();
    const ops = writesSince(before).map((w) => w.operationName);
    expect(ops).toEqual([
      "Microsoft.Authorization/roleAssignments/write",
      "Microsoft.Authorization/roleAssignments/write",
      "Microsoft.Authorization/roleAssignments/delete",
    ]);
  });

  it("answers PrincipalNotFound during the replication window unless principalType is set", async () => {
    em.faults.update({ replicationDelayMs: 60_000 });
    em.directory.seed({
      users: [
        {
          objectId: "9d0e1f2a-3b4c-4d5e-86f7-a8b9c0d1e2f3",
          userPrincipalName: "new@contoso.test",
          displayName: "New",
          createdAt: Date.now(),
        },
      ],
    });
    const roleDefinitionId = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${READER}`;
    const e = await expectRestError(
      auth.roleAssignments.create(`/subscriptions/${SUB}`, "0e1f2a3b-4c5d-4e6f-9708-b9c0d1e2f3a4", {
        roleDefinitionId,
        principalId: "9d0e1f2a-3b4c-4d5e-86f7-a8b9c0d1e2f3",
      }),
      400,
      "PrincipalNotFound",
    );
    expect(e.message).toContain("set the role assignment principalType property");
    const ok = await auth.roleAssignments.create(
      `/subscriptions/${SUB}`,
      "0e1f2a3b-4c5d-4e6f-9708-b9c0d1e2f3a4",
      { roleDefinitionId, principalId: "9d0e1f2a-3b4c-4d5e-86f7-a8b9c0d1e2f3", principalType: "User" },
    );
    expect(ok.principalType).toBe("User");
    await expectRestError(
      auth.roleAssignments.create(`/subscriptions/${SUB}`, "1f2a3b4c-5d6e-4f70-a819-c0d1e2f3a4b5", {
        roleDefinitionId,
        principalId: "ffffffff-ffff-4fff-8fff-ffffffffffff",
      }),
      400,
      "PrincipalNotFound",
    );
    await expectRestError(
      auth.roleAssignments.create(`/subscriptions/${SUB}`, "2a3b4c5d-6e7f-4a81-b92a-d1e2f3a4b5c6", {
        roleDefinitionId,
        principalId: ALICE,
        principalType: "Group",
      }),
      400,
      "UnmatchedPrincipalType",
    );
    await expectRestError(
      auth.roleAssignments.create(`/subscriptions/${SUB}`, "not-a-guid", {
        roleDefinitionId,
        principalId: ALICE,
        principalType: "User",
      }),
      400,
      "InvalidRoleAssignmentId",
    );
  });
});

describe("protocol details", () => {
  it("401s without or with a bad token, 400s without api-version, echoes correlation ids", async () => {
    const anon = await fetch(`${em.url}/subscriptions/${SUB}/resourcegroups?api-version=2025-04-01`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe("AuthenticationFailed");
    const badToken = await fetch(`${em.url}/subscriptions/${SUB}/resourcegroups?api-version=2025-04-01`, {
      headers: { authorization: "Bearer nonsense" },
    });
    expect(badToken.status).toBe(401);
    expect(((await badToken.json()) as { error: { code: string } }).error.code).toBe(
      "InvalidAuthenticationToken",
    );
    const noVersion = await raw("GET", `/subscriptions/${SUB}/resourcegroups`);
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.error).toEqual({
      code: "MissingApiVersionParameter",
      message: "The api-version query parameter (?api-version=) is required for all requests.",
    });
    const before = eventCount();
    const withId = await raw(
      "PUT",
      `/subscriptions/${SUB}/resourcegroups/rg-corr?api-version=2099-01-01`,
      { location: "eastus" },
      { "x-ms-correlation-request-id": "c0ffee00-0000-4000-8000-000000000001" },
    );
    expect(withId.status).toBe(201);
    expect(withId.headers.get("x-ms-correlation-request-id")).toBe("c0ffee00-0000-4000-8000-000000000001");
    expect(withId.headers.get("x-ms-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    await em.events.flush();
    expect(writesSince(before)).toEqual([
      {
        resourceId: `/subscriptions/${SUB}/resourceGroups/rg-corr`,
        operationName: "Microsoft.Resources/subscriptions/resourceGroups/write",
        correlationId: "c0ffee00-0000-4000-8000-000000000001",
      },
    ]);
    const log = em.requests.snapshot({ kind: "arm" }).requests;
    expect(log.find((r) => r.apiVersion === "2099-01-01")).toMatchObject({
      unknownApiVersion: true,
      status: 201,
      caller: APP.objectId,
    });
  });

  it("lets the SDK retry a 429 with Retry-After, and serves faults only as configured", async () => {
    em.faults.update({
      rules: [
        { method: "GET", path: "/resourcegroups/rg-seeded$", status: 429, retryAfterSeconds: 1, count: 1 },
      ],
    });
    const started = Date.now();
    const g = await arm.resourceGroups.get("rg-seeded");
    expect(g.name).toBe("rg-seeded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const throttled = em.requests.snapshot().requests.filter((r) => r.faulted);
    expect(throttled.at(-1)).toMatchObject({ status: 429, method: "GET" });
    em.faults.update({ rules: [{ path: "/resourcegroups/rg-seeded$", status: 503 }] });
    const noRetry = new ResourceManagementClient(
      emulatorSecretCredential(em.url, em.tenantId, APP.appId, APP.secret),
      SUB,
      armClientOptions(em.url, { maxRetries: 0 }),
    );
    await expectRestError(noRetry.resourceGroups.get("rg-seeded"), 503, "ServiceUnavailable");
  });

  it("fault rules can carry an ARM error code and message", async () => {
    em.faults.update({
      rules: [
        {
          method: "GET",
          path: "/resourcegroups/rg-seeded$",
          status: 409,
          code: "ScopeLocked",
          message: "The scope is locked (injected).",
          count: 1,
        },
      ],
    });
    const e = await expectRestError(arm.resourceGroups.get("rg-seeded"), 409, "ScopeLocked");
    expect(e.message).toBe("The scope is locked (injected).");
    expect((await arm.resourceGroups.get("rg-seeded")).name).toBe("rg-seeded");
    const r = await raw("GET", `/subscriptions/${SUB}/resourcegroups/rg-seeded?api-version=2025-04-01`);
    expect(r.status).toBe(200);
    em.faults.update({ rules: [{ path: "/resourcegroups/rg-seeded$", status: 400 }] });
    const generic = await raw("GET", `/subscriptions/${SUB}/resourcegroups/rg-seeded?api-version=2025-04-01`);
    expect(generic.body).toEqual({
      error: { code: "EmulatedFault", message: "Fault injected by the emulator (status 400)." },
    });
    expect(() => em.faults.update({ rules: [{ status: 400, code: "" }] })).toThrow(/rule.code/);
    em.faults.update({ rules: [] });
  });

  it("lists subscriptions and serves the control API", async () => {
    const subs = await raw("GET", "/subscriptions?api-version=2022-12-01");
    expect(subs.body.value.map((s: { subscriptionId: string }) => s.subscriptionId)).toEqual([
      SUB,
      OTHER_SUB,
    ]);
    const control = await fetch(`${em.url}/_emulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ latencyMs: 0 }),
    });
    expect(((await control.json()) as { latencyMs: number }).latencyMs).toBe(0);
    const requests = (await (await fetch(`${em.url}/_emulator/requests?kind=arm`)).json()) as {
      requests: unknown[];
      counters: { byKind: Record<string, number> };
    };
    expect(requests.counters.byKind.arm).toBeGreaterThan(10);
    const state = (await (await fetch(`${em.url}/_emulator/state`)).json()) as {
      arm: { resourceGroups: unknown[] };
    };
    expect(state.arm.resourceGroups.length).toBeGreaterThan(3);
  });
});
