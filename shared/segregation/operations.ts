/**
 * Which events are datastore, workspace-connection or data-version writes and deletes, without
 * loading the segregation code: the tagging path imports this on every event. (Data versions
 * carry no ARM tags, so the tag path had nothing to do with them.)
 */
import type { ResourceWriteEvent } from "../events/resourceWrite.js";

/** The workspace children checked for data segregation (lower-cased types). */
export const DATA_CHILD_TYPES: readonly string[] = ["datastores", "connections", "data/versions"].map(
  (child) => `microsoft.machinelearningservices/workspaces/${child}`,
);

const OPERATIONS = new Set(
  DATA_CHILD_TYPES.flatMap((type) => ["write", "delete"].map((verb) => `${type}/${verb}`)),
);

export const isDataAccessEvent = (e: ResourceWriteEvent) =>
  OPERATIONS.has(e.operationName.trim().toLowerCase());
