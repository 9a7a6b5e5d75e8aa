/**
 * Resource owner password credentials (ROPC), v2 with scopes (and the id_token and client_info
 * MSAL asks for) and v1 with `resource=`.
 */
import type { Directory } from "../directory.js";
import type { EmuRequest, EmuResponse } from "../types.js";
import { USER_TOKEN_CLIENT_APP_ID } from "./claims.js";
import { aadError, invalidClientSecret, missingParameter, unknownApplication } from "./errors.js";
import { OIDC_SCOPES, resourceOfApiScope, tokenResponse } from "./issuing.js";

/** Delegated permissions the emulator's exposed APIs offer (Entra's default for a new API). */
const API_DELEGATED_PERMISSIONS = [".default", "user_impersonation"];

/**
 * Resource owner password credentials (ROPC): a seeded user with a password signs in through a
 * public client (no secret) or a confidential one (its secret checked). Entra still offers this
 * grant for accounts without MFA; here it is the way a person "signs in" on a laptop.
 */
export function passwordGrant(
  dir: Directory,
  req: EmuRequest,
  form: URLSearchParams,
  v2: boolean,
): EmuResponse {
  const missing = (name: string): EmuResponse => missingParameter(req, name);
  const clientId = form.get("client_id");
  if (!clientId) return missing("client_id");
  const username = form.get("username");
  if (!username) return missing("username");
  const password = form.get("password");
  if (password === null) return missing("password");

  let resource: string;
  let scopes: string[] = [];
  if (v2) {
    const scope = form.get("scope");
    if (!scope) return missing("scope");
    scopes = scope.trim().split(/\s+/);
    const asked = scopes.filter((s) => !OIDC_SCOPES.includes(s)).map((s) => resourceOfApiScope(dir, s));
    const first = asked[0];
    const invalidScope = (detail: string): EmuResponse =>
      aadError(
        req,
        400,
        "invalid_scope",
        70011,
        `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. ${detail}`,
      );
    if (!first) return invalidScope("The emulator needs one resource scope, e.g. api://{appId}/.default.");
    if (asked.some((a) => a.resource.replace(/\/+$/, "") !== first.resource.replace(/\/+$/, "")))
      return invalidScope(`The scope '${scope}' names more than one resource.`);
    const api = dir.apiForResource(first.resource);
    const unknown = api
      ? asked.find((a) => a.permission !== undefined && !API_DELEGATED_PERMISSIONS.includes(a.permission))
      : undefined;
    if (unknown)
      return invalidScope(
        `The scope '${unknown.resource}/${unknown.permission}' does not exist on ${api?.displayName ?? "the API"}.`,
      );
    resource = first.resource;
  } else {
    const r = form.get("resource");
    if (!r) return missing("resource");
    resource = r;
  }

  // A first-party public client (Azure CLI) or an app registered in the tenant.
  const client = dir.getServicePrincipalByAppId(clientId);
  if (clientId.toLowerCase() !== USER_TOKEN_CLIENT_APP_ID && (!client || client.kind === "managedIdentity")) {
    return unknownApplication(req, dir, clientId);
  }
  const secret = form.get("client_secret");
  if (secret !== null && (client?.clientSecret === undefined || client.clientSecret !== secret)) {
    return invalidClientSecret(req, clientId);
  }

  const user = dir.getUserByUpn(username);
  if (!user) {
    return aadError(
      req,
      400,
      "invalid_grant",
      50034,
      `The user account {EUII Hidden} does not exist in the ${dir.tenantId} directory. To sign into this application, the account must be added to the directory.`,
    );
  }
  if (user.password === undefined || user.password !== password) {
    return aadError(
      req,
      400,
      "invalid_grant",
      50126,
      "Error validating credentials due to invalid username or password.",
    );
  }

  // MSAL builds the signed-in account from the id_token and client_info it asks for.
  const extra: Record<string, unknown> = {};
  if (v2) {
    extra.scope = scopes.filter((s) => !OIDC_SCOPES.includes(s)).join(" ");
    if (scopes.includes("openid")) extra.id_token = dir.issueIdToken(user, clientId, req.baseUrl);
    if (form.get("client_info") === "1")
      extra.client_info = Buffer.from(JSON.stringify({ uid: user.objectId, utid: dir.tenantId })).toString(
        "base64url",
      );
  }
  return tokenResponse(
    dir,
    user,
    resource,
    v2 ? "v2" : "v1",
    { baseUrl: req.baseUrl, clientAppId: clientId, clientAuth: secret !== null ? "1" : "0" },
    extra,
  );
}
