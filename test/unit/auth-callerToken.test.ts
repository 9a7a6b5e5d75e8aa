import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { bearerToken, CallerTokenValidator } from "../../shared/auth/callerToken.js";

const TENANT = "72f988bf-0000-4e7a-9c3b-2d7cd011db47";
const API = "3c0ffee0-1111-4222-8333-444444444444";
const ISSUER = `https://login.example/${TENANT}/v2.0`;
const ALICE = "a11ce000-0000-4000-8000-000000000001";

let validator: CallerTokenValidator;
let signingKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
let otherKey: typeof signingKey;
let publicJwk: JWK;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

function claims(over: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    aud: API,
    iss: ISSUER,
    tid: TENANT,
    oid: ALICE,
    preferred_username: "alice@contoso.com",
    name: "Alice",
    scp: "user_impersonation",
    azp: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
    iat: now - 10,
    nbf: now - 10,
    exp: now + 3600,
    ...over,
  };
}

function sign(body: Record<string, unknown>, key = signingKey): Promise<string> {
  return new SignJWT(body).setProtectedHeader({ alg: "RS256", kid: "k1", typ: "JWT" }).sign(key);
}

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair("RS256")).privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  validator = new CallerTokenValidator({
    tenantId: TENANT,
    apiClientId: API,
    issuers: [ISSUER, `https://sts.windows.net/${TENANT}/`],
    keys: createLocalJWKSet({ keys: [publicJwk] }),
  });
});

describe("CallerTokenValidator", () => {
  it("takes the caller from a valid delegated token", async () => {
    const r = await validator.validate(await sign(claims()));
    expect(r).toEqual({
      ok: true,
      caller: {
        objectId: ALICE,
        tenantId: TENANT,
        kind: "user",
        userPrincipalName: "alice@contoso.com",
        displayName: "Alice",
        clientAppId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
      },
    });
  });

  it("accepts the api:// audience and the v1 issuer, and tells app-only tokens apart", async () => {
    const r = await validator.validate(
      await sign(
        claims({
          aud: `api://${API}`,
          iss: `https://sts.windows.net/${TENANT}/`,
          scp: undefined,
          appid: "x",
        }),
      ),
    );
    expect(r.ok && r.caller.kind).toBe("app");
  });

  const refusals: [string, () => Promise<string>, string][] = [
    ["wrong audience", () => sign(claims({ aud: "https://management.azure.com/" })), "audience"],
    ["wrong issuer", () => sign(claims({ iss: "https://login.example/other/v2.0" })), "issuer"],
    ["another tenant", () => sign(claims({ tid: "00000000-0000-4000-8000-000000000000" })), "tenant"],
    ["expired", () => sign(claims({ exp: Math.floor(Date.now() / 1000) - 600 })), "expired"],
    ["not yet valid", () => sign(claims({ nbf: Math.floor(Date.now() / 1000) + 3600 })), "notYetValid"],
    ["signed by another key", () => sign(claims(), otherKey), "signature"],
    ["without an object id", () => sign(claims({ oid: undefined })), "claims"],
    ["alg none", async () => `${b64({ alg: "none", typ: "JWT" })}.${b64(claims())}.`, "algorithm"],
    [
      "HS256 keyed with the public key (key confusion)",
      async () => {
        const { createHmac } = await import("node:crypto");
        const head = `${b64({ alg: "HS256", kid: "k1" })}.${b64(claims())}`;
        const mac = createHmac("sha256", JSON.stringify(publicJwk)).update(head).digest("base64url");
        return `${head}.${mac}`;
      },
      "algorithm",
    ],
    [
      "an edited payload",
      async () => {
        const [h, , s] = (await sign(claims())).split(".");
        return `${h}.${b64(claims({ oid: "e2140000-0000-4000-8000-000000000005" }))}.${s}`;
      },
      "signature",
    ],
    ["garbage", async () => "not.a.jwt", "malformed"],
    ["nothing", async () => "", "missing"],
  ];
  for (const [name, make, failure] of refusals) {
    it(`refuses a token ${name} (${failure})`, async () => {
      const r = await validator.validate(await make());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.failure).toBe(failure);
        expect(r.reason).not.toMatch(/eyJ/); // never echoes the token
      }
    });
  }

  it("names the verified caller of an expired token, and of nothing else", async () => {
    const r = await validator.validate(await sign(claims({ exp: Math.floor(Date.now() / 1000) - 600 })));
    expect(!r.ok && r.expiredCaller?.objectId).toBe(ALICE);
    const forged = await validator.validate(
      await sign(claims({ exp: Math.floor(Date.now() / 1000) - 600 }), otherKey),
    );
    expect(!forged.ok && forged.expiredCaller).toBeUndefined();
  });

  it("reads bearer tokens from Authorization headers", () => {
    expect(bearerToken("Bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(bearerToken("bearer  x ")).toBe("x");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
