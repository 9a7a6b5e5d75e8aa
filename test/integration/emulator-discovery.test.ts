/**
 * The discovery APIs outside clients need (resource providers, locations, tag names), through
 * the real @azure/arm-resources client.
 */
import { ResourceManagementClient } from "@azure/arm-resources";
import { createPipelineRequest } from "@azure/core-rest-pipeline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import { armClientOptions, emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";

const SUB = "63e4c5d6-7f80-4192-a3b4-c5d6e7f80910";
const APP = {
  objectId: "74f5d6e7-8091-42a3-b4c5-d6e7f8091021",
  appId: "8506e7f8-9102-43b4-85d6-e7f809102132",
  secret: "discovery-secret",
};
let em: EmulatorHandle;
let arm: ResourceManagementClient;

beforeAll(async () => {
  em = await startTestEmulator({
    seed: {
      subscriptions: [{ subscriptionId: SUB, displayName: "Discovery" }],
      resourceGroups: [
        { subscriptionId: SUB, name: "rg-d", location: "westeurope", tags: { costCenter: "CC-1" } },
      ],
      resources: [
        {
          id: `/subscriptions/${SUB}/resourceGroups/rg-d/providers/Microsoft.Compute/disks/d1`,
          location: "westeurope",
          tags: { costCenter: "CC-1", owner: "a@contoso.com" },
        },
      ],
      servicePrincipals: [{ ...APP, displayName: "discovery", clientSecret: APP.secret }],
      roleAssignments: [
        {
          scope: `/subscriptions/${SUB}`,
          roleDefinitionId: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
          principalId: APP.objectId,
          principalType: "ServicePrincipal",
        },
      ],
    },
  });
  arm = new ResourceManagementClient(
    emulatorSecretCredential(em.url, em.tenantId, APP.appId, APP.secret),
    SUB,
    armClientOptions(em.url),
  );
});
afterAll(async () => em?.stop());

describe("discovery APIs", () => {
  it("lists resource providers with the types and api-versions clients resolve", async () => {
    const all = [];
    for await (const p of arm.providers.list()) all.push(p);
    expect(all.map((p) => p.namespace)).toEqual(
      expect.arrayContaining(["Microsoft.Storage", "Microsoft.Resources", "Microsoft.Compute"]),
    );
    const storage = await arm.providers.get("microsoft.storage");
    expect(storage.registrationState).toBe("Registered");
    const accounts = storage.resourceTypes?.find((t) => t.resourceType === "storageAccounts");
    expect(accounts?.apiVersions?.[0]).toBe("2023-05-01");
    // A type only the subscription holds is there too, with some api-version to use.
    const compute = await arm.providers.get("Microsoft.Compute");
    expect(
      compute.resourceTypes?.find((t) => t.resourceType === "disks")?.apiVersions?.length,
    ).toBeGreaterThan(0);
    // Before the first resource of a type exists, a client still finds its api-version.
    const network = await arm.providers.get("Microsoft.Network");
    expect(network.resourceTypes?.find((t) => t.resourceType === "virtualNetworks")).toBeDefined();
    await expect(arm.providers.get("Microsoft.Nothing")).rejects.toMatchObject({ statusCode: 404 });
  });

  it("lists the subscription's tag names with their values and counts", async () => {
    const names = [];
    for await (const t of arm.tagsOperations.list()) names.push(t);
    const cc = names.find((t) => t.tagName === "costCenter");
    expect(cc?.count?.value).toBe(2);
    expect(cc?.values?.map((v) => v.tagValue)).toEqual(["CC-1"]);
    expect(names.find((t) => t.tagName === "owner")?.count?.value).toBe(1);
  });

  it("serves ARM's cloud metadata, every endpoint the emulator itself, for az cloud register", async () => {
    // The Azure CLI asks with a doubled slash (its ARM endpoint ends in one) and no token.
    const res = await fetch(`${em.url}//metadata/endpoints?api-version=2022-09-01`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      name: string;
      resourceManager: string;
      authentication: { loginEndpoint: string; audiences: string[] };
      microsoftGraphResourceId: string;
    };
    expect(body).toMatchObject({
      resourceManager: `${em.url}/`,
      authentication: { loginEndpoint: em.url },
      microsoftGraphResourceId: `${em.url}/`,
    });
    expect(body.authentication.audiences[0]).toBe("https://management.core.windows.net/");
  });

  it("lists locations", async () => {
    const res = await arm.sendRequest(
      createPipelineRequest({
        url: `${em.url}/subscriptions/${SUB}/locations?api-version=2022-12-01`,
        method: "GET",
      }),
    );
    expect(res.status).toBe(200);
    const body = JSON.parse(res.bodyAsText ?? "{}") as {
      value: Array<{ name: string; displayName: string }>;
    };
    expect(body.value.find((l) => l.name === "westeurope")?.displayName).toBe("West Europe");
  });
});
