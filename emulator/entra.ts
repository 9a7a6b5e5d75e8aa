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
 * `{this emulator's base URL}/{tenant}/v2.0`, the openid-configuration's issuer (see directory.ts).
 *
 * Errors carry Entra's body: {error, error_description "AADSTSnnn: ...", error_codes, timestamp,
 * trace_id, correlation_id, error_uri}.
 *
 * Test and demo convenience (not an Entra API): POST /_emulator/tokens with
 * {"objectId"|"userPrincipalName"|"appId": ..., "scope"?: "https://management.azure.com/.default",
 * "clientId"?: azp of API tokens} answers {token_type, access_token, expires_in, expires_on} for
 * any seeded principal, managed identities included (they have no token endpoint on a laptop),
 * so a test can act as anyone through a static TokenCredential without knowing a password.
 */
import { randomUUID } from "node:crypto";
import {
  resourceOfScope,
  USER_TOKEN_CLIENT_APP_ID,
  v2Issuer,
  type Directory,
  type IssueOptions,
} from "./directory.js";
import type { EmuRequest, EmuResponse, FaultSettings, Principal, Router } from "./types.js";

const ARM_RESOURCE = "https://management.azure.com/";
const OIDC_SCOPES = ["openid", "profile", "offline_access", "email"];

function entraTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

function aadError(
  req: EmuRequest,
  status: number,
  error: string,
  code: number,
  message: string,
): EmuResponse {
  const traceId = randomUUID();
  const headerCorrelation = req.headers["client-request-id"];
  const correlationId =
    (Array.isArray(headerCorrelation) ? headerCorrelation[0] : headerCorrelation) ?? randomUUID();
  const ts = entraTimestamp(new Date());
  return {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "x-ms-request-id": traceId,
      "client-request-id": correlationId,
      "cache-control": "no-store, no-cache",
    },
    body: {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${ts}`,
      error_codes: [code],
      timestamp: ts,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${req.baseUrl}/error?code=${code}`,
    },
  };
}

function openIdConfiguration(base: string, tenant: string, v2: boolean): Record<string, unknown> {
  const t = `${base}/${tenant}`;
  const o = v2 ? `${t}/oauth2/v2.0` : `${t}/oauth2`;
  return {
    token_endpoint: `${o}/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: v2 ? `${t}/discovery/v2.0/keys` : `${t}/discovery/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    // v2 tokens for exposed APIs carry exactly this issuer (Directory.issueToken uses v2Issuer too).
    issuer: v2 ? v2Issuer(base, tenant) : `https://sts.windows.net/${tenant}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${base}/oidc/userinfo`,
    authorization_endpoint: `${o}/authorize`,
    device_authorization_endpoint: `${o}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${o}/logout`,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid"],
    kerberos_endpoint: `${t}/kerberos`,
    tenant_region_scope: null,
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
    rbac_url: "https://pas.windows.net",
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): EmuResponse {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body };
}

/**
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
function tokenResponse(
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
      const host = new URL(req.baseUrl).host;
      const endpoint = req.query.get("authorization_endpoint") ?? "";
      const tenant = /\/([^/]+)\/oauth2\//.exec(endpoint)?.[1] ?? dir.tenantId;
      return json(200, {
        tenant_discovery_endpoint: `${req.baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`,
        "api-version": "1.1",
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      });
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

/** AADSTS700016: the client id names no application of the tenant (both token flows answer it). */
function unknownApplication(req: EmuRequest, dir: Directory, clientId: string): EmuResponse {
  return aadError(
    req,
    400,
    "unauthorized_client",
    700016,
    `Application with identifier '${clientId}' was not found in the directory '${dir.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  );
}

/** AADSTS7000215: a client secret that is not the application's. */
function invalidClientSecret(req: EmuRequest, clientId: string): EmuResponse {
  return aadError(
    req,
    401,
    "invalid_client",
    7000215,
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  );
}

function tokenEndpoint(dir: Directory, req: EmuRequest, v2: boolean): EmuResponse {
  const form = new URLSearchParams(req.rawBody);
  // client_secret_basic: credentials in the Authorization header instead of the body.
  const auth = req.headers.authorization;
  if (typeof auth === "string" && /^Basic\s+/i.test(auth)) {
    const [id, secret] = Buffer.from(auth.replace(/^Basic\s+/i, ""), "base64")
      .toString("utf8")
      .split(":");
    if (id && !form.has("client_id")) form.set("client_id", decodeURIComponent(id));
    if (secret !== undefined && !form.has("client_secret"))
      form.set("client_secret", decodeURIComponent(secret));
  }
  const grantType = form.get("grant_type");
  if (!grantType) {
    return aadError(
      req,
      400,
      "invalid_request",
      900144,
      "The request body must contain the following parameter: 'grant_type'.",
    );
  }
  if (grantType === "password") return passwordGrant(dir, req, form, v2);
  if (grantType !== "client_credentials") {
    return aadError(
      req,
      400,
      "unsupported_grant_type",
      70003,
      `The app requested an unsupported grant type '${grantType}'. The emulator issues tokens through client_credentials (service principals) and password (seeded users with a password); or mint one with POST /_emulator/tokens.`,
    );
  }
  const clientId = form.get("client_id");
  if (!clientId) {
    return aadError(
      req,
      400,
      "invalid_request",
      900144,
      "The request body must contain the following parameter: 'client_id'.",
    );
  }
  let resource: string;
  if (v2) {
    const scope = form.get("scope");
    if (!scope) {
      return aadError(
        req,
        400,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'scope'.",
      );
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
      return aadError(
        req,
        400,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'resource'.",
      );
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

/** Delegated permissions the emulator's exposed APIs offer (Entra's default for a new API). */
const API_DELEGATED_PERMISSIONS = [".default", "user_impersonation"];

/**
 * Resource owner password credentials (ROPC): a seeded user with a password signs in through a
 * public client (no secret) or a confidential one (its secret checked). Entra still offers this
 * grant for accounts without MFA; here it is the way a person "signs in" on a laptop.
 */
function passwordGrant(dir: Directory, req: EmuRequest, form: URLSearchParams, v2: boolean): EmuResponse {
  const missing = (name: string): EmuResponse =>
    aadError(
      req,
      400,
      "invalid_request",
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    );
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

function mintForTests(dir: Directory, req: EmuRequest): EmuResponse {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const str = (k: string): string | undefined =>
    typeof body[k] === "string" ? (body[k] as string) : undefined;
  const objectId = str("objectId");
  const upn = str("userPrincipalName");
  const appId = str("appId");
  const principal = objectId
    ? dir.getPrincipal(objectId)
    : upn
      ? dir.getUserByUpn(upn)
      : appId
        ? dir.getServicePrincipalByAppId(appId)
        : undefined;
  if (!objectId && !upn && !appId) {
    return json(400, {
      error: { code: "BadRequest", message: "Give one of objectId, userPrincipalName or appId." },
    });
  }
  if (!principal) {
    return json(404, {
      error: {
        code: "PrincipalNotFound",
        message: `No seeded user or service principal matches ${objectId ?? upn ?? appId}.`,
      },
    });
  }
  const scope = str("scope");
  const resource = scope ? resourceOfApiScope(dir, scope).resource : (str("resource") ?? ARM_RESOURCE);
  const clientId = str("clientId");
  return tokenResponse(dir, principal, resource, "emulator", {
    baseUrl: req.baseUrl,
    ...(clientId ? { clientAppId: clientId } : {}),
  });
}
