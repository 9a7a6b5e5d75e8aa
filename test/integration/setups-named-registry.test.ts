/**
 * Fine-tuning through a registry the estate policy names (`regionPlans.plans.*.fineTuningRegistry`)
 * on the local stack (ARM RBAC enforced: the app writes with its generated promotion role):
 * refused while the registry does not exist (it is the platform team's: never created), then the
 * fine-tuning regions it lacks are added, read back through ARM, and a replica the plan does not
 * name is kept; a request can never name a registry.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { AuditLog } from "../../shared/ledger/audit.js";
import { ML_REGISTRY_API_VERSION, replicaDetail } from "../../shared/promotion/registryPlan.js";
import { startPromotionWorld, useEditedPolicy, type PromotionWorld } from "../helpers/promotion.js";

const EXAMPLE = fileURLToPath(new URL("../../examples/policies/regional-fine-tuning.yaml", import.meta.url));
const ENVS = ["dev", "prod"];

let w: PromotionWorld;
let SUB: string;
let registryId: string;

beforeAll(async () => {
  useEditedPolicy((policy) => {
    SUB = policy.projectSubscriptionId as string;
    registryId = `/subscriptions/${SUB}/resourceGroups/rg-ml-platform/providers/Microsoft.MachineLearningServices/registries/mlr-platform`;
    // No per-project registries: the fine-tuning stage uses the platform team's.
    policy.mlRegistry = "none";
    policy.regionPlans.plans["eu-base-us-tune"].fineTuningRegistry = registryId;
  }, EXAMPLE);
  w = await startPromotionWorld();
  await w.startHost();
}, 120_000);

afterAll(async () => {
  await w?.stop();
});

const alice = () => w.stack.armAs(PEOPLE.alice.objectId, SUB);
const regionsOf = async () => {
  const reg = await alice().resources.getById(registryId, ML_REGISTRY_API_VERSION);
  return (reg.properties as { regionDetails: { location: string }[] }).regionDetails.map((r) => r.location);
};
const outcome = (body: { requestId: string }) =>
  w.waitForRecord(body.requestId, (r) => ["succeeded", "failed", "rejected"].includes(r.status), 120_000);
/** Submits as Alice, approves when asked (as Erin, an approver), and waits for the end. */
async function run(body: { requestId: string }) {
  await w.submit(body);
  const first = await w.waitForRecord(body.requestId, (r) =>
    ["awaitingApproval", "succeeded", "failed", "rejected"].includes(r.status),
  );
  if (first.status === "awaitingApproval") await w.decide(body.requestId);
  return outcome(body);
}

describe("fine-tuning through the registry the policy names", () => {
  it("is refused, with the reason, while the registry does not exist, and creates nothing", async () => {
    const body = w.request({ environments: ENVS });
    await w.submit(body);
    const record = await outcome(body);
    expect(record.status).toBe("rejected");
    expect(record.reasons).toContainEqual({
      path: "regionPlan",
      reason: `the fine-tuning registry the estate policy names (${registryId}) does not exist: aml-steward only adds replicas to an existing registry, it never creates one the policy names`,
    });
    await expect(regionsOf()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("adds the fine-tuning regions it lacks and keeps a replica the plan does not name", async () => {
    // The platform team's registry, home in West Europe with a North Europe replica of its own.
    await alice().resourceGroups.createOrUpdate("rg-ml-platform", { location: "westeurope" });
    await alice().resources.beginCreateOrUpdateByIdAndWait(registryId, ML_REGISTRY_API_VERSION, {
      location: "westeurope",
      tags: { owner: "platform" },
      identity: { type: "SystemAssigned" },
      properties: { regionDetails: [replicaDetail("westeurope"), replicaDetail("northeurope")] },
    });
    const record = await run(w.request({ environments: ENVS }));
    expect(record.lastError).toBeUndefined();
    expect(record.status).toBe("succeeded");
    expect(await regionsOf()).toEqual(["westeurope", "northeurope", "eastus"]);
    expect(record.steps.find((s) => s.name === "registry/fineTuning")).toMatchObject({ outcome: "updated" });
    // Not claimed as the project's, and left as the platform team made it otherwise.
    expect(record.resources.map((r) => r.toLowerCase())).not.toContain(registryId.toLowerCase());
    const reg = await alice().resources.getById(registryId, ML_REGISTRY_API_VERSION);
    expect(reg.tags).toEqual({ owner: "platform" });
    // What was changed is on record.
    const audit = await new AuditLog(azure().table(TABLES.audit)).byResource(registryId);
    const replicated = audit.filter((a) => a.action === "mlRegistry.replicate");
    expect(replicated).toHaveLength(1);
    expect(replicated[0]).toMatchObject({ target: registryId, after: { added: ["eastus"] } });
  }, 180_000);

  it("a request naming a registry of its own is refused", async () => {
    for (const field of ["fineTuningRegistry", "registry"]) {
      const body = {
        ...w.request({ environments: ENVS }),
        [field]: `/subscriptions/${SUB}/resourceGroups/rg-mine/providers/Microsoft.MachineLearningServices/registries/mlr-mine`,
      };
      await w.submit(body);
      const record = await outcome(body);
      expect(record.status).toBe("rejected");
      expect(record.reasons).toEqual([
        {
          path: field,
          reason:
            "registries come only from the estate policy (mlRegistry, regionPlans.plans.*.fineTuningRegistry); a request may not name one",
        },
      ]);
    }
  });
});
