/**
 * Table Storage plumbing shared by every ledger: tables are created once per process, and
 * keys are encoded because PartitionKey/RowKey may not hold '/', '\', '#' or '?' (resource
 * ids are full of '/').
 */
import type { TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";

const ensured = new WeakMap<TableClient, Promise<void>>();

export function ensureTable(table: TableClient): Promise<void> {
  let p = ensured.get(table);
  if (!p) {
    p = table.createTable().catch((e: { statusCode?: number }) => {
      if (e?.statusCode !== 409) {
        ensured.delete(table);
        throw e;
      }
    });
    ensured.set(table, p);
  }
  return p;
}

/** A key for Table Storage from any string: lower-cased, forbidden characters escaped. */
export function tableKey(value: string): string {
  return value.toLowerCase().replace(
    // eslint-disable-next-line no-control-regex -- control characters are forbidden in keys too
    /[%/\\#?\u0000-\u001f\u007f-\u009f]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"),
  );
}

/** Row keys that sort by time (ISO timestamp) and never collide. */
export function timeRowKey(at: Date = new Date()): string {
  return `${at.toISOString()}_${randomUUID().slice(0, 8)}`;
}

/** Table properties hold strings; nested values are stored as JSON text. */
export function json(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

export function parseJson<T>(value: unknown): T | undefined {
  return typeof value === "string" && value.length > 0 ? (JSON.parse(value) as T) : undefined;
}
