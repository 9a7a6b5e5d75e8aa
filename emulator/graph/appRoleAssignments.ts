/**
 * App role assignments of a service principal: `/servicePrincipals/{id}/appRoleAssignments`
 * (roles granted to it) and `/servicePrincipals/{id}/appRoleAssignedTo` (roles granted on it,
 * the resource): list, get, grant (POST) and revoke (DELETE), with Graph's answers for
 * duplicates and unknown ids. Granting Graph's own app roles is how application permissions
 * are given (permissions.ts reads them).
 */
import type { AppRoleAssignmentRecord, EmuResponse, Principal } from "../types.js";
import { appRoleAssignmentJson, type Json } from "./entities.js";
import { GUID } from "./paths.js";
import { listCollection, parseSelect, project } from "./query.js";
import { badRequest, GraphFail, notFound, ok, type GraphContext } from "./responses.js";

export function appRoleAssignments(
  ctx: GraphContext,
  sp: Principal,
  relation: "appRoleAssignments" | "appRoleAssignedTo",
  rest: string[],
): EmuResponse {
  const { dir } = ctx;
  const method = ctx.req.method.toUpperCase();
  const side = relation === "appRoleAssignments" ? "principalId" : "resourceId";
  const mine = (a: AppRoleAssignmentRecord): boolean => a[side] === sp.objectId;
  const contextBase = `${ctx.root}/$metadata#servicePrincipals('${sp.objectId}')/${relation}`;
  if (rest.length === 0 && method === "GET") {
    const items = dir.listAppRoleAssignments({ [side]: sp.objectId }).map((a) => appRoleAssignmentJson(a));
    return listCollection(ctx, items, "appRoleAssignment", `servicePrincipals('${sp.objectId}')/${relation}`);
  }
  if (rest.length === 0 && method === "POST") {
    const b = ctx.req.body;
    if (typeof b !== "object" || b === null || Array.isArray(b))
      throw new GraphFail(400, "BadRequest", "Empty Payload. JSON content expected.");
    const body = b as Json;
    for (const key of ["principalId", "resourceId", "appRoleId"]) {
      if (typeof body[key] !== "string" || !GUID.test(body[key] as string))
        throw badRequest("One or more properties are invalid.");
    }
    const principalId = (body.principalId as string).toLowerCase();
    const resourceId = (body.resourceId as string).toLowerCase();
    const appRoleId = (body.appRoleId as string).toLowerCase();
    if (body[side] !== undefined && (body[side] as string).toLowerCase() !== sp.objectId)
      throw badRequest(
        `The ${side} in the request body must be the service principal in the URL, '${sp.objectId}'.`,
      );
    const principal = dir.getDirectoryObject(principalId);
    if (!principal || (principal.type === "group" && !ctx.visible(principal.group)))
      throw notFound(principalId);
    const resource = dir.getPrincipal(resourceId);
    if (!resource || resource.kind === "user") throw notFound(resourceId);
    const principalType =
      principal.type === "user" ? "User" : principal.type === "group" ? "Group" : "ServicePrincipal";
    const memberType = principalType === "ServicePrincipal" ? "Application" : "User";
    const role = (resource.appRoles ?? []).find(
      (r) => r.id.toLowerCase() === appRoleId && r.isEnabled && r.allowedMemberTypes.includes(memberType),
    );
    if (!role)
      throw badRequest(
        `Permission being assigned was not found on application '${resource.appId ?? resourceId}'.`,
      );
    const created = dir.addAppRoleAssignment({
      principalId,
      principalType,
      principalDisplayName:
        principal.type === "group" ? principal.group.displayName : principal.principal.displayName,
      resourceId,
      resourceDisplayName: resource.displayName,
      appRoleId,
    });
    if (created === "exists") throw badRequest("Permission being assigned already exists on the object");
    return ok(ctx, 201, { "@odata.context": `${contextBase}/$entity`, ...appRoleAssignmentJson(created) });
  }
  if (rest.length === 1) {
    const id = rest[0]!;
    const a = dir.getAppRoleAssignment(id);
    if (!a || !mine(a)) throw notFound(id);
    if (method === "GET") {
      return ok(ctx, 200, {
        "@odata.context": `${contextBase}/$entity`,
        ...project(
          appRoleAssignmentJson(a),
          "appRoleAssignment",
          parseSelect(ctx, "appRoleAssignment"),
          false,
        ),
      });
    }
    if (method === "DELETE") {
      dir.removeAppRoleAssignment(a.id);
      return ok(ctx, 204);
    }
  }
  throw new GraphFail(
    405,
    "Request_BadRequest",
    `${method} is not supported on ${relation}${rest.length ? "/{id}" : ""}.`,
  );
}
