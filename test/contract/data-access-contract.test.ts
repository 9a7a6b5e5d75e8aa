/**
 * The emulator's Azure ML datastores and workspace connections against Microsoft's specs
 * (2022-10-01: datastores in mfe.json, connections in machineLearningServices.json). The specs
 * have no examples for either, so bodies are built here and every response is validated
 * against the operation's schema. The discriminated subtypes' `required` lists are read from
 * the spec, and the emulator must refuse a body that misses any of them; secrets (x-ms-secret
 * in the spec) must never come back.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSpecCaller, type Body, type SpecCaller } from "./specCaller.js";
import { SPEC_FILES, SpecSet, specsDir } from "./specs.js";

const specsPresent = existsSync(path.join(specsDir, SPEC_FILES.mfe));
if (!specsPresent && process.env.CI)
  throw new Error(
    `the data-access contract test needs ${SPEC_FILES.mfe} under ${specsDir} (STEWARD_SPECS_DIR)`,
  );

const SP = {
  objectId: "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
  appId: "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
  secret: "data-access-contract-secret",
};
const SUB = "55555555-6666-4777-8888-999999999999";

(specsPresent ? describe : describe.skip)("Azure ML datastores and connections contract (2022-10-01)", () => {
  const specs = specsPresent ? new SpecSet(specsDir) : (undefined as unknown as SpecSet);
  let caller: SpecCaller;
  const call: SpecCaller["call"] = (...a) => caller.call(...a);

  beforeAll(async () => {
    caller = await startSpecCaller(specs, {
      sp: { ...SP, displayName: "data-access-contract" },
      subscriptionId: SUB,
      lroDurationMs: 0,
    });
    const ws = await fetch(
      `${caller.em.url}/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws1?api-version=2022-10-01`,
      {
        method: "PUT",
        headers: { authorization: `Bearer ${caller.token}`, "content-type": "application/json" },
        body: JSON.stringify({ location: "westeurope", properties: {} }),
      },
    );
    expect(ws.status).toBeLessThan(300);
  });
  afterAll(async () => caller?.em.stop());

  const ws = { subscriptionId: SUB, resourceGroupName: "rg", workspaceName: "ws1" };
  const definitions = (file: string) =>
    (JSON.parse(readFileSync(path.join(specsDir, file), "utf8")) as Body).definitions as Record<string, Body>;

  it("creates, reads, lists and deletes a datastore; secrets never come back", async () => {
    const body = {
      properties: {
        datastoreType: "AzureBlob",
        accountName: "stproddata",
        containerName: "raw",
        endpoint: "core.windows.net",
        credentials: {
          credentialsType: "AccountKey",
          secrets: { secretsType: "AccountKey", key: "S3CRET==" },
        },
      },
    };
    const created = await call("Datastores_CreateOrUpdate", { ...ws, name: "prod_raw" }, body);
    expect([200, 201]).toContain(created.status);
    expect(created.text).not.toContain("S3CRET");
    const got = await call("Datastores_Get", { ...ws, name: "prod_raw" });
    expect(got.body).toMatchObject({
      name: "prod_raw",
      type: "Microsoft.MachineLearningServices/workspaces/datastores",
      properties: { datastoreType: "AzureBlob", accountName: "stproddata", isDefault: false },
    });
    expect(got.body.properties.credentials).toEqual({ credentialsType: "AccountKey" });
    const listed = await call("Datastores_List", ws);
    expect(listed.body.value.map((d: Body) => d.name)).toEqual(["prod_raw"]);
    expect(listed.text).not.toContain("S3CRET");
    expect((await call("Datastores_Get", { ...ws, name: "missing" })).status).toBe(404);
    expect((await call("Datastores_Delete", { ...ws, name: "prod_raw" })).status).toBe(200);
    expect((await call("Datastores_Delete", { ...ws, name: "prod_raw" })).status).toBe(204);
  });

  it("refuses a datastore body that misses a field its subtype requires in the spec", async () => {
    const defs = definitions(SPEC_FILES.mfe);
    const subtypes = Object.values(defs).filter(
      (d) => d.allOf?.[0]?.$ref === "#/definitions/Datastore" && d["x-ms-discriminator-value"],
    );
    expect(subtypes.length).toBeGreaterThanOrEqual(4);
    const full: Record<string, unknown> = {
      accountName: "stdev",
      filesystem: "fs",
      fileShareName: "share",
      storeName: "store",
    };
    for (const d of subtypes) {
      const type = d["x-ms-discriminator-value"] as string;
      const props: Record<string, unknown> = {
        datastoreType: type,
        ...full,
        credentials: { credentialsType: "None" },
      };
      expect(
        (await call("Datastores_CreateOrUpdate", { ...ws, name: `ok_${type}` }, { properties: props }))
          .status,
      ).toBe(201);
      for (const field of (d.required ?? []) as string[]) {
        const { [field]: _dropped, ...missing } = props;
        const r = await call(
          "Datastores_CreateOrUpdate",
          { ...ws, name: `bad_${type}` },
          { properties: missing },
        );
        expect(r.status, `${type} without ${field}`).toBe(400);
      }
    }
    const credentialTypes = Object.values(defs).filter(
      (d) => d.allOf?.[0]?.$ref === "#/definitions/DatastoreCredentials",
    );
    for (const d of credentialTypes)
      for (const field of (d.required ?? []) as string[]) {
        const r = await call(
          "Datastores_CreateOrUpdate",
          { ...ws, name: "bad_credentials" },
          {
            properties: {
              datastoreType: "AzureBlob",
              accountName: "stdev",
              credentials: { credentialsType: d["x-ms-discriminator-value"] },
            },
          },
        );
        expect(r.status, `${d["x-ms-discriminator-value"]} credentials without ${field}`).toBe(400);
      }
    expect(
      (
        await call(
          "Datastores_CreateOrUpdate",
          { ...ws, name: "no_type" },
          { properties: { credentials: {} } },
        )
      ).status,
    ).toBe(400);
  });

  it("creates, reads, lists and deletes a workspace connection; its secret never comes back", async () => {
    const created = await call(
      "WorkspaceConnections_Create",
      { ...ws, connectionName: "git" },
      {
        properties: {
          category: "Git",
          target: "https://github.com/contoso/x",
          authType: "PAT",
          credentials: { pat: "ghp_S3CRET" },
        },
      },
    );
    expect([200, 201]).toContain(created.status);
    const got = await call("WorkspaceConnections_Get", { ...ws, connectionName: "git" });
    expect(got.body.properties).toMatchObject({
      category: "Git",
      target: "https://github.com/contoso/x",
      authType: "PAT",
    });
    expect(got.text).not.toContain("S3CRET");
    const listed = await call("WorkspaceConnections_List", ws);
    expect(listed.body.value.map((c: Body) => c.name)).toEqual(["git"]);
    const defs = definitions(SPEC_FILES.workspaces);
    expect(defs.WorkspaceConnectionPropertiesV2!.required).toEqual(["authType"]);
    expect(
      (
        await call(
          "WorkspaceConnections_Create",
          { ...ws, connectionName: "bad" },
          { properties: { target: "x" } },
        )
      ).status,
    ).toBe(400);
    expect((await call("WorkspaceConnections_Delete", { ...ws, connectionName: "git" })).status).toBe(200);
  });
});
