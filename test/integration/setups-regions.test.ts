/**
 * Region plans end to end on the local stack (ARM RBAC enforced, real SDKs): for each regional
 * example policy a promotion builds one workspace per planned region in every environment, each
 * with its dependencies in that region and its role tag, read back through ARM; the fine-tuning
 * plan's registry is replicated to both regions. With the serving plan: a redelivered request
 * and a late approval change nothing; a resource outside its role's regions is flagged on the
 * event path and by the nightly run (one rule), and so is a resource group tagged to look like
 * the project's serving resource.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { parseResourceWriteEvent } from "../../shared/events/resourceWrite.js";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { silentLogger } from "../../shared/log.js";
import { environmentNames, type EstatePolicy } from "../../shared/policy/index.js";
import { registryName } from "../../shared/policy/setupRules.js";
import type { PromotionRecord } from "../../shared/promotion/record.js";
import { ML_REGISTRY_API_VERSION } from "../../shared/promotion/registryPlan.js";
import { defaultDeps, runReconcile } from "../../shared/reconcile/index.js";
import { handleResourceWrite } from "../../shared/tagging/handleResourceWrite.js";
import { taggingDeps } from "../../shared/tagging/runtime.js";
import { isWrite, startPromotionWorld, type PromotionWorld } from "../helpers/promotion.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/policies/", import.meta.url));
const project = "fraud-detection";
const ENVS = ["dev", "prod"];
const STORAGE_API = "2023-01-01";

/** Starts a world on the example policy and promotes fraud-detection into dev and prod. */
function promoted(example: string, over: Record<string, unknown> = {}) {
  const state = {} as { w: PromotionWorld; record: PromotionRecord; body: Record<string, unknown> };
  const previous = process.env.STEWARD_POLICY_PATH;
  beforeAll(async () => {
    process.env.STEWARD_POLICY_PATH = path.join(EXAMPLES, `${example}.yaml`);
    state.w = await startPromotionWorld();
    await state.w.startHost();
    state.body = state.w.request({ environments: ENVS, ...over });
    await state.w.promote(state.body);
    state.record = await state.w.waitForRecord(state.body.requestId as string, (r) =>
      ["succeeded", "failed", "rejected"].includes(r.status),
    );
  }, 120_000);
  afterAll(async () => {
    await state.w?.stop();
    if (previous === undefined) delete process.env.STEWARD_POLICY_PATH;
    else process.env.STEWARD_POLICY_PATH = previous;
  });
  return state;
}

/** Reads every planned workspace back through ARM: env -> [region, location, role tag, storage location]. */
async function builtWorkspaces(w: PromotionWorld, policy: EstatePolicy, regions: string[]) {
  const sub = policy.projectSubscriptionId;
  const ml = w.stack.mlAs(PEOPLE.erin.objectId, sub);
  const arm = w.stack.armAs(PEOPLE.erin.objectId, sub);
  const out: Record<string, string[][]> = {};
  for (const env of ENVS) {
    const rg = environmentNames(policy, project, env).resourceGroup;
    out[env] = [];
    for (const region of regions) {
      const n = environmentNames(policy, project, env, region);
      const ws = await ml.workspaces.get(rg, n.workspace);
      const storage = await arm.resources.getById(ws.storageAccount!, STORAGE_API);
      out[env]!.push([region, ws.location!, ws.tags?.[policy.regionPlans.roleTag] ?? "", storage.location!]);
    }
  }
  return out;
}

const expectEverywhere = (rows: string[][]) => Object.fromEntries(ENVS.map((e) => [e, rows]));

describe("regional training: a workspace per data region", () => {
  const s = promoted("regional-training");
  it("builds westeurope and eastus workspaces, each with its storage in its region", async () => {
    expect(s.record.lastError).toBeUndefined();
    expect(s.record.status).toBe("succeeded");
    const policy = s.w.stack.policy;
    expect(await builtWorkspaces(s.w, policy, ["westeurope", "eastus"])).toEqual(
      expectEverywhere([
        ["westeurope", "westeurope", "training", "westeurope"],
        ["eastus", "eastus", "training", "eastus"],
      ]),
    );
    // The record lists what was built where.
    expect(s.record.plan?.regions?.sites.map((x) => `${x.region}:${x.roles.join(",")}`)).toEqual([
      "westeurope:training",
      "eastus:training",
    ]);
    expect(s.record.steps.map((x) => x.name)).toEqual(
      expect.arrayContaining(["dev/eastus/workspace", "prod/eastus/dataAccess"]),
    );
    const east = environmentNames(policy, project, "prod", "eastus").workspace;
    expect(s.record.resources.some((id) => id.endsWith(`/workspaces/${east}`))).toBe(true);
  });
});

describe("regional fine-tuning: a fine-tuning workspace and a registry replicated to both regions", () => {
  // Alice co-owns the project, so a later change can come from her and be approved by Erin.
  const s = promoted("regional-fine-tuning", { owners: ["erin@contoso.com", "alice@contoso.com"] });
  const registryId = () => {
    const policy = s.w.stack.policy;
    return `/subscriptions/${policy.projectSubscriptionId}/resourceGroups/${environmentNames(policy, project, "dev").resourceGroup}/providers/Microsoft.MachineLearningServices/registries/${registryName(policy, project)}`;
  };
  const replicas = async () => {
    const reg = await s.w.stack
      .armAs(PEOPLE.erin.objectId, s.w.stack.policy.projectSubscriptionId)
      .resources.getById(registryId(), ML_REGISTRY_API_VERSION);
    return {
      location: reg.location,
      regions: (reg.properties as { regionDetails: { location: string }[] }).regionDetails.map(
        (r) => r.location,
      ),
    };
  };
  it("builds the fine-tuning workspace in eastus and replicates the registry", async () => {
    expect(s.record.lastError).toBeUndefined();
    const policy = s.w.stack.policy;
    expect(await builtWorkspaces(s.w, policy, ["westeurope", "eastus"])).toEqual(
      expectEverywhere([
        ["westeurope", "westeurope", "training", "westeurope"],
        ["eastus", "eastus", "fine-tuning", "eastus"],
      ]),
    );
    expect(await replicas()).toEqual({ location: "westeurope", regions: ["westeurope", "eastus"] });
  });

  it("a registry made before the plan named the fine-tuning region gets the replica on the next change", async () => {
    // As a registry created under a one-region policy: its only replica is home.
    const arm = s.w.stack.armAs(PEOPLE.erin.objectId, s.w.stack.policy.projectSubscriptionId);
    const reg = await arm.resources.getById(registryId(), ML_REGISTRY_API_VERSION);
    const props = reg.properties as { regionDetails: { location: string }[] };
    await arm.resources.beginCreateOrUpdateByIdAndWait(
      registryId(),
      ML_REGISTRY_API_VERSION,
      { ...reg, properties: { ...props, regionDetails: props.regionDetails.slice(0, 1) } },
      { updateIntervalInMs: 10 },
    );
    expect((await replicas()).regions).toEqual(["westeurope"]);
    const change = s.w.request({
      environments: ENVS,
      owners: ["erin@contoso.com", "alice@contoso.com"],
    });
    await s.w.promote(change);
    const record = await s.w.waitForRecord(change.requestId, (r) =>
      ["succeeded", "failed", "rejected"].includes(r.status),
    );
    expect(record.lastError).toBeUndefined();
    expect(record.steps.find((x) => x.name === "registry/registry")).toMatchObject({
      outcome: "updated",
      writes: 1,
    });
    expect(await replicas()).toEqual({ location: "westeurope", regions: ["westeurope", "eastus"] });
  });
});

describe("regional serving: a serving workspace close to its users", () => {
  const s = promoted("regional-serving");
  const policy = () => s.w.stack.policy;
  const sub = () => policy().projectSubscriptionId;
  const alice = () => s.w.stack.armAs(PEOPLE.alice.objectId, sub());
  const rgName = () => environmentNames(policy(), project, "prod").resourceGroup;
  const rgId = (rg: string) => `/subscriptions/${sub()}/resourceGroups/${rg}`;
  const misplaced = () => `${rgId(rgName())}/providers/Microsoft.Storage/storageAccounts/sttrainingau1`;
  const forgedGroup = () => rgId("rg-serving-cache");
  const regionRows = async (id: string) =>
    (await new ViolationLog(azure().table(TABLES.violations)).list({ resourceId: id })).filter(
      (v) => v.kind === "region",
    );

  it("builds the serving workspace in australiaeast, served from westeurope", async () => {
    expect(s.record.lastError).toBeUndefined();
    expect(await builtWorkspaces(s.w, policy(), ["westeurope", "australiaeast"])).toEqual(
      expectEverywhere([
        ["westeurope", "westeurope", "training", "westeurope"],
        ["australiaeast", "australiaeast", "serving", "australiaeast"],
      ]),
    );
    expect(s.record.plan?.regions?.sites[1]).toEqual({
      region: "australiaeast",
      roles: ["serving"],
      servedFrom: "westeurope",
    });
  });

  it("a redelivered request and a late, repeated approval converge: nothing is written again", async () => {
    const since = Date.now();
    await s.w.submit(s.body);
    await s.w.decide(s.body.requestId as string);
    await s.w.submit(s.body);
    await new Promise((r) => setTimeout(r, 1500));
    const record = await s.w.waitForRecord(s.body.requestId as string, (r) => r.status === "succeeded");
    expect(record.resources.sort()).toEqual([...s.record.resources].sort());
    expect((await s.w.azureRequests(since)).filter(isWrite)).toEqual([]);
  });

  it("a request placing the project outside its plan, or adding a region, is refused with the reason", async () => {
    const outside = s.w.request({
      environments: ENVS,
      region: "australiaeast",
      requestedBy: "erin@contoso.com",
    });
    await s.w.submit(outside, PEOPLE.erin);
    const refused = await s.w.waitForRecord(outside.requestId, (r) => r.status === "rejected");
    expect(refused.reasons).toEqual([
      {
        path: "region",
        reason: `"australiaeast" is not a training region of project "fraud-detection"'s region plan "eu-train-au-serve" (training: westeurope); the project's resource groups live in one of them`,
      },
    ]);
    const adding = {
      ...s.w.request({ environments: ENVS, requestedBy: "erin@contoso.com" }),
      serving: [{ region: "eastus" }],
    };
    await s.w.submit(adding, PEOPLE.erin);
    const added = await s.w.waitForRecord(adding.requestId, (r) => r.status === "rejected");
    expect(added.reasons?.map((r) => `${r.path}: ${r.reason}`)).toEqual([
      "serving: regions come only from the estate policy's region plans; a request may name its home `region` and its project's `regionPlan`, never add a region",
    ]);
  });

  it("a resource outside its role's regions is flagged on the event path, naming the plan", async () => {
    await alice().resources.beginCreateOrUpdateByIdAndWait(
      misplaced(),
      STORAGE_API,
      {
        location: "australiaeast",
        kind: "StorageV2",
        sku: { name: "Standard_LRS" },
        tags: { [policy().regionPlans.roleTag]: "training" },
      },
      { updateIntervalInMs: 10 },
    );
    const entry = s.w.stack.emulator.events
      .events()
      .filter((e) => e.event.subject.toLowerCase() === misplaced().toLowerCase())
      .at(-1)!;
    const parsed = parseResourceWriteEvent(entry.event);
    if (parsed.kind !== "resourceWrite") throw new Error(JSON.stringify(parsed));
    const outcome = await handleResourceWrite(parsed.event, taggingDeps(silentLogger));
    expect(outcome).toMatchObject({ violations: [{ kind: "region" }] });
    expect((await regionRows(misplaced())).map((v) => v.detail)).toEqual([
      `location australiaeast is outside project fraud-detection's region plan "eu-train-au-serve" for role training (training: westeurope)`,
    ]);
  });

  it("the nightly run flags it too, and a resource group dressed as the project's serving resource", async () => {
    await alice().resourceGroups.createOrUpdate("rg-serving-cache", {
      location: "australiaeast",
      tags: {
        costCenter: "CC-2100-FRAUD",
        project,
        environment: "prod",
        owner: "erin@contoso.com",
        [policy().regionPlans.roleTag]: "serving",
      },
    });
    const [r] = await runReconcile({
      subscriptionIds: [sub()],
      policy: policy(),
      deps: defaultDeps(),
      logger: silentLogger,
    });
    expect(r!.violations.region).toBeGreaterThanOrEqual(2);
    expect(await regionRows(misplaced())).toHaveLength(1);
    expect((await regionRows(forgedGroup())).map((v) => v.detail)).toEqual([
      expect.stringMatching(
        /^resource group location australiaeast breaks the region plan: it is tagged as project fraud-detection but sits outside the project's resource groups/,
      ),
    ]);
    // The project's own serving workspace is not flagged.
    const serving = environmentNames(policy(), project, "prod", "australiaeast").workspace;
    expect(
      await regionRows(`${rgId(rgName())}/providers/Microsoft.MachineLearningServices/workspaces/${serving}`),
    ).toEqual([]);
  });
});
