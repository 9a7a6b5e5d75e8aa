/**
 * Policy violations found on resources (region, naming, missing tags). One row per resource
 * and kind of violation, so a violation seen again updates its row instead of adding one:
 * redelivered events and nightly runs converge on the same list.
 */
import type { TableClient } from "@azure/data-tables";
import { ensureTable, tableKey } from "./tables.js";

export type ViolationKind = "region" | "naming" | "missingTags" | "tagLimit";

export interface Violation {
  resourceId: string;
  subscriptionId: string;
  kind: ViolationKind;
  detail: string;
  project?: string;
  firstSeen: string;
  lastSeen: string;
  correlationId?: string;
}

export class ViolationLog {
  constructor(private readonly table: TableClient) {}

  /** Record (or refresh) a violation; returns true when it is new. */
  async upsert(v: Omit<Violation, "firstSeen" | "lastSeen"> & { seenAt?: string }): Promise<boolean> {
    await ensureTable(this.table);
    const partitionKey = tableKey(v.subscriptionId);
    const rowKey = `${tableKey(v.resourceId)}|${v.kind}`;
    const seen = v.seenAt ?? new Date().toISOString();
    let firstSeen = seen;
    let isNew = true;
    try {
      const existing = await this.table.getEntity<{ firstSeen: string }>(partitionKey, rowKey);
      firstSeen = existing.firstSeen;
      isNew = false;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
    }
    await this.table.upsertEntity(
      {
        partitionKey,
        rowKey,
        resourceId: v.resourceId,
        subscriptionId: v.subscriptionId,
        kind: v.kind,
        detail: v.detail,
        project: v.project,
        firstSeen,
        lastSeen: seen,
        correlationId: v.correlationId,
      },
      "Replace",
    );
    return isNew;
  }

  async list(filter: { subscriptionId?: string; resourceId?: string } = {}): Promise<Violation[]> {
    await ensureTable(this.table);
    const clauses: string[] = [];
    if (filter.subscriptionId) clauses.push(`PartitionKey eq '${tableKey(filter.subscriptionId)}'`);
    const out: Violation[] = [];
    for await (const e of this.table.listEntities<Violation>({
      queryOptions: { filter: clauses.join(" and ") || undefined },
    })) {
      if (filter.resourceId && e.resourceId.toLowerCase() !== filter.resourceId.toLowerCase()) continue;
      out.push({
        resourceId: e.resourceId,
        subscriptionId: e.subscriptionId,
        kind: e.kind,
        detail: e.detail,
        project: e.project,
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        correlationId: e.correlationId,
      });
    }
    return out;
  }
}
