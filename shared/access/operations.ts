/**
 * Which events are role-assignment changes, without loading the access-drift code: the tagging
 * path imports this on every event, and the rest (with the authorization SDK) only when needed.
 */
import type { ResourceWriteEvent } from "../events/resourceWrite.js";

const OPERATIONS = [
  "microsoft.authorization/roleassignments/write",
  "microsoft.authorization/roleassignments/delete",
];

export const isAccessEvent = (e: ResourceWriteEvent) =>
  OPERATIONS.includes(e.operationName.trim().toLowerCase());
