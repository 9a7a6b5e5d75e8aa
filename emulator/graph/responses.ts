/**
 * How the emulated Graph answers: its JSON content type, the request-id headers on every
 * answer, and its error body (with the innerError Graph adds). Handlers throw GraphFail; the
 * router turns it into the error answer.
 */
import type { Directory, GroupRecord } from "../directory.js";
import type { EmuRequest, EmuResponse, Principal } from "../types.js";

const JSON_CT =
  "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

export function header(req: EmuRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** One Graph request being served: the request, its ids, the caller, and the directory. */
export interface GraphContext {
  req: EmuRequest;
  requestId: string;
  clientRequestId: string;
  /** e.g. https://127.0.0.1:8443/v1.0 */
  root: string;
  caller?: Principal;
  callerAppId?: string;
  callerIsApp: boolean;
  dir: Directory;
  /** False for a group younger than the read-after-write delay (router.ts explains). */
  visible(g: GroupRecord): boolean;
}

function baseHeaders(ctx: GraphContext): Record<string, string> {
  return { "request-id": ctx.requestId, "client-request-id": ctx.clientRequestId };
}

export function ok(
  ctx: GraphContext,
  status: number,
  body?: unknown,
  extra: Record<string, string> = {},
): EmuResponse {
  if (body === undefined) return { status, headers: { ...baseHeaders(ctx), ...extra } };
  return { status, headers: { "content-type": JSON_CT, ...baseHeaders(ctx), ...extra }, body };
}

export class GraphFail extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Graph's error body, with the innerError (date and request ids) Graph adds to every error. */
export function graphErrorBody(
  code: string,
  message: string,
  requestId: string,
  clientRequestId: string,
): { error: { code: string; message: string; innerError: Record<string, string> } } {
  return {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().replace(/\.\d+Z$/, ""),
        "request-id": requestId,
        "client-request-id": clientRequestId,
      },
    },
  };
}

export function errorResponse(ctx: GraphContext, status: number, code: string, message: string): EmuResponse {
  return {
    status,
    headers: { "content-type": "application/json", ...baseHeaders(ctx) },
    body: graphErrorBody(code, message, ctx.requestId, ctx.clientRequestId),
  };
}

export const notFound = (id: string): GraphFail =>
  new GraphFail(
    404,
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

export const badRequest = (message: string): GraphFail => new GraphFail(400, "Request_BadRequest", message);
