/**
 * Who is asking: the Entra ID access token a requester or approver sends with a promotion
 * request, approval or API call, validated here and nowhere else. Identity is taken only from a
 * token whose signature verifies against the tenant's published keys (RS256 only, so `alg: none`
 * or a key-confusion HS256 token never verifies), issued by the estate's tenant for aml-steward's
 * own API, and inside its lifetime. A body's `requestedBy` is a claim to check, never a source.
 *
 * jose does the cryptography and the standard claim checks; this module maps its errors to
 * reasons a requester can act on, and never logs or returns the token itself.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

export interface Caller {
  /** Entra object id (`oid`): the identity every authorisation decision uses. */
  objectId: string;
  tenantId: string;
  /** Delegated tokens (a signed-in person) carry `scp`; app-only tokens do not. */
  kind: "user" | "app";
  userPrincipalName?: string;
  displayName?: string;
  /** The client application that obtained the token (`azp` in v2, `appid` in v1). */
  clientAppId?: string;
}

export type TokenFailure =
  | "missing"
  | "malformed"
  | "algorithm"
  | "signature"
  | "expired"
  | "notYetValid"
  | "audience"
  | "issuer"
  | "tenant"
  | "claims";

export type TokenCheck =
  | { ok: true; caller: Caller }
  | {
      ok: false;
      failure: TokenFailure;
      reason: string;
      /**
       * Only for `expired`: the caller of a token whose signature, issuer and audience verified.
       * A redelivered message may continue a record that this caller created while the token was
       * valid; it may never start anything new.
       */
      expiredCaller?: Caller;
    };

export interface CallerTokenOptions {
  tenantId: string;
  /** The API's client id; its `api://{clientId}` URI is accepted too (v1 tokens carry it). */
  apiClientId: string;
  /** Accepted `iss` values (v2: {authority}/{tenant}/v2.0; v1: https://sts.windows.net/{tenant}/). */
  issuers: string[];
  keys: JWTVerifyGetKey;
  /** Entra allows five minutes of clock skew. */
  clockToleranceSeconds?: number;
  now?: () => Date;
}

export class CallerTokenValidator {
  constructor(private readonly opts: CallerTokenOptions) {}

  async validate(token: unknown): Promise<TokenCheck> {
    if (typeof token !== "string" || token.length === 0)
      return fail("missing", "no access token was sent with the request");
    if (token.length > 16_384 || token.split(".").length !== 3)
      return fail("malformed", "the access token is not a signed JWT");
    const { tenantId, apiClientId } = this.opts;
    try {
      const { payload } = await jwtVerify(token, this.opts.keys, {
        algorithms: ["RS256"],
        issuer: this.opts.issuers,
        audience: [apiClientId, `api://${apiClientId}`],
        clockTolerance: this.opts.clockToleranceSeconds ?? 300,
        requiredClaims: ["exp", "iat", "oid", "tid"],
        currentDate: this.opts.now?.(),
      });
      return this.callerOf(payload);
    } catch (e) {
      if (e instanceof errors.JWTExpired) {
        const caller = this.callerOf(e.payload);
        return {
          ok: false,
          failure: "expired",
          reason: "the access token has expired; sign in again",
          ...(caller.ok ? { expiredCaller: caller.caller } : {}),
        };
      }
      if (e instanceof errors.JWTClaimValidationFailed) {
        if (e.claim === "aud")
          return fail("audience", `the access token is not for aml-steward's API (audience ${apiClientId})`);
        if (e.claim === "iss")
          return fail("issuer", `the access token was not issued by the estate's tenant ${tenantId}`);
        if (e.claim === "nbf" || e.claim === "iat")
          return fail("notYetValid", "the access token is not valid yet");
        return fail("claims", `the access token lacks a valid '${e.claim}' claim`);
      }
      if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported)
        return fail("algorithm", "the access token is not signed with RS256");
      if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSNoMatchingKey)
        return fail("signature", "the access token's signature does not verify against the tenant's keys");
      if (
        e instanceof errors.JWSInvalid ||
        e instanceof errors.JWTInvalid ||
        e instanceof errors.JWKSMultipleMatchingKeys
      )
        return fail("malformed", "the access token is not a well-formed signed JWT");
      throw e; // the key set could not be fetched: our outage, not the caller's fault
    }
  }

  private callerOf(payload: JWTPayload): TokenCheck {
    const str = (k: string) => (typeof payload[k] === "string" ? (payload[k] as string) : undefined);
    const tid = str("tid");
    if (!tid || tid.toLowerCase() !== this.opts.tenantId.toLowerCase())
      return fail("tenant", `the access token belongs to another tenant than ${this.opts.tenantId}`);
    const oid = str("oid");
    if (!oid || !/^[0-9a-fA-F-]{36}$/.test(oid)) return fail("claims", "the access token has no object id");
    return {
      ok: true,
      caller: {
        objectId: oid.toLowerCase(),
        tenantId: tid.toLowerCase(),
        kind: str("scp") !== undefined ? "user" : "app",
        userPrincipalName: str("upn") ?? str("preferred_username"),
        displayName: str("name") ?? str("app_displayname"),
        clientAppId: str("azp") ?? str("appid"),
      },
    };
  }
}

function fail(failure: TokenFailure, reason: string): TokenCheck {
  return { ok: false, failure, reason };
}

export { bearerToken } from "./bearer.js";

export interface TokenAuthority {
  /** https://login.microsoftonline.com, a sovereign cloud's, or the local emulator's. */
  authorityHost: string;
  tenantId: string;
  apiClientId: string;
}

export interface TokenValidator {
  validate(token: unknown): Promise<TokenCheck>;
}

/**
 * A validator over the tenant's published signing keys, found through its OpenID configuration
 * (fetched once; jose caches the key set and refetches it when a token names an unknown key,
 * which is how Entra's key rollover reaches us). Accepted issuers: the configuration's own (v2)
 * and the tenant's v1 issuer.
 */
export function tenantTokenValidator(a: TokenAuthority): TokenValidator {
  const base = a.authorityHost.replace(/\/+$/, "");
  const configUrl = `${base}/${a.tenantId}/v2.0/.well-known/openid-configuration`;
  let ready: Promise<CallerTokenValidator> | undefined;
  const validator = () =>
    (ready ??= (async () => {
      const res = await fetch(configUrl);
      if (!res.ok) throw new Error(`OpenID configuration ${configUrl} answered ${res.status}`);
      const doc = (await res.json()) as { jwks_uri?: string; issuer?: string };
      if (!doc.jwks_uri || !doc.issuer)
        throw new Error(`OpenID configuration ${configUrl} has no jwks_uri or issuer`);
      return new CallerTokenValidator({
        tenantId: a.tenantId,
        apiClientId: a.apiClientId,
        issuers: [doc.issuer, `https://sts.windows.net/${a.tenantId}/`],
        keys: createRemoteJWKSet(new URL(doc.jwks_uri)),
      });
    })().catch((e: unknown) => {
      ready = undefined; // try again on the next request
      throw e;
    }));
  return {
    async validate(token) {
      if (typeof token !== "string" || token.length === 0)
        return fail("missing", "no access token was sent with the request");
      return (await validator()).validate(token);
    },
  };
}

const PUBLIC_AUTHORITY = "https://login.microsoftonline.com";
const validators = new Map<string, TokenValidator>();

/**
 * The process's validator for the estate's tenant and aml-steward's API, from the settings
 * (one per authority, tenant and API, so the key set is fetched once per process). Unconfigured,
 * every token is refused with a reason naming the missing setting: no setting means no trust.
 */
export function callerTokens(settings: {
  STEWARD_AUTHORITY_HOST?: string;
  STEWARD_TENANT_ID?: string;
  STEWARD_API_CLIENT_ID?: string;
}): TokenValidator {
  const tenantId = settings.STEWARD_TENANT_ID;
  const apiClientId = settings.STEWARD_API_CLIENT_ID;
  if (!tenantId || !apiClientId) {
    const missing = [!tenantId && "STEWARD_TENANT_ID", !apiClientId && "STEWARD_API_CLIENT_ID"].filter(
      Boolean,
    );
    return {
      validate: async () =>
        fail(
          "audience",
          `aml-steward's API is not configured (${missing.join(" and ")} unset), so no token can be trusted`,
        ),
    };
  }
  const authorityHost = settings.STEWARD_AUTHORITY_HOST ?? PUBLIC_AUTHORITY;
  const key = `${authorityHost}|${tenantId}|${apiClientId}`.toLowerCase();
  let v = validators.get(key);
  if (!v) validators.set(key, (v = tenantTokenValidator({ authorityHost, tenantId, apiClientId })));
  return v;
}
