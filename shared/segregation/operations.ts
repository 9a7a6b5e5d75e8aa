/**
 * Which events are datastore, workspace-connection or data-version writes and deletes, without
 * loading the segregation code: the tagging path imports this on every event. (Data versions
 * carry no ARM tags, so the tag path had nothing to do with them.)
 */
import type { ResourceWriteEvent } from "../events/resourceWrite.js";

const OPERATIONS = new Set(
  ["datastores", "connections", "data/versions"].flatMap((child) =>
    ["write", "delete"].map((verb) => `microsoft.machinelearningservices/workspaces/${child}/${verb}`),
  ),
);

export const isDataAccessEvent = (e: ResourceWriteEvent) =>
  OPERATIONS.has(e.operationName.trim().toLowerCase());
