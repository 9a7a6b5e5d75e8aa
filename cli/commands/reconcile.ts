/**
 * `steward reconcile [--subscription ID]... [--dry-run] [--approve RUN_ID]`: reconciles cost
 * tags now, in this process (the same code the nightly timer fans out to), with progress on
 * stderr and the run report on stdout. Exit 0 when every run completed (or listed its drift in a
 * dry run), 1 when one was blocked by the blast-radius guard, failed or stopped early, 2 for
 * a subscription the policy does not govern or an unknown run id.
 */
import { loggerFor, type LogSink } from "../../shared/log.js";
import { getPolicy, isGovernedSubscription } from "../../shared/policy/index.js";
import { isGuid } from "../../shared/promotion/request.js";
import { formatReport, getRun, runReconcile, type ReconcileReport } from "../../shared/reconcile/index.js";
import { CommandFailed, printJson, UsageError, type CommandContext } from "../io.js";

export interface ReconcileCliOptions {
  subscriptions: string[];
  dryRun: boolean;
  approve?: string;
}

const OK_STATUSES = new Set(["completed", "dryRun"]);

export async function reconcile(
  ctx: CommandContext,
  args: string[],
  opts: ReconcileCliOptions,
): Promise<void> {
  if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"; use --subscription ID`);
  if (opts.approve && opts.dryRun)
    throw new UsageError("--approve applies a blocked run; it cannot be a dry run");
  const policy = getPolicy();
  for (const s of opts.subscriptions) {
    if (!isGuid(s)) throw new UsageError(`--subscription "${s}" is not a subscription id (a GUID)`);
    if (!isGovernedSubscription(policy, s)) {
      throw new UsageError(
        `subscription ${s} is not governed by the estate policy (governed: ${policy.governedSubscriptions.map((g) => g.id).join(", ")})`,
      );
    }
  }
  if (opts.approve) {
    if (!/^[A-Za-z0-9_-]{6,80}$/.test(opts.approve))
      throw new UsageError(`"${opts.approve}" is not a run id`);
    const run = await getRun(opts.approve);
    if (!run) throw new UsageError(`no reconcile run ${opts.approve}`);
  }

  // The app's own log lines go to stderr (warnings only unless --verbose), never into the report.
  const sink: LogSink = {
    debug: () => undefined,
    info: ctx.io.stderr,
    warn: ctx.io.stderr,
    error: ctx.io.stderr,
  };
  const logger = ctx.verbose
    ? loggerFor({ ...sink, debug: ctx.io.stderr }, { component: "reconcile" }, "debug")
    : loggerFor(sink, { component: "reconcile" }, "warn");
  let lastTick = 0;
  const reports: ReconcileReport[] = await runReconcile({
    ...(opts.subscriptions.length ? { subscriptionIds: opts.subscriptions } : {}),
    dryRun: opts.dryRun,
    ...(opts.approve ? { approveRunId: opts.approve } : {}),
    logger,
    onProgress: (p) => {
      // At most a few lines a second, whatever the page size.
      if (Date.now() - lastTick < 250) return;
      lastTick = Date.now();
      ctx.io.stderr(
        `  ${p.subscriptionId}: scanned ${p.scanned}, drifted ${p.drifted}, written ${p.written}`,
      );
    },
  });

  if (ctx.json) printJson(ctx.io, reports);
  else ctx.io.stdout(formatReport(reports));
  const bad = reports.filter((r) => !OK_STATUSES.has(r.status));
  if (bad.length > 0) {
    throw new CommandFailed(
      bad
        .map(
          (r) =>
            `${r.subscriptionName ?? r.subscriptionId}: ${r.status}${r.guard?.reason ? ` (${r.guard.reason})` : r.error ? ` (${r.error})` : ""}`,
        )
        .join("; "),
    );
  }
}
