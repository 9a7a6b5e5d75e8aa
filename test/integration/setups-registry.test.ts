/**
 * Rollout through a per-project Azure ML registry (the two-environments example policy,
 * mlRegistry: perProject), end to end on the local stack with ARM RBAC enforced: the promotion
 * creates the registry and gives each environment's groups the registry roles of their matrix
 * cell; a model version published from dev is consumed through prod's access; someone whose
 * cells grant no registry role can do neither.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { environmentNames } from "../../shared/policy/index.js";
import { registryName } from "../../shared/policy/setupRules.js";
import type { PromotionRecord } from "../../shared/promotion/record.js";
import { ML_REGISTRY_API_VERSION } from "../../shared/promotion/registryPlan.js";
import { startPromotionWorld, type PromotionWorld } from "../helpers/promotion.js";

const POLICY = fileURLToPath(new URL("../../examples/policies/two-environments.yaml", import.meta.url));
let w: PromotionWorld;
let record: PromotionRecord;
const previous = process.env.STEWARD_POLICY_PATH;
/** Pia publishes (dev data scientist), Cody consumes (prod mlops), Rita reads reports (reader). */
const PEOPLE_HERE = {
  pia: { objectId: "9ab00000-0000-4000-8000-0000000000a1", userPrincipalName: "pia@contoso.com" },
  cody: { objectId: "9ab00000-0000-4000-8000-0000000000a2", userPrincipalName: "cody@contoso.com" },
  rita: { objectId: "9ab00000-0000-4000-8000-0000000000a3", userPrincipalName: "rita@contoso.com" },
};
const project = "fraud-detection";

beforeAll(async () => {
  process.env.STEWARD_POLICY_PATH = path.resolve(POLICY);
  w = await startPromotionWorld();
  await w.startHost();
  // People with no subscription-wide role (the seeded ones have Contributor or Reader there),
  // so their only way to the registry is what the promotion grants.
  await w.stack.control("POST", "/_emulator/seed", {
    users: Object.values(PEOPLE_HERE).map((p) => ({ ...p, displayName: p.userPrincipalName })),
  });
  const body = w.request({
    environments: ["dev", "prod"],
    owners: ["erin@contoso.com"],
    members: {
      "data-scientist": [PEOPLE_HERE.pia.userPrincipalName],
      mlops: [PEOPLE_HERE.cody.userPrincipalName],
      reader: [PEOPLE_HERE.rita.userPrincipalName],
    },
    // mlops and reader keep nothing in dev: the registry sits in dev's resource group, where
    // Reader (*/read) would reach it by inheritance; this way cody reaches it only through
    // prod's registry role, and rita not at all.
    narrowAccess: { mlops: { dev: [] }, reader: { dev: [] } },
  });
  await w.promote(body);
  record = await w.waitForRecord(body.requestId, (r) =>
    ["succeeded", "failed", "rejected"].includes(r.status),
  );
}, 120_000);
afterAll(async () => {
  await w?.stop();
  if (previous === undefined) delete process.env.STEWARD_POLICY_PATH;
  else process.env.STEWARD_POLICY_PATH = previous;
});

const registryId = () =>
  `/subscriptions/${w.stack.policy.projectSubscriptionId}/resourceGroups/${environmentNames(w.stack.policy, project, "dev").resourceGroup}/providers/Microsoft.MachineLearningServices/registries/${registryName(w.stack.policy, project)}`;
const version = () => `${registryId()}/models/fraud-classifier/versions/1`;
const arm = (who: { objectId: string }) => w.stack.armAs(who.objectId, w.stack.policy.projectSubscriptionId);

describe("per-project registry", () => {
  it("the promotion creates the project's registry in dev's resource group, tagged like dev", async () => {
    expect(record.lastError).toBeUndefined();
    expect(record.status).toBe("succeeded");
    expect(record.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(["registry/registry", "registry/roleAssignments"]),
    );
    expect(record.resources).toContain(registryId());
    const reg = await arm(PEOPLE.erin).resources.getById(registryId(), ML_REGISTRY_API_VERSION);
    expect(reg.tags).toMatchObject({ project, environment: "dev", managedBy: "aml-steward" });
    // prod is closed, and the registry holds what prod consumes.
    expect((reg.properties as { publicNetworkAccess?: string }).publicNetworkAccess).toBe("Disabled");
  });

  it("gives each environment's groups the registry roles of their matrix cell, nothing else", async () => {
    const env = (name: string) => record.plan!.registry!.roleAssignments.find((r) => r.env === name)!;
    const roles = (name: string) =>
      env(name)
        .assignments.map((a) => `${a.role}:${a.roleName}`)
        .sort();
    expect(roles("dev")).toEqual([
      "data-scientist:AzureML Registry User",
      "ml-engineer:AzureML Registry User",
    ]);
    expect(roles("prod")).toEqual(["ml-engineer:AzureML Registry User", "mlops:AzureML Registry User"]);
  });

  it("a model version published from dev is consumed through prod's access", async () => {
    await arm(PEOPLE_HERE.pia).resources.beginCreateOrUpdateByIdAndWait(
      `${registryId()}/models/fraud-classifier`,
      ML_REGISTRY_API_VERSION,
      { properties: { description: "fraud classifier", tags: {}, properties: {} } },
    );
    await arm(PEOPLE_HERE.pia).resources.beginCreateOrUpdateByIdAndWait(version(), ML_REGISTRY_API_VERSION, {
      properties: {
        description: "trained in dev",
        modelType: "mlflow_model",
        modelUri: "azureml://registries/mlr-fraud-detection/models/fraud-classifier/versions/1",
        tags: { stage: "validated" },
        properties: {},
      },
    });
    const consumed = await arm(PEOPLE_HERE.cody).resources.getById(version(), ML_REGISTRY_API_VERSION);
    expect(consumed.properties).toMatchObject({
      description: "trained in dev",
      tags: { stage: "validated" },
    });
  });

  it("someone whose cells grant no registry role (and no read in dev) can neither publish nor consume", async () => {
    await expect(
      arm(PEOPLE_HERE.rita).resources.getById(version(), ML_REGISTRY_API_VERSION),
    ).rejects.toMatchObject({
      statusCode: 403,
    });
    await expect(
      arm(PEOPLE_HERE.rita).resources.beginCreateOrUpdateByIdAndWait(
        `${registryId()}/models/fraud-classifier/versions/2`,
        ML_REGISTRY_API_VERSION,
        { properties: { modelUri: "azureml://x", tags: {}, properties: {} } },
      ),
    ).rejects.toMatchObject({ statusCode: 403 });
  });
});
