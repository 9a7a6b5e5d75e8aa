/**
 * The emulated Microsoft Entra token endpoint (login.microsoftonline.com), enough for MSAL, and
 * so for @azure/identity's ClientSecretCredential and UsernamePasswordCredential, with
 * `authorityHost` set to the emulator and `disableInstanceDiscovery: true`, and for JWT
 * validators such as jose that fetch the tenant's OpenID configuration and keys:
 *
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration   (and the v1 /{tenant}/.well-known/...)
 *   GET  /common/discovery/instance                          (instance discovery, if not disabled)
 *   GET  /{tenant}/discovery/v2.0/keys                       (the JWKS: the RS256 public key)
 *   GET  /{tenant}/discovery/keys                            (the same JWKS, v1 path)
 *   POST /{tenant}/oauth2/v2.0/token                         (client_credentials with client_secret;
 *                                                             password (ROPC) for seeded users)
 *   POST /{tenant}/oauth2/token                              (the same grants, v1: `resource=`)
 *
 * Tokens for ARM and Graph are v1 access tokens; tokens for an API a seeded app exposes
 * (`api://{appId}/.default` or `{appId}/.default`) are v2.0 access tokens whose issuer is
 * `{this emulator's base URL}/{tenant}/v2.0`, the openid-configuration's issuer (see tokens.ts).
 *
 * Errors carry Entra's body: {error, error_description "AADSTSnnn: ...", error_codes, timestamp,
 * trace_id, correlation_id, error_uri}.
 *
 * Test and demo convenience (not an Entra API): POST /_emulator/tokens (testTokens.ts).
 */
import type { Directory } from "../directory.js";
import type { FaultSettings, Router } from "../types.js";
import { instanceDiscovery, openIdConfiguration } from "./discovery.js";
import { aadError } from "./errors.js";
import { json } from "./issuing.js";
import { mintForTests } from "./testTokens.js";
import { tokenEndpoint } from "./tokenEndpoint.js";

export function entraRouter(dir: Directory, _faults: () => FaultSettings): Router {
  return (req) => {
    const segs = req.path.split("/").filter(Boolean);

    if (req.method === "POST" && req.path === "/_emulator/tokens") return mintForTests(dir, req);

    if (
      req.method === "GET" &&
      segs.length === 3 &&
      segs[0] === "common" &&
      segs[1] === "discovery" &&
      segs[2] === "instance"
    ) {
      const endpoint = req.query.get("authorization_endpoint") ?? "";
      return json(200, instanceDiscovery(req.baseUrl, endpoint, dir.tenantId));
    }

    const tenant = segs[0];
    if (!tenant) return undefined;
    const rest = segs.slice(1).join("/");
    const known = [
      "v2.0/.well-known/openid-configuration",
      ".well-known/openid-configuration",
      "discovery/v2.0/keys",
      "discovery/keys",
      "oauth2/v2.0/token",
      "oauth2/token",
    ];
    if (!known.includes(rest)) return undefined;

    if (tenant.toLowerCase() !== dir.tenantId.toLowerCase()) {
      return aadError(
        req,
        400,
        "invalid_request",
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
      );
    }

    if (req.method === "GET" && rest === "v2.0/.well-known/openid-configuration") {
      return json(200, openIdConfiguration(req.baseUrl, dir.tenantId, true));
    }
    if (req.method === "GET" && rest === ".well-known/openid-configuration") {
      return json(200, openIdConfiguration(req.baseUrl, dir.tenantId, false));
    }
    if (req.method === "GET" && (rest === "discovery/v2.0/keys" || rest === "discovery/keys")) {
      return json(200, dir.jwks(), { "cache-control": "max-age=86400, private" });
    }
    if (req.method === "POST" && (rest === "oauth2/v2.0/token" || rest === "oauth2/token")) {
      return tokenEndpoint(dir, req, rest === "oauth2/v2.0/token");
    }
    return undefined;
  };
}
