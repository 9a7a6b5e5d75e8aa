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

export { isAccessEvent } from "./operations.js";

export interface AccessEventDeps extends AccessCheckDeps {
  self: OwnIdentity;
  /**
   * What aml-steward created (cached by the runtime for a minute; a few Table reads to refresh).
   * `readAfter` (epoch ms): a copy read before then is read again.
   */
  estate(opts?: { readAfter?: number }): Promise<ManagedEstate>;
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
  const key = scope.toLowerCase();
  // A scope unknown to a copy read before this write may belong to a promotion that finished
  // since: read again. A copy read after the write already knew everything that existed then,
  // so a burst of writes on scopes we did not create costs one reload. (Azure's and the
  // Functions host's clocks are both NTP-synchronised; a skew of a second only widens this.)
  const managed =
    (await deps.estate()).scopes.get(key) ??
    (await deps.estate({ readAfter: Date.parse(event.eventTime) })).scopes.get(key);
  // Above (the subscription) or beside what we created: not ours to judge or touch.
  if (!managed) return { result: "notManaged", scope };
  const check = await checkScope(managed, deps, {
    correlationId: event.correlationId ?? event.id,
    who: callerLabel(event.caller),
  });
  return { result: "checked", ...check };
}
