/**
 * The `steward` operator CLI: `main(argv, io)` parses the command line (node:util parseArgs),
 * loads settings (the environment, or `--env-file`), runs one command and returns its exit
 * code (0 ok, 1 failed, 2 bad input) without exiting, so tests call it in-process.
 */
import { parseArgs } from "node:util";
import { resetAzureClients, type AzureClients } from "../shared/azure/clients.js";
import { getSettings, resetSettings, SettingsError } from "../shared/config/settings.js";
import { PolicyError } from "../shared/policy/index.js";
import { audit } from "./commands/audit.js";
import { policyShow, policyValidate } from "./commands/policy.js";
import { approve, promote, status } from "./commands/promotion.js";
import { reconcile } from "./commands/reconcile.js";
import { replayEvent } from "./commands/replayEvent.js";
import { setup } from "./commands/setup.js";
import { readEnvFile } from "./envFile.js";
import { CommandFailed, EXIT, UsageError, type CliIo, type CommandContext, type ExitCode } from "./io.js";

export { EXIT, type CliIo } from "./io.js";

export const USAGE = `steward: operate aml-steward from a terminal (against the local stack or Azure)

usage: steward [--env-file FILE] [--json] [--verbose] COMMAND ...

commands:
  promote FILE [--dry-run] [--no-wait] [--timeout SECONDS] [--as UPN]
                               queue a promotion request (with your token) and follow it
                               until it is built or waits for an approver
  approve REQUEST_ID [--reject] [--comment TEXT] [--plan HASH] [--as UPN]
                               decide on a request waiting for you (a budget owner)
  status REQUEST_ID            a promotion's record: status, approval, steps, resources, reasons
  reconcile [--subscription ID]... [--dry-run] [--approve RUN_ID [--as UPN]]
                               reconcile cost tags now and print the run report; --approve
                               records your approval of a blocked run (platform approvers) and applies it
  replay-event FILE            run the Event Grid function on saved event(s)
  policy validate FILE         check a policy file; every problem at once
  policy show                  the effective estate policy, access matrix included
  audit --resource ID | --project NAME [--since TIME]
                               what aml-steward wrote there, and why
  setup [--check]              grant and create what the deployment leaves to the installer,
                               and check every prerequisite (--check: read only)

options:
  --env-file FILE   read settings from FILE (KEY=value lines; npm start writes one)
  --json            machine-readable output on stdout
  --verbose         the app's log lines on stderr
  --as UPN          local stack only: act as this seeded person (or STEWARD_AS); in Azure,
                    you are whoever az login / azd auth login signed in
exit codes: 0 ok, 1 the operation failed, 2 bad input (usage, file, id, settings)`;

const OPTIONS = {
  "env-file": { type: "string" },
  json: { type: "boolean", default: false },
  verbose: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  "dry-run": { type: "boolean", default: false },
  "no-wait": { type: "boolean", default: false },
  timeout: { type: "string" },
  subscription: { type: "string", multiple: true },
  approve: { type: "string" },
  resource: { type: "string" },
  project: { type: "string" },
  since: { type: "string" },
  check: { type: "boolean", default: false },
  as: { type: "string" },
  reject: { type: "boolean", default: false },
  comment: { type: "string" },
  plan: { type: "string" },
} as const;

/** Which options each command accepts (beyond the global ones). */
const ALLOWED: Record<string, string[]> = {
  promote: ["dry-run", "no-wait", "timeout", "as"],
  approve: ["reject", "comment", "plan", "timeout", "as"],
  status: [],
  reconcile: ["subscription", "dry-run", "approve", "as"],
  "replay-event": [],
  "policy validate": [],
  "policy show": [],
  audit: ["resource", "project", "since"],
  setup: ["check"],
};
const GLOBAL = new Set(["env-file", "json", "verbose", "help"]);

/** Commands that never touch Azure or Storage, so they need no settings. */
const OFFLINE = new Set(["policy validate", "policy show"]);

export interface MainOptions {
  /** Poll interval while `promote` waits (tests shorten it). */
  pollMs?: number;
  /** LRO polling interval of `setup` when the service sends no Retry-After (tests shorten it). */
  setupPollIntervalMs?: number;
  /** The installer's clients for `setup` (default: the process's); tests sign in as the emulator's installer. */
  setupClients?: AzureClients;
}

export async function main(argv: string[], io: CliIo, mainOpts: MainOptions = {}): Promise<ExitCode> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help || positionals.length === 0) {
      io.stdout(USAGE);
      return positionals.length === 0 && !values.help ? EXIT.badInput : EXIT.ok;
    }
    const [first, ...rest] = positionals;
    const command = first === "policy" ? `policy ${rest[0] ?? ""}`.trim() : first!;
    const args = first === "policy" ? rest.slice(1) : rest;
    const allowed = ALLOWED[command];
    if (!allowed) {
      throw new UsageError(
        first === "policy"
          ? `policy needs "validate FILE" or "show"`
          : `unknown command "${first}" (try steward --help)`,
      );
    }
    for (const [name, value] of Object.entries(values)) {
      const given = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false;
      if (given && !GLOBAL.has(name) && !allowed.includes(name)) {
        throw new UsageError(`--${name} does not apply to "${command}"`);
      }
    }

    if (values["env-file"]) {
      Object.assign(process.env, readEnvFile(values["env-file"]));
      resetSettings();
      resetAzureClients();
    }
    if (!OFFLINE.has(command)) getSettings(); // fail early, naming the bad setting

    const ctx: CommandContext = { io, json: values.json, verbose: values.verbose };
    switch (command) {
      case "promote": {
        const timeout = values.timeout === undefined ? 600 : Number(values.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0)
          throw new UsageError(`--timeout must be a number of seconds`);
        await promote(ctx, args, {
          dryRun: values["dry-run"],
          wait: !values["no-wait"],
          timeoutSeconds: timeout,
          ...(mainOpts.pollMs ? { pollMs: mainOpts.pollMs } : {}),
          ...(values.as ? { as: values.as } : {}),
        });
        break;
      }
      case "approve": {
        const timeout = values.timeout === undefined ? 600 : Number(values.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0)
          throw new UsageError(`--timeout must be a number of seconds`);
        await approve(ctx, args, {
          reject: values.reject,
          timeoutSeconds: timeout,
          ...(values.comment ? { comment: values.comment } : {}),
          ...(values.plan ? { planHash: values.plan } : {}),
          ...(mainOpts.pollMs ? { pollMs: mainOpts.pollMs } : {}),
          ...(values.as ? { as: values.as } : {}),
        });
        break;
      }
      case "status":
        await status(ctx, args);
        break;
      case "reconcile":
        await reconcile(ctx, args, {
          subscriptions: values.subscription ?? [],
          dryRun: values["dry-run"],
          ...(values.approve ? { approve: values.approve } : {}),
          ...(values.as ? { as: values.as } : {}),
        });
        break;
      case "replay-event":
        await replayEvent(ctx, args);
        break;
      case "policy validate":
        await policyValidate(ctx, args);
        break;
      case "policy show":
        await policyShow(ctx, args);
        break;
      case "audit":
        await audit(ctx, args, {
          ...(values.resource ? { resource: values.resource } : {}),
          ...(values.project ? { project: values.project } : {}),
          ...(values.since ? { since: values.since } : {}),
        });
        break;
      case "setup":
        await setup(ctx, args, {
          check: values.check,
          ...(mainOpts.setupPollIntervalMs ? { pollIntervalMs: mainOpts.setupPollIntervalMs } : {}),
          ...(mainOpts.setupClients ? { clients: mainOpts.setupClients } : {}),
        });
        break;
    }
    return EXIT.ok;
  } catch (e) {
    if (e instanceof UsageError || e instanceof SettingsError || e instanceof PolicyError) {
      io.stderr(`steward: ${e.message}`);
      return EXIT.badInput;
    }
    if (e instanceof CommandFailed) {
      io.stderr(`steward: ${e.message}`);
      return EXIT.failed;
    }
    const err = e as Error & { statusCode?: number; code?: string };
    io.stderr(
      `steward: ${err.message ?? String(e)}${err.statusCode ? ` (HTTP ${err.statusCode}${err.code ? `, ${err.code}` : ""})` : ""}`,
    );
    if (process.env.STEWARD_CLI_STACK) io.stderr(err.stack ?? "");
    return EXIT.failed;
  }
}
