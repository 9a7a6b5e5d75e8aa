/**
 * A 100,000-resource subscription lists page by page (1000 per page, as Azure) through the real
 * SDK without quadratic work: each page resumes from its cursor instead of rescanning.
 */
import { ResourceManagementClient } from "@azure/arm-resources";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import { armClientOptions, emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";

const SUB = "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e";
const APP = {
  objectId: "7c8d9e0f-1a2b-4c3d-9e4f-5a6b7c8d9e0f",
  appId: "8d9e0f1a-2b3c-4d4e-8f5a-6b7c8d9e0f1a",
  secret: "scale-secret",
};
const COUNT = 100_000;

let em: EmulatorHandle;
let arm: ResourceManagementClient;

beforeAll(async () => {
  em = await startTestEmulator({
    seed: {
      subscriptions: [{ subscriptionId: SUB, displayName: "Big" }],
      servicePrincipals: [{ ...APP, displayName: "scale", clientSecret: APP.secret }],
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
  const resources = Array.from({ length: COUNT }, (_, i) => ({
    id: `/subscriptions/${SUB}/resourceGroups/rg-${i % 50}/providers/Microsoft.Network/networkInterfaces/nic-${i}`,
    location: "eastus",
    tags: i % 1000 === 0 ? { marker: "yes" } : { marker: "no" },
  }));
  em.seed({ resources });
  const cred = emulatorSecretCredential(em.url, em.tenantId, APP.appId, APP.secret);
  arm = new ResourceManagementClient(cred, SUB, armClientOptions(em.url));
});

afterAll(async () => {
  await em?.stop();
});

describe("scale", () => {
  it(`lists ${COUNT} resources in pages of 1000`, async () => {
    const started = performance.now();
    let total = 0;
    let pages = 0;
    const seen = new Set<string>();
    for await (const page of arm.resources.list().byPage()) {
      pages++;
      total += page.length;
      for (const r of page) seen.add(r.id!);
    }
    expect(pages).toBe(COUNT / 1000);
    expect(total).toBe(COUNT);
    expect(seen.size).toBe(COUNT);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it("filters by tag across the subscription and lists one group", async () => {
    const marked = [];
    for await (const r of arm.resources.list({ filter: "tagName eq 'marker' and tagValue eq 'yes'" }))
      marked.push(r.name);
    expect(marked).toHaveLength(COUNT / 1000);
    let inGroup = 0;
    for await (const page of arm.resources.listByResourceGroup("rg-7").byPage()) inGroup += page.length;
    expect(inGroup).toBe(COUNT / 50);
  });
});
