/**
 * What the emulated Entra puts into tokens: Entra's v1 access tokens (ARM, Graph), v2.0 access
 * tokens (an API a seeded app registration exposes), the issuer and audience spellings, and the
 * options a grant passes when it asks for a token.
 */

/** Azure CLI's public client id: the appid a user's token carries when the user signs in with `az login`. */
export const USER_TOKEN_CLIENT_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

interface CommonClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  oid: string;
  sub: string;
  idtyp: "user" | "app";
  uti: string;
  rh: string;
  scp?: string;
  roles?: string[];
  [claim: string]: unknown;
}

/** An Entra v1 access token (ARM, Graph): the app is `appid`, the issuer sts.windows.net. */
export interface V1TokenClaims extends CommonClaims {
  ver: "1.0";
  appid: string;
  appidacr: string;
  name: string;
  upn?: string;
  unique_name?: string;
  app_displayname?: string;
}

/**
 * An Entra v2.0 access token for an API exposed by an app registration: aud is the API's client
 * id, the calling app is `azp`, the issuer `{authority}/{tenant}/v2.0`.
 */
export interface V2TokenClaims extends CommonClaims {
  ver: "2.0";
  azp: string;
  /** How the client app authenticated: "0" public client, "1" secret, "2" certificate or managed identity. */
  azpacr: "0" | "1" | "2";
  name?: string;
  preferred_username?: string;
}

/** Claims of a token this directory issued, as decoded by verifyToken. */
export type TokenClaims = V1TokenClaims | V2TokenClaims;

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  claims: TokenClaims;
}

/** How a principal came to ask for a token; only v2 (API) tokens use it. */
export interface IssueOptions {
  /**
   * The emulator's base URL as the client reached it (e.g. https://127.0.0.1:8443): v2 tokens'
   * issuer derives from it, as the openid-configuration's does, so both agree for any port.
   */
  baseUrl?: string;
  /** The application the principal signed in through (`azp`). Default: the principal's own app; Azure CLI for users. */
  clientAppId?: string;
  /** How that application authenticated (`azpacr`). Default: "0" for users, "2" for managed identities, "1" otherwise. */
  clientAuth?: V2TokenClaims["azpacr"];
}

export type TokenCheckFailure = "malformed" | "algorithm" | "signature" | "tenant" | "expired";

/** The v2.0 issuer of a tenant behind an authority base URL, as Entra spells it: {authority}/{tenant}/v2.0. */
export function v2Issuer(baseUrl: string, tenantId: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/${tenantId}/v2.0`;
}

/** The resource (audience) of a scope: "https://graph.microsoft.com/.default" -> "https://graph.microsoft.com". */
export function resourceOfScope(scope: string): string {
  const first = scope.trim().split(/\s+/)[0] ?? "";
  return first.endsWith("/.default") ? first.slice(0, -"/.default".length) : first;
}
