/**
 * The shapes a reconciliation run produces: the per-resource drift entry (what the run would
 * write and why), the counters, and the report that goes to Table Storage, a JSON blob, the
 * CLI and the logs. Plain data only, so every part (pure core, stores, formatter) agrees.
 */
import type { CallCounts } from "../azure/callCounter.js";
import type { ViolationKind } from "../ledger/violations.js";

/** One resource whose tags differ from what the estate policy wants. */
export interface DriftEntry {
  id: string;
  resourceGroup: string;
  type: string;
  /** Tags to Merge (names in the resource's own spelling). */
  patch: Record<string, string>;
  /** The current values of the patched names ("" when absent), so a reader sees before/after. */
  before: Record<string, string>;
  /** Why each patched tag is set (from decideTags). */
  reasons: Record<string, string>;
  /** The project tag the resource carries once patched (files the audit entry under it). */
  project?: string;
}

/**
 * completed: scanned and every drift handled; blocked: the blast-radius guard stopped it (no
 * write); dryRun: drift listed, nothing written; partial: stopped at its time budget after some
 * writes (a continuation finishes the job); busy: another run holds the subscription's lease;
 * aborted: stopped by its caller; failed: an error ended it (see `error`).
 */
export type RunStatus =
  "running" | "completed" | "blocked" | "dryRun" | "partial" | "busy" | "aborted" | "failed";

export interface RunCounts {
  /** Every resource the listing returned. */
  scanned: number;
  /** Governed, nothing to write, and carrying every required tag. */
  compliant: number;
  /**
   * Governed and nothing to write, but missing required tags that nothing can supply (the
   * resource group lacks them too): a policy violation, not drift.
   */
  incomplete: number;
  /** Governed and missing or carrying wrong tags. */
  drifted: number;
  /** Drifted resources this run wrote (one Merge each). */
  fixed: number;
  /** Drifted resources whose write failed for good (after retries). */
  failed: number;
  /** Types the policy never tags. */
  untaggable: number;
  /** Outside tag governance for another reason (child or extension resources, ...). */
  skipped: number;
  /** Gone when the run tried to write them (404): counted, not failed. */
  disappeared: number;
  /** Drifted at scan time, but someone filled the `fill`-mode gaps before the write: not written. */
  settledMeanwhile: number;
  /** Drifted resources not written because the guard stopped the run. */
  blocked: number;
  /** Drifted resources not written because the run stopped early (time budget, abort, lease lost). */
  pending: number;
  /** Resources that would need more than Azure's 50 tags (patch trimmed to what fits). */
  overTagLimit: number;
  /** Resources with no cost centre on themselves nor on their resource group. */
  unattributed: number;
}

export interface UnattributedGroup {
  subscriptionId: string;
  resourceGroup: string;
  count: number;
  /** The first few resource ids, for a reader to start from. */
  sample: string[];
  /** A promotion record names this resource group: the cost centre it should carry. */
  project?: { name: string; costCenter?: string; requestId: string };
}

/** A resource group whose cost centre tag differs from its project's promotion record. */
export interface CostCenterMismatch {
  resourceGroup: string;
  tagged: string;
  recorded: string;
  project: string;
}

export interface GuardDecision {
  allowed: boolean;
  drifted: number;
  scanned: number;
  /** drifted / scanned (0 when nothing was scanned). */
  share: number;
  maxChangeShare: number;
  maxChangeCount: number;
  /** Why the guard stopped the run, in words (undefined when allowed). */
  reason?: string;
  /** Set when the run went ahead under an operator's approval of a blocked run. */
  approvedRunId?: string;
}

export interface ReconcileReport {
  runId: string;
  subscriptionId: string;
  subscriptionName?: string;
  status: RunStatus;
  dryRun: boolean;
  /** Timer fan-out: the id shared by all subscriptions of one scheduled run. */
  batchId?: string;
  /** For a continuation (after a time budget): the run it continues. */
  continuesRunId?: string;
  /** The blocked run this run was asked to apply (approveRun). */
  approveRunId?: string;
  startedAt: string;
  finishedAt?: string;
  durationMs: number;
  counts: RunCounts;
  /** Violations found, by kind: resources and resource groups. */
  violations: Partial<Record<ViolationKind, number>>;
  /**
   * Open violations the run resolved: rows of the violation log that the complete scan did not
   * see again (fixed, or the resource is gone). Absent when nothing was recorded (dry run,
   * recordViolations false, a scan cut short, a violation that could not be recorded).
   */
  violationsResolved?: number;
  guard?: GuardDecision;
  unattributed: UnattributedGroup[];
  costCenterMismatches: CostCenterMismatch[];
  /** ARM (and Graph) calls the run made, from countCalls. */
  calls: CallCounts;
  /** List pages fetched: resources and resource groups. */
  pages: { resources: number; resourceGroups: number };
  /** Blob (in CONTAINERS.reports) holding every drift entry, one JSON per line. */
  driftBlob?: string;
  /** The first drift entries, so a report is readable without the blob. */
  driftSample: DriftEntry[];
  /** The first failures, with their error. */
  failures: Array<{ id: string; error: string }>;
  /** Order-independent hash of every change the run would write (changeSet.ts). */
  changeSetHash?: string;
  /**
   * For blocked runs: when an approval stops being accepted, who approved (from a validated
   * token; a member of the platform approvers group), and the run that used it.
   */
  approval?: {
    validUntil: string;
    approvedBy?: { objectId: string; userPrincipalName?: string; displayName?: string };
    approvedAt?: string;
    usedByRunId?: string;
    usedAt?: string;
  };
  /** For a busy run: who holds the subscription's lease, and until when. */
  busy?: { holder: string; until: string };
  error?: string;
  /**
   * The createdBy/createdOn backfill (creators.ts) of governed resources missing them: how many
   * creators came from ARM's systemData and from the Activity Log, how many nobody records
   * (left untagged; the first 20 ids in unknownSample), and the reads it cost.
   */
  creators?: {
    fromSystemData: number;
    fromActivityLog: number;
    unknown: number;
    reads: number;
    activityLogPages: number;
    unknownSample: string[];
  };
  /** For a run that reached its time budget while writing: where its continuation picks up (resume.ts). */
  resume?: ResumePoint;
}

/** A progress tick for the CLI: after each listed page and each batch of writes. */
export interface ReconcileProgress {
  subscriptionId: string;
  scanned: number;
  drifted: number;
  written: number;
  /** Pages of the resource listing read so far. */
  pages?: number;
}

export function emptyCounts(): RunCounts {
  return {
    scanned: 0,
    compliant: 0,
    incomplete: 0,
    drifted: 0,
    fixed: 0,
    failed: 0,
    untaggable: 0,
    skipped: 0,
    disappeared: 0,
    settledMeanwhile: 0,
    blocked: 0,
    pending: 0,
    overTagLimit: 0,
    unattributed: 0,
  };
}

/** Where a partial run stopped, so that the next run finishes its writes instead of scanning again (resume.ts). */
export interface ResumePoint {
  phase: "write";
  /** Drift entries of `driftBlob` the write phase took, in blob order (done, failed or in `retry`). */
  taken: number;
  /** Taken but stopped between attempts: neither written nor failed. */
  retry: DriftEntry[];
}
