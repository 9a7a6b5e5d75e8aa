/**
 * A promotion end to end: a real message on a real Azurite queue, the local Functions host,
 * the real handler and SDKs against the emulator. One request builds three environments,
 * groups and role assignments, moves the use case; replaying it writes nothing.
 */
import { envelopeFor } from "../../shared/promotion/envelope.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE, STEWARD_APP, USE_CASE, explorationIds } from "../../local/seeds/contoso.js";
import { environmentNames } from "../../shared/policy/index.js";
import { isWrite, startPromotionWorld, type PromotionWorld } from "../helpers/promotion.js";

let w: PromotionWorld;
let requestId: string;
let requestEnvelope: unknown;

beforeAll(async () => {
  w = await startPromotionWorld();
  await w.startHost();
  // A data asset of the use case that points at production data: it must not go to dev.
  const ws = explorationIds(w.stack.policy).workspace;
  await w.stack.control("POST", "/_emulator/seed", {
    resources: [
      {
        id: `${ws}/data/card-holders-live`,
        properties: {
          description: "live card holders",
          dataType: "uri_folder",
          tags: {},
          properties: {},
          isArchived: false,
        },
      },
      {
        id: `${ws}/data/card-holders-live/versions/1`,
        properties: {
          description: "live card holders v1",
          dataType: "uri_folder",
          dataUri: "azureml://datastores/prodlake/paths/cardholders/",
          tags: { [USE_CASE.tag]: USE_CASE.id, dataClassification: "production" },
          properties: {},
          isArchived: false,
        },
      },
    ],
  });
  const req = w.request();
  requestId = req.requestId;
  requestEnvelope = envelopeFor(await w.stack.apiToken(PEOPLE.alice.objectId), { request: req });
  await w.send(requestEnvelope);
  await w.waitForRecord(requestId, (r) => r.status === "awaitingApproval");
  await w.decide(requestId);
  await w.waitForRecord(
    requestId,
    (r) => r.status === "succeeded" || r.status === "failed" || r.status === "rejected",
  );
}, 120_000);
afterAll(async () => w?.stop());

const policy = () => w.stack.policy;
const project = "fraud-detection";
const sub = () => policy().projectSubscriptionId;

describe("promotion end to end", () => {
  it("succeeds on the first delivery and records every step", async () => {
    const r = (await w.records.get(requestId))!;
    expect(r.lastError).toBeUndefined();
    expect(r.status).toBe("succeeded");
    expect(r.attempts).toBe(1);
    expect(r.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        "dev/resourceGroup",
        "qa/workspace",
        "prod/roleAssignments",
        "assets/copy",
        "assets/archive",
      ]),
    );
    expect(r.steps.every((s) => s.outcome !== "failed")).toBe(true);
    expect(r.resources.length).toBeGreaterThan(3 * 7);
  });

  it("creates three resource groups, tagged by policy, with the requester and acceptance day as creator", async () => {
    const arm = w.stack.armAs(PEOPLE.erin.objectId, sub());
    const acceptedOn = (await w.records.get(requestId))!.acceptedAt.slice(0, 10);
    expect(acceptedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const env of ["dev", "qa", "prod"]) {
      const rg = await arm.resourceGroups.get(environmentNames(policy(), project, env).resourceGroup);
      expect(rg.location).toBe("westeurope");
      expect(rg.tags).toEqual({
        costCenter: "CC-2100-FRAUD",
        project,
        environment: env,
        owner: "erin@contoso.com",
        managedBy: "aml-steward",
        createdBy: "alice@contoso.com via aml-steward",
        createdOn: acceptedOn,
      });
    }
  });

  it("creates three workspaces with their dependencies and identity-based data access", async () => {
    const ml = w.stack.mlAs(PEOPLE.erin.objectId, sub());
    const arm = w.stack.armAs(PEOPLE.erin.objectId, sub());
    const created = {
      createdBy: "alice@contoso.com via aml-steward",
      createdOn: (await w.records.get(requestId))!.acceptedAt.slice(0, 10),
    };
    for (const env of ["dev", "qa", "prod"]) {
      const n = environmentNames(policy(), project, env);
      const ws = await ml.workspaces.get(n.resourceGroup, n.workspace);
      expect(ws.provisioningState).toBe("Succeeded");
      expect(ws.tags).toMatchObject({ project, environment: env, ...created });
      expect(ws.identity?.type).toBe("SystemAssigned");
      for (const dep of [ws.storageAccount, ws.keyVault, ws.applicationInsights, ws.containerRegistry]) {
        expect(dep).toBeTruthy();
        const res = await arm.resources.getById(dep!, "2023-01-01");
        expect(res.tags?.project).toBe(project);
        expect(res.tags).toMatchObject(created);
      }
      const resources = [];
      for await (const r of arm.resources.listByResourceGroup(n.resourceGroup))
        resources.push(r.type!.toLowerCase());
      expect(resources.sort()).toEqual(
        [
          "microsoft.containerregistry/registries",
          "microsoft.insights/components",
          "microsoft.keyvault/vaults",
          "microsoft.machinelearningservices/workspaces",
          "microsoft.operationalinsights/workspaces",
          "microsoft.storage/storageaccounts",
        ].sort(),
      );
      const ds = await ml.datastores.get(n.resourceGroup, n.workspace, "workspaceblobstore");
      expect(ds.properties).toMatchObject({
        credentials: { credentialsType: "None" },
        serviceDataAccessAuthIdentity: "WorkspaceSystemAssignedIdentity",
      });
    }
  });

  it("creates a group per role and environment, owned by aml-steward, with the requested members", async () => {
    const dir = w.stack.emulator.directory;
    for (const env of ["dev", "qa", "prod"]) {
      const n = environmentNames(policy(), project, env);
      for (const role of policy().roles) {
        const g = dir.findGroupByUniqueName(n.groups[role.name]!)!;
        expect(g, n.groups[role.name]).toBeTruthy();
        expect(g.securityEnabled).toBe(true);
        expect(g.owners).toEqual([STEWARD_APP.objectId]);
      }
      expect(dir.findGroupByUniqueName(n.groups["data-scientist"]!)!.members).toEqual([
        PEOPLE.alice.objectId,
      ]);
      expect(dir.findGroupByUniqueName(n.groups["mlops"]!)!.members.sort()).toEqual(
        [PEOPLE.carol.objectId, "f1f1f1f1-0000-4000-8000-00000000000f"].sort(),
      );
    }
    expect(dir.listGroups().filter((g) => g.uniqueName?.includes(project))).toHaveLength(
      3 * policy().roles.length,
    );
  });

  it("assigns exactly the access matrix, to groups, at each environment's resource group", async () => {
    const auth = w.stack.authorizationAs(PEOPLE.erin.objectId, sub());
    const dir = w.stack.emulator.directory;
    for (const env of ["dev", "qa", "prod"]) {
      const n = environmentNames(policy(), project, env);
      const scope = `/subscriptions/${sub()}/resourceGroups/${n.resourceGroup}`;
      const actual: string[] = [];
      for await (const ra of auth.roleAssignments.listForScope(scope, { filter: "atScope()" })) {
        if (ra.principalType !== "Group") continue;
        const group = dir.getGroup(ra.principalId!)!;
        const role = Object.entries(n.groups).find(([, u]) => u === group.uniqueName)![0];
        actual.push(`${role}|${ra.roleDefinitionId!.split("/").pop()}`);
      }
      const expected = policy().roles.flatMap((r) =>
        policy().accessMatrix[r.name]![env]!.map((g) => `${r.name}|${g.id}`),
      );
      expect(actual.sort()).toEqual(expected.sort());
    }
  });

  it("copies the use case's versions into dev with lineage, and archives them in exploration", async () => {
    const ex = explorationIds(policy());
    const exMl = w.stack.mlAs(PEOPLE.erin.objectId, ex.subscriptionId);
    const devMl = w.stack.mlAs(PEOPLE.erin.objectId, sub());
    const dev = environmentNames(policy(), project, "dev");
    const moved = [
      ["modelVersions", "fraud-classifier", "3"],
      ["dataVersions", "card-transactions", "1"],
      ["environmentVersions", "fraud-train-env", "2"],
      ["componentVersions", "train-fraud-model", "1"],
    ] as const;
    for (const [ops, name, version] of moved) {
      const copy = await devMl[ops].get(dev.resourceGroup, dev.workspace, name, version);
      const source = await exMl[ops].get(
        policy().exploration.resourceGroup,
        policy().exploration.workspace,
        name,
        version,
      );
      expect(copy.properties.description).toBe(`${name} v${version}`);
      expect(copy.properties.tags).toMatchObject({
        [USE_CASE.tag]: USE_CASE.id,
        stage: "candidate",
        promotedFrom: ex.workspace,
        promotedFromVersion: `${name}:${version}`,
        promotionRequest: requestId,
      });
      expect(copy.properties.isArchived).toBe(false);
      expect(source.properties.isArchived).toBe(true);
      expect(source.properties.tags).toMatchObject({ promotedTo: project, [USE_CASE.tag]: USE_CASE.id });
    }
    // Production data stays in exploration, active, and the record says why.
    const live = await exMl.dataVersions.get(
      policy().exploration.resourceGroup,
      policy().exploration.workspace,
      "card-holders-live",
      "1",
    );
    expect(live.properties.isArchived).toBe(false);
    expect(live.properties.tags?.promotedTo).toBeUndefined();
    await expect(
      devMl.dataVersions.get(dev.resourceGroup, dev.workspace, "card-holders-live", "1"),
    ).rejects.toMatchObject({ statusCode: 404 });
    const rec = (await w.records.get(requestId))!;
    expect(rec.steps.find((s) => s.name === "assets/copy")!.detail).toMatch(
      /refused as production data for dev \(no production data\): data card-holders-live:1, tagged dataClassification=production/,
    );
    // Another use case's model stays where it was, untouched.
    const other = await exMl.modelVersions.get(
      policy().exploration.resourceGroup,
      policy().exploration.workspace,
      "churn-baseline",
      "1",
    );
    expect(other.properties.isArchived).toBe(false);
    expect(other.properties.tags?.promotedTo).toBeUndefined();
    await expect(
      devMl.modelVersions.get(dev.resourceGroup, dev.workspace, "churn-baseline", "1"),
    ).rejects.toMatchObject({ statusCode: 404 });
  });

  it("records every write in the audit log under the project", async () => {
    const entries = await w.audit.byProject(project);
    const actions = new Set(entries.filter((e) => e.correlationId === requestId).map((e) => e.action));
    for (const a of [
      "resourceGroup.create",
      "workspace.create",
      "storageAccount.create",
      "group.create",
      "roleAssignment.create",
      "asset.model.copy",
      "asset.model.archive",
      "datastore.identityAccess",
    ]) {
      expect(actions.has(a), a).toBe(true);
    }
  });

  it("replaying the same messages makes no call to ARM or Graph at all, and is recorded", async () => {
    const since = Date.now();
    const host = w.host!;
    const r = (await w.records.get(requestId))!;
    for (const replay of [() => w.send(requestEnvelope), () => w.decide(requestId)]) {
      const done = host.waitForInvocation((i) => i.functionName === "processPromotion");
      await replay();
      expect((await done).ok).toBe(true);
    }
    expect(await w.azureRequests(since)).toEqual([]);
    const after = (await w.records.get(requestId))!;
    expect({ ...after, updatedAt: r.updatedAt, attemptLog: r.attemptLog }).toEqual(r);
    expect(after.attemptLog!.slice(-2).map((a) => a.outcome)).toEqual([
      "already succeeded",
      "already succeeded",
    ]);
  });

  it("a change by the project's owner to a non-production environment runs at once with zero writes", async () => {
    const since = Date.now();
    // The owner asks; createdBy only fills a gap, so the first request's value stays.
    const req = w.request({ requestedBy: PEOPLE.erin.userPrincipalName, environments: ["dev"] });
    await w.submit(req);
    const rec = await w.waitForRecord(
      req.requestId,
      (r) => r.status === "succeeded" || r.status === "failed",
    );
    expect(rec.status).toBe("succeeded");
    expect(rec.steps.filter((s) => s.writes > 0)).toEqual([]);
    const calls = await w.azureRequests(since);
    expect(calls.filter(isWrite)).toEqual([]);
    expect(calls.length).toBeGreaterThan(0);
    const rg = await w.stack
      .armAs(PEOPLE.erin.objectId, sub())
      .resourceGroups.get(environmentNames(policy(), project, "dev").resourceGroup);
    expect(rg.tags?.createdBy).toBe("alice@contoso.com via aml-steward");
  });

  it("serves the record over HTTP to its requester, owners and approvers only, with a bearer token", async () => {
    const { promotionStatus } = await import("../../functions/promotionApi.js");
    const { HttpRequest, InvocationContext } = await import("@azure/functions");
    const call = async (id: string, as?: { objectId: string }, auth?: string) =>
      promotionStatus(
        new HttpRequest({
          url: `http://localhost/api/promotions/${id}`,
          method: "GET",
          params: { id },
          headers: { authorization: auth ?? (as ? `Bearer ${await w.stack.apiToken(as.objectId)}` : "") },
        }),
        new InvocationContext({ functionName: "promotionStatus" }),
      );
    for (const reader of [PEOPLE.alice, PEOPLE.erin]) {
      const ok = await call(requestId.toUpperCase(), reader);
      expect(ok.status).toBe(200);
      expect(ok.jsonBody).toMatchObject({ requestId, status: "succeeded", project });
      expect(ok.jsonBody).not.toHaveProperty("lease");
    }
    // Dave is a reader of the project, not its requester, owner or approver; unknown looks the same.
    expect((await call(requestId, PEOPLE.dave)).status).toBe(404);
    expect((await call("0b0b0b0b-0000-4000-8000-000000000000", PEOPLE.alice)).status).toBe(404);
    expect((await call("x' or 1 eq 1", PEOPLE.alice)).status).toBe(400);
    const none = await call(requestId);
    expect(none.status).toBe(401);
    const bad = await call(requestId, undefined, "Bearer eyJhbGciOiJub25lIn0.e30.");
    expect(bad.status).toBe(401);
    expect((bad.headers as Record<string, string>)["WWW-Authenticate"]).toMatch(/error="invalid_token"/);
  });
});
