/**
 * Data segregation end to end: a real promotion builds fraud-detection's dev, qa and prod, then
 * people register datastores and connections in the dev workspace. The emulator's Event Grid
 * delivers their events, filtered as deployed, to the real onResourceWrite handler; violations
 * land in Azurite. Real SDKs against the emulator, which enforces RBAC (the app reads as Reader).
 */
import { InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildResourceEvent } from "@aml-steward/azure-emulator";
import { PEOPLE, STEWARD_APP } from "../../local/seeds/contoso.js";
import { audit } from "../../cli/commands/audit.js";
import { onResourceWrite } from "../../functions/onResourceWrite.js";
import { reconcileAccessNow } from "../../shared/access/nightly.js";
import { accessDeps, resetAccessState } from "../../shared/access/runtime.js";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { silentLogger } from "../../shared/log.js";
import { environmentNames } from "../../shared/policy/index.js";
import { startPromotionWorld, useEditedPolicy, type PromotionWorld } from "../helpers/promotion.js";
import { startWebhook, subscribeToWrites, type WebhookHarness } from "./tagging-harness.js";

const ML = "Microsoft.MachineLearningServices/workspaces";
const RESTRICTED = "switzerlandnorth";
const LIVE_ACCOUNT = "stcardslive01";

let w: PromotionWorld;
let hook: WebhookHarness;
let SUB: string;
let devRg: string;
let devWs: string;
let prodAccount: string;
let devAccount: string;
let promotionId: string;

beforeAll(async () => {
  // The Contoso policy, with a second region whose data must stay there.
  useEditedPolicy((policy) => {
    policy.regions = { ...policy.regions, allowed: ["westeurope", RESTRICTED], restricted: [RESTRICTED] };
  });
  w = await startPromotionWorld();
  await w.startHost();
  await seedLiveData();
  const { requestId } = await w.promote(w.request());
  promotionId = requestId;
  const record = await w.waitForRecord(requestId, (r) =>
    ["succeeded", "failed", "rejected"].includes(r.status),
  );
  expect(record.status).toBe("succeeded");
  SUB = w.stack.policy.projectSubscriptionId;
  const dev = environmentNames(w.stack.policy, "fraud-detection", "dev");
  const prod = environmentNames(w.stack.policy, "fraud-detection", "prod");
  devRg = dev.resourceGroup;
  devWs = `/subscriptions/${SUB}/resourceGroups/${devRg}/providers/${ML}/${dev.workspace}`;
  prodAccount = prod.storageAccount;
  devAccount = dev.storageAccount;
  hook = await startWebhook();
  resetAccessState();
  await subscribeToWrites(w.stack, "data-segregation", hook.url, SUB);
}, 180_000);

/**
 * Before the promotion: in exploration, a storage account classified production, a datastore
 * on it, and two data versions of the use case whose data is there (one by URL, one through
 * the datastore). Neither is tagged as production data: only where the data lives says so.
 */
async function seedLiveData() {
  const ex = w.stack.policy.exploration;
  const arm = w.stack.armAs(PEOPLE.alice.objectId, ex.subscriptionId);
  const rg = `/subscriptions/${ex.subscriptionId}/resourceGroups/${ex.resourceGroup}`;
  const ws = `${rg}/providers/${ML}/${ex.workspace}`;
  await arm.resources.beginCreateOrUpdateByIdAndWait(
    `${rg}/providers/Microsoft.Storage/storageAccounts/${LIVE_ACCOUNT}`,
    "2023-01-01",
    {
      location: "westeurope",
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
      tags: { "data-classification": "Production" },
    },
  );
  await arm.resources.beginCreateOrUpdateByIdAndWait(`${ws}/datastores/live_store`, "2022-10-01", {
    properties: blob(LIVE_ACCOUNT),
  });
  const version = (name: string, dataUri: string) =>
    arm.resources.beginCreateOrUpdateByIdAndWait(`${ws}/data/${name}/versions/1`, "2022-10-01", {
      properties: { dataType: "uri_folder", dataUri, tags: { useCase: "fraud-detection" } },
    });
  await version("transactions-live", `abfss://raw@${LIVE_ACCOUNT}.dfs.core.windows.net/tx/`);
  await version("transactions-ds", "azureml://datastores/live_store/paths/tx/");
}

afterAll(async () => {
  await hook?.close();
  await w?.stop();
});

const settle = () => w.stack.emulator.events.flush();
/** Alice is a Contributor on the project subscription: she may write datastores anywhere in it. */
const alice = () => w.stack.armAs(PEOPLE.alice.objectId, SUB);
const violations = () => new ViolationLog(azure().table(TABLES.violations));
const rowsOf = (id: string) => violations().list({ resourceId: id, includeResolved: true });

async function putChild(id: string, properties: Record<string, unknown>) {
  await alice().resources.beginCreateOrUpdateByIdAndWait(id, "2022-10-01", { properties });
}

const ctx = () => new InvocationContext({ functionName: "onResourceWrite", logHandler: () => {} });
/** The event the emulator delivered for a resource's first write. */
const eventOf = (id: string) =>
  w.stack.emulator.events.events().find((e) => e.event.subject.toLowerCase() === id.toLowerCase())!.event;
/** An event nobody's write produced, claiming a write by Erin (`child`: the type under the workspace). */
const forged = (resourceId: string, child: string) =>
  buildResourceEvent(
    {
      subscriptionId: SUB,
      resourceId,
      operationName: `${ML}/${child}/write`,
      caller: { ...PEOPLE.erin, kind: "user", createdAt: 0 },
      correlationId: "forged",
      httpMethod: "PUT",
      url: `https://management.azure.com${resourceId}`,
    },
    w.stack.emulator.tenantId,
    Date.now(),
  );

/** A storage account in the restricted region (its group made if missing). */
async function restrictedAccount(account: string) {
  const rg = `rg-zurich-data`;
  await alice().resourceGroups.createOrUpdate(rg, { location: RESTRICTED });
  await alice().resources.beginCreateOrUpdateByIdAndWait(
    `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/${account}`,
    "2023-01-01",
    { location: RESTRICTED, kind: "StorageV2", sku: { name: "Standard_LRS" } },
  );
}

/** Alice's own group and workspace in the project subscription: not aml-steward's. */
async function alicesWorkspace(): Promise<string> {
  const rg = "rg-alice-own";
  await alice().resourceGroups.createOrUpdate(rg, { location: "westeurope", tags: { costCenter: "CC-1" } });
  const ws = `/subscriptions/${SUB}/resourceGroups/${rg}/providers/${ML}/mlw-alice`;
  await alice().resources.beginCreateOrUpdateByIdAndWait(ws, "2022-10-01", {
    location: "westeurope",
    properties: {},
  });
  return ws;
}

/** Each id has one open row: dataSegregation, naming the prod account. */
async function expectOnProdStorage(ids: string[]) {
  for (const id of ids) {
    const rows = await rowsOf(id);
    expect(
      rows.map((r) => r.kind),
      id,
    ).toEqual(["dataSegregation"]);
    expect(rows[0]!.detail).toContain(`production storage account ${prodAccount}`);
  }
}

const dataVersion = (dataUri: string) => ({ dataType: "uri_folder", dataUri });

const blob = (accountName: string, extra: Record<string, unknown> = {}) => ({
  datastoreType: "AzureBlob",
  accountName,
  containerName: "raw",
  endpoint: "core.windows.net",
  credentials: { credentialsType: "None" },
  ...extra,
});

describe("datastores and connections of a dev workspace", () => {
  it("a dev datastore to the prod storage account is flagged from its event, and resolved when fixed", async () => {
    const id = `${devWs}/datastores/prod_raw`;
    const since = Date.now();
    await putChild(id, blob(prodAccount));
    await settle();
    // Two ARM reads, as the app (Reader): the datastore, and the account by name in the
    // project subscription. Nothing is written.
    const calls = (await w.azureRequests(since)).filter((r) => r.caller === STEWARD_APP.objectId);
    expect(calls.map((c) => `${c.method} ${c.path.split("/").slice(-2).join("/")}`)).toEqual([
      "GET datastores/prod_raw",
      `GET ${SUB}/resources`,
    ]);
    let rows = await rowsOf(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: "dataSegregation", project: "fraud-detection" });
    expect(rows[0]!.detail).toMatch(
      new RegExp(
        `datastore prod_raw of fraud-detection's dev workspace uses production storage account ${prodAccount} \\(in fraud-detection's prod resource group\\); dev may not`,
      ),
    );
    expect(rows[0]!.resolvedAt).toBeUndefined();
    // violations.mode: audit (Contoso's): recorded only, the workspace is not tagged
    // (data-segregation-tag.test.ts has mode tag).
    const ws = await alice().resources.getById(devWs, "2022-10-01");
    expect(Object.keys(ws.tags ?? {}).map((k) => k.toLowerCase())).not.toContain("policyviolation");

    // Pointed at dev's own storage: the same row is resolved, kept as history.
    await putChild(id, blob(devAccount));
    await settle();
    rows = await rowsOf(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.resolvedAt).toBeDefined();
  });

  it("a redelivered, duplicated or out-of-order event gives one row; a delete resolves it", async () => {
    const id = `${devWs}/datastores/twice`;
    await putChild(id, blob(prodAccount));
    await settle();
    const ev = eventOf(id);
    await onResourceWrite(ev, ctx());
    await onResourceWrite([ev, ev], ctx());
    let rows = await rowsOf(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.resolvedAt).toBeUndefined();

    await alice().resources.beginDeleteByIdAndWait(id, "2022-10-01");
    await settle();
    expect((await rowsOf(id))[0]!.resolvedAt).toBeDefined();
    // The old write event arriving after the delete reads the datastore, finds it gone, and
    // leaves the row resolved.
    await onResourceWrite(ev, ctx());
    rows = await rowsOf(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.resolvedAt).toBeDefined();
  });

  it("a forged event (a datastore that does not exist, or one on dev storage claimed as written by anyone) opens nothing", async () => {
    const compliant = `${devWs}/datastores/compliant`;
    await putChild(compliant, blob(devAccount));
    await settle();
    const ghost = `${devWs}/datastores/ghost`;
    await onResourceWrite(forged(ghost, "datastores"), ctx());
    await onResourceWrite(forged(compliant, "datastores"), ctx());
    expect(await rowsOf(ghost)).toEqual([]);
    expect(await rowsOf(compliant)).toEqual([]);
  });

  it("attacker spellings: an upper-case account name, a dotted endpoint, a privatelink URL and a folded path are the prod account", async () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      [`${devWs}/datastores/upper`, blob(prodAccount.toUpperCase(), { endpoint: "Core.Windows.Net." })],
      [
        `${devWs}/connections/odd-url`,
        {
          category: "AzureBlob",
          authType: "None",
          target: `HTTPS://${prodAccount.toUpperCase()}.Blob.Core.Windows.Net/raw/../other//`,
        },
      ],
      [
        `${devWs}/connections/private`,
        {
          category: "AzureBlob",
          authType: "None",
          target: `https://${prodAccount}.privatelink.blob.core.windows.net/`,
        },
      ],
    ];
    for (const [id, props] of cases) await putChild(id, props);
    await settle();
    await expectOnProdStorage(cases.map(([id]) => id));
  });

  it("an id that claims another subscription or group does not move an account: the account is found where it is", async () => {
    // The prod account named through an id that claims a dev group in another subscription.
    const spoofProd = `${devWs}/connections/spoof-prod`;
    await putChild(spoofProd, {
      category: "AzureBlob",
      authType: "None",
      target: `/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/${devRg}/providers/Microsoft.Storage/storageAccounts/${prodAccount}`,
    });
    // The dev account named through an id that claims the prod group: not production.
    const spoofDev = `${devWs}/connections/spoof-dev`;
    await putChild(spoofDev, {
      category: "AzureBlob",
      authType: "None",
      target: `/subscriptions/${SUB}/resourceGroups/rg-fraud-detection-prod/providers/Microsoft.Storage/storageAccounts/${devAccount}`,
    });
    // `..` in an id cannot be judged: recorded as unresolved, not ignored.
    const dotted = `${devWs}/connections/dotted`;
    await putChild(dotted, {
      category: "AzureBlob",
      authType: "None",
      target: `/subscriptions/${SUB}/resourceGroups/${devRg}/../x/providers/Microsoft.Storage/storageAccounts/${prodAccount}`,
    });
    await settle();
    expect((await rowsOf(spoofProd))[0]!.detail).toContain(`production storage account ${prodAccount}`);
    expect(await rowsOf(spoofDev)).toEqual([]);
    expect((await rowsOf(dotted))[0]!.detail).toMatch(/^unresolved: .*'\.' or '\.\.' segments/);
  });

  it("storage outside the governed subscriptions is recorded as unresolved; a non-Azure target is not judged", async () => {
    const unknown = `${devWs}/datastores/elsewhere`;
    await putChild(unknown, blob("stnotinthisestate01"));
    const git = `${devWs}/connections/git`;
    await putChild(git, { category: "Git", authType: "None", target: "https://github.com/contoso/fraud" });
    await settle();
    const rows = await rowsOf(unknown);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.detail).toMatch(
      /^unresolved: .*stnotinthisestate01, which is in no governed subscription/,
    );
    expect(await rowsOf(git)).toEqual([]);
  });

  it("a datastore in a workspace aml-steward did not create is not judged", async () => {
    const id = `${await alicesWorkspace()}/datastores/prod_raw`;
    await putChild(id, blob(prodAccount));
    await settle();
    expect(await rowsOf(id)).toEqual([]);
  });

  it("a datastore on storage in a restricted region, from a workspace in another region, is a dataResidency violation", async () => {
    const account = "stzurichdata01";
    await restrictedAccount(account);
    const id = `${devWs}/datastores/zurich`;
    await putChild(id, blob(account));
    await settle();
    const rows = await rowsOf(id);
    expect(rows.map((r) => r.kind)).toEqual(["dataResidency"]);
    expect(rows[0]!.detail).toMatch(
      /in westeurope\) uses storage account stzurichdata01 in switzerlandnorth, a restricted region/,
    );
  });
});

describe("data versions of a dev workspace", () => {
  it("a version whose dataUri is the prod storage account is flagged from its event, and resolved when deleted", async () => {
    const id = `${devWs}/data/prod_tx/versions/1`;
    const since = Date.now();
    await putChild(id, dataVersion(`https://${prodAccount}.blob.core.windows.net/raw/tx/`));
    await settle();
    // Two ARM reads, as the app: the version (never the event's body), and the account by name.
    const calls = (await w.azureRequests(since)).filter((r) => r.caller === STEWARD_APP.objectId);
    expect(calls.map((c) => `${c.method} ${c.path.split("/").slice(-2).join("/")}`)).toEqual([
      "GET versions/1",
      `GET ${SUB}/resources`,
    ]);
    let rows = await rowsOf(id);
    expect(rows.map((r) => r.kind)).toEqual(["dataSegregation"]);
    expect(rows[0]!.detail).toMatch(
      new RegExp(
        `^data version prod_tx:1 of fraud-detection's dev workspace uses production storage account ${prodAccount} \\(in fraud-detection's prod resource group\\); dev may not`,
      ),
    );
    // Redelivered, twice in a batch: the same row.
    await onResourceWrite(eventOf(id), ctx());
    await onResourceWrite([eventOf(id), eventOf(id)], ctx());
    expect(await rowsOf(id)).toHaveLength(1);

    await alice().resources.beginDeleteByIdAndWait(id, "2022-10-01");
    await settle();
    rows = await rowsOf(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.resolvedAt).toBeDefined();
  });

  it("a version on dev storage, a public web URL or no storage at all is not flagged", async () => {
    const cases: Array<[string, string]> = [
      [`${devWs}/data/dev_tx/versions/1`, `abfss://raw@${devAccount}.dfs.core.windows.net/tx/`],
      [`${devWs}/data/web_csv/versions/1`, "https://example.com/open-data/fraud.csv"],
      [`${devWs}/data/no_store/versions/1`, "azureml://datastores/nosuchstore/paths/x/"],
    ];
    for (const [id, uri] of cases) await putChild(id, dataVersion(uri));
    await settle();
    for (const [id] of cases) expect(await rowsOf(id), id).toEqual([]);
  });

  it("attacker spellings of the prod account in a data URI: casing, trailing dots, an encoded dot, '..' in the path", async () => {
    const uris = [
      `abfss://raw@${prodAccount.toUpperCase()}.DFS.Core.Windows.NET./tx/`,
      `wasbs://raw@${prodAccount}%2Eblob.core.windows.net/tx`,
      `HTTPS://${prodAccount}.Blob.Core.Windows.Net../raw/../other//`,
    ];
    const ids = uris.map((_, i) => `${devWs}/data/odd_${i}/versions/1`);
    for (const [i, id] of ids.entries()) await putChild(id, dataVersion(uris[i]!));
    await settle();
    await expectOnProdStorage(ids);
  });

  it("an azureml:// URI is judged through its datastore: both the datastore and the version are flagged", async () => {
    const store = `${devWs}/datastores/prod_for_data`;
    await putChild(store, blob(prodAccount));
    const id = `${devWs}/data/via_store/versions/3`;
    await putChild(id, dataVersion("azureml://datastores/prod_for_data/paths/tx/"));
    await settle();
    expect((await rowsOf(store)).map((r) => r.kind)).toEqual(["dataSegregation"]);
    const rows = await rowsOf(id);
    expect(rows.map((r) => r.kind)).toEqual(["dataSegregation"]);
    expect(rows[0]!.detail).toContain(
      `data version via_store:3 of fraud-detection's dev workspace uses production storage account ${prodAccount}`,
    );
  });

  it("a URL of an account in no governed subscription is recorded as unresolved", async () => {
    const id = `${devWs}/data/elsewhere/versions/1`;
    await putChild(id, dataVersion("https://stnotinthisestate02.blob.core.windows.net/x/"));
    await settle();
    expect((await rowsOf(id))[0]!.detail).toMatch(
      /^unresolved: data version elsewhere:1 .*stnotinthisestate02/,
    );
  });

  it("restricted-region storage from a workspace in another region is dataResidency", async () => {
    await restrictedAccount("stzurichdata02");
    const id = `${devWs}/data/zurich_tx/versions/1`;
    await putChild(id, dataVersion("abfss://raw@stzurichdata02.dfs.core.windows.net/tx/"));
    await settle();
    const rows = await rowsOf(id);
    expect(rows.map((r) => r.kind)).toEqual(["dataResidency"]);
    expect(rows[0]!.detail).toMatch(
      /^data version zurich_tx:1 .*in westeurope\) uses storage account stzurichdata02 in switzerlandnorth/,
    );
  });

  it("a forged event for a version that does not exist opens nothing; a version in a workspace aml-steward did not create is not judged", async () => {
    const ghost = `${devWs}/data/ghost/versions/1`;
    await onResourceWrite(forged(ghost, "data/versions"), ctx());
    expect(await rowsOf(ghost)).toEqual([]);
    const own = `${await alicesWorkspace()}/data/prod_tx/versions/1`;
    await putChild(own, dataVersion(`https://${prodAccount}.blob.core.windows.net/raw/`));
    await settle();
    expect(await rowsOf(own)).toEqual([]);
  });
});

describe("steward audit", () => {
  it("--project lists the project's data violations beside its access ones; --resource a datastore's", async () => {
    const lines: string[] = [];
    const io = { stdout: (t: string) => lines.push(t), stderr: () => {} };
    await audit({ io, json: false, verbose: false }, [], { project: "fraud-detection" });
    expect(lines.join("\n")).toMatch(/dataSegregation: .*datastores\/upper/);
    lines.length = 0;
    await audit({ io, json: false, verbose: false }, [], { resource: `${devWs}/datastores/upper` });
    expect(lines.join("\n")).toMatch(/dataSegregation +datastore upper of fraud-detection's dev workspace/);
  });
});

describe("promotion", () => {
  it("refuses data versions whose data is in production storage for dev, naming version, account and environment", async () => {
    const rec = (await w.records.get(promotionId))!;
    const detail = rec.steps.find((s) => s.name === "assets/copy")!.detail!;
    expect(detail).toContain(
      `refused as production data for dev (no production data): data transactions-live:1, its data is in production storage account ${LIVE_ACCOUNT} (tagged data-classification=Production)`,
    );
    expect(detail).toContain(
      `data transactions-ds:1, its data is in production storage account ${LIVE_ACCOUNT} (tagged data-classification=Production)`,
    );
    await expect(
      alice().resources.getById(`${devWs}/data/transactions-live/versions/1`, "2022-10-01"),
    ).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe("data-access role assignments", () => {
  const roleId = (guid: string) =>
    `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
  const BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
  const erin = () => w.stack.authorizationAs(PEOPLE.erin.objectId, SUB);
  const prodAccountId = () =>
    `/subscriptions/${SUB}/resourceGroups/${environmentNames(w.stack.policy, "fraud-detection", "prod").resourceGroup}/providers/Microsoft.Storage/storageAccounts/${prodAccount}`;

  async function devGroupId(): Promise<string> {
    const estate = await accessDeps(silentLogger).estate();
    return [...estate.groups.values()].find((g) => g.env === "dev" && g.project === "fraud-detection")!
      .objectId;
  }

  it("Storage Blob Data Reader for a dev group on the prod storage account is flagged from its event, and resolved when removed", async () => {
    const name = "5e5e5e5e-0000-4000-8000-000000000001";
    const id = `${prodAccountId()}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    await erin().roleAssignments.create(prodAccountId(), name, {
      roleDefinitionId: roleId(BLOB_READER),
      principalId: await devGroupId(),
      principalType: "Group",
    });
    await settle();
    let rows = await rowsOf(id);
    expect(rows.map((r) => r.kind)).toEqual(["dataSegregation"]);
    expect(rows[0]!.detail).toMatch(
      /^group .*\(fraud-detection dev, no production data\) holds role 2a2b9908.*storage account .* \(in fraud-detection's prod resource group\)/,
    );
    await erin().roleAssignments.deleteById(id);
    await settle();
    rows = await rowsOf(id);
    expect(rows[0]!.resolvedAt).toBeDefined();
  });

  it("the dev workspace's identity with Storage Blob Data Reader on the prod resource group is flagged; a prod group's is not", async () => {
    const ws = await alice().resources.getById(devWs, "2022-10-01");
    const prodRg = `/subscriptions/${SUB}/resourceGroups/${environmentNames(w.stack.policy, "fraud-detection", "prod").resourceGroup}`;
    const name = "5e5e5e5e-0000-4000-8000-000000000002";
    await erin().roleAssignments.create(prodRg, name, {
      roleDefinitionId: roleId(BLOB_READER),
      principalId: ws.identity!.principalId!,
      principalType: "ServicePrincipal",
    });
    const estate = await accessDeps(silentLogger).estate();
    const prodGroup = [...estate.groups.values()].find((g) => g.env === "prod")!.objectId;
    const prodName = "5e5e5e5e-0000-4000-8000-000000000003";
    await erin().roleAssignments.create(prodAccountId(), prodName, {
      roleDefinitionId: roleId(BLOB_READER),
      principalId: prodGroup,
      principalType: "Group",
    });
    await settle();
    const rows = await rowsOf(`${prodRg}/providers/Microsoft.Authorization/roleAssignments/${name}`);
    expect(rows.map((r) => r.kind)).toEqual(["dataSegregation"]);
    expect(rows[0]!.detail).toMatch(
      /^the identity of workspace .* holds role .* fraud-detection's prod resource group$/,
    );
    expect(
      await rowsOf(`${prodAccountId()}/providers/Microsoft.Authorization/roleAssignments/${prodName}`),
    ).toEqual([]);
  });
});

describe("the nightly run", () => {
  it("finds a dev datastore to prod storage written while no event arrived, resolves it when fixed, and when deleted", async () => {
    await w.stack.control("DELETE", "/_emulator/eventSubscriptions/data-segregation");
    const fixed = `${devWs}/datastores/nightly_fixed`;
    const deleted = `${devWs}/connections/nightly_deleted`;
    await putChild(fixed, blob(prodAccount, { datastoreType: "AzureDataLakeGen2", filesystem: "raw" }));
    await putChild(deleted, {
      category: "AzureDataLakeGen2",
      authType: "None",
      target: `https://${prodAccount}.dfs.core.windows.net/raw`,
    });
    const version = `${devWs}/data/nightly_data/versions/1`;
    await putChild(version, dataVersion(`abfss://raw@${prodAccount}.dfs.core.windows.net/n/`));
    await settle();
    expect(await rowsOf(fixed)).toEqual([]);
    expect(await rowsOf(version)).toEqual([]);

    const first = await reconcileAccessNow(silentLogger, "night-1");
    expect(first.dataAccess?.failedWorkspaces).toEqual([]);
    expect(first.dataAccess?.flagged).toEqual(expect.arrayContaining([fixed, deleted]));
    expect((await rowsOf(fixed))[0]).toMatchObject({ kind: "dataSegregation", correlationId: "night-1" });
    expect((await rowsOf(deleted))[0]!.resolvedAt).toBeUndefined();
    expect(first.dataAccess?.flagged).toContain(version);

    await putChild(fixed, blob(devAccount, { datastoreType: "AzureDataLakeGen2", filesystem: "raw" }));
    await alice().resources.beginDeleteByIdAndWait(deleted, "2022-10-01");
    await alice().resources.beginDeleteByIdAndWait(version, "2022-10-01");
    const second = await reconcileAccessNow(silentLogger, "night-2");
    expect(second.dataAccess?.flagged).not.toContain(fixed);
    expect((await rowsOf(fixed))[0]).toMatchObject({ resolvedBy: "night-2" });
    expect((await rowsOf(deleted))[0]).toMatchObject({ resolvedBy: "night-2" });
    expect((await rowsOf(version))[0]).toMatchObject({ resolvedBy: "night-2" });
    // A version's row from its event that still applies stays open (the scan listed it).
    expect((await rowsOf(`${devWs}/data/via_store/versions/3`))[0]!.resolvedAt).toBeUndefined();
    // Rows of the event tests that still apply stay open.
    expect((await rowsOf(`${devWs}/datastores/upper`))[0]!.resolvedAt).toBeUndefined();
  });

  it("finds a data-access role assignment of a dev group on prod storage made while no event arrived, and resolves it once removed", async () => {
    const estate = await accessDeps(silentLogger).estate();
    const devGroup = [...estate.groups.values()].find((g) => g.env === "qa")!.objectId;
    const prodRg = `/subscriptions/${SUB}/resourceGroups/${environmentNames(w.stack.policy, "fraud-detection", "prod").resourceGroup}`;
    const name = "5e5e5e5e-0000-4000-8000-000000000009";
    const id = `${prodRg}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    const erin = w.stack.authorizationAs(PEOPLE.erin.objectId, SUB);
    await erin.roleAssignments.create(prodRg, name, {
      roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe`,
      principalId: devGroup,
      principalType: "Group",
    });
    await settle();
    expect(await rowsOf(id)).toEqual([]);
    const night = await reconcileAccessNow(silentLogger, "night-3");
    expect(night.roleGrants?.failed).toEqual([]);
    expect(night.roleGrants?.flagged).toContain(id);
    expect((await rowsOf(id))[0]!.detail).toMatch(
      /\(fraud-detection qa, no production data\) holds role ba92f5b4/,
    );
    await erin.roleAssignments.deleteById(id);
    const after = await reconcileAccessNow(silentLogger, "night-4");
    expect(after.roleGrants?.resolvedGone).toBeGreaterThanOrEqual(1);
    expect((await rowsOf(id))[0]).toMatchObject({ resolvedBy: "night-4" });
  });
});
