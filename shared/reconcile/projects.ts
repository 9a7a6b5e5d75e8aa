/**
 * The project records join: which resource groups a promotion created, for which project and
 * cost centre. Read once per run from the promotion records (TABLES.promotions).
 *
 * They only inform the report (an unattributed resource group that a project owns; a resource
 * group whose cost centre tag disagrees with its project's record). They never change a tag
 * decision: decideTags must decide exactly as the event path does, or the two would undo each
 * other's writes.
 *
 * The promotion ledger's row layout is shared/promotion/record.ts's (listProjectResources).
 */
import type { TableClient } from "@azure/data-tables";
import { parseResourceId } from "../azure/resourceId.js";
import { PromotionRecords } from "../promotion/record.js";

export interface ProjectOfGroup {
  name: string;
  costCenter?: string;
  requestId: string;
}

/** Lower-cased resource group name (within one subscription) -> the project that owns it. */
export type ProjectIndex = Map<string, ProjectOfGroup>;

export async function loadProjectIndex(table: TableClient, subscriptionId: string): Promise<ProjectIndex> {
  const index: ProjectIndex = new Map();
  for await (const r of new PromotionRecords(table).listProjectResources()) {
    for (const id of r.resources) {
      const p = parseResourceId(id);
      if (p?.type !== "Microsoft.Resources/resourceGroups") continue;
      if (p.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) continue;
      index.set(p.name.toLowerCase(), { name: r.project, costCenter: r.costCenter, requestId: r.requestId });
    }
  }
  return index;
}
