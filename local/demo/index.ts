/**
 * `runDemo`: the scenario on the local stack, act by act, then a summary of what exists and an
 * HTML report. `ok` is true only when every act is available and every check passed. The entry
 * point (main.ts) and the end-to-end test both call this.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { renderTable } from "../../cli/table.js";
import { HostLog } from "../host/log.js";
import { startLocalStack, type LocalStack } from "../stack.js";
import { ACTS, type Act, type ActResult, type DemoContext } from "./acts.js";
import { renderHtml } from "./html.js";
import { actsFor } from "./setupActs.js";
import { collectSummary, type SummaryTable } from "./summary.js";

export interface DemoOptions {
  /** Run on this stack (left running); otherwise one is started and stopped. */
  stack?: LocalStack;
  certPath?: string;
  keyPath?: string;
  /** Where the HTML report goes (default reports/demo.html); null writes none. */
  htmlPath?: string | null;
  /** Where the host's log goes (default reports/demo-host.log); null keeps it in memory only. */
  hostLogPath?: string | null;
  /** Human output (default: stdout). */
  print?: (line: string) => void;
  /** Also print the host's log lines. */
  verbose?: boolean;
  /** Subset of acts by id (default: every act that applies to the policy's setup). */
  acts?: string[];
  /** Estate policy file to play the demo with (default: STEWARD_POLICY_PATH, else the bundled one). */
  policyPath?: string;
}

export interface DemoResult {
  ok: boolean;
  acts: ActResult[];
  tables: SummaryTable[];
  durationMs: number;
  htmlPath?: string;
}

/** The demo's clock: host.json semantics, seconds instead of minutes. */
export const DEMO_QUEUES = { visibilityTimeoutMs: 1000, minPollingIntervalMs: 50, maxPollingIntervalMs: 250 };

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now();
  const print = opts.print ?? ((line: string) => process.stdout.write(line + "\n"));
  const hostLines: string[] = [];
  const log = new HostLog({
    format: "pretty",
    write: (line) => {
      hostLines.push(line);
      if (opts.verbose) process.stderr.write(line + "\n");
    },
  });
  if (opts.policyPath) process.env.STEWARD_POLICY_PATH = path.resolve(opts.policyPath);
  let stack = opts.stack;
  const own = !stack;
  if (!stack) {
    if (!opts.certPath || !opts.keyPath)
      throw new Error("runDemo needs a stack, or certPath and keyPath of a trusted certificate");
    print(
      "Starting the local stack: Azurite, the Azure emulator with a Contoso-like estate, the app's functions...",
    );
    stack = await startLocalStack({
      certPath: opts.certPath,
      keyPath: opts.keyPath,
      queues: DEMO_QUEUES,
      timers: "manual",
      log,
    });
  }
  try {
    print(
      `  emulator ${stack.emulator.url}, functions host ${stack.host.url} (${stack.host.functions.map((f) => f.name).join(", ")})`,
    );
    const ctx: DemoContext = {
      stack,
      facts: { project: "fraud-detection" },
      say: (line) => print(`    ${line}`),
    };
    const results: ActResult[] = [];
    const applicable = actsFor(stack.policy);
    const chosen = opts.acts
      ? [...new Set([...ACTS, ...applicable])].filter((a) => opts.acts!.includes(a.id))
      : applicable;
    for (const [i, act] of chosen.entries()) {
      print("");
      print(`Act ${i + 1}. ${act.title}`);
      const r = await runAct(act, ctx);
      results.push(r);
      for (const c of r.checks) print(`  ${c.ok ? "✓" : "✗"} ${c.what}${c.detail ? `  (${c.detail})` : ""}`);
      if (r.status === "unavailable") print(`  - not available yet: ${r.notes.join("; ")}`);
      if (r.error) print(`  ✗ the act failed: ${r.error}`);
    }

    let tables: SummaryTable[] = [];
    try {
      tables = await collectSummary(ctx);
    } catch (e) {
      print(`(could not read the summary: ${(e as Error).message})`);
    }
    print("");
    print("What exists now");
    for (const t of tables) {
      print("");
      print(`${t.title} (${t.count ?? t.rows.length})`);
      for (const n of t.notes ?? []) print(`  ${n}`);
      print(renderTable(t.headers, t.rows, { maxWidth: 48 }));
    }

    const ok = results.length > 0 && results.every((r) => r.status === "passed");
    const durationMs = Date.now() - started;
    let htmlPath: string | undefined;
    if (opts.htmlPath !== null) {
      htmlPath = path.resolve(opts.htmlPath ?? "reports/demo.html");
      await mkdir(path.dirname(htmlPath), { recursive: true });
      await writeFile(
        htmlPath,
        renderHtml({
          ok,
          acts: results,
          tables,
          durationMs,
          startedAt: new Date(started).toISOString(),
          organisation: stack.policy.organisation,
        }),
      );
    }
    if (opts.hostLogPath !== null) {
      const p = path.resolve(opts.hostLogPath ?? "reports/demo-host.log");
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, hostLines.join("\n") + "\n");
    }
    print("");
    const passed = results.filter((r) => r.status === "passed").length;
    print(
      `${ok ? "DEMO PASSED" : "DEMO FAILED"}: ${passed} of ${results.length} acts did what they should, in ${(durationMs / 1000).toFixed(1)} s.` +
        (htmlPath ? ` Report: ${path.relative(process.cwd(), htmlPath)}` : ""),
    );
    return { ok, acts: results, tables, durationMs, ...(htmlPath ? { htmlPath } : {}) };
  } finally {
    if (own) await stack.stop();
  }
}

async function runAct(act: Act, ctx: DemoContext): Promise<ActResult> {
  const start = Date.now();
  const have = new Set(ctx.stack.host.functions.map((f) => f.name));
  const missing = act.needs.filter((n) => !have.has(n));
  if (missing.length > 0) {
    return {
      id: act.id,
      title: act.title,
      status: "unavailable",
      checks: [],
      notes: [`needs ${missing.join(", ")}`],
      durationMs: 0,
    };
  }
  const checks: ActResult["checks"] = [];
  const notes: string[] = [];
  const say = ctx.say;
  const actCtx: DemoContext = {
    ...ctx,
    say: (line) => {
      notes.push(line);
      say(line);
    },
  };
  let error: string | undefined;
  try {
    await act.run(actCtx, (what, ok, detail) =>
      checks.push({ what, ok, ...(detail !== undefined ? { detail } : {}) }),
    );
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  Object.assign(ctx.facts, actCtx.facts);
  const passed = !error && checks.length > 0 && checks.every((c) => c.ok);
  return {
    id: act.id,
    title: act.title,
    status: passed ? "passed" : "failed",
    checks,
    notes,
    durationMs: Date.now() - start,
    ...(error ? { error } : {}),
  };
}
