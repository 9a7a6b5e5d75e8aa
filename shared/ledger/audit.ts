/**
 * The audit log: every write aml-steward makes (what, where, before, after, why, and the
 * correlation id of what triggered it). One row per entry, in its target's partition, so that
 * a write costs one Table insert: the event path writes far more often than anyone reads.
 * "By resource" is a single-partition query; "by project" filters on the row's project key
 * across partitions (an operator's question, answered in seconds for a year of entries). Row
 * keys sort by time.
 */
import type { TableClient } from "@azure/data-tables";
import { ensureTable, json, parseJson, tableKey, timeRowKey } from "./tables.js";

export interface AuditEntry {
  at: string;
  /** Which part of aml-steward wrote: onResourceWrite, promotion, reconcile, setup. */
  actor: string;
  /** e.g. tags.merge, resourceGroup.createOrUpdate, roleAssignment.create, group.upsert */
  action: string;
  /** Resource id, group id or other target. */
  target: string;
  subscriptionId?: string;
  project?: string;
  before?: unknown;
  after?: unknown;
  reason: string;
  correlationId?: string;
}

export class AuditLog {
  constructor(private readonly table: TableClient) {}

  async record(entry: Omit<AuditEntry, "at"> & { at?: string }): Promise<AuditEntry> {
    const full = completeEntry(entry);
    await ensureTable(this.table);
    await this.table.createEntity(auditRow(full));
    return full;
  }

  async byResource(resourceId: string, opts: { since?: string } = {}): Promise<AuditEntry[]> {
    const rows = await this.query(`PartitionKey eq ${quote(`r|${tableKey(resourceId)}`)}`, opts.since);
    return rows.map(({ entry }) => entry);
  }

  async byProject(project: string, opts: { since?: string } = {}): Promise<AuditEntry[]> {
    const key = tableKey(project);
    const [current, legacy] = await Promise.all([
      this.query(`PartitionKey ge 'r|' and PartitionKey lt 'r}' and projectKey eq ${quote(key)}`, opts.since),
      // Entries written before one row per entry: a copy of each was filed under p|project.
      this.query(`PartitionKey eq ${quote(`p|${key}`)}`, opts.since),
    ]);
    // Across partitions the service orders by partition first; row keys give the time order back.
    return [...current, ...legacy]
      .sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0))
      .map(({ entry }) => entry);
  }

  private async query(where: string, since?: string): Promise<Array<{ rowKey: string; entry: AuditEntry }>> {
    await ensureTable(this.table);
    const filter = where + (since ? ` and RowKey ge ${quote(since)}` : "");
    const out: Array<{ rowKey: string; entry: AuditEntry }> = [];
    for await (const e of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const entry: AuditEntry = {
        at: String(e.at),
        actor: String(e.actor),
        action: String(e.action),
        target: String(e.target),
        subscriptionId: e.subscriptionId as string | undefined,
        project: e.project as string | undefined,
        before: parseJson(e.before),
        after: parseJson(e.after),
        reason: String(e.reason),
        correlationId: e.correlationId as string | undefined,
      };
      out.push({ rowKey: String(e.rowKey), entry });
    }
    return out;
  }
}

export function completeEntry(entry: Omit<AuditEntry, "at"> & { at?: string }): AuditEntry {
  return { ...entry, at: entry.at ?? new Date().toISOString() };
}

/**
 * The one row an entry is stored as (also written by the event path's lean Table client,
 * shared/tagging/auditRecorder.ts): in its target's partition, row keys sorting by time.
 */
export function auditRow(
  full: AuditEntry,
): { partitionKey: string; rowKey: string } & Record<string, string | undefined> {
  return {
    partitionKey: `r|${tableKey(full.target)}`,
    rowKey: timeRowKey(new Date(full.at)),
    at: full.at,
    actor: full.actor,
    action: full.action,
    target: full.target,
    subscriptionId: full.subscriptionId,
    project: full.project,
    before: json(full.before),
    after: json(full.after),
    reason: full.reason,
    correlationId: full.correlationId,
    // Matched by "by project" regardless of casing, as the partition key used to be.
    projectKey: full.project === undefined ? undefined : tableKey(full.project),
  };
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
