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
  formatReport,
  getRun,
  runReconcile,
  type ReconcileReport,
} from "../../shared/reconcile/index.js";
import { callerTokens } from "../../shared/auth/callerToken.js";
import { memberGroups } from "../../shared/auth/membership.js";
import { azure } from "../../shared/azure/clients.js";
import { getSettings } from "../../shared/config/settings.js";
import { approveBlockedRun } from "../../shared/reconcile/approve.js";
import { CommandFailed, printJson, UsageError, type CommandContext } from "../io.js";
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
