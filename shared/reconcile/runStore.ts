/**
 * Where run reports live: a Table Storage row per run (TABLES.reconcileRuns; the index an
 * operator queries, and the mutable part: status, approval use) and the full report as a JSON
 * blob in CONTAINERS.reports, next to the run's drift list. Run ids start with the UTC time,
 * so rows of the single "run" partition list oldest first.
 */
import type { TableClient } from "@azure/data-tables";
import type { ContainerClient } from "@azure/storage-blob";
import { randomUUID } from "node:crypto";
import { ensureTable } from "../ledger/tables.js";
import { ensureContainer } from "./spool.js";
import type { ReconcileReport, RunCounts, RunStatus } from "./types.js";
import { emptyCounts } from "./types.js";

const PARTITION = "run";
const COUNT_KEYS = Object.keys(emptyCounts()) as Array<keyof RunCounts>;

export function newRunId(subscriptionId: string, at = new Date()): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${subscriptionId.slice(0, 8).toLowerCase()}-${randomUUID().slice(0, 6)}`;
}

export const reportBlobName = (runId: string) => `reconcile/${runId}/report.json`;
export const driftBlobName = (runId: string) => `reconcile/${runId}/drift.ndjson`;

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

/**
 * Run ids come from operators and queue messages. One that cannot be a Table row key (Table
 * Storage refuses '/', '\', '#', '?' and control characters with a 400) names no run: without
 * this check the 400 would fail the run and the queue would retry a message that can never pass.
 */
const isRunKey = (id: string) =>
  // eslint-disable-next-line no-control-regex -- control characters are forbidden in keys too
  id.length > 0 && id.length <= 512 && !/[/\\#?\u0000-\u001f\u007f-\u009f]/.test(id);

export class RunStore {
  constructor(
    private readonly table: TableClient,
    private readonly container: ContainerClient,
  ) {}

  /** Records the run as running, so a run that crashes is still visible. */
  async start(report: ReconcileReport): Promise<void> {
    await ensureTable(this.table);
    await this.table.upsertEntity(toRow(report), "Replace");
  }

  /** Writes the full report blob, then the row that points at it. */
  async save(report: ReconcileReport): Promise<void> {
    await ensureContainer(this.container);
    const text = JSON.stringify(report, null, 2);
    await this.container
      .getBlockBlobClient(reportBlobName(report.runId))
      .upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: "application/json" } });
    await ensureTable(this.table);
    await this.table.upsertEntity(toRow(report), "Replace");
  }

  async get(runId: string): Promise<ReconcileReport | undefined> {
    if (!isRunKey(runId)) return undefined;
    await ensureTable(this.table);
    let row: Row;
    try {
      row = await this.table.getEntity<Row>(PARTITION, runId);
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
    let report = fromRow(row);
    try {
      const blob = await this.container.getBlockBlobClient(reportBlobName(runId)).downloadToBuffer();
      report = JSON.parse(blob.toString("utf8")) as ReconcileReport;
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    // The row is the live part: status and approval change after the blob was written.
    report.status = row.status;
    report.approval = approvalOf(row);
    return report;
  }

  /**
   * Records who approved a blocked run (once; the caller has checked who may). Conditional on
   * the row's ETag, so two approvers racing record one approval, and never on a used run.
   */
  async recordApproval(
    runId: string,
    by: NonNullable<ReconcileReport["approval"]>["approvedBy"],
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    const row = await this.table.getEntity<Row>(PARTITION, runId);
    if (row.approvalApprovedBy) {
      const earlier = JSON.parse(row.approvalApprovedBy) as { objectId?: string; userPrincipalName?: string };
      if (earlier.objectId === by?.objectId) return { ok: true };
      return {
        ok: false,
        reason: `run ${runId} was already approved by ${earlier.userPrincipalName ?? earlier.objectId}`,
      };
    }
    try {
      await this.table.updateEntity(
        {
          partitionKey: PARTITION,
          rowKey: runId,
          approvalApprovedBy: JSON.stringify(by),
          approvalApprovedAt: new Date().toISOString(),
        },
        "Merge",
        { etag: row.etag },
      );
      return { ok: true };
    } catch (e) {
      if (statusOf(e) === 412)
        return { ok: false, reason: `run ${runId} changed while it was being approved; try again` };
      throw e;
    }
  }

  /** Marks a blocked run's approval as used by `byRunId` (once: a second use gets false). */
  async useApproval(blockedRunId: string, byRunId: string): Promise<boolean> {
    const row = await this.table.getEntity<Row>(PARTITION, blockedRunId);
    if (row.approvalUsedByRunId && row.approvalUsedByRunId !== byRunId) return false;
    try {
      await this.table.updateEntity(
        {
          partitionKey: PARTITION,
          rowKey: blockedRunId,
          approvalUsedByRunId: byRunId,
          approvalUsedAt: new Date().toISOString(),
        },
        "Merge",
        { etag: row.etag },
      );
      return true;
    } catch (e) {
      if (statusOf(e) === 412) return false;
      throw e;
    }
  }

  /** The latest runs (newest first), optionally of one subscription. */
  async recent(opts: { subscriptionId?: string; limit?: number } = {}): Promise<ReconcileReport[]> {
    await ensureTable(this.table);
    const limit = opts.limit ?? 20;
    const all: ReconcileReport[] = [];
    for await (const row of this.table.listEntities<Row>({
      queryOptions: { filter: `PartitionKey eq '${PARTITION}'` },
    })) {
      if (opts.subscriptionId && row.subscriptionId.toLowerCase() !== opts.subscriptionId.toLowerCase())
        continue;
      all.push(fromRow(row));
      // Rows come oldest first: keep only the newest `limit`.
      if (all.length > limit) all.shift();
    }
    return all.reverse();
  }
}

interface Row {
  partitionKey: string;
  rowKey: string;
  etag?: string;
  subscriptionId: string;
  subscriptionName?: string;
  status: RunStatus;
  dryRun: boolean;
  batchId?: string;
  continuesRunId?: string;
  approveRunId?: string;
  startedAt: string;
  finishedAt?: string;
  durationMs: number;
  guardAllowed?: boolean;
  guardReason?: string;
  approvalValidUntil?: string;
  approvalUsedByRunId?: string;
  approvalUsedAt?: string;
  approvalApprovedBy?: string;
  approvalApprovedAt?: string;
  changeSetHash?: string;
  driftBlob?: string;
  reportBlob: string;
  armReads: number;
  armWrites: number;
  throttled: number;
  error?: string;
  [count: string]: unknown;
}

function toRow(r: ReconcileReport): Row {
  const row: Row = {
    partitionKey: PARTITION,
    rowKey: r.runId,
    subscriptionId: r.subscriptionId,
    subscriptionName: r.subscriptionName,
    status: r.status,
    dryRun: r.dryRun,
    batchId: r.batchId,
    continuesRunId: r.continuesRunId,
    approveRunId: r.approveRunId,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
    guardAllowed: r.guard?.allowed,
    guardReason: r.guard?.reason?.slice(0, 4000),
    approvalValidUntil: r.approval?.validUntil,
    approvalUsedByRunId: r.approval?.usedByRunId,
    approvalUsedAt: r.approval?.usedAt,
    approvalApprovedBy: r.approval?.approvedBy ? JSON.stringify(r.approval.approvedBy) : undefined,
    approvalApprovedAt: r.approval?.approvedAt,
    changeSetHash: r.changeSetHash,
    driftBlob: r.driftBlob,
    reportBlob: reportBlobName(r.runId),
    armReads: r.calls.armReads,
    armWrites: r.calls.armWrites,
    throttled: r.calls.throttled,
    error: r.error?.slice(0, 4000),
  };
  for (const k of COUNT_KEYS) row[k] = r.counts[k];
  for (const key of Object.keys(row)) if (row[key] === undefined) delete row[key];
  return row;
}

/** A report from the row alone (the blob is missing: the run crashed before writing it). */
function fromRow(row: Row): ReconcileReport {
  const counts = emptyCounts();
  for (const k of COUNT_KEYS) counts[k] = Number(row[k] ?? 0);
  return {
    runId: row.rowKey,
    subscriptionId: row.subscriptionId,
    subscriptionName: row.subscriptionName,
    status: row.status,
    dryRun: row.dryRun === true,
    batchId: row.batchId,
    continuesRunId: row.continuesRunId,
    approveRunId: row.approveRunId,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    durationMs: Number(row.durationMs ?? 0),
    counts,
    violations: {},
    unattributed: [],
    costCenterMismatches: [],
    calls: {
      armReads: Number(row.armReads ?? 0),
      armWrites: Number(row.armWrites ?? 0),
      graphReads: 0,
      graphWrites: 0,
      throttled: Number(row.throttled ?? 0),
    },
    pages: { resources: 0, resourceGroups: 0 },
    driftBlob: row.driftBlob,
    driftSample: [],
    failures: [],
    approval: approvalOf(row),
    changeSetHash: row.changeSetHash,
    error: row.error,
  };
}

/** The live approval columns of a row (they change after the report blob was written). */
function approvalOf(row: Row): ReconcileReport["approval"] {
  if (!row.approvalValidUntil) return undefined;
  let approvedBy: NonNullable<ReconcileReport["approval"]>["approvedBy"];
  try {
    approvedBy = row.approvalApprovedBy ? JSON.parse(row.approvalApprovedBy) : undefined;
  } catch {
    approvedBy = undefined;
  }
  return {
    validUntil: row.approvalValidUntil,
    approvedBy,
    approvedAt: row.approvalApprovedAt,
    usedByRunId: row.approvalUsedByRunId,
    usedAt: row.approvalUsedAt,
  };
}
