/**
 * The loop guard: events that must not cost a single ARM call. aml-steward's own tag write
 * comes back as a `Microsoft.Resources/tags/write` event (subject = the tagged resource), and
 * anything else it writes (promotion creating resource groups and workspaces) comes back as
 * that type's write; all of them carry our identity. They are dropped by caller, never by
 * operation: a tag write by anyone else (portal, `az tag`) may have removed a cost tag and is
 * handled like any other write. The event subscription drops the same writes at the source
 * (shared/setup/contract.ts EVENT_FILTER); this check holds when that filter is missing.
 */
import type { ResourceWriteEvent } from "../events/resourceWrite.js";

export interface OwnIdentity {
  /** Entra object id of aml-steward's (managed) identity. */
  objectId?: string;
  /** Its application (client) id. */
  clientId?: string;
}

export type GuardReason = "ownWrite";

/** GUIDs compared without case and without dashes: evidence.principalId comes dash-less. */
const norm = (s: string) => s.trim().toLowerCase().replace(/-/g, "");
const same = (a: string | undefined, b: string | undefined) => !!a && !!b && norm(a) === norm(b);

export function loopGuard(event: ResourceWriteEvent, self: OwnIdentity): GuardReason | undefined {
  const c = event.caller;
  if (same(c.objectId, self.objectId) || same(c.evidencePrincipalId, self.objectId)) return "ownWrite";
  // A user's token carries the appid of the client app they used, never ours; an app token
  // carries its own, so this only matches aml-steward itself.
  if (same(c.appId, self.clientId)) return "ownWrite";
  return undefined;
}
