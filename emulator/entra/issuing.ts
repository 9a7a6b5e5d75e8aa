/**
 * What every grant ends with: the resource a scope names, and the token endpoint's success
 * body for a token issued to a principal (tokens.ts issues it).
 */
import type { Directory } from "../directory.js";
import type { EmuResponse, Principal } from "../types.js";
import { resourceOfScope, type IssueOptions } from "./claims.js";

/** Scopes of OpenID Connect itself, which name no resource. */
export const OIDC_SCOPES = ["openid", "profile", "offline_access", "email"];

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmuResponse {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body };
}

export /**
 * The resource (audience) a scope asks for. Besides `{resource}/.default`, a delegated scope of
 * an exposed API (`api://{appId}/user_impersonation`) names that API.
 */
function resourceOfApiScope(dir: Directory, scope: string): { resource: string; permission?: string } {
  const resource = resourceOfScope(scope);
  if (scope.trim().endsWith("/.default") || dir.apiForResource(resource)) return { resource };
  const cut = resource.lastIndexOf("/");
  if (cut > 0 && dir.apiForResource(resource.slice(0, cut)))
    return { resource: resource.slice(0, cut), permission: resource.slice(cut + 1) };
  return { resource };
}

/**
 * The token endpoint's success body: v2 answers {token_type, expires_in, ext_expires_in,
 * access_token}; v1 adds expires_on, not_before and resource, all as strings. The test
 * convenience uses the v2 body plus numeric expires_on and resource.
 */
export function tokenResponse(
  dir: Directory,
  principal: Principal,
  resource: string,
  shape: "v1" | "v2" | "emulator",
  issue: IssueOptions,
  extra: Record<string, unknown> = {},
): EmuResponse {
  const issued = dir.issueToken(principal, resource, issue);
  const v2 = {
    token_type: "Bearer",
    expires_in: issued.expiresIn,
    ext_expires_in: issued.expiresIn,
    access_token: issued.accessToken,
  };
  const body =
    shape === "v2"
      ? v2
      : shape === "v1"
        ? {
            token_type: "Bearer",
            expires_in: String(issued.expiresIn),
            ext_expires_in: String(issued.expiresIn),
            expires_on: String(issued.claims.exp),
            not_before: String(issued.claims.nbf),
            resource,
            access_token: issued.accessToken,
          }
        : { ...v2, expires_on: issued.claims.exp, resource };
  return json(200, { ...body, ...extra }, { "cache-control": "no-store, no-cache", pragma: "no-cache" });
}
