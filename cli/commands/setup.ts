/**
 * `steward setup [--check]`: the post-deployment steps and checks of shared/setup (Microsoft
 * Graph permissions, the exploration workspace, storage; roles and Event Grid wiring checked).
 * Run it as the installer (az login). `--check` reads only. Each item is printed on stderr as it
 * is checked, the report on stdout (a table grouped by area, or JSON with --json).
 *
 * Exit codes: 0 every prerequisite in place (items that could not be read, "?", do not fail
 * it), 1 something missing, wrong or failed (with --check: anything that setup would make, or
 * that needs the installer), 2 bad input (arguments, settings).
 */
import type { AzureClients } from "../../shared/azure/clients.js";
import type { LogFields, Logger } from "../../shared/log.js";
import { formatSetupReport, runSetup, type SetupReport } from "../../shared/setup/index.js";
import { CommandFailed, printJson, progressReporter, UsageError, type CommandContext } from "../io.js";

export interface SetupCliOptions {
  check: boolean;
  /** LRO polling interval when the service sends no Retry-After (tests shorten it). */
  pollIntervalMs?: number;
  clients?: AzureClients;
}

export async function setup(ctx: CommandContext, args: string[], opts: SetupCliOptions): Promise<void> {
  if (args.length > 0)
    throw new UsageError(`unexpected argument "${args[0]}"; usage: steward setup [--check]`);

  // Progress: one line per item as runSetup records it (its info and warn log lines); the
  // fields as JSON too with --verbose. Nothing of this goes to stdout.
  // Numbered, with the elapsed time on a terminal, so a slow step (an LRO) shows it is alive.
  const progress = progressReporter(ctx.io);
  const started = Date.now();
  let n = 0;
  const line = (message: string, fields?: LogFields) => {
    const detail = typeof fields?.detail === "string" ? ` (${fields.detail})` : "";
    const extra = ctx.verbose && fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : "";
    n++;
    progress.step(`  [${n}] ${message.replace(/^setup /, "")}${ctx.verbose ? extra : detail}`);
    progress.tick(`  ${n} step(s) so far, ${Math.round((Date.now() - started) / 1000)}s`);
  };
  const logger: Logger = {
    debug: (m, f) => (ctx.verbose ? line(m, f) : undefined),
    info: line,
    warn: line,
    error: line,
  };
  ctx.io.stderr(opts.check ? "steward setup --check: reading only" : "steward setup: making what is missing");

  const report: SetupReport = await runSetup({
    check: opts.check,
    logger,
    ...(opts.pollIntervalMs ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    ...(opts.clients ? { clients: opts.clients } : {}),
  });

  if (ctx.json) printJson(ctx.io, report);
  else ctx.io.stdout(formatSetupReport(report));
  if (!report.ok) {
    const problems = report.items.filter((i) => ["missing", "wrong", "error"].includes(i.status));
    const counts = ["missing", "wrong", "error"]
      .map((s) => [s, problems.filter((i) => i.status === s).length] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${s}`)
      .join(", ");
    throw new CommandFailed(
      `setup${opts.check ? " --check" : ""}: ${counts}` +
        (opts.check ? "; nothing was changed" : `; ${report.changes} change(s) made`),
    );
  }
}
