/**
 * Entra's error answers: {error, error_description "AADSTSnnn: ... Trace ID ... Correlation
 * ID ... Timestamp", error_codes, timestamp, trace_id, correlation_id, error_uri}, and the ones
 * several grants give alike.
 */
import { randomUUID } from "node:crypto";
import type { Directory } from "../directory.js";
import type { EmuRequest, EmuResponse } from "../types.js";

function entraTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

export function aadError(
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

/** AADSTS900144: a required parameter of the token request is missing. */
export function missingParameter(req: EmuRequest, name: string): EmuResponse {
  return aadError(
    req,
    400,
    "invalid_request",
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );
}

/** AADSTS700016: the client id names no application of the tenant (both token flows answer it). */
export function unknownApplication(req: EmuRequest, dir: Directory, clientId: string): EmuResponse {
  return aadError(
    req,
    400,
    "unauthorized_client",
    700016,
    `Application with identifier '${clientId}' was not found in the directory '${dir.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  );
}

/** AADSTS7000215: a client secret that is not the application's. */
export function invalidClientSecret(req: EmuRequest, clientId: string): EmuResponse {
  return aadError(
    req,
    401,
    "invalid_client",
    7000215,
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  );
}
