/**
 * Tokens for aml-steward's own API from the emulated Entra, validated the way the app validates
 * senders' tokens in Azure: jose against the tenant's OpenID configuration and JWKS, over HTTPS.
 * Also: the emulator's own checks refuse forged tokens, users sign in with ROPC (raw and through
 * @azure/identity's UsernamePasswordCredential), and ARM/Graph tokens keep their v1 shape.
 */
import { ResourceManagementClient } from "@azure/arm-resources";
import { UsernamePasswordCredential } from "@azure/identity";
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { USER_TOKEN_CLIENT_APP_ID } from "@aml-steward/azure-emulator";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import { emulatorAppSettings } from "../../local/stack.js";
import {
  contosoSeed,
  explorationIds,
  PEOPLE,
  STEWARD_API,
  STEWARD_APP,
  TENANT_ID,
} from "../../local/seeds/contoso.js";
import { getPolicy } from "../../shared/policy/index.js";
import { armClientOptions, emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";

const policy = getPolicy();
const SUB = explorationIds(policy).subscriptionId;
const API_SCOPE = `${STEWARD_API.identifierUri}/.default`;
const ARM_SCOPE = "https://management.azure.com/.default";
/** An app role of a second API, to see app roles reach the `roles` claim. */
const REPORTS_API = {
  objectId: "7c3a9e5f-1d4b-4a0c-8e6f-2b3c4d5e6f70",
  appId: "8d4b0f6a-2e5c-4b1d-9f7a-3c4d5e6f7081",
  displayName: "reports API",
  roleId: "9e5c1a7b-3f6d-4c2e-8a8b-4d5e6f708192",
};

let emu: EmulatorHandle;
let openIdConfig: { issuer: string; jwks_uri: string; token_endpoint: string };
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  emu = await startTestEmulator({ seed: contosoSeed(policy) });
  emu.seed({
    servicePrincipals: [
      {
        objectId: REPORTS_API.objectId,
        appId: REPORTS_API.appId,
        displayName: REPORTS_API.displayName,
        identifierUris: [`api://${REPORTS_API.appId}`],
        appRoles: [
          {
            id: REPORTS_API.roleId,
            value: "Reports.Read",
            displayName: "Read reports",
            description: "Read reports",
            allowedMemberTypes: ["User", "Application"],
          },
        ],
      },
    ],
  });
  const res = await fetch(`${emu.url}/${TENANT_ID}/v2.0/.well-known/openid-configuration`);
  openIdConfig = (await res.json()) as typeof openIdConfig;
  jwks = createRemoteJWKSet(new URL(openIdConfig.jwks_uri));
});
afterAll(async () => {
  await emu?.stop();
});

/** What the app will do with a sender's token: the tenant's issuer and keys, the API's client id. */
function verifyForApi(token: string, audience: string = STEWARD_API.appId) {
  return jwtVerify(token, jwks, { issuer: openIdConfig.issuer, audience, algorithms: ["RS256"] });
}

async function mint(body: Record<string, string>): Promise<string> {
  const res = await fetch(`${emu.url}/_emulator/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

function ropc(params: Record<string, string>, tenant: string = TENANT_ID): Promise<Response> {
  return fetch(`${emu.url}/${tenant}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params),
  });
}

function listGroups(token: string): Promise<Response> {
  return fetch(`${emu.url}/subscriptions/${SUB}/resourcegroups?api-version=2025-04-01`, {
    headers: { authorization: `Bearer ${token}` },
  });
}

function payloadOf(token: string): string {
  return token.split(".")[1]!;
}

describe("OpenID configuration and JWKS", () => {
  it("publishes the RS256 signing key under both key paths, with the issuer tokens carry", async () => {
    expect(openIdConfig.issuer).toBe(`${emu.url}/${TENANT_ID}/v2.0`);
    expect(openIdConfig.jwks_uri).toBe(`${emu.url}/${TENANT_ID}/discovery/v2.0/keys`);
    const v2 = (await (await fetch(openIdConfig.jwks_uri)).json()) as { keys: Record<string, string>[] };
    const v1 = (await (await fetch(`${emu.url}/${TENANT_ID}/discovery/keys`)).json()) as typeof v2;
    expect(v1).toEqual(v2);
    expect(v2.keys).toHaveLength(1);
    const key = v2.keys[0]!;
    expect(key).toMatchObject({ kty: "RSA", use: "sig", alg: "RS256", e: "AQAB" });
    // 2048-bit modulus: 256 bytes, 342 base64url characters.
    expect(Buffer.from(key.n!, "base64url")).toHaveLength(256);
    expect(key).not.toHaveProperty("d");

    const token = await mint({ userPrincipalName: PEOPLE.alice.userPrincipalName, scope: ARM_SCOPE });
    expect(decodeProtectedHeader(token)).toEqual({ typ: "JWT", alg: "RS256", kid: key.kid });
  });

  it("refuses another tenant as before", async () => {
    const res = await fetch(`${emu.url}/00000000-0000-4000-8000-000000000000/discovery/v2.0/keys`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_request", error_codes: [90002] });
  });
});

describe("v2.0 access tokens for aml-steward's API, verified with jose", () => {
  it("a user's token from /_emulator/tokens carries Entra's v2 delegated claims", async () => {
    const token = await mint({ userPrincipalName: PEOPLE.alice.userPrincipalName, scope: API_SCOPE });
    const { payload, protectedHeader } = await verifyForApi(token);
    expect(protectedHeader.alg).toBe("RS256");
    expect(payload).toMatchObject({
      ver: "2.0",
      iss: `${emu.url}/${TENANT_ID}/v2.0`,
      aud: STEWARD_API.appId,
      azp: USER_TOKEN_CLIENT_APP_ID,
      azpacr: "0",
      oid: PEOPLE.alice.objectId,
      tid: TENANT_ID,
      name: PEOPLE.alice.displayName,
      preferred_username: PEOPLE.alice.userPrincipalName,
      idtyp: "user",
      scp: "user_impersonation",
      rh: "0.emulator",
    });
    expect(typeof payload.uti).toBe("string");
    // Pairwise, as Entra: sub is per user and API, never the object id.
    expect(payload.sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(payload.sub).not.toBe(PEOPLE.alice.objectId);
    expect(payload).not.toHaveProperty("roles");
    expect(payload).not.toHaveProperty("appid");
    expect(payload.nbf).toBeLessThanOrEqual(payload.iat!);
    expect(payload.exp! - payload.iat!).toBeGreaterThan(3000);

    // The same API by its client id, and through the static credential tests use; clientId sets azp.
    const byAppId = await mint({
      objectId: PEOPLE.bob.objectId,
      scope: `${STEWARD_API.appId}/.default`,
      clientId: STEWARD_APP.appId,
    });
    expect((await verifyForApi(byAppId)).payload).toMatchObject({
      oid: PEOPLE.bob.objectId,
      azp: STEWARD_APP.appId,
      aud: STEWARD_API.appId,
    });
    const cred = new EmulatorPrincipalCredential(emu.url, { objectId: PEOPLE.carol.objectId });
    const viaCred = await cred.getToken(API_SCOPE);
    expect((await verifyForApi(viaCred.token)).payload.oid).toBe(PEOPLE.carol.objectId);
  });

  it("an app's token from the real ClientSecretCredential carries the v2 app claims", async () => {
    const cred = emulatorSecretCredential(emu.url, TENANT_ID, STEWARD_APP.appId, STEWARD_APP.clientSecret);
    const token = await cred.getToken(API_SCOPE);
    const { payload } = await verifyForApi(token.token);
    expect(payload).toMatchObject({
      ver: "2.0",
      aud: STEWARD_API.appId,
      azp: STEWARD_APP.appId,
      azpacr: "1",
      oid: STEWARD_APP.objectId,
      sub: STEWARD_APP.objectId,
      tid: TENANT_ID,
      idtyp: "app",
    });
    for (const claim of ["scp", "roles", "name", "preferred_username"])
      expect(payload).not.toHaveProperty(claim);
  });

  it("app roles assigned on the API's service principal reach the roles claim, for apps and users", async () => {
    for (const [principalId, principalType] of [
      [STEWARD_APP.objectId, "ServicePrincipal"],
      [PEOPLE.dave.objectId, "User"],
    ] as const) {
      emu.directory.addAppRoleAssignment({
        principalId,
        principalType,
        principalDisplayName: principalId,
        resourceId: REPORTS_API.objectId,
        resourceDisplayName: REPORTS_API.displayName,
        appRoleId: REPORTS_API.roleId,
      });
    }
    const cred = emulatorSecretCredential(emu.url, TENANT_ID, STEWARD_APP.appId, STEWARD_APP.clientSecret);
    const app = await cred.getToken(`api://${REPORTS_API.appId}/.default`);
    expect((await verifyForApi(app.token, REPORTS_API.appId)).payload.roles).toEqual(["Reports.Read"]);
    const user = await mint({ objectId: PEOPLE.dave.objectId, scope: `${REPORTS_API.appId}/.default` });
    expect((await verifyForApi(user, REPORTS_API.appId)).payload).toMatchObject({
      roles: ["Reports.Read"],
      scp: "user_impersonation",
    });
    // Roles on one API never leak into tokens for another.
    expect((await verifyForApi((await cred.getToken(API_SCOPE)).token)).payload).not.toHaveProperty("roles");
  });

  it("the local settings give the app the API's audience", async () => {
    const settings = emulatorAppSettings(emu, "UseDevelopmentStorage=true");
    expect(settings.STEWARD_API_CLIENT_ID).toBe(STEWARD_API.appId);
    const token = await mint({ objectId: PEOPLE.erin.objectId, scope: API_SCOPE });
    const conf = (await (
      await fetch(
        `${settings.STEWARD_AUTHORITY_HOST}/${settings.STEWARD_TENANT_ID}/v2.0/.well-known/openid-configuration`,
      )
    ).json()) as { issuer: string };
    const { payload } = await jwtVerify(token, jwks, {
      issuer: conf.issuer,
      audience: settings.STEWARD_API_CLIENT_ID,
    });
    expect(payload.oid).toBe(PEOPLE.erin.objectId);
  });

  it("the v1 endpoint with resource=api://... also issues the v2.0 token the API accepts", async () => {
    const res = await fetch(`${emu.url}/${TENANT_ID}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: STEWARD_APP.appId,
        client_secret: STEWARD_APP.clientSecret,
        resource: STEWARD_API.identifierUri,
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; resource: string };
    expect(body.resource).toBe(STEWARD_API.identifierUri);
    expect((await verifyForApi(body.access_token)).payload).toMatchObject({ ver: "2.0", idtyp: "app" });
  });

  it("API tokens are not ARM or Graph tokens, and ARM tokens are not API tokens", async () => {
    const apiToken = await mint({ userPrincipalName: PEOPLE.alice.userPrincipalName, scope: API_SCOPE });
    const arm = await listGroups(apiToken);
    expect(arm.status).toBe(401);
    expect(((await arm.json()) as { error: { code: string } }).error.code).toBe(
      "InvalidAuthenticationTokenAudience",
    );
    const graph = await fetch(`${emu.url}/v1.0/users`, { headers: { authorization: `Bearer ${apiToken}` } });
    expect(graph.status).toBe(401);

    const armToken = await mint({ userPrincipalName: PEOPLE.alice.userPrincipalName, scope: ARM_SCOPE });
    await expect(verifyForApi(armToken)).rejects.toBeInstanceOf(joseErrors.JWTClaimValidationFailed);
  });
});

describe("forged tokens", () => {
  /** Forgeries of a genuine token; each is refused by ARM (from an ARM token) and by jose (from an API token). */
  async function forgeries(
    genuine: string,
  ): Promise<{ resigned: string; unsigned: string; edited: string; hs256: string }> {
    const header = decodeProtectedHeader(genuine);
    const claims = decodeJwt(genuine);
    const other = await generateKeyPair("RS256");
    const resigned = await new SignJWT(claims)
      .setProtectedHeader({ typ: "JWT", alg: "RS256", kid: header.kid! })
      .sign(other.privateKey);
    const unsigned = new UnsecuredJWT(claims).encode();
    const [h, , s] = genuine.split(".");
    const edited = `${h}.${Buffer.from(JSON.stringify({ ...claims, oid: PEOPLE.erin.objectId })).toString("base64url")}.${s}`;
    // Algorithm confusion: an HMAC keyed with the published public key.
    const jwk = (await (await fetch(openIdConfig.jwks_uri)).json()) as { keys: object[] };
    const hsHeader = Buffer.from(JSON.stringify({ typ: "JWT", alg: "HS256", kid: header.kid })).toString(
      "base64url",
    );
    const hsInput = `${hsHeader}.${payloadOf(genuine)}`;
    const hs256 = `${hsInput}.${createHmac("sha256", JSON.stringify(jwk.keys[0])).update(hsInput).digest("base64url")}`;
    return { resigned, unsigned, edited, hs256 };
  }

  it("ARM answers 401 to a token re-signed with another key, alg none, an edited payload or HS256", async () => {
    const genuine = await mint({ userPrincipalName: PEOPLE.alice.userPrincipalName, scope: ARM_SCOPE });
    expect((await listGroups(genuine)).status).toBe(200);
    for (const [kind, forged] of Object.entries(await forgeries(genuine))) {
      const res = await listGroups(forged);
      expect(res.status, kind).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code, kind).toBe(
        "InvalidAuthenticationToken",
      );
      expect(emu.directory.verifyToken(forged), kind).toBeUndefined();
    }
    expect(emu.directory.checkToken((await forgeries(genuine)).unsigned)).toEqual({
      ok: false,
      reason: "algorithm",
    });
  });

  it("jose refuses the same forgeries of an API token", async () => {
    const genuine = await mint({ userPrincipalName: PEOPLE.alice.userPrincipalName, scope: API_SCOPE });
    await verifyForApi(genuine);
    for (const [kind, forged] of Object.entries(await forgeries(genuine))) {
      const err = await verifyForApi(forged).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, kind).toBeInstanceOf(joseErrors.JOSEError);
    }
  });

  it("a token from another emulator process is worthless here", async () => {
    const other = await startTestEmulator({ seed: contosoSeed(policy) });
    try {
      const res = await fetch(`${other.url}/_emulator/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ objectId: PEOPLE.alice.objectId, scope: ARM_SCOPE }),
      });
      const foreign = ((await res.json()) as { access_token: string }).access_token;
      expect((await listGroups(foreign)).status).toBe(401);
    } finally {
      await other.stop();
    }
  });
});

describe("users sign in with ROPC (grant_type=password)", () => {
  it("issues a verified API token, an id_token and client_info to a public client", async () => {
    const res = await ropc({
      grant_type: "password",
      client_id: STEWARD_API.appId,
      username: PEOPLE.bob.userPrincipalName,
      password: PEOPLE.bob.password,
      scope: `${STEWARD_API.identifierUri}/user_impersonation openid profile offline_access`,
      client_info: "1",
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({
      token_type: "Bearer",
      scope: `${STEWARD_API.identifierUri}/user_impersonation`,
    });
    expect((await verifyForApi(body.access_token!)).payload).toMatchObject({
      oid: PEOPLE.bob.objectId,
      preferred_username: PEOPLE.bob.userPrincipalName,
      azp: STEWARD_API.appId,
      azpacr: "0",
      scp: "user_impersonation",
    });
    // The id_token is for the client app, signed with the same key.
    expect((await verifyForApi(body.id_token!, STEWARD_API.appId)).payload).toMatchObject({
      oid: PEOPLE.bob.objectId,
      ver: "2.0",
    });
    expect(JSON.parse(Buffer.from(body.client_info!, "base64url").toString("utf8"))).toEqual({
      uid: PEOPLE.bob.objectId,
      utid: TENANT_ID,
    });
  });

  it("answers Entra's errors: wrong password, unknown user, unknown client, wrong tenant, unknown scope", async () => {
    const base = {
      grant_type: "password",
      client_id: USER_TOKEN_CLIENT_APP_ID,
      username: PEOPLE.bob.userPrincipalName,
      password: PEOPLE.bob.password,
      scope: API_SCOPE,
    };
    const cases: Array<[Record<string, string>, string | undefined, number, string, number]> = [
      [{ password: PEOPLE.alice.password }, undefined, 400, "invalid_grant", 50126],
      [{ username: "nobody@contoso.com" }, undefined, 400, "invalid_grant", 50034],
      [{ client_id: "01234567-89ab-4cde-8f01-23456789abcd" }, undefined, 400, "unauthorized_client", 700016],
      [{}, "00000000-0000-4000-8000-000000000000", 400, "invalid_request", 90002],
      [{ scope: `${STEWARD_API.identifierUri}/Admin.All` }, undefined, 400, "invalid_scope", 70011],
      [
        { client_secret: "not-the-secret", client_id: STEWARD_APP.appId },
        undefined,
        401,
        "invalid_client",
        7000215,
      ],
    ];
    for (const [override, tenant, status, error, code] of cases) {
      const res = await ropc({ ...base, ...override }, tenant);
      expect(res.status, String(code)).toBe(status);
      const body = (await res.json()) as { error: string; error_codes: number[]; error_description: string };
      expect(body, String(code)).toMatchObject({ error, error_codes: [code] });
      expect(body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
    }
  });

  it("works through @azure/identity's UsernamePasswordCredential, for the API and for ARM", async () => {
    const options = { authorityHost: emu.url, disableInstanceDiscovery: true };
    const cred = new UsernamePasswordCredential(
      TENANT_ID,
      USER_TOKEN_CLIENT_APP_ID,
      PEOPLE.erin.userPrincipalName,
      PEOPLE.erin.password,
      options,
    );
    const apiToken = await cred.getToken(API_SCOPE);
    expect((await verifyForApi(apiToken.token)).payload).toMatchObject({
      oid: PEOPLE.erin.objectId,
      azp: USER_TOKEN_CLIENT_APP_ID,
    });

    // ARM tokens keep Entra's v1 shape; ARM knows the caller.
    const armToken = await cred.getToken(ARM_SCOPE);
    expect(decodeJwt(armToken.token)).toMatchObject({
      ver: "1.0",
      iss: `https://sts.windows.net/${TENANT_ID}/`,
      aud: "https://management.azure.com",
      upn: PEOPLE.erin.userPrincipalName,
    });
    const arm = new ResourceManagementClient(cred, SUB, armClientOptions(emu.url, { maxRetries: 0 }));
    await arm.resourceGroups.createOrUpdate("rg-erin-ropc", { location: "westeurope" });
    expect(
      emu.requests
        .snapshot({ method: "PUT" })
        .requests.some((r) => r.caller === PEOPLE.erin.objectId && r.path.includes("rg-erin-ropc")),
    ).toBe(true);

    const wrong = new UsernamePasswordCredential(
      TENANT_ID,
      USER_TOKEN_CLIENT_APP_ID,
      PEOPLE.erin.userPrincipalName,
      "guess",
      options,
    );
    const err = await wrong.getToken(API_SCOPE).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/invalid_grant.*AADSTS50126/s);
  });
});
