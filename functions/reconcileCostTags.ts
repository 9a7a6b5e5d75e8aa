/**
 * Nightly cost-tag reconciliation, in two functions:
 *
 * - `reconcileCostTags` (timer, STEWARD_RECONCILE_SCHEDULE, 02:00 UTC by default) sends one
 *   message per governed subscription to `reconcile-subscriptions`; Azure Functions scales the
 *   queue out across instances.
 * - `reconcileSubscription` (queue) reconciles one subscription (shared/reconcile).
 *
 * Every invocation is idempotent: a run converges (writes only the difference) and a lease per
 * subscription keeps two runs from writing at once. A message that finds the lease held is put
 * back until the lease expires; a run that reaches its time budget (Functions time out) sends a
 * continuation that scans again and finishes the job; a failed run throws so the host retries
 * (and, after maxDequeueCount, moves the message to the poison queue).
 */
import type { InvocationContext, Timer } from "@azure/functions";
import type { QueueClient } from "@azure/storage-queue";
import { azure, loadHeavySdks } from "../shared/azure/clients.js";
import { QUEUES } from "../shared/config/settings.js";
import { loggerFor, type Logger } from "../shared/log.js";
import { getPolicy, isGovernedSubscription } from "../shared/policy/index.js";
import type { RunReconcileOptions } from "../shared/reconcile/index.js";
import { encodeMessage, parseMessage, type ReconcileMessage } from "../shared/reconcile/messages.js";
import type { ReconcileReport } from "../shared/reconcile/types.js";
import type { FunctionDefinition } from "./definition.js";

/** host.json's functionTimeout is 15 minutes; stop writing well before it. */
export const QUEUE_TIME_BUDGET_MS = 10 * 60_000;
/** A chain of continuations longer than this is a run that makes no progress. */
export const MAX_CONTINUATIONS = 24;
/** Put back at most this many times when the lease is held (each waits for its expiry). */
export const MAX_BUSY_RETRIES = 6;

const queueReady = new WeakMap<QueueClient, Promise<unknown>>();

function reconcileQueue(): QueueClient {
  const q = azure().queue(QUEUES.reconcile);
  if (!queueReady.has(q)) queueReady.set(q, q.createIfNotExists());
  return q;
}

/**
 * The reconciliation code, loaded by the first reconcile invocation on this instance, so that
 * the tagging path's cold start does not include it.
 */
async function reconcileCode() {
  const [code] = await Promise.all([import("../shared/reconcile/index.js"), loadHeavySdks()]);
  return code;
}

async function send(message: ReconcileMessage, delaySeconds = 0): Promise<void> {
  await loadHeavySdks();
  const q = reconcileQueue();
  await queueReady.get(q);
  // Queue messages may be hidden for at most 7 days.
  const visibilityTimeout = Math.min(Math.max(0, Math.ceil(delaySeconds)), 7 * 24 * 3600);
  await q.sendMessage(encodeMessage(message), visibilityTimeout > 0 ? { visibilityTimeout } : {});
}

/** Timer: one message per governed subscription. */
export async function reconcileCostTags(timer: Timer, context: InvocationContext): Promise<void> {
  const log = loggerFor(context, { function: "reconcileCostTags", invocationId: context.invocationId });
  const policy = getPolicy();
  const batchId = `batch-${new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}`;
  if (timer?.isPastDue) log.warn("the reconcile timer is past due (the host was down or busy)", { batchId });
  for (const s of policy.governedSubscriptions) await send({ v: 1, subscriptionId: s.id, batchId });
  log.info("reconcile fanned out", { batchId, subscriptions: policy.governedSubscriptions.length });
}

/** Options for tests (time budget, lease length); production uses the defaults. */
export function createReconcileSubscriptionHandler(
  extra: Pick<RunReconcileOptions, "timeBudgetMs" | "leaseTtlMs" | "signal" | "policy"> = {},
) {
  return async (raw: unknown, context: InvocationContext): Promise<ReconcileReport | undefined> => {
    const log = loggerFor(context, { function: "reconcileSubscription", invocationId: context.invocationId });
    const parsed = parseMessage(raw);
    if (!parsed.ok) {
      // Redelivering a malformed message cannot help.
      log.error("malformed reconcile message dropped", { reason: parsed.reason });
      return undefined;
    }
    const m = parsed.message;
    const policy = extra.policy ?? getPolicy();
    if (!isGovernedSubscription(policy, m.subscriptionId)) {
      log.warn("reconcile message for a subscription the policy does not govern; dropped", {
        subscriptionId: m.subscriptionId,
      });
      return undefined;
    }
    const { runReconcile } = await reconcileCode();
    const [report] = await runReconcile({
      subscriptionIds: [m.subscriptionId],
      dryRun: m.dryRun,
      approveRunId: m.approveRunId,
      batchId: m.batchId,
      continuesRunId: m.continuesRunId,
      logger: log,
      timeBudgetMs: extra.timeBudgetMs ?? QUEUE_TIME_BUDGET_MS,
      leaseTtlMs: extra.leaseTtlMs,
      signal: extra.signal,
      policy,
    });
    await followUp(m, report!, log);
    return report;
  };
}

async function followUp(m: ReconcileMessage, report: ReconcileReport, log: Logger): Promise<void> {
  const fields = { subscriptionId: m.subscriptionId, runId: report.runId, batchId: m.batchId };
  if (report.status === "busy") {
    const retries = (m.busyRetries ?? 0) + 1;
    if (retries > MAX_BUSY_RETRIES) {
      log.error("reconcile gave up: the subscription's lease stayed held", {
        ...fields,
        heldBy: report.busy,
      });
      return;
    }
    const until = Date.parse(report.busy?.until ?? "");
    const delay = Number.isFinite(until) ? (until - Date.now()) / 1000 + 5 : 60;
    await send({ ...m, busyRetries: retries }, delay);
    log.info("reconcile put back until the lease expires", { ...fields, delaySeconds: Math.ceil(delay) });
    return;
  }
  if (report.status === "partial") {
    const continuation = (m.continuation ?? 0) + 1;
    if (continuation > MAX_CONTINUATIONS) {
      log.error("reconcile chain stopped: too many continuations without finishing", fields);
      return;
    }
    await send({ ...m, continuesRunId: report.runId, continuation, busyRetries: 0 });
    log.info("reconcile reached its time budget; continuation queued", {
      ...fields,
      pending: report.counts.pending,
    });
    return;
  }
  if (report.status === "failed" && !report.error?.startsWith("approval refused")) {
    // Let the host retry the message (and poison it after maxDequeueCount).
    throw new Error(`reconcile of ${m.subscriptionId} failed (run ${report.runId}): ${report.error}`);
  }
}

const handler = createReconcileSubscriptionHandler();

export async function reconcileSubscription(message: unknown, context: InvocationContext): Promise<void> {
  await handler(message, context);
}

export const definitions: FunctionDefinition[] = [
  {
    name: "reconcileCostTags",
    trigger: "timer",
    options: { schedule: "%STEWARD_RECONCILE_SCHEDULE%", handler: reconcileCostTags },
  },
  {
    name: "reconcileSubscription",
    trigger: "storageQueue",
    options: {
      queueName: QUEUES.reconcile,
      connection: "AzureWebJobsStorage",
      handler: reconcileSubscription,
    },
  },
];
