/**
 * The `steward` operator CLI: `main(argv, io)` parses the command line (node:util parseArgs),
 * loads settings (the environment, or `--env-file`), runs one command and returns its exit
 * code (0 ok, 1 failed, 2 bad input) without exiting, so tests call it in-process.
 */
import { readFileSync } from "node:fs";
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

usage: steward [--settings FILE] [--json] [--wide] [--verbose] COMMAND ...
       steward help COMMAND    (or COMMAND --help): what it does, its options, examples

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
  replay-event FILE            run the Event Grid function on saved event(s), one outcome line each
  policy validate FILE         check a policy file; every problem at once
  policy show                  the effective estate policy, access matrix included
  audit --resource ID | --project NAME [--since TIME]
                               what aml-steward wrote there, and why
  setup [--check]              grant and create what the deployment leaves to the installer,
                               and check every prerequisite (--check: read only)

options:
  --settings FILE   read settings from FILE (KEY=value lines; npm start writes .steward/local.env).
                    --env-file FILE is the same, but Node 20 reads that flag itself first
  --json            machine-readable output on stdout (always complete)
  --wide            tables in full, whatever the terminal's width
  --verbose         the app's log lines on stderr
  --as UPN          local stack only: act as this seeded person (or STEWARD_AS); in Azure,
                    you are whoever az login / azd auth login signed in
  --version         steward's version
exit codes: 0 ok, 1 the operation failed, 2 bad input (usage, file, id, settings)`;

const S = "steward --settings .steward/local.env";

/** Per command: its synopsis, what it does, its own options and examples (steward help CMD). */
export const COMMAND_HELP: Record<
  string,
  { usage: string; about: string; options?: string[]; examples: string[] }
> = {
  promote: {
    usage: "steward promote FILE [--dry-run] [--no-wait] [--timeout SECONDS] [--as UPN]",
    about:
      "Checks the request's shape (nothing is queued when it is malformed: exit 2), queues it with your token and\n" +
      "follows its record, one progress line per environment and step, until it succeeded, waits for an\n" +
      "approver (exit 0; the plan hash and who may approve are printed), was rejected or failed (exit 1).",
    options: [
      "--dry-run          plan only: a dry run gets its own request id, so it never reuses a finished record",
      "--no-wait          queue and return; follow it with steward status REQUEST_ID",
      "--timeout SECONDS  how long to follow the record (default 600)",
      "--as UPN           local stack: the seeded person who asks (or STEWARD_AS)",
    ],
    examples: [
      `${S} promote docs/examples/promotion-request.json --as alice@contoso.com`,
      `${S} promote docs/examples/promotion-request.json --dry-run --as alice@contoso.com`,
    ],
  },
  approve: {
    usage:
      "steward approve REQUEST_ID [--reject] [--comment TEXT] [--plan HASH] [--timeout SECONDS] [--as UPN]",
    about:
      "Your decision on a request waiting for approval; follows the record until your decision is listed and\n" +
      "the promotion finished. A refused decision (e.g. approving your own request) exits 1 with the reason.",
    options: [
      "--reject           reject instead of approve",
      "--comment TEXT     recorded with the decision",
      "--plan HASH        the plan hash you reviewed (steward status shows it); refused if the plan changed",
      "--timeout SECONDS  how long to follow the record (default 600)",
      "--as UPN           local stack: the seeded approver (or STEWARD_AS)",
    ],
    examples: [`${S} approve 3f2a91bc-0000-4000-8000-000000000001 --plan <hash> --as erin@contoso.com`],
  },
  status: {
    usage: "steward status REQUEST_ID",
    about:
      "A promotion's record: status, requester, approval needed, decisions, steps, resources, reasons.\n" +
      "Exit 0 unless rejected, expired, failed or not found.",
    examples: [
      `${S} status 3f2a91bc-0000-4000-8000-000000000001`,
      `${S} --json status 3f2a91bc-0000-4000-8000-000000000001`,
    ],
  },
  reconcile: {
    usage: "steward reconcile [--subscription ID]... [--dry-run] [--approve RUN_ID [--as UPN]]",
    about:
      "Reconciles cost tags now, in this process (the code the nightly timer fans out to): progress on stderr\n" +
      "(pages scanned, writes done, write rate, estimate), the run report on stdout. Exit 1 when a run was\n" +
      "blocked by the blast-radius guard, failed or stopped early; 2 for an ungoverned subscription.",
    options: [
      "--subscription ID  only this governed subscription (repeatable); default: all of them",
      "--dry-run          list the drift, write nothing",
      "--approve RUN_ID   approve a blocked run (platform approvers) and apply exactly its change set",
      "--as UPN           local stack: the seeded approver (or STEWARD_AS)",
    ],
    examples: [`${S} reconcile --dry-run`, `${S} reconcile --approve <run id> --as erin@contoso.com`],
  },
  "replay-event": {
    usage: "steward replay-event FILE",
    about:
      "Runs the Event Grid function on saved events (an event, a CloudEvent, an array, or the emulator's\n" +
      "/_emulator/events log), one invocation each, and prints one line per event with its outcome:\n" +
      "tagged (and the tags written), unchanged, skipped: not governed, ignored: delete event, duplicate,\n" +
      "malformed: reason, failed: error. Exit 1 when any event was malformed or failed.\n" +
      "--verbose prints the handler's log under each event.",
    examples: [`${S} replay-event events.json`, `${S} --verbose replay-event events.json`],
  },
  "policy validate": {
    usage: "steward policy validate FILE",
    about:
      "Every problem of a policy file at once, as field = value: rule (YAML syntax errors with line and\n" +
      "column). Exit 0 valid, 1 invalid, 2 unreadable. Needs no settings.",
    examples: ["steward policy validate my-policy.yaml", "steward --json policy validate my-policy.yaml"],
  },
  "policy show": {
    usage: "steward policy show",
    about:
      "The effective policy (STEWARD_POLICY_PATH or the bundled default): environments, roles, the access\n" +
      "matrix as a role x environment table, tags, naming, cost centres. Needs no settings.",
    examples: ["steward policy show", "STEWARD_POLICY_PATH=my-policy.yaml steward policy show"],
  },
  audit: {
    usage: "steward audit --resource ID | --project NAME [--since TIME]",
    about:
      "What aml-steward wrote there (when, who, action, before -> after, reason), oldest first, and for a\n" +
      "resource its violations, open and resolved. Ids are shortened to rg/NAME or RG/TYPE/NAME; --json\n" +
      "keeps them whole.",
    options: [
      "--resource ID      an ARM id (/subscriptions/...)",
      "--project NAME     every write for a project",
      "--since TIME       only entries from then on (an ISO date or time)",
    ],
    examples: [`${S} audit --project fraud-detection --since 2026-01-01`],
  },
  setup: {
    usage: "steward setup [--check]",
    about:
      "As the installer, after azd up: grants the app's Microsoft Graph permissions, creates the exploration\n" +
      "workspace and missing storage, checks every prerequisite. Progress on stderr, the report on stdout.\n" +
      "Exit 1 when anything is missing, wrong or failed.",
    options: ["--check            read only: report, change nothing"],
    examples: ["steward --settings azure.env setup --check"],
  },
};

function commandHelp(command: string): string {
  const h = COMMAND_HELP[command]!;
  return [
    `usage: ${h.usage}`,
    "",
    h.about,
    ...(h.options ? ["", "options:", ...h.options.map((o) => `  ${o}`)] : []),
    "",
    "global options: --settings FILE, --json, --wide, --verbose (steward --help)",
    "",
    "examples:",
    ...h.examples.map((e) => `  ${e}`),
  ].join("\n");
}

const OPTIONS = {
  settings: { type: "string" },
  "env-file": { type: "string" },
  json: { type: "boolean", default: false },
  wide: { type: "boolean", default: false },
  verbose: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  version: { type: "boolean", short: "V", default: false },
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
const GLOBAL = new Set(["settings", "env-file", "json", "wide", "verbose", "help", "version"]);
const COMMANDS = [...Object.keys(ALLOWED).filter((c) => !c.startsWith("policy ")), "policy", "help"];

/** Commands that never touch Azure or Storage, so they need no settings. */
const OFFLINE = new Set(["policy validate", "policy show"]);

/** Edit distance, to suggest what a mistyped command or option probably meant. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length]![b.length]!;
}

export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const ranked = candidates
    .map((c) => ({ c, d: norm(c) === norm(word) ? 0 : distance(norm(word), norm(c)) }))
    .sort((x, y) => x.d - y.d);
  const best = ranked[0];
  return best && best.d <= Math.max(1, Math.floor(word.length / 3)) ? best.c : undefined;
}

/** Names unknown options before parseArgs does, so the message is steward's and has a suggestion. */
function checkOptionNames(argv: string[]): void {
  const shorts = new Map(
    Object.entries(OPTIONS).flatMap(([name, o]) =>
      "short" in o ? [[o.short as string, name] as const] : [],
    ),
  );
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return;
    let name: string | undefined;
    if (a.startsWith("--")) name = a.slice(2).split("=")[0]!;
    else if (/^-[A-Za-z]/.test(a)) name = shorts.get(a[1]!) ?? a;
    else continue;
    const opt = (OPTIONS as Record<string, { type: string }>)[name];
    if (!opt) {
      const hint = suggest(name.replace(/^-+/, ""), Object.keys(OPTIONS));
      throw new UsageError(
        `unknown option ${a.split("=")[0]}${hint ? ` (did you mean --${hint}?)` : ""}; steward --help lists them`,
      );
    }
    if (opt.type === "string" && !a.includes("=")) i++; // its value may itself start with "-"
  }
}

function version(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "aml-steward")
        return `steward ${pkg.version} (aml-steward, Node ${process.versions.node})`;
    } catch {
      // the bundle sits one folder deeper than the sources: try the next place
    }
  }
  return `steward (aml-steward, Node ${process.versions.node})`;
}

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
    checkOptionNames(argv);
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/\. To specify an option argument.*$/s, ""));
    }
    const { values, positionals } = parsed;
    if (values.version) {
      io.stdout(version());
      return EXIT.ok;
    }
    if (positionals[0] === "help") {
      const topic = positionals.slice(1).join(" ");
      if (!topic) {
        io.stdout(USAGE);
        return EXIT.ok;
      }
      if (topic === "policy") {
        io.stdout([commandHelp("policy validate"), "", commandHelp("policy show")].join("\n"));
        return EXIT.ok;
      }
      if (!COMMAND_HELP[topic]) {
        const hint = suggest(topic, Object.keys(COMMAND_HELP));
        throw new UsageError(
          `no command "${topic}"${hint ? ` (did you mean ${hint}?)` : ""}; steward --help lists them`,
        );
      }
      io.stdout(commandHelp(topic));
      return EXIT.ok;
    }
    if (positionals.length === 0) {
      io.stdout(USAGE);
      return values.help ? EXIT.ok : EXIT.badInput;
    }
    const [first, ...rest] = positionals;
    const command = first === "policy" ? `policy ${rest[0] ?? ""}`.trim() : first!;
    const args = first === "policy" ? rest.slice(1) : rest;
    const allowed = ALLOWED[command];
    if (!allowed) {
      if (first === "policy") {
        if (values.help) {
          io.stdout([commandHelp("policy validate"), "", commandHelp("policy show")].join("\n"));
          return EXIT.ok;
        }
        throw new UsageError(`policy needs "validate FILE" or "show"`);
      }
      const hint = suggest(first!, COMMANDS);
      throw new UsageError(
        `unknown command "${first}"${hint ? ` (did you mean ${hint}?)` : ""}; try steward --help`,
      );
    }
    if (values.help) {
      io.stdout(commandHelp(command));
      return EXIT.ok;
    }
    for (const [name, value] of Object.entries(values)) {
      const given = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false;
      if (given && !GLOBAL.has(name) && !allowed.includes(name)) {
        throw new UsageError(
          `--${name} does not apply to "${command}" (${allowed.length ? `it takes ${allowed.map((a) => `--${a}`).join(", ")}` : "it takes no options of its own"}; steward help ${command})`,
        );
      }
    }

    const settingsFile = values.settings ?? values["env-file"];
    if (settingsFile) {
      Object.assign(process.env, readEnvFile(settingsFile, values.settings ? "--settings" : "--env-file"));
      resetSettings();
      resetAzureClients();
    }
    if (!OFFLINE.has(command)) getSettings(); // fail early, naming the bad setting

    const ctx: CommandContext = { io, json: values.json, verbose: values.verbose, wide: values.wide };
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
