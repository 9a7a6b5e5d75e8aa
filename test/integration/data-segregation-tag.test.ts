/**
 * `violations.mode: tag` for data violations: a datastore cannot carry tags, so its workspace's
 * violation tag shows its open dataSegregation violation, survives the workspace's own writes
 * (someone else's, and an attempt to take the tag off), and goes when the datastore is fixed.
 * Real promotion, real handler, events delivered by the emulator's Event Grid as deployed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE, STEWARD_APP } from "../../local/seeds/contoso.js";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { silentLogger } from "../../shared/log.js";
import { runReconcile } from "../../shared/reconcile/index.js";
import { environmentNames } from "../../shared/policy/index.js";
import { promotedWorldWithEvents, useEditedPolicy, type PromotionWorld } from "../helpers/promotion.js";
import { subscribeToWrites, type WebhookHarness } from "./tagging-harness.js";

const ML = "Microsoft.MachineLearningServices/workspaces";
const TAG = "policyViolation";

let w: PromotionWorld;
let hook: WebhookHarness;
let SUB: string;
let devWs: string;
let prodAccount: string;
let devAccount: string;

beforeAll(async () => {
  useEditedPolicy((policy) => (policy.violations = { mode: "tag", tagName: TAG }));
  ({ w, hook, sub: SUB } = await promotedWorldWithEvents("data-segregation-tag"));
  const dev = environmentNames(w.stack.policy, "fraud-detection", "dev");
  devWs = `/subscriptions/${SUB}/resourceGroups/${dev.resourceGroup}/providers/${ML}/${dev.workspace}`;
  prodAccount = environmentNames(w.stack.policy, "fraud-detection", "prod").storageAccount;
  devAccount = dev.storageAccount;
}, 180_000);

afterAll(async () => {
  await hook?.close();
  await w?.stop();
});

const settle = () => w.stack.emulator.events.flush();
const alice = () => w.stack.armAs(PEOPLE.alice.objectId, SUB);
const workspaceTags = async () => (await alice().resources.getById(devWs, "2022-10-01")).tags ?? {};
const putDatastore = (id: string, accountName: string) =>
  alice().resources.beginCreateOrUpdateByIdAndWait(id, "2022-10-01", {
    properties: {
      datastoreType: "AzureBlob",
      accountName,
      containerName: "raw",
      endpoint: "core.windows.net",
      credentials: { credentialsType: "None" },
    },
  });

describe("violations.mode: tag and a dev datastore on production storage", () => {
  it("tags the workspace on the datastore's event, keeps the tag through workspace writes, removes it when fixed", async () => {
    const id = `${devWs}/datastores/prod_raw`;
    expect(await workspaceTags()).not.toHaveProperty(TAG);

    await putDatastore(id, prodAccount);
    await settle();
    expect((await workspaceTags())[TAG]).toBe("dataSegregation");
    const rows = await new ViolationLog(azure().table(TABLES.violations)).list({ resourceId: id });
    expect(rows.map((r) => r.kind)).toEqual(["dataSegregation"]);
    // Nothing was deleted or rewritten: the datastore is as Alice wrote it.
    const ds = await alice().resources.getById(id, "2022-10-01");
    expect((ds.properties as { accountName?: string }).accountName).toBe(prodAccount);

    // Someone else's write to the workspace: its own decision sees the datastore's violation,
    // so the tag does not flap.
    const since = Date.now();
    await alice().tagsOperations.beginUpdateAtScopeAndWait(devWs, {
      operation: "Merge",
      properties: { tags: { note: "reviewed" } },
    });
    await settle();
    expect((await workspaceTags())[TAG]).toBe("dataSegregation");
    // ...and aml-steward wrote nothing for it (the tag already said the right thing).
    const writes = (await w.azureRequests(since)).filter(
      (r) => r.caller === STEWARD_APP.objectId && r.method !== "GET",
    );
    expect(writes).toEqual([]);

    // Taking the tag off by hand does not hide the violation: it is put back.
    const { [TAG]: _gone, ...rest } = await workspaceTags();
    await alice().tagsOperations.beginCreateOrUpdateAtScopeAndWait(devWs, { properties: { tags: rest } });
    await settle();
    expect((await workspaceTags())[TAG]).toBe("dataSegregation");

    // Fixed: the last open data violation of the workspace resolved, the tag goes.
    await putDatastore(id, devAccount);
    await settle();
    const after = await workspaceTags();
    expect(after).not.toHaveProperty(TAG);
    expect(after.note).toBe("reviewed");
  });

  it("a data version on production storage tags the workspace too; deleting it takes the tag off", async () => {
    const id = `${devWs}/data/prod_tx/versions/1`;
    await alice().resources.beginCreateOrUpdateByIdAndWait(id, "2022-10-01", {
      properties: { dataType: "uri_folder", dataUri: `https://${prodAccount}.blob.core.windows.net/raw/tx/` },
    });
    await settle();
    expect((await workspaceTags())[TAG]).toBe("dataSegregation");
    await alice().resources.beginDeleteByIdAndWait(id, "2022-10-01");
    await settle();
    expect(await workspaceTags()).not.toHaveProperty(TAG);
  });

  it("the nightly run puts the tag back from the ledger when no event did", async () => {
    const id = `${devWs}/datastores/nightly_raw`;
    await putDatastore(id, prodAccount);
    await settle();
    expect((await workspaceTags())[TAG]).toBe("dataSegregation");
    // Events stop reaching the app (an outage); someone takes the tag off meanwhile.
    await w.stack.control("DELETE", "/_emulator/eventSubscriptions/data-segregation-tag");
    const { [TAG]: _gone, ...rest } = await workspaceTags();
    await alice().tagsOperations.beginCreateOrUpdateAtScopeAndWait(devWs, { properties: { tags: rest } });
    await settle();
    expect(await workspaceTags()).not.toHaveProperty(TAG);

    const [report] = await runReconcile({ subscriptionIds: [SUB], logger: silentLogger });
    expect(report!.status).toBe("completed");
    expect((await workspaceTags())[TAG]).toBe("dataSegregation");

    await subscribeToWrites(w.stack, "data-segregation-tag", hook.url, SUB);
    await putDatastore(id, devAccount);
    await settle();
    expect(await workspaceTags()).not.toHaveProperty(TAG);
  });

  it("a datastore in a workspace aml-steward did not create tags nothing", async () => {
    const ex = w.stack.policy.exploration;
    const exWs = `/subscriptions/${ex.subscriptionId}/resourceGroups/${ex.resourceGroup}/providers/${ML}/${ex.workspace}`;
    const exArm = w.stack.armAs(PEOPLE.alice.objectId, ex.subscriptionId);
    await exArm.resources.beginCreateOrUpdateByIdAndWait(`${exWs}/datastores/prod_raw`, "2022-10-01", {
      properties: {
        datastoreType: "AzureBlob",
        accountName: prodAccount,
        containerName: "raw",
        endpoint: "core.windows.net",
        credentials: { credentialsType: "None" },
      },
    });
    await settle();
    const tags = (await exArm.resources.getById(exWs, "2022-10-01")).tags ?? {};
    expect(tags).not.toHaveProperty(TAG);
  });
});
