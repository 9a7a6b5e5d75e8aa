/** infra/generated is what the policy and the app's settings say, and the templates use it. */
import { describe, expect, it } from "vitest";
import { CONTAINERS, QUEUES, TABLES } from "../../shared/config/settings.js";
import { getPolicy } from "../../shared/policy/index.js";
import { INFRA_NAMES, storageNames } from "../../shared/setup/contract.js";
import { staleInfraFiles } from "../../shared/setup/generateInfra.js";
import { bicepCode, read } from "./infra-helpers.js";

describe("infra/generated", () => {
  it("is up to date with the policy (else: npm run infra:generate)", async () => {
    expect(await staleInfraFiles()).toEqual([]);
  });

  it("names every queue (with its poison queue), table and container the app uses", () => {
    const s = storageNames();
    for (const q of Object.values(QUEUES))
      expect(s.queues).toEqual(expect.arrayContaining([q, `${q}-poison`]));
    expect(s.tables).toEqual(Object.values(TABLES));
    expect(s.containers).toEqual([...Object.values(CONTAINERS), INFRA_NAMES.deadLetterContainer]);
  });

  it("carries the policy's subscriptions", () => {
    const policy = getPolicy();
    const c = JSON.parse(read("infra/generated/app-contract.json")) as {
      projectSubscriptionId: string;
      governedSubscriptionIds: string[];
    };
    expect(c.projectSubscriptionId).toBe(policy.projectSubscriptionId.toLowerCase());
    expect(c.governedSubscriptionIds).toEqual(policy.governedSubscriptions.map((s) => s.id.toLowerCase()));
  });

  it("is what the templates create", () => {
    const main = bicepCode("infra/main.bicep");
    const app = bicepCode("infra/modules/app.bicep");
    expect(main).toMatch(/var contract = loadJsonContent\('generated\/app-contract\.json'\)/);
    expect(main).toMatch(/storageNames: contract\.storage/);
    expect(main).toMatch(/scope: subscription\(contract\.projectSubscriptionId\)/);
    expect(app).toMatch(/for name in concat\(storageNames\.containers, \[deploymentContainerName\]\)/);
    expect(app).toMatch(/for name in storageNames\.queues/);
    expect(app).toMatch(/for name in storageNames\.tables/);
  });

  it("every AVM module is pinned to a version", () => {
    const refs = ["infra/main.bicep", "infra/modules/app.bicep"].flatMap((f) => [
      ...bicepCode(f).matchAll(/'br\/public:(avm\/[^':]+)(?::([^']*))?'/g),
    ]);
    expect(refs.length).toBeGreaterThanOrEqual(6);
    for (const m of refs) expect(m[2], m[1]).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
