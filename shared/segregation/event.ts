/**
 * Datastore and workspace-connection events (`.../datastores/write|delete`,
 * `.../connections/write|delete`): the datastore is checked at once, so a dev datastore that
 * points at production storage is a dataSegregation violation within seconds. Nothing in the
 * event but the resource id is used; a delete (or a datastore already gone) resolves its rows.
 */
import type { ResourceWriteEvent } from "../events/resourceWrite.js";
import { checkDataAccess, type DataAccessDeps, type DataAccessOutcome } from "./dataAccess.js";

export { isDataAccessEvent } from "./operations.js";

export function handleDataAccessEvent(
  event: ResourceWriteEvent,
  deps: DataAccessDeps,
): Promise<DataAccessOutcome> {
  return checkDataAccess(event.resourceId, deps, {
    correlationId: event.correlationId ?? event.id,
    readAfter: Date.parse(event.eventTime),
  });
}
