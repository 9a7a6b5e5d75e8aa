/**
 * What outside clients (the Azure CLI, the Python SDK) ask of Microsoft Graph beyond what
 * aml-steward uses: lambda filters on collection properties (`az ad sp show --id <appId>`,
 * `az role assignment create --assignee <appId>`), getMemberGroups, and a token whose audience
 * is the emulator's own URL (a custom cloud whose Graph endpoint is the emulator). The real
 * Graph client and ClientSecretCredential against the emulator.
 */
import { Client, GraphError } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";

const APP = {
  objectId: "a7000000-0000-4000-8000-00000000000a",
  appId: "b7000000-0000-4000-8000-00000000000b",
  clientSecret: "graph-clients-secret",
};
const ALICE = { objectId: "e7000000-0000-4000-8000-00000000000e", userPrincipalName: "alice@contoso.test" };
const INNER = "c7000000-0000-4000-8000-000000000001";
const OUTER = "c7000000-0000-4000-8000-000000000002";
const OTHER = "c7000000-0000-4000-8000-000000000003";

const seed: EmulatorSeed = {
  users: [{ ...ALICE, displayName: "Alice" }],
  servicePrincipals: [{ ...APP, displayName: "outside-client" }],
  groups: [
    { id: INNER, displayName: "inner", members: [ALICE.objectId] },
    { id: OUTER, displayName: "outer", members: [INNER] },
    { id: OTHER, displayName: "other" },
  ],
};

let emu: EmulatorHandle;

function graphWithScope(scope: string): Client {
  const cred = emulatorSecretCredential(emu.url, emu.tenantId, APP.appId, APP.clientSecret);
  return Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(cred, { scopes: [scope] }),
    baseUrl: emu.url,
    customHosts: new Set([new URL(emu.url).hostname]),
  });
}

beforeAll(async () => {
  // Graph mechanics only; application permissions have their own tests.
  emu = await startTestEmulator({ seed, enforceRbac: false });
});
afterAll(async () => emu?.stop());

describe("Graph for outside clients", () => {
  it("filters service principals with a lambda on servicePrincipalNames", async () => {
    const graph = graphWithScope("https://graph.microsoft.com/.default");
    const hit = (await graph
      .api("/servicePrincipals")
      .filter(`servicePrincipalNames/any(c:c eq '${APP.appId}')`)
      .get()) as { value: Array<{ id: string }> };
    expect(hit.value.map((s) => s.id)).toEqual([APP.objectId]);
    const miss = (await graph
      .api("/servicePrincipals")
      .filter("servicePrincipalNames/any(c:c eq 'nobody')")
      .get()) as { value: unknown[] };
    expect(miss.value).toEqual([]);
    // A lambda on a property that is not a collection is refused as Graph refuses it.
    const e = await graph
      .api("/servicePrincipals")
      .filter("displayName/any(c:c eq 'x')")
      .get()
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(e).toBeInstanceOf(GraphError);
    expect((e as GraphError).statusCode).toBe(400);
  });

  it("answers getMemberGroups with every group, transitively", async () => {
    const graph = graphWithScope("https://graph.microsoft.com/.default");
    const r = (await graph
      .api(`/directoryObjects/${ALICE.objectId}/getMemberGroups`)
      .post({ securityEnabledOnly: false })) as { value: string[] };
    expect(r.value.sort()).toEqual([INNER, OUTER].sort());
  });

  it("accepts a token issued for the emulator's own URL as Graph's audience", async () => {
    const graph = graphWithScope(`${emu.url}/.default`);
    const me = (await graph.api(`/servicePrincipals/${APP.objectId}`).get()) as { appId: string };
    expect(me.appId).toBe(APP.appId);
  });
});
