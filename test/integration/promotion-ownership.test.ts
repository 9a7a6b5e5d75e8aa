/**
 * Nothing adopted, nothing hijacked: each attack of issue 12 tried through the real queue, the
 * real handler and the real SDKs against the emulator. Each must end in a recorded refusal, a
 * `security` violation where someone else's object was in the way, and nothing written to Azure.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client as GraphClient } from "@microsoft/microsoft-graph-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE, STEWARD_APP, explorationIds } from "../../local/seeds/contoso.js";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { environmentNames } from "../../shared/policy/naming.js";
import type { PromotionRecord } from "../../shared/promotion/record.js";
import { isWrite, startPromotionWorld, type PromotionWorld } from "../helpers/promotion.js";

let w: PromotionWorld;
beforeAll(async () => {
  w = await startPromotionWorld();
  await w.startHost();
}, 60_000);
afterAll(async () => w?.stop());

const finished = (r: PromotionRecord) =>
  !["accepted", "awaitingApproval", "approved", "running"].includes(r.status);
const sub = () => w.stack.policy.projectSubscriptionId;
const violations = () => new ViolationLog(azure().table(TABLES.violations));

/** A Graph client acting as a seeded person, as Graph Explorer or a script of theirs would. */
function graphAs(objectId: string): GraphClient {
  const cred = new EmulatorPrincipalCredential(w.stack.url, { objectId });
  return GraphClient.initWithMiddleware({
    authProvider: {
      getAccessToken: async () => (await cred.getToken("https://graph.microsoft.com/.default"))!.token,
    },
    baseUrl: `${w.stack.url}/`,
    customHosts: new Set([new URL(w.stack.url).hostname]),
  });
}

const ref = (id: string) => `https://graph.microsoft.com/v1.0/directoryObjects/${id}`;

/** Sends a request and expects a refusal with no write to ARM or Graph. */
async function refused(over: Record<string, unknown>): Promise<PromotionRecord> {
  const req = w.request({ costCenter: "CC-2100-FRAUD", useCaseId: "no-such-use-case", ...over });
  const since = Date.now();
  await w.submit(req);
  const rec = await w.waitForRecord(req.requestId, finished);
  expect(rec.status, JSON.stringify(rec.reasons ?? rec.lastError)).toBe("rejected");
  // aml-steward's writes: the attacker's own set-up may share the millisecond `since` starts at.
  const mine = (await w.azureRequests(since)).filter((r) => r.caller === STEWARD_APP.objectId);
  expect(mine.filter(isWrite)).toEqual([]);
  return rec;
}

describe("Entra groups are create-only", () => {
  it("a squatted prod group (aml-steward added as co-owner) stops the promotion and is left as it was", async () => {
    const project = "squat-target";
    const name = environmentNames(w.stack.policy, project, "prod").groups["data-scientist"]!;
    const dave = graphAs(PEOPLE.dave.objectId);
    const squat = (await dave.api("/groups").post({
      displayName: name,
      mailNickname: name,
      mailEnabled: false,
      securityEnabled: true,
      uniqueName: name,
      description: "looks legit",
      "owners@odata.bind": [ref(PEOPLE.dave.objectId), ref(STEWARD_APP.objectId)],
      "members@odata.bind": [ref(PEOPLE.dave.objectId)],
    })) as { id: string };
    const dir = w.stack.emulator.directory;
    const before = structuredClone(dir.findGroupByUniqueName(name)!);

    const rec = await refused({ project });
    expect(rec.reasons).toEqual([
      expect.objectContaining({
        path: "project",
        reason: expect.stringMatching(
          new RegExp(
            `Entra group ${name} \\(${squat.id}\\) already exists and aml-steward did not create it`,
          ),
        ),
      }),
    ]);
    expect(rec.reasons![0]!.reason).toMatch(/owners other than aml-steward: da7e0000/);
    const after = dir.findGroupByUniqueName(name)!;
    expect({ ...after }).toEqual({ ...before });
    expect(dir.listGroups().filter((g) => g.uniqueName?.includes(project))).toHaveLength(1);

    const v = (await violations().list({ subscriptionId: sub() })).filter(
      (x) => x.kind === "security" && x.resourceId === `group:${name}`,
    );
    expect(v).toEqual([
      expect.objectContaining({ project, correlationId: rec.requestId, detail: rec.reasons![0]!.reason }),
    ]);
  });

  it("a group squatted after admission is refused by the groups step: failed, never written to, never granted", async () => {
    const project = "late-squat";
    const name = environmentNames(w.stack.policy, project, "prod").groups["reader"]!;
    const squat = (await graphAs(PEOPLE.dave.objectId)
      .api("/groups")
      .post({
        displayName: name,
        mailNickname: name,
        mailEnabled: false,
        securityEnabled: true,
        uniqueName: name,
        "owners@odata.bind": [ref(PEOPLE.dave.objectId), ref(STEWARD_APP.objectId)],
      })) as { id: string };
    const dir = w.stack.emulator.directory;
    const before = structuredClone(dir.findGroupByUniqueName(name)!);
    // Admission's look-up misses it, as if it were created a moment later.
    await w.stack.control("POST", "/_emulator/faults", {
      rules: [{ method: "GET", path: name, status: 404, count: 1 }],
    });
    const req = w.request({
      project,
      costCenter: "CC-2100-FRAUD",
      useCaseId: "no-such-use-case",
      environments: ["prod"],
    });
    await w.promote(req);
    const rec = await w.waitForRecord(req.requestId, finished);
    await w.stack.control("POST", "/_emulator/faults", { rules: [] });
    expect(rec.status).toBe("failed");
    const step = rec.steps.find((s) => s.name === "prod/groups")!;
    expect(step.outcome).toBe("failed");
    expect(step.detail).toMatch(new RegExp(`Entra group ${name} \\(${squat.id}\\) already exists`));
    expect(rec.steps.find((s) => s.name === "prod/roleAssignments")).toBeUndefined();
    expect({ ...dir.findGroupByUniqueName(name)! }).toEqual({ ...before });

    const auth = w.stack.authorizationAs(PEOPLE.erin.objectId, sub());
    for await (const ra of auth.roleAssignments.listForSubscription())
      expect(ra.principalId).not.toBe(squat.id);
    const v = (await violations().list({ subscriptionId: sub() })).filter(
      (x) => x.kind === "security" && x.resourceId === `group:${name}`,
    );
    expect(v).toEqual([expect.objectContaining({ project, correlationId: rec.requestId })]);
  });

  it("a group named as a member ('All staff') is refused: groups are never nested", async () => {
    const allStaff = (await graphAs(PEOPLE.dave.objectId).api("/groups").post({
      displayName: "All staff",
      mailNickname: "all-staff",
      mailEnabled: false,
      securityEnabled: true,
    })) as { id: string };
    const project = "nesting-target";
    const rec = await refused({
      project,
      members: { reader: [PEOPLE.dave.userPrincipalName, allStaff.id] },
      owners: [PEOPLE.erin.userPrincipalName, allStaff.id],
    });
    expect(rec.reasons!.map((r) => r.path).sort()).toEqual(["members.reader.1", "owners.1"]);
    expect(rec.reasons![0]!.reason).toMatch(/is a group \(All staff\); only users, service principals/);
    expect(w.stack.emulator.directory.listGroups().filter((g) => g.uniqueName?.includes(project))).toEqual(
      [],
    );
  });
});

describe("resource groups are never adopted", () => {
  it("a foreign resource group with the derived name, and one with copied aml-steward tags, are refused and left alone", async () => {
    const project = "adopt-target";
    const qa = environmentNames(w.stack.policy, project, "qa").resourceGroup;
    const dev = environmentNames(w.stack.policy, project, "dev").resourceGroup;
    const foreignTags = { team: "payments" };
    const forgedTags = { managedBy: "aml-steward", project, costCenter: "CC-2100-FRAUD" };
    await w.stack.control("POST", "/_emulator/seed", {
      resourceGroups: [
        { subscriptionId: sub(), name: qa, location: "westeurope", tags: foreignTags },
        { subscriptionId: sub(), name: dev, location: "westeurope", tags: forgedTags },
      ],
    });
    const rec = await refused({ project });
    const reasons = rec.reasons!.map((r) => r.reason);
    expect(reasons).toHaveLength(2);
    expect(reasons.find((r) => r.includes(qa))).toMatch(
      /no managedBy=aml-steward tag; project tag is null; no promotion record of the project lists it\); aml-steward never adopts a resource group/,
    );
    expect(reasons.find((r) => r.includes(dev))).toMatch(/\(no promotion record of the project lists it\)/);

    const arm = w.stack.armAs(PEOPLE.erin.objectId, sub());
    expect((await arm.resourceGroups.get(qa)).tags).toEqual(foreignTags);
    expect((await arm.resourceGroups.get(dev)).tags).toEqual(forgedTags);
    const auth = w.stack.authorizationAs(PEOPLE.erin.objectId, sub());
    for (const rg of [qa, dev]) {
      const scope = `/subscriptions/${sub()}/resourceGroups/${rg}`;
      const list = [];
      // Assignments made on the group itself (the seed's people hold theirs at the subscription).
      for await (const ra of auth.roleAssignments.listForScope(scope, { filter: "atScope()" }))
        if (ra.scope?.toLowerCase() === scope.toLowerCase()) list.push(ra);
      expect(list).toEqual([]);
    }
    const v = (await violations().list({ subscriptionId: sub() })).filter(
      (x) => x.kind === "security" && x.project === project,
    );
    expect(v.map((x) => x.resourceId.toLowerCase()).sort()).toEqual(
      [qa, dev].map((rg) => `/subscriptions/${sub()}/resourcegroups/${rg}`.toLowerCase()).sort(),
    );
  });
});

describe("resource groups that appear after admission", () => {
  it("are refused by the resource group step: failed, tags unchanged, no role assignment on them", async () => {
    const project = "late-rg";
    const rg = environmentNames(w.stack.policy, project, "prod").resourceGroup;
    const tags = { team: "payments" };
    await w.stack.control("POST", "/_emulator/seed", {
      resourceGroups: [{ subscriptionId: sub(), name: rg, location: "westeurope", tags }],
    });
    // Admission's look-up misses it, as if it were created a moment later.
    await w.stack.control("POST", "/_emulator/faults", {
      rules: [
        {
          method: "GET",
          path: `resourcegroups/${rg}$`,
          status: 404,
          code: "ResourceGroupNotFound",
          count: 1,
        },
      ],
    });
    const req = w.request({
      project,
      costCenter: "CC-2200-CHURN",
      useCaseId: "no-such-use-case",
      environments: ["prod"],
    });
    await w.promote(req);
    const rec = await w.waitForRecord(req.requestId, finished);
    await w.stack.control("POST", "/_emulator/faults", { rules: [] });
    expect(rec.status).toBe("failed");
    const step = rec.steps.find((s) => s.name === "prod/resourceGroup")!;
    expect(step.outcome).toBe("failed");
    expect(step.detail).toMatch(/already exists and aml-steward did not create it/);
    expect((await w.stack.armAs(PEOPLE.erin.objectId, sub()).resourceGroups.get(rg)).tags).toEqual(tags);
    const auth = w.stack.authorizationAs(PEOPLE.erin.objectId, sub());
    const scope = `/subscriptions/${sub()}/resourceGroups/${rg}`;
    for await (const ra of auth.roleAssignments.listForScope(scope))
      if (ra.scope?.toLowerCase() === scope.toLowerCase()) expect(ra).toBeUndefined();
    const v = (await violations().list({ subscriptionId: sub() })).filter(
      (x) => x.kind === "security" && x.project === project,
    );
    expect(v).toEqual([expect.objectContaining({ resourceId: scope, correlationId: rec.requestId })]);
  });
});

describe("assets of other use cases and projects", () => {
  beforeAll(async () => {
    const { workspace } = explorationIds(w.stack.policy);
    await w.stack.control("POST", "/_emulator/seed", {
      resources: [
        {
          id: `${workspace}/models/fraud-rules`,
          properties: { description: "rules", tags: {}, properties: {}, isArchived: false },
        },
        {
          id: `${workspace}/models/fraud-rules/versions/2`,
          properties: {
            description: "rules v2",
            tags: { useCase: "fraud-detection", promotedTo: "fraud-ops" },
            properties: {},
            isArchived: true,
            modelType: "custom_model",
            modelUri: "azureml://datastores/workspaceblobstore/paths/fraud/rules",
          },
        },
      ],
    });
  });

  it("an explicitly named version of another use case, or one already promoted to another project, is refused and untouched", async () => {
    const ml = w.stack.mlAs(PEOPLE.erin.objectId, explorationIds(w.stack.policy).subscriptionId);
    const ex = w.stack.policy.exploration;
    const churnBefore = await ml.modelVersions.get(ex.resourceGroup, ex.workspace, "churn-baseline", "1");
    const rec = await refused({
      project: "fraud-detection-next",
      useCaseId: "fraud-detection",
      assets: {
        versions: [
          { kind: "model", name: "churn-baseline", version: "1" },
          { kind: "model", name: "fraud-rules", version: "2" },
        ],
      },
    });
    expect(rec.reasons).toEqual([
      {
        path: "assets.versions.0",
        reason: expect.stringMatching(/is not tagged useCase=fraud-detection \(it says "customer-churn"\)/),
      },
      {
        path: "assets.versions.1",
        reason: expect.stringMatching(/already promoted to project "fraud-ops"/),
      },
    ]);
    const churnAfter = await ml.modelVersions.get(ex.resourceGroup, ex.workspace, "churn-baseline", "1");
    expect(churnAfter.properties.tags).toEqual(churnBefore.properties.tags);
    expect(churnAfter.properties.isArchived).toBe(false);
    const rules = await ml.modelVersions.get(ex.resourceGroup, ex.workspace, "fraud-rules", "2");
    expect(rules.properties.tags).toEqual({ useCase: "fraud-detection", promotedTo: "fraud-ops" });
  });

  it("an explicitly named version that admission did not see is refused by assets/copy: failed, not copied, not archived", async () => {
    // Admission's look-up misses the version (as if it were retagged a moment later).
    await w.stack.control("POST", "/_emulator/faults", {
      rules: [{ method: "GET", path: "/models/churn-baseline/versions/1$", status: 404, count: 1 }],
    });
    const project = "churn-grab";
    const req = w.request({
      project,
      useCaseId: "fraud-detection",
      costCenter: "CC-2300-FORECAST",
      environments: ["dev"],
      assets: { versions: [{ kind: "model", name: "churn-baseline", version: "1" }] },
    });
    await w.promote(req);
    const rec = await w.waitForRecord(req.requestId, finished);
    await w.stack.control("POST", "/_emulator/faults", { rules: [] });
    expect(rec.status).toBe("failed");
    const copy = rec.steps.find((s) => s.name === "assets/copy")!;
    expect(copy.outcome).toBe("failed");
    expect(copy.detail).toMatch(/is not tagged useCase=fraud-detection/);
    expect(rec.steps.find((s) => s.name === "assets/archive")).toBeUndefined();
    const ex = w.stack.policy.exploration;
    const churn = await w.stack
      .mlAs(PEOPLE.erin.objectId, ex.subscriptionId)
      .modelVersions.get(ex.resourceGroup, ex.workspace, "churn-baseline", "1");
    expect(churn.properties.tags?.promotedTo).toBeUndefined();
    expect(churn.properties.isArchived).toBe(false);
    const dev = environmentNames(w.stack.policy, project, "dev");
    await expect(
      w.stack
        .mlAs(PEOPLE.erin.objectId, sub())
        .modelVersions.get(dev.resourceGroup, dev.workspace, "churn-baseline", "1"),
    ).rejects.toMatchObject({ statusCode: 404 });
    const v = (await violations().list({ subscriptionId: ex.subscriptionId })).filter(
      (x) => x.kind === "security" && x.project === project,
    );
    expect(v).toEqual([
      expect.objectContaining({
        resourceId: expect.stringMatching(/\/models\/churn-baseline\/versions\/1$/),
      }),
    ]);
  });

  it("a selector passes over a version of its use case already promoted to another project", async () => {
    const req = w.request({
      project: "fraud-detection-two",
      useCaseId: "fraud-detection",
      costCenter: "CC-2100-FRAUD",
      environments: ["dev"],
    });
    await w.promote(req);
    const rec = await w.waitForRecord(req.requestId, finished);
    expect(rec.status, rec.lastError).toBe("succeeded");
    const copy = rec.steps.find((s) => s.name === "assets/copy")!;
    expect(copy.detail).toMatch(/passed over, promoted to another project: model fraud-rules:2/);
    const ex = w.stack.policy.exploration;
    const ml = w.stack.mlAs(PEOPLE.erin.objectId, ex.subscriptionId);
    const rules = await ml.modelVersions.get(ex.resourceGroup, ex.workspace, "fraud-rules", "2");
    expect(rules.properties.tags?.promotedTo).toBe("fraud-ops");
    const classifier = await ml.modelVersions.get(ex.resourceGroup, ex.workspace, "fraud-classifier", "3");
    expect(classifier.properties.tags?.promotedTo).toBe("fraud-detection-two");
    const devWs = environmentNames(w.stack.policy, "fraud-detection-two", "dev");
    const devMl = w.stack.mlAs(PEOPLE.erin.objectId, sub());
    await expect(
      devMl.modelVersions.get(devWs.resourceGroup, devWs.workspace, "fraud-rules", "2"),
    ).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe("names that collide", () => {
  it("fraud--detection is refused before any call to ARM", async () => {
    const since = Date.now();
    const rec = await refused({ project: "fraud--detection" });
    expect(rec.reasons).toEqual([
      expect.objectContaining({
        path: "project",
        reason: expect.stringMatching(/not a canonical project name/),
      }),
    ]);
    // Principals are still looked up (every reason at once); nothing under the name is.
    expect(
      (await w.azureRequests(since)).filter(
        (r) =>
          r.kind !== "graph" ||
          (!r.path.startsWith("/v1.0/users/") && !r.path.startsWith("/v1.0/directoryObjects/")),
      ),
    ).toEqual([]);
  });
});

describe("hardened environments", () => {
  it("storage without shared keys and TLS 1.2 everywhere; prod closed to the public network with purge protection, dev as the policy says", async () => {
    const project = "hardened";
    const req = w.request({
      project,
      useCaseId: "no-such-use-case",
      costCenter: "CC-2300-FORECAST",
      environments: ["dev", "prod"],
    });
    await w.promote(req);
    const rec = await w.waitForRecord(req.requestId, finished);
    expect(rec.status, rec.lastError).toBe("succeeded");
    const arm = w.stack.armAs(PEOPLE.erin.objectId, sub());
    const ml = w.stack.mlAs(PEOPLE.erin.objectId, sub());
    const seen: Record<string, unknown> = {};
    for (const env of ["dev", "prod"]) {
      const n = environmentNames(w.stack.policy, project, env);
      const rg = `/subscriptions/${sub()}/resourceGroups/${n.resourceGroup}`;
      const st = await arm.resources.getById(
        `${rg}/providers/Microsoft.Storage/storageAccounts/${n.storageAccount}`,
        "2023-05-01",
      );
      const kv = await arm.resources.getById(
        `${rg}/providers/Microsoft.KeyVault/vaults/${n.keyVault}`,
        "2023-07-01",
      );
      const ws = await ml.workspaces.get(n.resourceGroup, n.workspace);
      seen[env] = {
        storage: {
          allowSharedKeyAccess: st.properties?.allowSharedKeyAccess,
          minimumTlsVersion: st.properties?.minimumTlsVersion,
          publicNetworkAccess: st.properties?.publicNetworkAccess,
        },
        keyVault: {
          enablePurgeProtection: kv.properties?.enablePurgeProtection,
          publicNetworkAccess: kv.properties?.publicNetworkAccess,
        },
        workspace: { publicNetworkAccess: ws.publicNetworkAccess },
      };
    }
    expect(seen).toEqual({
      dev: {
        storage: { allowSharedKeyAccess: false, minimumTlsVersion: "TLS1_2", publicNetworkAccess: "Enabled" },
        keyVault: { enablePurgeProtection: undefined, publicNetworkAccess: "Enabled" },
        workspace: { publicNetworkAccess: "Enabled" },
      },
      prod: {
        storage: {
          allowSharedKeyAccess: false,
          minimumTlsVersion: "TLS1_2",
          publicNetworkAccess: "Disabled",
        },
        keyVault: { enablePurgeProtection: true, publicNetworkAccess: "Disabled" },
        workspace: { publicNetworkAccess: "Disabled" },
      },
    });
  });
});

describe("quotas, checked before anything is created", () => {
  let file: string;
  const withPolicy = async (quotas: Record<string, unknown>, run: () => Promise<void>) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "steward-quota-"));
    file = path.join(dir, "policy.json");
    writeFileSync(file, JSON.stringify({ ...w.stack.policy, quotas }));
    const before = process.env.STEWARD_POLICY_PATH;
    process.env.STEWARD_POLICY_PATH = file;
    try {
      await run();
    } finally {
      if (before === undefined) delete process.env.STEWARD_POLICY_PATH;
      else process.env.STEWARD_POLICY_PATH = before;
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("a cost centre at its project cap is refused a new project", async () => {
    // "fraud-detection-two" above is a CC-2100-FRAUD project with a record.
    await withPolicy({ maxProjectsPerCostCenter: 1, roleAssignmentsPerSubscription: 4000 }, async () => {
      const rec = await refused({ project: "one-too-many", costCenter: "CC-2100-FRAUD" });
      expect(rec.reasons).toEqual([
        {
          path: "costCenter",
          reason: expect.stringMatching(/already has [0-9]+ project\(s\), the policy.s cap/),
        },
      ]);
    });
  });

  it("a project whose access matrix would pass the subscription's role assignment limit is refused", async () => {
    await withPolicy({ roleAssignmentsPerSubscription: 40 }, async () => {
      const rec = await refused({ project: "over-budget", costCenter: "CC-2200-CHURN" });
      expect(rec.reasons).toEqual([
        {
          path: "environments",
          reason: expect.stringMatching(
            /role assignment\(s\) would take subscription .* over its limit of 40/,
          ),
        },
      ]);
    });
  });
});
