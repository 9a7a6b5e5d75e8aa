/**
 * ARM authorisation, the one place it happens: the ARM router calls authorizeArm before any
 * handler, as Azure Resource Manager checks every request before it reaches a resource
 * provider. A request is allowed when one of the role assignments of the caller, or of a group
 * the caller belongs to (transitively), sits at or above the request's scope, its role allows
 * the action, and its condition (if any) holds for the request. docs/emulator.md lists what is
 * modelled and what is not (deny assignments, data-plane requests, subscription list filtering).
 */
import type { Principal } from "../../types.js";
import { builtInByGuid } from "../builtInRoles.js";
import type { ArmContext, ArmRequest } from "../context.js";
import { fail } from "../errors.js";
import { isAtOrBelow, lower, splitAtProvider } from "../ids.js";
import { bucketOf, type RoleAssignmentRecord } from "../state.js";
import { compileCondition, type ConditionPredicate, type RequestAttributes } from "./conditions.js";
import { operationOf, type ArmOperation } from "./operations.js";
import { roleAllows } from "./permissions.js";

export type Decision =
  | { allowed: true; operation: ArmOperation; assignment: RoleAssignmentRecord }
  | { allowed: false; operation: ArmOperation; conditionFailed: boolean };

/** The caller's object id and every group it is a member of, directly or through other groups. */
export function principalIdsOf(ctx: ArmContext, objectId: string): Set<string> {
  const ids = new Set<string>([lower(objectId)]);
  const queue = [lower(objectId)];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const g of ctx.directory.groupsWithMember(id)) {
      const gid = lower(g.id);
      if (!ids.has(gid)) {
        ids.add(gid);
        queue.push(gid);
      }
    }
  }
  return ids;
}

const GUID_TAIL = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s*$/i;

function principalTypeOf(ctx: ArmContext, id: string): string | undefined {
  const p = ctx.directory.getPrincipal(id);
  if (p) return p.kind === "user" ? "User" : "ServicePrincipal";
  return ctx.directory.objectCreatedAt(id) !== undefined ? "Group" : undefined;
}

/**
 * The attributes role-assignment conditions read: for a write, the assignment in the request
 * (@Request); for a delete, the assignment that exists (@Resource).
 */
function conditionInput(ctx: ArmContext, req: ArmRequest, op: ArmOperation): RequestAttributes {
  const attributes: RequestAttributes["attributes"] = {};
  const ra = "Microsoft.Authorization/roleAssignments";
  if (lower(op.action) === lower(`${ra}/write`)) {
    const props = (req.body as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
    const roleId =
      typeof props.roleDefinitionId === "string" ? GUID_TAIL.exec(props.roleDefinitionId)?.[1] : undefined;
    const principalId = typeof props.principalId === "string" ? props.principalId : undefined;
    const principalType =
      typeof props.principalType === "string"
        ? props.principalType
        : principalId
          ? principalTypeOf(ctx, principalId)
          : undefined;
    attributes.Request = {
      ...(roleId ? { [`${ra}:RoleDefinitionId`]: [roleId] } : {}),
      ...(principalId ? { [`${ra}:PrincipalId`]: [principalId] } : {}),
      ...(principalType ? { [`${ra}:PrincipalType`]: [principalType] } : {}),
    };
  } else if (lower(op.action) === lower(`${ra}/delete`)) {
    const split = splitAtProvider(req.path, ra);
    const name = split?.rest[0];
    const existing = name
      ? ctx.state.getAssignment(`${split!.scope === "/" ? "" : split!.scope}/providers/${ra}/${name}`)
      : undefined;
    if (existing)
      attributes.Resource = {
        [`${ra}:RoleDefinitionId`]: [existing.roleDefinitionGuid],
        [`${ra}:PrincipalId`]: [existing.principalId],
        [`${ra}:PrincipalType`]: [existing.principalType],
      };
  }
  return { action: op.action, attributes };
}

/** Compiled conditions by text: assignments share a handful of condition texts. */
const compiledConditions = new Map<string, ConditionPredicate>();
const grantsNothing: ConditionPredicate = () => false;

function conditionHolds(condition: string, input: RequestAttributes): boolean {
  let predicate = compiledConditions.get(condition);
  if (!predicate) {
    try {
      predicate = compileCondition(condition);
    } catch {
      // A condition the emulator cannot read grants nothing.
      predicate = grantsNothing;
    }
    compiledConditions.set(condition, predicate);
  }
  return predicate(input);
}

/** Decides a request without answering it; the first matching assignment is the evidence. */
export function decide(ctx: ArmContext, req: ArmRequest, caller: Principal): Decision | undefined {
  const op = operationOf(req.method, req.path);
  if (!op) return undefined;
  const ids = principalIdsOf(ctx, caller.objectId);
  const bucket = bucketOf(op.scope);
  const candidates = [
    ...ctx.state.assignmentsInBucket("").values(),
    ...(bucket ? ctx.state.assignmentsInBucket(bucket).values() : []),
  ];
  let conditionFailed = false;
  let input: RequestAttributes | undefined;
  for (const ra of candidates) {
    if (!ids.has(lower(ra.principalId)) || !isAtOrBelow(op.scope, ra.scope)) continue;
    const role = builtInByGuid.get(ra.roleDefinitionGuid) ?? ctx.state.customRoles.get(ra.roleDefinitionGuid);
    if (!role || !roleAllows(role, op.action)) continue;
    if (ra.condition !== undefined && ra.condition.trim() !== "") {
      input ??= conditionInput(ctx, req, op);
      if (!conditionHolds(ra.condition, input)) {
        conditionFailed = true;
        continue;
      }
    }
    return { allowed: true, operation: op, assignment: ra };
  }
  return { allowed: false, operation: op, conditionFailed };
}

/** Throws ARM's 403 AuthorizationFailed unless the caller may perform the request. */
export function authorizeArm(ctx: ArmContext, req: ArmRequest): void {
  if (!ctx.enforceRbac || !req.caller) return;
  const d = decide(ctx, req, req.caller);
  if (!d || d.allowed) return;
  const oid = req.caller.objectId;
  const what = d.conditionFailed
    ? "does not have authorization or an ABAC condition not fulfilled to perform action"
    : "does not have authorization to perform action";
  fail(
    403,
    "AuthorizationFailed",
    `The client '${oid}' with object id '${oid}' ${what} '${d.operation.action}' over scope '${d.operation.scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}
