/**
 * The emulated Entra token endpoint through the real @azure/identity ClientSecretCredential
 * (MSAL underneath) over HTTPS, the user-token convenience, and token -> caller resolution by
 * ARM and Graph.
 */
import { AuthenticationRequiredError } from "@azure/identity";
import { ResourceManagementClient } from "@azure/arm-resources";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { armClientOptions, emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";

const TENANT = "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const SUB = "aaaaaaaa-0000-4000-8000-000000000001";
const APP = {
  objectId: "a0000000-0000-4000-8000-00000000000a",
  appId: "b0000000-0000-4000-8000-00000000000b",
  clientSecret: "app-secret",
};
const MI = {
  objectId: "c0000000-0000-4000-8000-00000000000c",
  appId: "d0000000-0000-4000-8000-00000000000d",
};
const ALICE = {
  objectId: "e0000000-0000-4000-8000-00000000000e",
  userPrincipalName: "alice@contoso.test",
  displayName: "Alice Analyst",
};

const seed: EmulatorSeed = {
  tenantId: TENANT,
  subscriptions: [{ subscriptionId: SUB, displayName: "Dev" }],
  resourceGroups: [{ subscriptionId: SUB, name: "rg-one", location: "westeurope" }],
  users: [ALICE],
  servicePrincipals: [
    { ...APP, displayName: "aml-steward" },
    { ...MI, displayName: "mi-pipeline", kind: "managedIdentity" },
  ],
  // The emulator enforces RBAC: every principal here builds in the subscription.
  roleAssignments: [ALICE.objectId, APP.objectId, MI.objectId].map((principalId) => ({
    scope: `/subscriptions/${SUB}`,
    roleDefinitionId: "b24988ac-6180-42a0-ab88-20f7382dd24c",
    principalId,
  })),
};

let emu: EmulatorHandle;
const armOptions = (url: string) => armClientOptions(url, { maxRetries: 0 });

beforeAll(async () => {
  emu = await startTestEmulator({ seed });
});
afterAll(async () => {
  await emu?.stop();
});

describe("Entra token endpoint with the real ClientSecretCredential", () => {
  it("issues a token that identifies the service principal", async () => {
    const cred = emulatorSecretCredential(emu.url, TENANT, APP.appId, APP.clientSecret);
    const token = await cred.getToken("https://management.azure.com/.default");
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(emu.directory.principalForToken(token.token)).toMatchObject({
      objectId: APP.objectId,
      kind: "servicePrincipal",
    });
    const claims = JSON.parse(
      Buffer.from(token.token.split(".")[1]!, "base64url").toString("utf8"),
    ) as Record<string, unknown>;
    expect(claims).toMatchObject({
      oid: APP.objectId,
      appid: APP.appId,
      idtyp: "app",
      tid: TENANT,
      name: "aml-steward",
    });

    // ARM accepts it and knows the caller.
    const arm = new ResourceManagementClient(cred, SUB, armOptions(emu.url));
    const groups = [];
    for await (const g of arm.resourceGroups.list()) groups.push(g.name);
    expect(groups).toEqual(["rg-one"]);
  });

  it("fails with Entra's errors for a wrong secret, an unknown app and a managed identity", async () => {
    const wrong = emulatorSecretCredential(emu.url, TENANT, APP.appId, "nope");
    const e1 = await wrong.getToken("https://management.azure.com/.default").catch((e: unknown) => e);
    // @azure/identity turns every MSAL server error into AuthenticationRequiredError, Entra's text inside.
    expect(e1).toBeInstanceOf(AuthenticationRequiredError);
    expect((e1 as Error).message).toMatch(/invalid_client.*AADSTS7000215: Invalid client secret provided/s);

    const unknown = emulatorSecretCredential(emu.url, TENANT, "f0000000-0000-4000-8000-00000000000f", "x");
    const e2 = await unknown.getToken("https://management.azure.com/.default").catch((e: unknown) => e);
    expect((e2 as Error).message).toContain("AADSTS700016");

    const mi = emulatorSecretCredential(emu.url, TENANT, MI.appId, "anything");
    const e3 = await mi.getToken("https://management.azure.com/.default").catch((e: unknown) => e);
    expect((e3 as Error).message).toContain("AADSTS7000215");
  });

  it("answers a raw client-credentials request without /.default with AADSTS1002012", async () => {
    const res = await fetch(`${emu.url}/${TENANT}/oauth2/v2.0/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: APP.appId,
        client_secret: APP.clientSecret,
        scope: "https://graph.microsoft.com/Group.ReadWrite.All",
      }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      error: string;
      error_codes: number[];
      error_description: string;
      trace_id: string;
      correlation_id: string;
    };
    expect(body).toMatchObject({ error: "invalid_scope", error_codes: [1002012] });
    expect(body.error_description).toMatch(/^AADSTS1002012: /);
    expect(body.trace_id).toBeTruthy();
  });

  it("mints user and managed-identity tokens through /_emulator/tokens for a static credential", async () => {
    const asAlice = new EmulatorPrincipalCredential(emu.url, { objectId: ALICE.objectId });
    const token = await asAlice.getToken("https://management.azure.com/.default");
    expect(emu.directory.principalForToken(token.token)).toMatchObject({
      objectId: ALICE.objectId,
      kind: "user",
      userPrincipalName: ALICE.userPrincipalName,
    });
    const arm = new ResourceManagementClient(asAlice, SUB, armOptions(emu.url));
    const rg = await arm.resourceGroups.createOrUpdate("rg-alice", { location: "westeurope" });
    expect(rg.name).toBe("rg-alice");
    expect(emu.requests.snapshot({ method: "PUT" }).requests.some((r) => r.caller === ALICE.objectId)).toBe(
      true,
    );

    const res = await fetch(`${emu.url}/_emulator/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ appId: MI.appId }),
    });
    const body = (await res.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe("Bearer");
    expect(emu.directory.principalForToken(body.access_token)).toMatchObject({
      objectId: MI.objectId,
      kind: "managedIdentity",
    });

    const missing = await fetch(`${emu.url}/_emulator/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ objectId: "99999999-9999-4999-8999-999999999999" }),
    });
    expect(missing.status).toBe(404);
  });

  it("rejects a Graph token at ARM and an ARM token at Graph", async () => {
    const cred = emulatorSecretCredential(emu.url, TENANT, APP.appId, APP.clientSecret);
    const graphToken = await cred.getToken("https://graph.microsoft.com/.default");
    const arm = await fetch(`${emu.url}/subscriptions/${SUB}/resourcegroups?api-version=2025-04-01`, {
      headers: { authorization: `Bearer ${graphToken.token}` },
    });
    expect(arm.status).toBe(401);
    const armToken = await cred.getToken("https://management.azure.com/.default");
    const graph = await fetch(`${emu.url}/v1.0/users`, {
      headers: { authorization: `Bearer ${armToken.token}` },
    });
    expect(graph.status).toBe(401);
    expect(((await graph.json()) as { error: { code: string } }).error.code).toBe(
      "InvalidAuthenticationToken",
    );
  });
});
