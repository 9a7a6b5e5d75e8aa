/**
 * The emulator's Azure ML registry against Microsoft's spec for it
 * (Microsoft.MachineLearningServices stable/2023-04-01/registries.json in ../shared/specs):
 * create (long-running, azure-async-operation), get, list, update and delete validate against
 * the response schemas, and the spec's system-created example replays. Registry assets (the
 * models inside a registry) live in 2023-04-01's mfe.json, which ../shared/specs does not hold;
 * they are not checked here (emulator/arm/mlRegistries.ts says so).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSpecCaller, type Body, type SpecCaller } from "./specCaller.js";
import { SpecSet, specsDir } from "./specs.js";

const REGISTRIES =
  "specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2023-04-01/registries.json";
const present = existsSync(path.join(specsDir, REGISTRIES));
if (!present && process.env.CI)
  throw new Error(`the registry contract test needs ${REGISTRIES} under ${specsDir} (STEWARD_SPECS_DIR)`);

const SP = {
  objectId: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4e",
  appId: "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5f",
  secret: "registry-contract-secret",
};
const SUB = "44444444-5555-4666-8777-888888888888";

(present ? describe : describe.skip)("Azure ML registry contract (registries.json 2023-04-01)", () => {
  const specs = present ? new SpecSet(specsDir, [REGISTRIES]) : (undefined as unknown as SpecSet);
  let caller: SpecCaller;
  const call: SpecCaller["call"] = (...a) => caller.call(...a);

  beforeAll(async () => {
    caller = await startSpecCaller(specs, {
      sp: { ...SP, displayName: "registry-contract" },
      subscriptionId: SUB,
      lroDurationMs: 1,
    });
  });
  afterAll(async () => caller?.em.stop());

  const settle = () => new Promise((r) => setTimeout(r, 20));
  const reg = { subscriptionId: SUB, resourceGroupName: "rg", registryName: "mlr-fraud-detection" };

  it("creates, reads, lists, updates and deletes a registry as the spec describes", async () => {
    const created = await call("Registries_CreateOrUpdate", reg, {
      location: "westeurope",
      tags: { project: "fraud-detection" },
      identity: { type: "SystemAssigned" },
      properties: {
        publicNetworkAccess: "Disabled",
        regionDetails: [{ location: "westeurope", storageAccountDetails: [], acrDetails: [] }],
      },
    });
    expect([200, 201, 202]).toContain(created.status);
    await settle();
    const got = await call("Registries_Get", reg);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      name: "mlr-fraud-detection",
      type: "Microsoft.MachineLearningServices/registries",
      location: "westeurope",
      tags: { project: "fraud-detection" },
      properties: { publicNetworkAccess: "Disabled" },
    });
    expect(got.body.properties.discoveryUrl).toMatch(/^https:\/\//);
    const listed = await call("Registries_List", { subscriptionId: SUB, resourceGroupName: "rg" });
    expect(listed.body.value.map((r: Body) => r.name)).toEqual(["mlr-fraud-detection"]);
    expect((await call("Registries_ListBySubscription", { subscriptionId: SUB })).body.value).toHaveLength(1);
    const updated = await call("Registries_Update", reg, { tags: { project: "fraud-detection", a: "b" } });
    expect([200, 202]).toContain(updated.status);
    expect((await call("Registries_Get", { ...reg, registryName: "missing" })).status).toBe(404);
    expect(
      (await call("Registries_CreateOrUpdate", { ...reg, registryName: "-x" }, { location: "westeurope" }))
        .status,
    ).toBe(400);
    expect([200, 202, 204]).toContain((await call("Registries_Delete", reg)).status);
  });

  it("replays the spec's system-created example", async () => {
    const op = specs.op("Registries_CreateOrUpdate");
    const file = specs.exampleFile(Object.values(op.examples).find((f) => /SystemCreated/.test(f))!)!;
    const ex = JSON.parse(readFileSync(file, "utf8")) as Body;
    const body = { ...ex.parameters.body, location: "westeurope" };
    const r = await call("Registries_CreateOrUpdate", { ...reg, registryName: "mlr-example" }, body);
    expect(Object.keys(ex.responses).map(Number)).toContain(r.status === 202 ? 202 : r.status);
  });
});
