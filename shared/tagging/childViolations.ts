/**
 * A workspace's datastores, connections and data versions cannot carry tags (they are not tracked resources),
 * so in `violations.mode: tag` their data violations (`dataSegregation`, `dataResidency`, kept
 * by shared/segregation) are shown by the workspace's violation tag. The workspace's tag
 * decision reads them from the ledger every time it decides (event path and nightly): deciding
 * from the workspace's own violations alone would take the kinds off at its next write. Only
 * the tag is written; nothing is deleted.
 */
import { parseResourceId } from "../azure/resourceId.js";
import type { ViolationKind, ViolationLog } from "../ledger/violations.js";
import type { EstatePolicy } from "../policy/schema.js";
import { DATA_CHILD_TYPES } from "../segregation/operations.js";

/** The kinds a workspace's children can have that its violation tag shows. */
export const CHILD_VIOLATION_KINDS: readonly ViolationKind[] = ["dataSegregation", "dataResidency"];

const WORKSPACE_TYPE = "microsoft.machinelearningservices/workspaces";
const CHILD_TYPES = new Set(DATA_CHILD_TYPES);

/** Whether this resource's violation tag shows its children's violations (no call otherwise). */
export function showsChildViolations(policy: EstatePolicy, type: string): boolean {
  return policy.violations.mode === "tag" && type.toLowerCase() === WORKSPACE_TYPE;
}

/**
 * The workspace of a datastore, connection or data version id; undefined for anything else. A
 * data version's parent is its data container, so the workspace is the id's first four segments
 * after the provider.
 */
export function workspaceOfChild(resourceId: string): string | undefined {
  const parts = parseResourceId(resourceId);
  if (!parts?.isChild || !CHILD_TYPES.has(parts.type.toLowerCase())) return undefined;
  const segs = resourceId.replace(/\/+$/, "").split("/");
  const at = segs.findIndex((s) => s.toLowerCase() === "providers");
  return segs.slice(0, at + 4).join("/");
}

/** The event path's read: one range query of the workspace's children's rows. */
export function childViolationsOf(
  violations: Pick<ViolationLog, "openChildKinds">,
  workspaceId: string,
): Promise<ViolationKind[]> {
  return violations.openChildKinds(workspaceId, CHILD_VIOLATION_KINDS);
}

/** The nightly run's read: one query per subscription, by workspace key. */
export function childViolationsIn(
  violations: Pick<ViolationLog, "openChildKindsIn">,
  subscriptionId: string,
): Promise<Map<string, ViolationKind[]>> {
  return violations.openChildKindsIn(subscriptionId, CHILD_VIOLATION_KINDS, workspaceOfChild);
}
