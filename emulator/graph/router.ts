/**
 * Emulated Microsoft Graph v1.0 over the emulated directory: users (users.ts), service
 * principals with their app role assignments (servicePrincipals.ts, appRoleAssignments.ts),
 * directory objects (directoryObjects.ts) and security groups with members, owners and delta
 * (groups.ts, delta.ts). This router authenticates the token as Graph does, applies application
 * permissions (permissions.ts), then hands the request to the handler of its entity. Shapes,
 * status codes and error codes follow Graph's documentation; docs/emulator.md lists what differs.
 *
 * Read-after-write delay (faults().graphReadAfterWriteDelayMs): a group younger than the delay is
 * missing from reads by id, from lists and $filter, and as the parent or target of a $ref, as it
 * would be on a directory replica that has not caught up. `PATCH /groups(uniqueName='...')` is a
 * write keyed by the group's alternate key and always sees the group (upsert by uniqueName is
 * the documented way to create a group idempotently).
 */
import { randomUUID } from "node:crypto";
import { GRAPH_APP_ID, type Directory, type GroupRecord } from "../directory.js";
import type { EmuResponse, FaultSettings, Router } from "../types.js";
import { directoryObjects } from "./directoryObjects.js";
import { groups } from "./groups.js";
import { decodeSegment } from "./paths.js";
import { graphCallAllowed, INSUFFICIENT_PRIVILEGES } from "./permissions.js";
import { errorResponse, GraphFail, header, type GraphContext } from "./responses.js";
import { servicePrincipals } from "./servicePrincipals.js";
import { users } from "./users.js";

/** The handlers, tried in order; each answers the paths it owns and passes on the rest. */
const HANDLERS = [users, servicePrincipals, directoryObjects, groups];

function handle(ctx: GraphContext, segs: string[]): EmuResponse {
  for (const handler of HANDLERS) {
    const answer = handler(ctx, segs);
    if (answer) return answer;
  }
  throw new GraphFail(400, "BadRequest", `Resource not found for the segment '${segs[0] ?? ""}'.`);
}

export function graphRouter(
  dir: Directory,
  faults: () => FaultSettings,
  opts: { enforcePermissions?: boolean } = {},
): Router {
  const visible = (g: GroupRecord): boolean =>
    dir.now() - g.createdAt >= Math.max(0, faults().graphReadAfterWriteDelayMs || 0);

  return (req) => {
    const rawSegs = req.path.split("/").filter(Boolean);
    if (rawSegs[0] !== "v1.0" && rawSegs[0] !== "beta") return undefined;
    const requestId = randomUUID();
    const ctx: GraphContext = {
      req,
      requestId,
      clientRequestId: header(req, "client-request-id") ?? requestId,
      root: `${req.baseUrl}/${rawSegs[0]}`,
      callerIsApp: false,
      dir,
      visible,
    };
    if (rawSegs[0] === "beta")
      return errorResponse(ctx, 400, "BadRequest", "The emulator serves Microsoft Graph v1.0 only.");

    // Authentication, as Graph checks it.
    const auth = header(req, "authorization");
    if (!auth || !/^Bearer\s+\S/i.test(auth))
      return errorResponse(ctx, 401, "InvalidAuthenticationToken", "Access token is empty.");
    const check = dir.checkToken(auth.replace(/^Bearer\s+/i, "").trim());
    if (!check.ok) {
      const message =
        check.reason === "expired"
          ? "Lifetime validation failed, the token is expired."
          : check.reason === "malformed"
            ? "IDX14100: JWT is not well formed, there are no dots (.)."
            : "Access token validation failure. Invalid signature.";
      return errorResponse(ctx, 401, "InvalidAuthenticationToken", message);
    }
    const aud = check.claims.aud.replace(/\/+$/, "");
    // A client set up for a custom cloud asks for a token whose resource is the Graph endpoint
    // it was given, i.e. the emulator's own URL; Graph in such a cloud accepts exactly that.
    const ownUrl = req.baseUrl.replace(/\/+$/, "");
    if (aud !== "https://graph.microsoft.com" && aud !== GRAPH_APP_ID && aud !== ownUrl) {
      return errorResponse(
        ctx,
        401,
        "InvalidAuthenticationToken",
        "Access token validation failure. Invalid audience.",
      );
    }
    const caller = dir.getPrincipal(check.claims.oid);
    if (!caller)
      return errorResponse(
        ctx,
        401,
        "InvalidAuthenticationToken",
        "Access token validation failure: the token's principal no longer exists.",
      );
    ctx.caller = caller;
    ctx.callerIsApp = check.claims.idtyp === "app";
    ctx.callerAppId = check.claims.ver === "1.0" ? check.claims.appid : check.claims.azp;

    const segs = rawSegs.slice(1).map(decodeSegment);
    // Application permissions, in one place before any handler (permissions.ts).
    if (opts.enforcePermissions && ctx.callerIsApp && !graphCallAllowed(dir, caller, req.method, segs))
      return errorResponse(ctx, 403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES);
    try {
      return handle(ctx, segs);
    } catch (e) {
      if (e instanceof GraphFail) return errorResponse(ctx, e.status, e.code, e.message);
      throw e;
    }
  };
}
