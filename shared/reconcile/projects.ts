/**
 * The project records join: which resource groups a promotion created, for which project and
 * cost centre. Read once per run from the promotion records (TABLES.promotions).
 *
 * They only inform the report (an unattributed resource group that a project owns; a resource
 * group whose cost centre tag disagrees with its project's record). They never change a tag
 * decision: decideTags must decide exactly as the event path does, or the two would undo each
 * other's writes.
 *
 * Reads the promotion ledger's row layout (shared/promotion/record.ts: partition "promotion",
 * the `resources` JSON split over `resourcesParts` + `resources_N`), selecting only the small
 * columns, never the plan.
 */
import type { TableClient } from "@azure/data-tables";
import { parseResourceId } from "../azure/resourceId.js";

export interface ProjectOfGroup {
  name: string;
  costCenter?: string;
  requestId: string;
}

/** Lower-cased resource group name (within one subscription) -> the project that owns it. */
export type ProjectIndex = Map<string, ProjectOfGroup>;

const MAX_PARTS = 4;

export async function loadProjectIndex(table: TableClient, subscriptionId: string): Promise<ProjectIndex> {
  const index: ProjectIndex = new Map();
  const select = [
    "requestId",
    "status",
    "project",
    "costCenter",
    "dryRun",
    "resourcesParts",
    ...Array.from({ length: MAX_PARTS }, (_, i) => `resources_${i}`),
  ];
  try {
    for await (const e of table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: "PartitionKey eq 'promotion'", select },
    })) {
      if (e.dryRun === true || (e.status !== "succeeded" && e.status !== "running")) continue;
      if (typeof e.project !== "string") continue;
      const parts = Math.min(Number(e.resourcesParts ?? 0), MAX_PARTS);
      let text = "";
      for (let i = 0; i < parts; i++) text += String(e[`resources_${i}`] ?? "");
      let ids: unknown;
      try {
        ids = text ? JSON.parse(text) : [];
      } catch {
        continue; // more parts than we read; the report just lacks this project
      }
      if (!Array.isArray(ids)) continue;
      for (const id of ids) {
        const p = typeof id === "string" ? parseResourceId(id) : undefined;
        if (p?.type !== "Microsoft.Resources/resourceGroups") continue;
        if (p.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) continue;
        index.set(p.name.toLowerCase(), {
          name: e.project,
          costCenter: typeof e.costCenter === "string" ? e.costCenter : undefined,
          requestId: String(e.requestId ?? e.rowKey),
        });
      }
    }
  } catch (e) {
    // No promotion has ever run: the table does not exist yet.
    if ((e as { statusCode?: number }).statusCode === 404) return index;
    throw e;
  }
  return index;
}
