/**
 * Role-assignment events (`Microsoft.Authorization/roleAssignments/write` and `/delete`) on a
 * scope aml-steward created: the scope is compared with its recorded matrix at once, so a
 * hand-made Owner on a prod resource group is an access violation within seconds, naming who
 * made it (and, in restore mode, gone). Anything else costs no call.
 */
import type { ResourceWriteEvent } from "../events/resourceWrite.js";
import { callerLabel } from "../tagging/handleResourceWrite.js";
import { loopGuard, type OwnIdentity } from "../tagging/loopGuard.js";
import { checkScope, type AccessCheckDeps, type ScopeCheck } from "./check.js";
import { scopeOfAssignment, type ManagedEstate } from "./estate.js";

const OPERATIONS = [
  "microsoft.authorization/roleassignments/write",
  "microsoft.authorization/roleassignments/delete",
];

export const isAccessEvent = (e: ResourceWriteEvent) =>
  OPERATIONS.includes(e.operationName.trim().toLowerCase());

export interface AccessEventDeps extends AccessCheckDeps {
  self: OwnIdentity;
  /** What aml-steward created (cached by the runtime; a few Table reads when stale). */
  estate(): Promise<ManagedEstate>;
}

export type AccessOutcome =
  { result: "guarded" } | { result: "notManaged"; scope?: string } | ({ result: "checked" } & ScopeCheck);

export async function handleAccessEvent(
  event: ResourceWriteEvent,
  deps: AccessEventDeps,
): Promise<AccessOutcome> {
  // Our own restore comes back as such an event when the subscription's filter is missing.
  if (loopGuard(event, deps.self)) return { result: "guarded" };
  const scope = scopeOfAssignment(event.resourceId);
  if (!scope) return { result: "notManaged" };
  const managed = (await deps.estate()).scopes.get(scope.toLowerCase());
  // Above (the subscription) or beside what we created: not ours to judge or touch.
  if (!managed) return { result: "notManaged", scope };
  const check = await checkScope(managed, deps, {
    correlationId: event.correlationId ?? event.id,
    who: callerLabel(event.caller),
  });
  return { result: "checked", ...check };
}
