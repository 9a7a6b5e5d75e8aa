/**
 * Service principals: `/servicePrincipals`, by id or by `(appId='...')`, their memberOf, and
 * their app role assignments (appRoleAssignments.ts). Read-only apart from those assignments:
 * applications and service principals come from the seed.
 */
import type { EmuResponse, Principal } from "../types.js";
import { appRoleAssignments } from "./appRoleAssignments.js";
import { memberOf } from "./directoryObjects.js";
import { spJson } from "./entities.js";
import { parseAlternateKey } from "./paths.js";
import { listCollection, parseSelect, project } from "./query.js";
import { badRequest, GraphFail, notFound, ok, type GraphContext } from "./responses.js";

export function servicePrincipals(ctx: GraphContext, segs: string[]): EmuResponse | undefined {
  const { req, dir } = ctx;
  const method = req.method.toUpperCase();
  const [s0, s1] = segs;
  const alt0 = s0 ? parseAlternateKey(s0) : undefined;
  // ------------------------------------------------------------ service principals
  if (s0 === "servicePrincipals" || alt0?.entity === "servicePrincipals") {
    const readOnly = (): GraphFail =>
      new GraphFail(
        405,
        "Request_BadRequest",
        "The emulator serves service principals read-only (app role assignments aside).",
      );
    let p: Principal | undefined;
    if (alt0) {
      if (alt0.key !== "appId") throw badRequest(`Unsupported alternate key '${alt0.key}'.`);
      p = dir.getServicePrincipalByAppId(alt0.value);
      if (!p) throw notFound(alt0.value);
    } else if (segs.length === 1) {
      if (method !== "GET") throw readOnly();
      return listCollection(
        ctx,
        dir.listServicePrincipals().map((sp) => spJson(dir, sp)),
        "servicePrincipal",
        "servicePrincipals",
      );
    } else if (s1) {
      p = dir.getPrincipal(s1);
      if (!p || p.kind === "user") throw notFound(s1);
    }
    const rest = alt0 ? segs.slice(1) : segs.slice(2);
    if (p && (rest[0] === "appRoleAssignments" || rest[0] === "appRoleAssignedTo"))
      return appRoleAssignments(ctx, p, rest[0], rest.slice(1));
    if (method !== "GET") throw readOnly();
    if (p && rest.length === 0) {
      return ok(ctx, 200, {
        "@odata.context": `${ctx.root}/$metadata#servicePrincipals/$entity`,
        ...project(spJson(dir, p), "servicePrincipal", parseSelect(ctx, "servicePrincipal"), false),
      });
    }
    if (p && rest.length === 1 && (rest[0] === "memberOf" || rest[0] === "transitiveMemberOf"))
      return memberOf(ctx, p.objectId, rest[0] === "transitiveMemberOf");
  }

  return undefined;
}
