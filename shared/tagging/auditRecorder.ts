/**
 * The audit log's writing half for the event path: the same row as AuditLog.record
 * (shared/ledger/audit.ts auditRow), inserted through the lean Table client, so a tagged
 * resource's one Table write skips @azure/data-tables' pipeline. Reading stays with AuditLog.
 */
import type { LeanTableClient } from "../azure/leanTable.js";
import { auditRow, completeEntry, type AuditEntry, type AuditLog } from "../ledger/audit.js";

export type AuditRecorder = Pick<AuditLog, "record">;

export function leanAuditRecorder(table: LeanTableClient, tableName: string): AuditRecorder {
  return {
    async record(entry: Omit<AuditEntry, "at"> & { at?: string }): Promise<AuditEntry> {
      const full = completeEntry(entry);
      await table.createEntity(tableName, auditRow(full));
      return full;
    },
  };
}
