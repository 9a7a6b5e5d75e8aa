/**
 * Which events are datastore or workspace-connection writes and deletes, without loading the
 * segregation code: the tagging path imports this on every event.
 */
import type { ResourceWriteEvent } from "../events/resourceWrite.js";

const OPERATIONS = new Set(
  ["datastores", "connections"].flatMap((child) =>
    ["write", "delete"].map((verb) => `microsoft.machinelearningservices/workspaces/${child}/${verb}`),
  ),
);

export const isDataAccessEvent = (e: ResourceWriteEvent) =>
  OPERATIONS.has(e.operationName.trim().toLowerCase());
