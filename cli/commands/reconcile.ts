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
import {
  defaultDeps,
  getRun,
  REPORT_COLUMNS,
  reportDetails,
  runReconcile,
  type ReconcileReport,
} from "../../shared/reconcile/index.js";
import type { EstatePolicy } from "../../shared/policy/index.js";
import { callerTokens } from "../../shared/auth/callerToken.js";
import { memberGroups } from "../../shared/auth/membership.js";
import { azure } from "../../shared/azure/clients.js";
import { getSettings } from "../../shared/config/settings.js";
import { approveBlockedRun } from "../../shared/reconcile/approve.js";
import {
  CommandFailed,
  printJson,
  progressReporter,
  tableWidth,
  UsageError,
  type CommandContext,
} from "../io.js";
import { renderTable } from "../table.js";
import { callerAccessToken } from "../identity.js";

export interface ReconcileCliOptions {
  subscriptions: string[];
  dryRun: boolean;
  approve?: string;
  as?: string;
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
    // Your approval is recorded on the run first, as who your token says you are; the run
    // below then applies only the exact change set you approved.
    const settings = getSettings();
    const check = await callerTokens(settings).validate(await callerAccessToken(settings, opts.as));
    if (!check.ok) throw new CommandFailed(`your token was refused: ${check.reason}`);
    const approved = await approveBlockedRun(
      { policy, runs: defaultDeps().runs, memberGroups: (oid, g) => memberGroups(azure(), oid, g) },
      check.caller,
      opts.approve,
    );
    if (!approved.ok) throw new CommandFailed(`approval refused: ${approved.reason}`);
    ctx.io.stderr(
      `approved run ${opts.approve} as ${check.caller.userPrincipalName ?? check.caller.objectId} (change set ${approved.changeSetHash})`,
    );
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
  const progress = progressReporter(ctx.io);
  const concurrency = policy.reconcile.concurrency;
  const seen = new Map<string, { start: number; writeStart?: number; firstWritten: number }>();
  const reports: ReconcileReport[] = await runReconcile({
    ...(opts.subscriptions.length ? { subscriptionIds: opts.subscriptions } : {}),
    dryRun: opts.dryRun,
    ...(opts.approve ? { approveRunId: opts.approve } : {}),
    logger,
    onProgress: (p) => {
      const name = subscriptionName(policy, p.subscriptionId);
      let s = seen.get(p.subscriptionId);
      if (!s) {
        s = { start: Date.now(), firstWritten: 0 };
        seen.set(p.subscriptionId, s);
        progress.step(`  ${name}: scanning`);
      }
      if (p.written > 0 && s.writeStart === undefined) {
        s.writeStart = Date.now();
        progress.step(
          `  ${name}: scanned ${p.scanned} in ${p.pages ?? "?"} page(s), ${p.drifted} drifted; writing (at most ${concurrency} at once)`,
        );
      }
      if (s.writeStart === undefined) {
        const secs = (Date.now() - s.start) / 1000;
        progress.tick(
          `  ${name}: page ${p.pages ?? "?"}, scanned ${p.scanned} (${rate(p.scanned, secs)}/s), drifted ${p.drifted}`,
        );
      } else {
        const secs = Math.max((Date.now() - s.writeStart) / 1000, 0.001);
        const perSec = p.written / secs;
        const left = p.drifted - p.written;
        progress.tick(
          `  ${name}: written ${p.written}/${p.drifted}, ${rate(p.written, secs)} writes/s (${concurrency} at once)` +
            (left > 0 && perSec > 0 ? `, about ${Math.ceil(left / perSec)}s left` : ""),
        );
      }
    },
  });
  for (const r of reports)
    progress.step(
      `  ${r.subscriptionName ?? r.subscriptionId}: ${r.status}, ${r.counts.scanned} scanned, ${r.counts.fixed} written in ${(r.durationMs / 1000).toFixed(1)}s`,
    );

  if (ctx.json) printJson(ctx.io, reports);
  else ctx.io.stdout(formatReports(reports, tableWidth(ctx)));
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

function subscriptionName(policy: EstatePolicy, id: string): string {
  return policy.governedSubscriptions.find((g) => g.id.toLowerCase() === id.toLowerCase())?.name ?? id;
}

function rate(n: number, secs: number): string {
  const r = n / Math.max(secs, 0.001);
  return r >= 10 ? String(Math.round(r)) : r.toFixed(1);
}

/**
 * The summary table fitted to the terminal: counters that are usually zero and the call
 * statistics go first; the details (guard, drift, failures) follow as formatReport prints them.
 */
function formatReports(reports: ReconcileReport[], width: number | undefined): string {
  const headers = REPORT_COLUMNS.map(([h]) => h);
  const order = [
    "429s",
    "ARM reads",
    "ARM writes",
    "settled",
    "gone",
    "untaggable",
    "pending",
    "blocked",
    "incomplete",
    "unattributed",
    "compliant",
    "time",
    "failed",
  ];
  const out = [
    renderTable(
      headers,
      reports.map((r) => REPORT_COLUMNS.map(([, f]) => f(r))),
      { width, drop: order.map((h) => headers.indexOf(h)).filter((i) => i >= 0) },
    ),
  ];
  for (const r of reports) out.push("", ...reportDetails(r));
  return out.join("\n");
}
