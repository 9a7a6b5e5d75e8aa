/**
 * Users: `/me` (the signed-in user of a delegated token), `/users`, `/users/{id or UPN}` and
 * their memberOf / transitiveMemberOf. The emulator serves users read-only.
 */
import type { EmuResponse } from "../types.js";
import { userJson } from "./entities.js";
import { memberOf } from "./directoryObjects.js";
import { GUID } from "./paths.js";
import { listCollection, parseSelect, project } from "./query.js";
import { GraphFail, notFound, ok, type GraphContext } from "./responses.js";

export function users(ctx: GraphContext, segs: string[]): EmuResponse | undefined {
  const { req, dir } = ctx;
  const method = req.method.toUpperCase();
  const [s0, s1, s2] = segs;
  // ------------------------------------------------------------ /me
  if (s0 === "me") {
    if (ctx.callerIsApp || !ctx.caller)
      throw new GraphFail(400, "BadRequest", "/me request is only valid with delegated authentication flow.");
    if (segs.length === 1 && method === "GET") {
      return ok(ctx, 200, {
        "@odata.context": `${ctx.root}/$metadata#users/$entity`,
        ...project(userJson(dir, ctx.caller), "user", parseSelect(ctx, "user"), false),
      });
    }
    if (s1 === "memberOf" && segs.length === 2 && method === "GET") return memberOf(ctx, ctx.caller.objectId);
  }

  // ------------------------------------------------------------ users
  if (s0 === "users") {
    if (segs.length === 1 && method === "GET") {
      return listCollection(
        ctx,
        dir.listUsers().map((p) => userJson(dir, p)),
        "user",
        "users",
      );
    }
    if (s1 && method === "GET") {
      const p = GUID.test(s1) ? dir.getPrincipal(s1) : dir.getUserByUpn(s1);
      if (!p || p.kind !== "user") throw notFound(s1);
      if (segs.length === 2) {
        return ok(ctx, 200, {
          "@odata.context": `${ctx.root}/$metadata#users/$entity`,
          ...project(userJson(dir, p), "user", parseSelect(ctx, "user"), false),
        });
      }
      if (segs.length === 3 && (s2 === "memberOf" || s2 === "transitiveMemberOf"))
        return memberOf(ctx, p.objectId, s2 === "transitiveMemberOf");
    }
  }

  return undefined;
}
