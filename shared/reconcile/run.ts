/**
 * One subscription's reconciliation, the imperative shell around the pure core:
 *
 *   lease -> scan (resource groups once, then every resource page by page; decide with
 *   decideTags; spool the drift list) -> guard -> write the drift with Merge -> report.
 *
 * Convergent: it reads the actual tags, writes only the difference, and a rerun after any
 * stop (crash, abort, time budget, lost lease) finds less drift and finishes the job. A dry
 * run or a blocked run writes no tag; both leave the full drift list in a blob.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import type { TableClient } from "@azure/data-tables";
import type { ContainerClient } from "@azure/storage-blob";
import { countCalls, processCounts } from "../azure/callCounter.js";
import { errorFacts } from "../azure/errors.js";
import { resourceGroupId } from "../azure/resourceId.js";
import type { AuditLog } from "../ledger/audit.js";
import { ViolationLog, type ViolationKind } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import type { EstatePolicy } from "../policy/schema.js";
import { applyTagPatch } from "../tagging/tagWriter.js";
import { childViolationsIn, showsChildViolations } from "../tagging/childViolations.js";
import type { PrincipalRef } from "../azure/principalNames.js";
import { assess, ScanTally, tagValue, type Assessment } from "./drift.js";
import { GroupTags } from "./groups.js";
import { ChangeSetHash } from "./changeSet.js";
import { APPROVAL_VALIDITY_MS, blastRadius, checkApproval } from "./guard.js";
import { Lease } from "./lease.js";
import { resumablePages } from "./pages.js";
import { loadProjectIndex, type ProjectIndex } from "./projects.js";
import { fillModeNames, patchStillNeeded } from "./freshFills.js";
import { driftBlobName, newRunId, type RunStore } from "./runStore.js";
import { CreatorBackfill } from "./creators.js";
import { remainingDrift, resumableFrom } from "./resume.js";
import { DriftSpool, readDrift } from "./spool.js";
import type { CostCenterMismatch, DriftEntry, ReconcileProgress, ReconcileReport } from "./types.js";
import { emptyCounts } from "./types.js";
import { runPool } from "./writePool.js";

/** Everything a run touches; built from azure() in index.ts, or by tests. */
export interface ReconcileDeps {
  resources(subscriptionId: string): ResourceManagementClient;
  runs: RunStore;
  leases: TableClient;
  reports: ContainerClient;
  promotions: TableClient;
  audit: AuditLog;
  violations: ViolationLog;
  /** Display names of service principals for backfilled createdBy (Graph); absent: their client id. */
  principalName?(ref: PrincipalRef): Promise<string | undefined>;
}

export interface SubscriptionRunOptions {
  subscriptionId: string;
  policy: EstatePolicy;
  deps: ReconcileDeps;
  logger: Logger;
  dryRun?: boolean;
  approveRunId?: string;
  batchId?: string;
  continuesRunId?: string;
  onProgress?: (p: ReconcileProgress) => void;
  /** Stops the run between writes (or pages); what was not written stays for the next run. */
  signal?: AbortSignal;
  /** Stop writing after this long (Functions have a timeout); the run ends `partial`. */
  timeBudgetMs?: number;
  /** Lease length (renewed every third of it while the run lives). Default 5 minutes. */
  leaseTtlMs?: number;
  /** Upsert the violations found into the violation log (default true; never in a dry run). */
  recordViolations?: boolean;
  /** Extra attempts per write after the SDK's own retries (default 6). */
  maxWriteAttempts?: number;
}

const RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups";

export const DEFAULT_LEASE_TTL_MS = 5 * 60_000;
const FAILURE_SAMPLE = 20;

/** A lease name per subscription: two runs of the same subscription never write together. */
export const leaseName = (subscriptionId: string) => `reconcile|${subscriptionId.toLowerCase()}`;

class Aborted extends Error {
  override name = "Aborted";
}

export async function reconcileSubscription(o: SubscriptionRunOptions): Promise<ReconcileReport> {
  const started = Date.now();
  const runId = newRunId(o.subscriptionId, new Date(started));
  const log = o.logger;
  const report: ReconcileReport = {
    runId,
    subscriptionId: o.subscriptionId,
    subscriptionName: o.policy.governedSubscriptions.find(
      (s) => s.id.toLowerCase() === o.subscriptionId.toLowerCase(),
    )?.name,
    status: "running",
    dryRun: o.dryRun === true,
    batchId: o.batchId,
    continuesRunId: o.continuesRunId,
    approveRunId: o.approveRunId,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    counts: emptyCounts(),
    violations: {},
    unattributed: [],
    costCenterMismatches: [],
    calls: { armReads: 0, armWrites: 0, graphReads: 0, graphWrites: 0, throttled: 0 },
    pages: { resources: 0, resourceGroups: 0 },
    driftSample: [],
    failures: [],
  };

  const { calls } = await countCalls(async () => {
    let lease: Lease | undefined;
    try {
      // A dry run writes no tag, so it needs no lease and never waits for a real run.
      if (!report.dryRun) {
        const got = await Lease.acquire(o.deps.leases, leaseName(o.subscriptionId), runId, {
          ttlMs: o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
        });
        if (!got.ok) {
          report.status = "busy";
          report.busy = { holder: got.heldBy.holder, until: got.heldBy.expiresAt };
          report.error = `run ${got.heldBy.holder} holds the subscription's lease until ${got.heldBy.expiresAt}`;
          log.warn("reconcile: another run holds this subscription; not running", {
            subscriptionId: o.subscriptionId,
            runId,
            heldBy: got.heldBy.holder,
            until: got.heldBy.expiresAt,
          });
          return;
        }
        lease = got.lease;
      }
      await o.deps.runs.start(report);
      await execute(o, report, lease);
    } catch (e) {
      if (e instanceof Aborted) {
        report.status = "aborted";
      } else {
        report.status = "failed";
        report.error = errorFacts(e).message;
        log.error("reconcile run failed", { subscriptionId: o.subscriptionId, runId, error: report.error });
      }
    } finally {
      await lease?.release().catch((e) => log.warn("could not release the lease", { error: String(e) }));
    }
  });

  const finished = Date.now();
  report.finishedAt = new Date(finished).toISOString();
  report.durationMs = finished - started;
  report.calls = calls;
  await o.deps.runs.save(report);
  log.info("reconcile run finished", {
    runId,
    subscriptionId: o.subscriptionId,
    status: report.status,
    ...report.counts,
    armReads: calls.armReads,
    armWrites: calls.armWrites,
    throttled: calls.throttled,
    durationMs: report.durationMs,
  });
  return report;
}

async function execute(
  o: SubscriptionRunOptions,
  report: ReconcileReport,
  lease: Lease | undefined,
): Promise<void> {
  const { policy, deps, logger: log, subscriptionId } = o;
  const checkAbort = () => {
    if (o.signal?.aborted) throw new Aborted("aborted by the caller");
  };

  let approval: { runId: string; changeSetHash: string } | undefined;
  if (o.approveRunId) {
    // The authority is the approval recorded on the blocked run, never the caller's say-so.
    const blocked = await deps.runs.get(o.approveRunId);
    const check = checkApproval(blocked, o.approveRunId, subscriptionId, Date.now());
    if (!check.ok) throw new Error(`approval refused: ${check.reason}`);
    approval = { runId: o.approveRunId, changeSetHash: check.changeSetHash };
  }

  // The budget covers the scan as well as the writes: a Function that overruns its timeout is
  // killed mid-write, with no report and no continuation.
  const deadline = o.timeBudgetMs === undefined ? Infinity : Date.parse(report.startedAt) + o.timeBudgetMs;

  const prev = o.continuesRunId
    ? resumableFrom(await deps.runs.get(o.continuesRunId), subscriptionId)
    : undefined;
  if (prev) {
    // The previous run scanned everything and was allowed to write; finish its list.
    for (const key of [
      "violations",
      "guard",
      "unattributed",
      "costCenterMismatches",
      "driftSample",
      "changeSetHash",
      "driftBlob",
    ] as const)
      (report as unknown as Record<string, unknown>)[key] = prev[key];
    // Counts of outcomes are this run's own, as in any continuation; the scan's are the scan's.
    report.counts = { ...prev.counts, fixed: 0, failed: 0, disappeared: 0, settledMeanwhile: 0, pending: 0 };
    log.info("reconcile: continuing the writes of the previous run without scanning again", {
      subscriptionId,
      continuesRunId: prev.runId,
      alreadyTaken: prev.resume.taken,
    });
    const { taken, retry } = prev.resume;
    await writePhase(o, report, lease, approval, deadline, prev.counts.pending, prev.driftBlob, taken, retry);
    return;
  }

  // --- scan -------------------------------------------------------------------------------
  // Every violation the scan finds is recorded with lastSeen at or after this moment, so an
  // open row last seen before it was not seen again (see resolveUnseen below).
  const scanStartedAt = new Date().toISOString();
  const client = deps.resources(subscriptionId);
  const paging = {
    onRetry: (attempt: number, delayMs: number, e: unknown) =>
      log.warn("listing throttled or failing; resuming after a pause", {
        subscriptionId,
        attempt,
        delayMs,
        error: errorFacts(e).message,
      }),
  };
  const groups = await GroupTags.load(client, paging);
  report.pages.resourceGroups = groups.pages;
  const projects = await loadProjectIndex(deps.promotions, subscriptionId);
  report.costCenterMismatches = mismatches(policy, groups, projects);

  const tally = new ScanTally(subscriptionId);
  const changes = new ChangeSetHash();
  const spool = new DriftSpool(deps.reports, driftBlobName(report.runId));
  const recordViolations = o.recordViolations !== false && !report.dryRun;
  let unrecorded = 0;
  const progress = (written: number) =>
    o.onProgress?.({
      subscriptionId,
      scanned: tally.counts.scanned,
      drifted: tally.counts.drifted,
      written,
      pages: report.pages.resources,
    });

  const creators = new CreatorBackfill(
    deps.resources,
    client,
    subscriptionId,
    deps.principalName ?? (() => Promise.resolve(undefined)),
    log,
  );
  const lacksCreator = (tags: Record<string, string> | undefined) =>
    tagValue(tags ?? {}, policy.tags.createdBy) === undefined ||
    tagValue(tags ?? {}, policy.tags.createdOn) === undefined;
  let scanCut = false;
  // Workspaces' children's open data violations (violations.mode: tag only): one query, on the
  // first workspace listed.
  let childKinds: Map<string, ViolationKind[]> | undefined;
  for await (const page of resumablePages(
    (t) =>
      client.resources
        .list({ expand: "createdTime", onResponse: creators.onPage })
        .byPage({ continuationToken: t }),
    paging,
  )) {
    checkAbort();
    if (Date.now() >= deadline) {
      scanCut = true;
      break;
    }
    report.pages.resources++;
    const drift: DriftEntry[] = [];
    const seen: Assessment[] = [];
    for (const r of page) {
      if (!r.id || !r.type) continue;
      const rg = /\/resourcegroups\/([^/]+)/i.exec(r.id)?.[1];
      const group = rg ? await groups.get(rg) : undefined;
      const listed = { id: r.id, type: r.type, name: r.name ?? "", location: r.location, tags: r.tags };
      const children = showsChildViolations(policy, r.type)
        ? (childKinds ??= await childViolationsIn(deps.violations, subscriptionId)).get(
            ViolationLog.resourceKey(r.id),
          )
        : undefined;
      let a = assess(policy, listed, group?.tags, undefined, children);
      if (!a.decision.skip && lacksCreator(r.tags)) {
        const creator = await creators.creatorOf(r.id, r.createdTime);
        if (creator) a = assess(policy, listed, group?.tags, creator, children);
      }
      tally.add(a);
      if (a.drift) {
        drift.push(a.drift);
        changes.add(a.drift);
      }
      if (recordViolations && a.decision.violations.length > 0) seen.push(a);
    }
    await spool.append(drift);
    if (seen.length > 0) unrecorded += await recordFound(o, seen, report.runId);
    progress(0);
  }
  await spool.commit();
  report.driftBlob = spool.blobName;
  report.counts = { ...tally.counts };
  report.changeSetHash = changes.digest();
  report.violations = tally.violations;
  const found = creators.summary;
  if (found.fromSystemData + found.fromActivityLog + found.unknown > 0) report.creators = found;
  if (found.unknown > 0)
    log.info("reconcile: resources whose creator neither systemData nor the Activity Log records", {
      subscriptionId,
      count: found.unknown,
      sample: found.unknownSample.slice(0, 5),
    });
  if (scanCut) {
    // Nothing was written, so the continuation (which scans again) loses no work but time.
    report.status = "partial";
    report.counts.pending = report.counts.drifted;
    log.warn("reconcile: the time budget ran out during the scan; a continuation scans again", {
      subscriptionId,
      pages: report.pages.resources,
      timeBudgetMs: o.timeBudgetMs,
    });
    return;
  }

  // Resource groups: their own violations (required tags, region, naming), from the listing.
  const groupFindings: Assessment[] = [];
  for (const g of groups.entries()) {
    const a = assess(
      policy,
      {
        id: resourceGroupId(subscriptionId, g.name),
        type: RESOURCE_GROUP_TYPE,
        name: g.name,
        location: g.location,
        tags: g.tags,
      },
      undefined,
    );
    for (const v of a.decision.violations) report.violations[v.kind] = (report.violations[v.kind] ?? 0) + 1;
    if (a.decision.violations.length > 0) groupFindings.push(a);
  }
  if (recordViolations) {
    if (groupFindings.length > 0) unrecorded += await recordFound(o, groupFindings, report.runId);
    // The scan was complete and refreshed every violation it found: what it did not see again
    // no longer applies (fixed, or the resource is gone). Unless a violation could not be
    // recorded, whose old row would then look unseen.
    if (unrecorded > 0) {
      log.warn("reconcile: some violations could not be recorded; resolving none this run", {
        subscriptionId,
        unrecorded,
      });
    } else {
      try {
        report.violationsResolved = await deps.violations.resolveUnseen(subscriptionId, scanStartedAt, {
          correlationId: report.runId,
        });
      } catch (e) {
        log.warn("reconcile: could not resolve violations", { subscriptionId, error: errorFacts(e).message });
      }
    }
  }
  report.driftSample = tally.driftSample;
  report.unattributed = tally.unattributed.result().map((g) => {
    const p = projects.get(g.resourceGroup.toLowerCase());
    return p ? { ...g, project: { name: p.name, costCenter: p.costCenter, requestId: p.requestId } } : g;
  });

  // --- guard ------------------------------------------------------------------------------
  const counts = report.counts;
  const guard = blastRadius(policy.reconcile, counts.scanned, counts.drifted, approval, report.changeSetHash);
  report.guard = guard;
  if (report.dryRun) {
    report.status = "dryRun";
    return;
  }
  if (!guard.allowed) {
    report.status = "blocked";
    counts.blocked = counts.drifted;
    report.approval = { validUntil: new Date(Date.now() + APPROVAL_VALIDITY_MS).toISOString() };
    log.error(
      `RECONCILE BLOCKED by the blast-radius guard: subscription ${report.subscriptionName ?? subscriptionId} ` +
        `(${subscriptionId}) would change ${counts.drifted} of ${counts.scanned} resources; ${guard.reason}. ` +
        `Nothing was written. Would-be changes: blob ${report.driftBlob}. ` +
        `Check the resource groups' tags; if the change is intended, approve with ` +
        `"steward reconcile --approve ${report.runId}" before ${report.approval.validUntil}.`,
      {
        alert: "reconcileBlocked",
        runId: report.runId,
        subscriptionId,
        drifted: counts.drifted,
        scanned: counts.scanned,
        costCenterMismatches: report.costCenterMismatches.length,
      },
    );
    return;
  }

  // --- write ------------------------------------------------------------------------------
  if (counts.drifted === 0) {
    report.status = "completed";
    if (approval) await deps.runs.useApproval(approval.runId, report.runId);
    return;
  }
  await writePhase(o, report, lease, approval, deadline, counts.drifted, spool.blobName, 0, []);
}

/** Writes the `toWrite` entries of `driftBlob` left after its first `skip`, `retry` first. */
async function writePhase(
  o: SubscriptionRunOptions,
  report: ReconcileReport,
  lease: Lease | undefined,
  approval: { runId: string; changeSetHash: string } | undefined,
  deadline: number,
  toWrite: number,
  driftBlob: string,
  skip: number,
  retry: DriftEntry[],
): Promise<void> {
  const { policy, deps, logger: log, subscriptionId } = o;
  const counts = report.counts;
  const progress = (written: number) =>
    o.onProgress?.({
      subscriptionId,
      scanned: counts.scanned,
      drifted: counts.drifted,
      written,
      pages: report.pages.resources,
    });
  let stopReason: "aborted" | "lease" | "budget" | undefined;
  const shouldContinue = () => {
    if (o.signal?.aborted) stopReason = "aborted";
    else if (lease && !lease.held()) stopReason = "lease";
    else if (Date.now() >= deadline) stopReason = "budget";
    return stopReason === undefined;
  };
  const writerDeps = { resources: deps.resources, audit: deps.audit, log };
  const fillNames = fillModeNames(policy);
  let written = 0;
  let taken = 0;
  const unsettled = new Set<DriftEntry>();
  async function* counted(): AsyncGenerator<DriftEntry> {
    for await (const entry of remainingDrift(readDrift(deps.reports, driftBlob), skip, retry)) {
      taken++;
      yield entry;
    }
  }
  await runPool(
    counted(),
    async (entry: DriftEntry) => {
      unsettled.add(entry);
      const patch = await patchStillNeeded(entry, fillNames, deps.resources, report.subscriptionId);
      if (patch === "gone" || Object.keys(patch).length === 0) {
        if (patch === "gone") counts.disappeared++;
        else counts.settledMeanwhile++;
        unsettled.delete(entry);
        progress(++written);
        return;
      }
      const res = await applyTagPatch(
        {
          resourceId: entry.id,
          patch,
          before: entry.before,
          actor: "reconcile",
          reason: Object.entries(entry.reasons)
            .map(([k, why]) => `${k}: ${why}`)
            .join("; "),
          correlationId: report.runId,
          project: entry.project,
        },
        writerDeps,
      );
      if (res.status === "gone") counts.disappeared++;
      else counts.fixed++;
      unsettled.delete(entry);
      progress(++written);
    },
    (entry, e) => {
      unsettled.delete(entry);
      counts.failed++;
      const message = errorFacts(e).message;
      if (report.failures.length < FAILURE_SAMPLE) report.failures.push({ id: entry.id, error: message });
      log.warn("reconcile: tag write failed", { runId: report.runId, resourceId: entry.id, error: message });
    },
    {
      concurrency: policy.reconcile.concurrency,
      maxAttempts: o.maxWriteAttempts ?? 6,
      shouldContinue,
      throttledCount: () => processCounts.throttled,
      onRetry: (entry, attempt, delayMs, e) =>
        log.warn("reconcile: tag write throttled or failing; retrying", {
          resourceId: entry.id,
          attempt,
          delayMs,
          error: errorFacts(e).message,
        }),
    },
  );
  counts.pending = toWrite - counts.fixed - counts.failed - counts.disappeared - counts.settledMeanwhile;
  if (stopReason === "aborted") throw new Aborted("aborted by the caller");
  if (stopReason === "lease") {
    throw new Error("lost the subscription's lease (another run took over); stopped writing");
  }
  report.status = stopReason === "budget" && counts.pending > 0 ? "partial" : "completed";
  if (report.status === "partial") {
    report.resume = {
      phase: "write",
      taken: skip + Math.max(0, taken - retry.length),
      retry: [...unsettled, ...retry.slice(taken)],
    };
  }
  if (approval && report.status === "completed") await deps.runs.useApproval(approval.runId, report.runId);
}

/**
 * Upserts the violations of a page into the violation log, a few at a time (refreshing
 * lastSeen of those already open). Returns how many could not be recorded.
 */
async function recordFound(o: SubscriptionRunOptions, found: Assessment[], runId: string): Promise<number> {
  const items = found.flatMap((a) =>
    a.decision.violations.map((v) => ({
      resourceId: a.resource.id,
      subscriptionId: o.subscriptionId,
      kind: v.kind,
      detail: v.detail,
      project: tagValue(a.decision.after, o.policy.tags.project),
      correlationId: runId,
    })),
  );
  // The violation log is a by-product: a failed upsert is logged, never fails the run.
  let failures = 0;
  const failed = (v: (typeof items)[number], e: unknown) => {
    failures++;
    o.logger.warn("could not record a violation", { resourceId: v.resourceId, error: errorFacts(e).message });
  };
  await runPool(items, (v) => o.deps.violations.upsert(v).then(() => undefined), failed, {
    concurrency: 8,
    maxAttempts: 3,
    shouldContinue: () => true,
  });
  return failures;
}

function mismatches(policy: EstatePolicy, groups: GroupTags, projects: ProjectIndex): CostCenterMismatch[] {
  const out: CostCenterMismatch[] = [];
  for (const g of groups.entries()) {
    const p = projects.get(g.name.toLowerCase());
    const tagged = tagValue(g.tags, policy.tags.costCenter);
    if (p?.costCenter && tagged && tagged !== p.costCenter) {
      out.push({ resourceGroup: g.name, tagged, recorded: p.costCenter, project: p.name });
    }
  }
  return out;
}
