/**
 * Setups beyond Contoso, end to end on the local stack with the team-workspaces example
 * policy: a team onboarded through the same envelope, authorisation and approval as a
 * project; a project promoted from that team workspace; a project narrowing the estate matrix
 * for itself; a widening refused; one- and two-environment promotions. A team workspace is
 * judged as holding no production data (data segregation).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { silentLogger } from "../../shared/log.js";
import { environmentNames } from "../../shared/policy/index.js";
import { checkDataAccess } from "../../shared/segregation/dataAccess.js";
import { dataAccessDeps } from "../../shared/segregation/runtime.js";
import { TEAM_ENV } from "../../shared/policy/setupRules.js";
import { startPromotionWorld, type PromotionWorld } from "../helpers/promotion.js";

const POLICY = fileURLToPath(new URL("../../examples/policies/team-workspaces.yaml", import.meta.url));
let w: PromotionWorld;
const previous = process.env.STEWARD_POLICY_PATH;

beforeAll(async () => {
  process.env.STEWARD_POLICY_PATH = path.resolve(POLICY);
  w = await startPromotionWorld();
  await w.startHost();
}, 120_000);
afterAll(async () => {
  await w?.stop();
  if (previous === undefined) delete process.env.STEWARD_POLICY_PATH;
  else process.env.STEWARD_POLICY_PATH = previous;
});

const done = (s: string) => ["succeeded", "failed", "rejected"].includes(s);
const sub = () => w.stack.policy.projectSubscriptionId;
const members = {
  "data-scientist": ["alice@contoso.com"],
  "ml-engineer": ["bob@contoso.com"],
  mlops: ["carol@contoso.com"],
  reader: ["dave@contoso.com"],
};

async function run(over: Record<string, unknown>) {
  const body = w.request({ members, ...over });
  await w.promote(body);
  return w.waitForRecord(body.requestId, (r) => done(r.status));
}

/** Role names granted to a role's group on an environment's resource group. */
async function granted(project: string, env: string, role: string): Promise<string[]> {
  const n = environmentNames(w.stack.policy, project, env);
  const auth = w.stack.authorizationAs(PEOPLE.erin.objectId, sub());
  const group = (await w.records.get(await lastRequestOf(project)))!.resources.find((r) =>
    r.startsWith(`group:${n.groups[role]}:`),
  )!;
  const groupId = group.split(":")[2]!;
  const out: string[] = [];
  const scope = `/subscriptions/${sub()}/resourceGroups/${n.resourceGroup}`;
  for await (const a of auth.roleAssignments.listForScope(scope, { filter: "atScope()" }))
    if (a.principalId === groupId) {
      const guid = a.roleDefinitionId!.split("/").pop()!;
      const def = Object.values(w.stack.policy.accessMatrix)
        .flatMap((row) => Object.values(row).flat())
        .find((g) => g.id === guid);
      out.push(def?.name ?? guid);
    }
  return out.sort();
}
const requests = new Map<string, string>();
const lastRequestOf = async (project: string) => requests.get(project)!;

describe("team workspaces", () => {
  it("onboards a team through the approved request flow: its resource group, workspace, groups and tags", async () => {
    const body = w.request({
      project: "fraud",
      kind: "team",
      useCaseId: "onboarding",
      environments: undefined,
    });
    delete (body as Record<string, unknown>).environments;
    const waiting = await w.promote(body);
    expect(waiting.approval?.reasons).toEqual(['new team workspace "fraud" under CC-2100-FRAUD']);
    const r = await w.waitForRecord(body.requestId, (x) => done(x.status));
    requests.set("fraud", body.requestId);
    expect(r.lastError).toBeUndefined();
    expect(r.status).toBe("succeeded");
    expect(r.steps.map((s) => s.name)).not.toContain("assets/copy");
    const n = environmentNames(w.stack.policy, "fraud", TEAM_ENV);
    const rg = await w.stack.armAs(PEOPLE.erin.objectId, sub()).resourceGroups.get(n.resourceGroup);
    expect(rg.tags).toMatchObject({ project: "fraud", environment: TEAM_ENV, costCenter: "CC-2100-FRAUD" });
    const ws = await w.stack.mlAs(PEOPLE.erin.objectId, sub()).workspaces.get(n.resourceGroup, n.workspace);
    expect(ws.provisioningState).toBe("Succeeded");
    expect(ws.tags).toMatchObject({ project: "fraud", environment: TEAM_ENV });
    for (const role of Object.keys(members))
      expect(r.resources.some((x) => x.startsWith(`group:${n.groups[role]}:`))).toBe(true);
    // The team's groups get the first environment's column of the matrix.
    expect(await granted("fraud", TEAM_ENV, "data-scientist")).toEqual(
      w.stack.policy.accessMatrix["data-scientist"]!.dev!.map((g) => g.name).sort(),
    );
  });

  it("judges the team workspace as holding no production data: a datastore on production storage there is flagged", async () => {
    // Depends on the onboarding above. A team workspace is not an environment of the policy,
    // and only an environment the policy lists with productionData may hold production data.
    const n = environmentNames(w.stack.policy, "fraud", TEAM_ENV);
    const ws = `/subscriptions/${sub()}/resourceGroups/${n.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${n.workspace}`;
    const ex = w.stack.policy.exploration;
    const account = `/subscriptions/${ex.subscriptionId}/resourceGroups/${ex.resourceGroup}/providers/Microsoft.Storage/storageAccounts/stteamlive01`;
    await w.stack
      .armAs(PEOPLE.alice.objectId, ex.subscriptionId)
      .resources.beginCreateOrUpdateByIdAndWait(account, "2023-01-01", {
        location: "westeurope",
        kind: "StorageV2",
        sku: { name: "Standard_LRS" },
        tags: { "data-classification": "Production" },
      });
    const id = `${ws}/datastores/live`;
    const datastore = {
      datastoreType: "AzureBlob",
      accountName: "stteamlive01",
      containerName: "raw",
      endpoint: "core.windows.net",
      credentials: { credentialsType: "None" },
    };
    await w.stack
      .armAs(PEOPLE.alice.objectId, sub())
      .resources.beginCreateOrUpdateByIdAndWait(id, "2022-10-01", {
        properties: datastore,
      });
    const outcome = await checkDataAccess(id, dataAccessDeps(silentLogger));
    expect(outcome).toMatchObject({ result: "checked", violations: [{ kind: "dataSegregation" }] });
    const rows = await new ViolationLog(azure().table(TABLES.violations)).list({ resourceId: id });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.detail).toMatch(
      /datastore live of fraud's team workspace uses production storage account stteamlive01 \(tagged data-classification=Production\); team may not hold production data/,
    );
  });

  it("refuses onboarding an undeclared team or under another cost centre", async () => {
    const bad = w.request({ project: "payments", kind: "team", costCenter: "CC-2200-CHURN" });
    delete (bad as Record<string, unknown>).environments;
    await w.submit(bad);
    const r = await w.waitForRecord(bad.requestId, (x) => x.status === "rejected");
    expect(r.reasons?.map((x) => x.reason).join("\n")).toMatch(
      /"payments" is not a team of the estate policy/,
    );
  });

  it("promotes a project from the team workspace into two environments", async () => {
    const n = environmentNames(w.stack.policy, "fraud", TEAM_ENV);
    const ws = `/subscriptions/${sub()}/resourceGroups/${n.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${n.workspace}`;
    await w.stack.control("POST", "/_emulator/seed", {
      resources: [
        { id: `${ws}/models/card-scorer`, properties: { description: "scorer", tags: {}, properties: {} } },
        {
          id: `${ws}/models/card-scorer/versions/2`,
          properties: {
            description: "scorer v2",
            modelType: "mlflow_model",
            modelUri: "azureml://datastores/workspaceblobstore/paths/models/scorer/2",
            tags: { useCase: "card-scoring" },
            properties: {},
            isArchived: false,
          },
        },
      ],
    });
    const r = await run({
      project: "card-scoring",
      useCaseId: "card-scoring",
      fromTeam: "fraud",
      environments: ["dev", "prod"],
    });
    requests.set("card-scoring", r.requestId);
    expect(r.lastError).toBeUndefined();
    expect(r.status).toBe("succeeded");
    expect(r.plan?.environments.map((e) => e.env)).toEqual(["dev", "prod"]);
    expect(r.plan?.assets.sourceWorkspaceId.toLowerCase()).toBe(ws.toLowerCase());
    const dev = environmentNames(w.stack.policy, "card-scoring", "dev");
    const copy = await w.stack
      .mlAs(PEOPLE.erin.objectId, sub())
      .modelVersions.get(dev.resourceGroup, dev.workspace, "card-scorer", "2");
    expect(copy.properties.tags?.promotedFrom?.toLowerCase()).toBe(ws.toLowerCase());
  });

  it("only a team's owners and members may promote from its workspace; a team must be onboarded first", async () => {
    const onboarding = w.request({
      project: "churn",
      kind: "team",
      costCenter: "CC-2200-CHURN",
      useCaseId: "onboarding",
      members: { "data-scientist": ["alice@contoso.com"] },
    });
    delete (onboarding as Record<string, unknown>).environments;
    await w.promote(onboarding);
    expect((await w.waitForRecord(onboarding.requestId, (x) => done(x.status))).status).toBe("succeeded");

    const outsider = w.request({
      project: "churn-model",
      useCaseId: "churn-model",
      costCenter: "CC-2200-CHURN",
      fromTeam: "churn",
      requestedBy: "bob@contoso.com",
    });
    await w.submit(outsider, PEOPLE.bob);
    const refused = await w.waitForRecord(outsider.requestId, (x) => x.status === "rejected");
    expect(refused.reasons).toEqual([
      {
        path: "fromTeam",
        reason:
          'bob@contoso.com is neither an owner nor a member of team "churn", so cannot promote from its workspace',
      },
    ]);

    const early = w.request({
      project: "forecast-model",
      useCaseId: "forecast-model",
      costCenter: "CC-2300-FORECAST",
      fromTeam: "forecast",
    });
    await w.submit(early);
    const notYet = await w.waitForRecord(early.requestId, (x) => x.status === "rejected");
    expect(notYet.reasons?.map((x) => x.reason)).toEqual([
      'team "forecast" has no workspace yet: it must be onboarded first',
    ]);
  });
});

describe("environments and per-solution access", () => {
  it("promotes a single-environment project", async () => {
    const r = await run({ project: "churn-lab", useCaseId: "churn-lab", environments: ["prod"] });
    expect(r.status).toBe("succeeded");
    expect(r.plan?.environments.map((e) => e.env)).toEqual(["prod"]);
  });

  it("a project narrows the estate matrix for itself: recorded, and only that is granted", async () => {
    const r = await run({
      project: "fraud-narrow",
      useCaseId: "fraud-narrow",
      environments: ["dev", "qa"],
      narrowAccess: { "data-scientist": { qa: ["Reader"] }, reader: { dev: ["Reader"] } },
    });
    requests.set("fraud-narrow", r.requestId);
    expect(r.status).toBe("succeeded");
    expect(r.plan?.access).toEqual([
      {
        role: "data-scientist",
        env: "qa",
        granted: ["Reader"],
        dropped: ["AzureML Data Scientist", "Storage Blob Data Reader"],
      },
      { role: "reader", env: "dev", granted: ["Reader"], dropped: ["Storage Blob Data Reader"] },
    ]);
    expect(await granted("fraud-narrow", "qa", "data-scientist")).toEqual(["Reader"]);
    expect(await granted("fraud-narrow", "dev", "reader")).toEqual(["Reader"]);
    expect(await granted("fraud-narrow", "qa", "ml-engineer")).toEqual(
      w.stack.policy.accessMatrix["ml-engineer"]!.qa!.map((g) => g.name).sort(),
    );
  });

  it("refuses a widening before anything is created", async () => {
    const body = w.request({
      project: "fraud-wide",
      useCaseId: "fraud-wide",
      narrowAccess: { reader: { prod: ["Reader", "Storage Blob Data Contributor"] } },
    });
    await w.submit(body);
    const r = await w.waitForRecord(body.requestId, (x) => x.status === "rejected");
    expect(r.reasons).toEqual([
      {
        path: "narrowAccess.reader.prod.1",
        reason: expect.stringMatching(/widens the estate access matrix/),
      },
    ]);
    expect(r.resources).toEqual([]);
  });
});
