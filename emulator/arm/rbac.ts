/**
 * Role definitions (built-ins, read-only) and role assignments at any scope.
 *
 * Custom role definitions can be created (PUT) and deleted; authorization/ enforces both kinds.
 *
 * Principal checks (see docs/emulator.md): without principalType, a principal unknown to the
 * directory, or created less than FaultSettings.replicationDelayMs ago, fails with 400
 * PrincipalNotFound, as Azure does while Entra replicates. With principalType set Azure skips
 * that lookup, so the emulator accepts unknown principals too; for a known principal whose
 * type differs it answers 400 UnmatchedPrincipalType.
 */
import type { EmuResponse } from "../types.js";
import { BUILT_IN, BUILT_IN_ROLES, builtInByGuid, type RoleDefinitionData } from "./builtInRoles.js";
import { type ArmContext, type ArmRequest, newId, publishWrite, requireBodyProperties } from "./context.js";
import { fail } from "./errors.js";
import { isAtOrBelow, lower, type Scope, splitAtProvider } from "./ids.js";
import { bucketOf, type RoleAssignmentRecord } from "./state.js";
import { requireScope } from "./scopes.js";

export { BUILT_IN };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PRINCIPAL_TYPES = ["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"];
const MAX_ASSIGNMENTS_PER_SUBSCRIPTION = 4000;

/** Subscription-qualified when the scope is inside a subscription, as Azure returns them. */
function roleDefinitionIdFor(scope: string, guid: string): string {
  const m = /^\/subscriptions\/([^/]+)/i.exec(scope);
  return `${m ? `/subscriptions/${m[1]}` : ""}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

type AnyRole = RoleDefinitionData & { assignableScopes?: string[] };

function findRole(ctx: ArmContext, guid: string): AnyRole | undefined {
  return builtInByGuid.get(lower(guid)) ?? ctx.state.customRoles.get(lower(guid));
}

function definitionView(def: AnyRole, scope: string): Record<string, unknown> {
  const custom = def.assignableScopes !== undefined;
  return {
    id: roleDefinitionIdFor(scope, def.guid),
    name: def.guid,
    type: "Microsoft.Authorization/roleDefinitions",
    properties: {
      roleName: def.roleName,
      type: custom ? "CustomRole" : "BuiltInRole",
      description: def.description,
      assignableScopes: def.assignableScopes ?? ["/"],
      permissions: [
        {
          actions: def.actions,
          notActions: def.notActions ?? [],
          dataActions: def.dataActions ?? [],
          notDataActions: def.notDataActions ?? [],
        },
      ],
      createdOn: "2015-02-02T21:55:09.8806423Z",
      updatedOn: "2024-01-01T00:00:00.0000000Z",
    },
  };
}

export function roleDefinitionsRouter(ctx: ArmContext, req: ArmRequest): EmuResponse | undefined {
  const split = splitAtProvider(req.path, "Microsoft.Authorization/roleDefinitions");
  if (!split || split.rest.length > 1) return undefined;
  if (req.method === "PUT" && split.rest.length === 1)
    return putCustomRole(ctx, req, split.scope, split.rest[0]!);
  if (req.method === "DELETE" && split.rest.length === 1)
    return deleteCustomRole(ctx, split.scope, split.rest[0]!);
  if (req.method !== "GET")
    return fail(405, "MethodNotAllowed", `${req.method} is not supported on role definitions.`);
  const scope = requireScope(ctx, split.scope);
  if (split.rest.length === 1) {
    const def = findRole(ctx, split.rest[0]!);
    if (!def)
      fail(
        404,
        "RoleDefinitionDoesNotExist",
        `The specified role definition with ID '${split.rest[0]}' does not exist.`,
      );
    return { status: 200, body: definitionView(def!, scope.id) };
  }
  const filter = req.query.get("$filter") ?? "";
  let defs: AnyRole[] = [...BUILT_IN_ROLES, ...ctx.state.customRoles.values()];
  const byName = /^\s*roleName\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(filter);
  const byType = /^\s*type\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(filter);
  if (byName)
    defs = defs.filter((d) => d.roleName.toLowerCase() === byName[1]!.replace(/''/g, "'").toLowerCase());
  else if (byType)
    defs = defs.filter(
      (d) => (d.assignableScopes !== undefined ? "customrole" : "builtinrole") === byType[1]!.toLowerCase(),
    );
  else if (filter.trim() !== "")
    fail(
      400,
      "InvalidFilter",
      `The filter '${filter}' is not supported. Use roleName eq '{name}' or type eq 'BuiltInRole'.`,
    );
  return { status: 200, body: { value: defs.map((d) => definitionView(d, scope.id)) } };
}

const stringList = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;

/** Custom roles (PUT roleDefinitions/{guid}): authorisation evaluates them like built-ins. */
function putCustomRole(ctx: ArmContext, req: ArmRequest, scopePath: string, name: string): EmuResponse {
  if (!GUID.test(name))
    fail(400, "InvalidRoleDefinitionId", `The role definition ID '${name}' is not valid. It must be a GUID.`);
  const scope = requireScope(ctx, scopePath);
  const guid = lower(name);
  if (builtInByGuid.has(guid))
    fail(
      400,
      "RoleDefinitionUpdateNotPermitted",
      `The built-in role definition '${name}' cannot be changed.`,
    );
  const props = requireBodyProperties(req);
  const roleName =
    typeof props.roleName === "string" && props.roleName.trim() !== ""
      ? props.roleName
      : fail(
          400,
          "InvalidRequestContent",
          "The request content was invalid: 'properties.roleName' is required.",
        );
  const perms = Array.isArray(props.permissions) ? (props.permissions as Array<Record<string, unknown>>) : [];
  const all = (key: string): string[] => perms.flatMap((p) => stringList(p?.[key]) ?? []);
  const assignableScopes = stringList(props.assignableScopes) ?? [scope.id];
  const clash = [...BUILT_IN_ROLES, ...ctx.state.customRoles.values()].find(
    (d) => d.guid !== guid && d.roleName.toLowerCase() === roleName.toLowerCase(),
  );
  if (clash)
    fail(
      409,
      "RoleDefinitionWithSameNameExists",
      `A role definition cannot be updated with a name that already exists.`,
    );
  const existed = ctx.state.customRoles.has(guid);
  const def = {
    guid,
    roleName,
    description: typeof props.description === "string" ? props.description : "",
    actions: all("actions"),
    notActions: all("notActions"),
    dataActions: all("dataActions"),
    notDataActions: all("notDataActions"),
    assignableScopes,
  };
  ctx.state.customRoles.set(guid, def);
  return { status: existed ? 200 : 201, body: definitionView(def, scope.id) };
}

function deleteCustomRole(ctx: ArmContext, scopePath: string, name: string): EmuResponse {
  const scope = requireScope(ctx, scopePath);
  const def = ctx.state.customRoles.get(lower(name));
  if (!def) return { status: 204 };
  ctx.state.customRoles.delete(lower(name));
  return { status: 200, body: definitionView(def, scope.id) };
}

function assignmentView(ra: RoleAssignmentRecord): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    roleDefinitionId: roleDefinitionIdFor(ra.scope, ra.roleDefinitionGuid),
    principalId: ra.principalId,
    principalType: ra.principalType,
    scope: ra.scope,
    createdOn: ra.createdOn,
    updatedOn: ra.updatedOn,
    createdBy: ra.createdBy,
    updatedBy: ra.updatedBy,
  };
  if (ra.description !== undefined) properties.description = ra.description;
  if (ra.condition !== undefined) properties.condition = ra.condition;
  if (ra.conditionVersion !== undefined) properties.conditionVersion = ra.conditionVersion;
  if (ra.delegatedManagedIdentityResourceId !== undefined)
    properties.delegatedManagedIdentityResourceId = ra.delegatedManagedIdentityResourceId;
  return { id: ra.id, name: ra.name, type: "Microsoft.Authorization/roleAssignments", properties };
}

function assignmentId(scope: Scope, name: string): string {
  return `${scope.kind === "root" ? "" : scope.id}/providers/Microsoft.Authorization/roleAssignments/${name}`;
}

export function roleAssignmentsRouter(ctx: ArmContext, req: ArmRequest): EmuResponse | undefined {
  const split = splitAtProvider(req.path, "Microsoft.Authorization/roleAssignments");
  if (!split || split.rest.length > 1) return undefined;
  if (split.rest.length === 0)
    return req.method === "GET" ? listAssignments(ctx, req, split.scope) : undefined;
  const name = split.rest[0]!;
  switch (req.method) {
    case "PUT":
      return createAssignment(ctx, req, split.scope, name);
    case "GET": {
      const scope = requireScope(ctx, split.scope);
      const ra = ctx.state.getAssignment(assignmentId(scope, name));
      if (!ra) fail(404, "RoleAssignmentNotFound", `The role assignment '${name}' is not found.`);
      return { status: 200, body: assignmentView(ra!) };
    }
    case "DELETE": {
      const scope = requireScope(ctx, split.scope);
      const ra = ctx.state.removeAssignment(lower(assignmentId(scope, name)));
      if (!ra) return { status: 204 };
      publishWrite(
        ctx,
        req,
        bucketOf(ra.scope) || "",
        ra.id,
        "Microsoft.Authorization/roleAssignments/delete",
      );
      return { status: 200, body: assignmentView(ra) };
    }
    default:
      return undefined;
  }
}

function actualPrincipalType(ctx: ArmContext, principalId: string): string {
  const p = ctx.directory.getPrincipal(principalId);
  if (!p) return "Group";
  return p.kind === "user" ? "User" : "ServicePrincipal";
}

function createAssignment(ctx: ArmContext, req: ArmRequest, scopePath: string, name: string): EmuResponse {
  if (!GUID.test(name))
    fail(
      400,
      "InvalidRoleAssignmentId",
      `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
    );
  const scope = requireScope(ctx, scopePath);
  const props = requireBodyProperties(req);
  const roleDefinitionId =
    typeof props.roleDefinitionId === "string"
      ? props.roleDefinitionId
      : fail(
          400,
          "InvalidRequestContent",
          "The request content was invalid: 'properties.roleDefinitionId' is required.",
        );
  const principalId =
    typeof props.principalId === "string"
      ? props.principalId
      : fail(
          400,
          "InvalidRequestContent",
          "The request content was invalid: 'properties.principalId' is required.",
        );
  const roleGuid = lower(roleDefinitionId.split("/").pop() ?? "");
  if (!findRole(ctx, roleGuid))
    fail(
      400,
      "RoleDefinitionDoesNotExist",
      `The specified role definition with ID '${roleGuid}' does not exist.`,
    );
  const principalType = typeof props.principalType === "string" ? props.principalType : undefined;
  if (principalType !== undefined && !PRINCIPAL_TYPES.includes(principalType))
    fail(
      400,
      "InvalidPrincipalType",
      `The principal type '${principalType}' is not valid. Valid values: ${PRINCIPAL_TYPES.join(", ")}.`,
    );
  const now = ctx.now();
  const createdAt = ctx.directory.objectCreatedAt(principalId);
  const replicated = createdAt !== undefined && now - createdAt >= ctx.faults().replicationDelayMs;
  if (principalType === undefined && !replicated) {
    fail(
      400,
      "PrincipalNotFound",
      `Principal ${principalId.replace(/-/g, "")} does not exist in the directory ${ctx.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
    );
  }
  const actualType = createdAt !== undefined ? actualPrincipalType(ctx, principalId) : undefined;
  if (principalType !== undefined && replicated && actualType !== undefined && actualType !== principalType) {
    fail(
      400,
      "UnmatchedPrincipalType",
      `The PrincipalId '${principalId.replace(/-/g, "")}' has type '${actualType}', which is different from specified PrincipalType '${principalType}'.`,
    );
  }
  const id = assignmentId(scope, name);
  const existing = ctx.state.getAssignment(id);
  if (existing) {
    if (lower(existing.principalId) === lower(principalId) && existing.roleDefinitionGuid === roleGuid)
      return { status: 200, body: assignmentView(existing) };
    fail(
      409,
      "RoleAssignmentUpdateNotPermitted",
      "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
    );
  }
  if (ctx.state.assignmentFor(scope.id, principalId, roleGuid))
    fail(409, "RoleAssignmentExists", "The role assignment already exists.");
  const bucket = bucketOf(scope.id);
  if (bucket && ctx.state.assignmentCountIn(bucket) >= MAX_ASSIGNMENTS_PER_SUBSCRIPTION)
    fail(
      400,
      "RoleAssignmentLimitExceeded",
      `No more role assignments can be created. The subscription has reached its limit of ${MAX_ASSIGNMENTS_PER_SUBSCRIPTION}.`,
    );
  const by = req.caller?.objectId ?? "unknown";
  const at = new Date(now).toISOString();
  const rec: RoleAssignmentRecord = {
    key: lower(id),
    id,
    name: lower(name),
    scope: scope.id,
    roleDefinitionGuid: roleGuid,
    principalId,
    principalType: principalType ?? actualType ?? "User",
    description: typeof props.description === "string" ? props.description : undefined,
    condition: typeof props.condition === "string" ? props.condition : undefined,
    conditionVersion: typeof props.conditionVersion === "string" ? props.conditionVersion : undefined,
    createdOn: at,
    updatedOn: at,
    createdBy: by,
    updatedBy: by,
  };
  ctx.state.putAssignment(rec);
  publishWrite(ctx, req, bucket, rec.id, "Microsoft.Authorization/roleAssignments/write");
  return { status: 201, body: assignmentView(rec) };
}

/** Used by the resource side for roles Azure itself grants (e.g. a new ML workspace's identity). */
export function grantBuiltInRole(
  ctx: ArmContext,
  req: ArmRequest,
  scope: string,
  principalId: string,
  principalType: string,
  roleGuid: string,
): void {
  if (ctx.state.assignmentFor(scope, principalId, roleGuid)) return;
  const name = newId();
  const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
  const at = new Date(ctx.now()).toISOString();
  ctx.state.putAssignment({
    key: lower(id),
    id,
    name,
    scope,
    roleDefinitionGuid: roleGuid,
    principalId,
    principalType,
    createdOn: at,
    updatedOn: at,
    createdBy: "Microsoft.MachineLearningServices",
    updatedBy: "Microsoft.MachineLearningServices",
  });
  // Azure's resource provider makes this write, not the caller: the event carries no caller.
  publishWrite(
    ctx,
    { ...req, caller: undefined },
    bucketOf(scope),
    id,
    "Microsoft.Authorization/roleAssignments/write",
  );
}

interface AssignmentFilter {
  atScope: boolean;
  principalId?: string;
}

function parseAssignmentFilter(src: string | null): AssignmentFilter {
  const out: AssignmentFilter = { atScope: false };
  if (!src || src.trim() === "") return out;
  for (const clause of src.split(/\s+and\s+/i)) {
    const c = clause.trim();
    let m: RegExpExecArray | null;
    if (/^atScope\(\)$/i.test(c)) out.atScope = true;
    else if ((m = /^principalId\s+eq\s+'([^']*)'$/i.exec(c))) out.principalId = m[1];
    else if ((m = /^assignedTo\('([^']*)'\)$/i.exec(c))) out.principalId = m[1];
    else
      fail(
        400,
        "UnsupportedQuery",
        `The filter '${src}' is not supported. Supported: atScope(), principalId eq '{id}', assignedTo('{id}').`,
      );
  }
  return out;
}

/**
 * Lists at a scope the way Azure does: assignments at the scope, inherited from above it
 * and, unless $filter=atScope(), those below it. Ancestors come first.
 */
function listAssignments(ctx: ArmContext, req: ArmRequest, scopePath: string): EmuResponse {
  const scope = requireScope(ctx, scopePath);
  const filter = parseAssignmentFilter(req.query.get("$filter"));
  const bucket = bucketOf(scope.id);
  const candidates = [
    ...ctx.state.assignmentsInBucket("").values(),
    ...(bucket ? ctx.state.assignmentsInBucket(bucket).values() : []),
  ];
  const selected = candidates
    .filter((ra) => {
      const above = isAtOrBelow(scope.id, ra.scope);
      const below = isAtOrBelow(ra.scope, scope.id);
      if (!above && (filter.atScope || !below)) return false;
      return filter.principalId === undefined || lower(ra.principalId) === lower(filter.principalId);
    })
    .map((ra, i) => ({ ra, i }))
    .sort((a, b) => a.ra.scope.length - b.ra.scope.length || a.i - b.i)
    .map(({ ra }) => ra);
  const from = Number(req.query.get("$skipToken") ?? req.query.get("$skiptoken") ?? 0) || 0;
  const size = ctx.pageSize;
  const value = selected.slice(from, from + size).map(assignmentView);
  const body: Record<string, unknown> = { value };
  if (from + size < selected.length) {
    const q = new URLSearchParams(req.query);
    q.delete("$skiptoken");
    q.set("$skipToken", String(from + size));
    body.nextLink = `${req.baseUrl}${req.path}?${q.toString().replace(/\+/g, "%20")}`;
  }
  return { status: 200, body };
}
