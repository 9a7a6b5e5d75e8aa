/**
 * Test and demo convenience (not an Entra API): `POST /_emulator/tokens` with
 * {"objectId"|"userPrincipalName"|"appId": ..., "scope"?: "https://management.azure.com/.default",
 * "clientId"?: azp of API tokens} answers {token_type, access_token, expires_in, expires_on} for
 * any seeded principal, managed identities included (they have no token endpoint on a laptop),
 * so a test can act as anyone through a static TokenCredential without knowing a password.
 */
import type { Directory } from "../directory.js";
import type { EmuRequest, EmuResponse } from "../types.js";
import { json, resourceOfApiScope, tokenResponse } from "./issuing.js";

const ARM_RESOURCE = "https://management.azure.com/";

export function mintForTests(dir: Directory, req: EmuRequest): EmuResponse {
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
