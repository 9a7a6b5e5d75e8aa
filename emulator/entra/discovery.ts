/**
 * How clients find the tenant: its OpenID configuration (v2.0 and v1), which names the token
 * endpoint, the JWKS and the issuer (v2 tokens for exposed APIs carry exactly that issuer), and
 * MSAL's instance discovery answer for the emulator's host.
 */
import { v2Issuer } from "./claims.js";

export function openIdConfiguration(base: string, tenant: string, v2: boolean): Record<string, unknown> {
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
    // v2 tokens for exposed APIs carry exactly this issuer (tokens.ts uses v2Issuer too).
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

/** `GET /common/discovery/instance`: the emulator's host is its own preferred network and cache. */
export function instanceDiscovery(baseUrl: string, authorizationEndpoint: string, tenantId: string): unknown {
  const host = new URL(baseUrl).host;
  const tenant = /\/([^/]+)\/oauth2\//.exec(authorizationEndpoint)?.[1] ?? tenantId;
  return {
    tenant_discovery_endpoint: `${baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}
