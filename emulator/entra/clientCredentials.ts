/**
 * The client credentials grant: a service principal signs in with its secret and gets an
 * app-only token for one resource (`{resource}/.default` in v2, `resource=` in v1).
 */
import type { Directory } from "../directory.js";
import type { EmuRequest, EmuResponse } from "../types.js";
import { resourceOfScope } from "./claims.js";
import { aadError, invalidClientSecret, missingParameter, unknownApplication } from "./errors.js";
import { OIDC_SCOPES, tokenResponse } from "./issuing.js";

export function clientCredentialsGrant(
  dir: Directory,
  req: EmuRequest,
  form: URLSearchParams,
  v2: boolean,
): EmuResponse {
  const clientId = form.get("client_id");
  if (!clientId) {
    return missingParameter(req, "client_id");
  }
  let resource: string;
  if (v2) {
    const scope = form.get("scope");
    if (!scope) {
      return missingParameter(req, "scope");
    }
    const resourceScopes = scope
      .trim()
      .split(/\s+/)
      .filter((s) => !OIDC_SCOPES.includes(s));
    const main = resourceScopes[0];
    if (resourceScopes.length !== 1 || !main?.endsWith("/.default")) {
      return aadError(
        req,
        400,
        "invalid_scope",
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    resource = resourceOfScope(main);
  } else {
    const r = form.get("resource");
    if (!r) {
      return missingParameter(req, "resource");
    }
    resource = r;
  }
  const principal = dir.getServicePrincipalByAppId(clientId);
  if (!principal) {
    return unknownApplication(req, dir, clientId);
  }
  const secret = form.get("client_secret");
  if (secret === null) {
    return aadError(
      req,
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  if (principal.clientSecret === undefined || principal.clientSecret !== secret) {
    return invalidClientSecret(req, clientId);
  }
  return tokenResponse(dir, principal, resource, v2 ? "v2" : "v1", {
    baseUrl: req.baseUrl,
    clientAppId: clientId,
    clientAuth: "1",
  });
}
