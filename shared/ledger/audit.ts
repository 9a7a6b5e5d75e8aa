/**
 * The audit log: every write aml-steward makes (what, where, before, after, why, and the
 * correlation id of what triggered it). Each entry is stored under its resource and, when it
 * has one, under its project, so both questions are a single-partition query; row keys sort
 * by time.
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
    const full: AuditEntry = { ...entry, at: entry.at ?? new Date().toISOString() };
    await ensureTable(this.table);
    const rowKey = timeRowKey(new Date(full.at));
    const row = {
      rowKey,
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
    };
    await this.table.createEntity({ ...row, partitionKey: `r|${tableKey(full.target)}` });
    if (full.project) await this.table.createEntity({ ...row, partitionKey: `p|${tableKey(full.project)}` });
    return full;
  }

  byResource(resourceId: string, opts: { since?: string } = {}): Promise<AuditEntry[]> {
    return this.query(`r|${tableKey(resourceId)}`, opts.since);
  }

  byProject(project: string, opts: { since?: string } = {}): Promise<AuditEntry[]> {
    return this.query(`p|${tableKey(project)}`, opts.since);
  }

  private async query(partitionKey: string, since?: string): Promise<AuditEntry[]> {
    await ensureTable(this.table);
    const filter =
      `PartitionKey eq '${partitionKey.replace(/'/g, "''")}'` +
      (since ? ` and RowKey ge '${since.replace(/'/g, "''")}'` : "");
    const out: AuditEntry[] = [];
    for await (const e of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      out.push({
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
      });
    }
    return out;
  }
}
