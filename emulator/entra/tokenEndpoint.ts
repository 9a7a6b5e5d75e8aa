/**
 * The token endpoint, `POST /{tenant}/oauth2/v2.0/token` and v1's `/{tenant}/oauth2/token`:
 * reads the form (and client_secret_basic credentials) and hands it to the grant it names,
 * client_credentials (clientCredentials.ts) or password (ropc.ts).
 */
import type { Directory } from "../directory.js";
import type { EmuRequest, EmuResponse } from "../types.js";
import { clientCredentialsGrant } from "./clientCredentials.js";
import { aadError, missingParameter } from "./errors.js";
import { passwordGrant } from "./ropc.js";

export function tokenEndpoint(dir: Directory, req: EmuRequest, v2: boolean): EmuResponse {
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
    return missingParameter(req, "grant_type");
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
  return clientCredentialsGrant(dir, req, form, v2);
}
