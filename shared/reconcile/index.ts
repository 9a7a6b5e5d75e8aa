/**
 * The reconciliation API, for the CLI (`steward reconcile`), the queue function and tests:
 *
 * - runReconcile: reconcile some or all governed subscriptions now (or dry-run, or apply an
 *   approved blocked run), returning one report per subscription;
 * - getRun / recentRuns / listDrift: read what a run did or would do;
 * - approveRun: apply a run the blast-radius guard blocked (semantics in guard.ts);
 * - formatReport: the reports as readable text.
 */
import { principalName } from "../azure/principalNames.js";
import { azure } from "../azure/clients.js";
import { CONTAINERS, TABLES } from "../config/settings.js";
import { AuditLog } from "../ledger/audit.js";
import { ViolationLog } from "../ledger/violations.js";
import { consoleLogger, type Logger } from "../log.js";
import { getPolicy, isGovernedSubscription } from "../policy/index.js";
import type { EstatePolicy } from "../policy/schema.js";
import { reconcileSubscription, type ReconcileDeps } from "./run.js";
import { RunStore } from "./runStore.js";
import { readDrift } from "./spool.js";
import type { DriftEntry, ReconcileProgress, ReconcileReport } from "./types.js";

export type * from "./types.js";
export { formatReport, formatDrift, REPORT_COLUMNS, reportDetails } from "./format.js";
export { APPROVAL_VALIDITY_MS } from "./guard.js";
export { reconcileSubscription, leaseName, DEFAULT_LEASE_TTL_MS, type ReconcileDeps } from "./run.js";

export interface RunReconcileOptions {
  /** Default: every governed subscription of the policy. */
  subscriptionIds?: string[];
  dryRun?: boolean;
  /** Apply this blocked run (its subscription only). */
  approveRunId?: string;
  onProgress?: (p: ReconcileProgress) => void;
  logger?: Logger;
  // Beyond the CLI's needs: the queue function and tests.
  policy?: EstatePolicy;
  deps?: ReconcileDeps;
  batchId?: string;
  continuesRunId?: string;
  signal?: AbortSignal;
  timeBudgetMs?: number;
  leaseTtlMs?: number;
  recordViolations?: boolean;
  /** Subscriptions reconciled at once (each has its own ARM limits). Default 4. */
  parallelSubscriptions?: number;
}

let cachedDeps: { deps: ReconcileDeps; for: ReturnType<typeof azure> } | undefined;

/** The deps from the process's Azure clients (rebuilt when tests reset the clients). */
export function defaultDeps(): ReconcileDeps {
  const clients = azure();
  if (cachedDeps?.for !== clients) {
    const reports = clients.blobs().getContainerClient(CONTAINERS.reports);
    cachedDeps = {
      for: clients,
      deps: {
        resources: (s) => clients.resources(s),
        runs: new RunStore(clients.table(TABLES.reconcileRuns), reports),
        leases: clients.table(TABLES.leases),
        reports,
        promotions: clients.table(TABLES.promotions),
        audit: new AuditLog(clients.table(TABLES.audit)),
        violations: new ViolationLog(clients.table(TABLES.violations)),
        principalName: (ref) => principalName(ref, () => clients.graph()),
      },
    };
  }
  return cachedDeps.deps;
}

export async function runReconcile(opts: RunReconcileOptions = {}): Promise<ReconcileReport[]> {
  const policy = opts.policy ?? getPolicy();
  const deps = opts.deps ?? defaultDeps();
  const logger = opts.logger ?? consoleLogger({ component: "reconcile" });
  let subscriptionIds = opts.subscriptionIds ?? policy.governedSubscriptions.map((s) => s.id);

  if (opts.approveRunId) {
    const blocked = await deps.runs.get(opts.approveRunId);
    if (!blocked) throw new Error(`no reconcile run ${opts.approveRunId}`);
    const others = subscriptionIds.filter((s) => s.toLowerCase() !== blocked.subscriptionId.toLowerCase());
    if (opts.subscriptionIds && others.length > 0) {
      throw new Error(`run ${opts.approveRunId} is for subscription ${blocked.subscriptionId} only`);
    }
    subscriptionIds = [blocked.subscriptionId];
  }
  const ungoverned = subscriptionIds.filter((s) => !isGovernedSubscription(policy, s));
  if (ungoverned.length > 0) {
    throw new Error(`not governed by the estate policy: ${ungoverned.join(", ")}`);
  }

  const one = (subscriptionId: string) =>
    reconcileSubscription({
      subscriptionId,
      policy,
      deps,
      logger,
      dryRun: opts.dryRun,
      approveRunId: opts.approveRunId,
      batchId: opts.batchId,
      continuesRunId: opts.continuesRunId,
      onProgress: opts.onProgress,
      signal: opts.signal,
      timeBudgetMs: opts.timeBudgetMs,
      leaseTtlMs: opts.leaseTtlMs,
      recordViolations: opts.recordViolations,
    });
  return inParallel(subscriptionIds, opts.parallelSubscriptions ?? 4, one);
}

export function getRun(
  runId: string,
  deps: ReconcileDeps = defaultDeps(),
): Promise<ReconcileReport | undefined> {
  return deps.runs.get(runId);
}

export function recentRuns(
  opts: { subscriptionId?: string; limit?: number } = {},
  deps: ReconcileDeps = defaultDeps(),
): Promise<ReconcileReport[]> {
  return deps.runs.recent(opts);
}

/** Applies a blocked run (see guard.ts for when an approval is accepted). */
export async function approveRun(
  runId: string,
  opts: Omit<RunReconcileOptions, "approveRunId" | "subscriptionIds" | "dryRun"> = {},
): Promise<ReconcileReport> {
  const [report] = await runReconcile({ ...opts, approveRunId: runId });
  return report!;
}

/** Every drift entry a run found (what it wrote, or would have written), streamed. */
export async function* listDrift(
  runId: string,
  deps: ReconcileDeps = defaultDeps(),
): AsyncGenerator<DriftEntry> {
  const run = await deps.runs.get(runId);
  if (!run?.driftBlob) return;
  yield* readDrift(deps.reports, run.driftBlob);
}

async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
