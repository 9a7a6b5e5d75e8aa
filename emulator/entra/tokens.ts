/**
 * The tenant's token service: issues access tokens (v1 for ARM, Graph and other resources; v2.0
 * for an API a seeded app registration exposes) and ID tokens, all RS256 JWTs signed with the
 * tenant's key (jwt.ts) and published as a JWKS, so code that validates tokens against a
 * tenant's OpenID configuration (jose, MSAL...) runs unchanged; and checks tokens it issued.
 * It reads the directory through TokenDirectory only: who exposes which API, and the app roles
 * a principal holds (the `roles` claim).
 */
import { createHash, randomBytes, verify } from "node:crypto";
import type { Principal } from "../types.js";
import { GRAPH_SERVICE_PRINCIPAL_ID } from "../graph/appRoles.js";
import {
  USER_TOKEN_CLIENT_APP_ID,
  v2Issuer,
  type IssuedToken,
  type IssueOptions,
  type TokenCheckFailure,
  type TokenClaims,
  type V1TokenClaims,
  type V2TokenClaims,
} from "./claims.js";
import { makeSigningKey, signJwt, type PublicJwk, type SigningKey } from "./jwt.js";

const TOKEN_LIFETIME_S = 3599;

/** The part of the directory tokens are made from. */
export interface TokenDirectory {
  readonly tenantId: string;
  now(): number;
  apiForResource(resource: string): Principal | undefined;
  appRoleValues(principalId: string, resourceId: string): string[];
}

export class TokenService {
  /**
   * Signs tokens; kept across directory resets so tokens cached by SDK clients (and JWKS cached
   * by validators) stay valid. Made on first use: RSA key generation costs tens of milliseconds
   * and many unit tests build a Directory without ever issuing a token.
   */
  private key: SigningKey | undefined;

  constructor(private readonly directory: TokenDirectory) {}

  private signingKey(): SigningKey {
    this.key ??= makeSigningKey();
    return this.key;
  }

  /** The tenant's JWKS (what /{tenant}/discovery/v2.0/keys serves). */
  jwks(): { keys: PublicJwk[] } {
    return { keys: [{ ...this.signingKey().jwk }] };
  }

  private signJwt(claims: object): string {
    return signJwt(this.signingKey(), claims);
  }

  /**
   * Entra gives each application its own `sub` for a user (a pairwise id), so `sub` must not be
   * used to recognise a person across apps; `oid` is the stable id.
   */
  private pairwiseSubject(objectId: string, appId: string): string {
    return createHash("sha256").update(`${this.directory.tenantId}|${appId}|${objectId}`).digest("base64url");
  }

  /**
   * Issues an access token for the principal and resource: a v1 token for ARM, Graph and any
   * other resource (e.g. https://management.azure.com/), a v2.0 token when the resource is an
   * API a seeded app registration exposes (see apiForResource), which needs opts.baseUrl.
   */
  issueToken(principal: Principal, resource: string, opts: IssueOptions = {}): IssuedToken {
    const api = this.directory.apiForResource(resource);
    const claims = api ? this.v2Claims(principal, api, opts) : this.v1Claims(principal, resource);
    return { accessToken: this.signJwt(claims), expiresIn: TOKEN_LIFETIME_S, claims };
  }

  private times(): { iat: number; nbf: number; exp: number } {
    const nowS = Math.floor(this.directory.now() / 1000);
    return { iat: nowS - 5, nbf: nowS - 5, exp: nowS + TOKEN_LIFETIME_S };
  }

  private v1Claims(principal: Principal, resource: string): V1TokenClaims {
    const base = {
      aud: resource,
      iss: `https://sts.windows.net/${this.directory.tenantId}/`,
      ...this.times(),
      tid: this.directory.tenantId,
      oid: principal.objectId,
      sub: principal.objectId,
      name: principal.displayName,
      ver: "1.0" as const,
      uti: randomBytes(16).toString("base64url"),
      rh: "0.emulator",
    };
    const claims: V1TokenClaims =
      principal.kind === "user"
        ? {
            ...base,
            appid: USER_TOKEN_CLIENT_APP_ID,
            appidacr: "0",
            idtyp: "user",
            upn: principal.userPrincipalName,
            unique_name: principal.userPrincipalName,
            scp: "user_impersonation",
            amr: ["pwd"],
          }
        : {
            ...base,
            appid: principal.appId ?? "",
            appidacr: "1",
            idtyp: "app",
            app_displayname: principal.displayName,
          };
    // App-only tokens for Microsoft Graph carry the application permissions granted to the app.
    if (principal.kind !== "user" && resource.replace(/\/+$/, "") === "https://graph.microsoft.com") {
      const roles = this.directory.appRoleValues(principal.objectId, GRAPH_SERVICE_PRINCIPAL_ID);
      if (roles.length > 0) claims.roles = roles;
    }
    return claims;
  }

  private v2Claims(principal: Principal, api: Principal, opts: IssueOptions): V2TokenClaims {
    if (!opts.baseUrl)
      throw new Error(
        `a token for ${api.displayName}'s API is a v2.0 token whose issuer needs the emulator's base URL`,
      );
    const user = principal.kind === "user";
    const apiAppId = api.appId ?? "";
    const roles = this.directory.appRoleValues(principal.objectId, api.objectId);
    return {
      aud: apiAppId,
      iss: v2Issuer(opts.baseUrl, this.directory.tenantId),
      ...this.times(),
      azp: opts.clientAppId?.toLowerCase() ?? (user ? USER_TOKEN_CLIENT_APP_ID : (principal.appId ?? "")),
      azpacr: opts.clientAuth ?? (user ? "0" : principal.kind === "managedIdentity" ? "2" : "1"),
      ...(user ? { name: principal.displayName, preferred_username: principal.userPrincipalName ?? "" } : {}),
      oid: principal.objectId,
      sub: user ? this.pairwiseSubject(principal.objectId, apiAppId) : principal.objectId,
      tid: this.directory.tenantId,
      uti: randomBytes(16).toString("base64url"),
      rh: "0.emulator",
      ver: "2.0",
      idtyp: user ? "user" : "app",
      // Delegated tokens carry the delegated permission; app-only tokens only app roles.
      ...(user ? { scp: "user_impersonation" } : {}),
      ...(roles.length > 0 ? { roles } : {}),
    };
  }

  /**
   * A v2.0 ID token for a user signing in to a client app (the ROPC response's id_token, which
   * MSAL reads to build the signed-in account).
   */
  issueIdToken(user: Principal, clientAppId: string, baseUrl: string): string {
    const client = clientAppId.toLowerCase();
    return this.signJwt({
      aud: client,
      iss: v2Issuer(baseUrl, this.directory.tenantId),
      ...this.times(),
      name: user.displayName,
      oid: user.objectId,
      preferred_username: user.userPrincipalName ?? "",
      rh: "0.emulator",
      sub: this.pairwiseSubject(user.objectId, client),
      tid: this.directory.tenantId,
      uti: randomBytes(16).toString("base64url"),
      ver: "2.0",
    });
  }

  /**
   * Decodes and checks a token this directory issued: algorithm, signature, tenant and lifetime.
   * Only RS256 is accepted, whatever the header says, so `alg: none` or an HMAC keyed with the
   * public key (the classic algorithm-confusion forgeries) cannot pass.
   */
  checkToken(token: string): { ok: true; claims: TokenClaims } | { ok: false; reason: TokenCheckFailure } {
    const parts = token.split(".");
    if (parts.length !== 3) return { ok: false, reason: "malformed" };
    const [header, payload, signature] = parts as [string, string, string];
    let head: unknown;
    try {
      head = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (typeof head !== "object" || head === null) return { ok: false, reason: "malformed" };
    const { alg, kid } = head as { alg?: unknown; kid?: unknown };
    if (alg !== "RS256") return { ok: false, reason: "algorithm" };
    const key = this.signingKey();
    if (kid !== undefined && kid !== key.jwk.kid) return { ok: false, reason: "signature" };
    let valid: boolean;
    try {
      valid = verify(
        "sha256",
        Buffer.from(`${header}.${payload}`),
        key.publicKey,
        Buffer.from(signature, "base64url"),
      );
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, reason: "signature" };
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as TokenClaims;
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (typeof claims !== "object" || claims === null) return { ok: false, reason: "malformed" };
    if (claims.tid !== this.directory.tenantId) return { ok: false, reason: "tenant" };
    const nowS = this.directory.now() / 1000;
    if (typeof claims.exp !== "number" || claims.exp <= nowS || claims.nbf > nowS + 300)
      return { ok: false, reason: "expired" };
    return { ok: true, claims };
  }

  /** The claims of a valid token this directory issued; undefined otherwise. */
  verifyToken(token: string): TokenClaims | undefined {
    const r = this.checkToken(token);
    return r.ok ? r.claims : undefined;
  }
}
