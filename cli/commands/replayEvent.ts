/**
 * `steward replay-event FILE`: runs the Event Grid function on saved events, in this process,
 * exactly as the host would (one invocation per event, a real InvocationContext). FILE holds an
 * Event Grid event, a CloudEvent, an array of either, or the emulator's event log
 * (`{"value": [{"event": ...}]}`). Useful to re-run an event after fixing a policy, or to see
 * what the handler does with an event captured from Azure. One line per event with its outcome;
 * exit 1 if any event was malformed or its invocation failed.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { EventGridHandler } from "@azure/functions";
// @azure/functions is CommonJS whose named exports Node's ESM loader cannot detect: use the default.
import functionsLib from "@azure/functions";
import { definitions } from "../../functions/onResourceWrite.js";
import { CommandFailed, printJson, UsageError, type CommandContext } from "../io.js";
import { shortId } from "../table.js";

function eventsIn(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (doc && typeof doc === "object") {
    const value = (doc as { value?: unknown }).value;
    if (Array.isArray(value))
      return value.map((v) =>
        v && typeof v === "object" && "event" in v ? (v as { event: unknown }).event : v,
      );
    return [doc];
  }
  return [];
}

/** What became of one event, in the words `replay-event` prints. */
export interface ReplayOutcome {
  eventId: string;
  subject: string;
  /** tagged, unchanged, skipped, ignored, duplicate, gone, malformed, failed */
  outcome: string;
  /** Why (skipped, ignored, malformed, failed), or the tags written (tagged). */
  detail?: string;
  tags?: Record<string, string>;
  log: string[];
}

const SKIP_WORDS: Record<string, string> = {
  notGoverned: "not governed",
  untaggableType: "type cannot be tagged",
  childResource: "child resource",
  notAResource: "not a resource",
  tagWrite: "a tag write",
  ownWrite: "aml-steward's own write",
};

/** The handler reports its outcome only in its log: read it back from the lines it wrote. */
function outcomeOf(
  lines: Array<{ message: string; fields: Record<string, unknown> }>,
): Omit<ReplayOutcome, "eventId" | "subject" | "log"> {
  for (const { message, fields } of lines) {
    if (message === "malformed event dropped")
      return { outcome: "malformed", detail: String(fields.reason ?? "") };
    if (message === "ignored event type") {
      const type = String(fields.eventType ?? "");
      return {
        outcome: "ignored",
        detail: /Delete/i.test(type) ? "delete event" : type || "not a resource write",
      };
    }
    // A delivery already handled (same event id, topic and subject) is logged apart from the rest.
    if (message === "resource write skipped" && fields.result === "duplicate")
      return { outcome: "duplicate" };
    if (message === "resource write could not be governed")
      return { outcome: "failed", detail: errorText(fields.error) };
    if (message === "resource write handled") {
      const result = String(fields.result);
      const violations =
        Array.isArray(fields.violations) && fields.violations.length
          ? (fields.violations as Array<{ kind?: string }>)
          : [];
      const flagged = violations.length ? `; violations: ${violations.map((v) => v.kind).join(", ")}` : "";
      switch (result) {
        case "tagged": {
          const tags = (fields.patch ?? {}) as Record<string, string>;
          return {
            outcome: "tagged",
            tags,
            detail:
              Object.entries(tags)
                .map(([k, v]) => `${k}=${v}`)
                .join(", ") + flagged,
          };
        }
        case "compliant":
          return { outcome: "unchanged", ...(flagged ? { detail: flagged.slice(2) } : {}) };
        case "skipped":
        case "guarded":
          return { outcome: "skipped", detail: SKIP_WORDS[String(fields.reason)] ?? String(fields.reason) };
        case "gone":
          return { outcome: "gone", detail: "the resource no longer exists" };
        // Deletes reach the handler now (deleted role assignments are access drift); a deleted
        // resource has nothing to tag.
        case "notAWrite":
          return { outcome: "ignored", detail: "delete event" };
        default:
          return { outcome: result };
      }
    }
  }
  return { outcome: "unchanged" };
}

function errorText(e: unknown): string {
  if (!e || typeof e !== "object") return String(e ?? "");
  const f = e as { message?: string; status?: number; code?: string };
  return [f.message, f.status ? `HTTP ${f.status}` : "", f.code ?? ""].filter(Boolean).join(", ");
}

function splitLine(text: string): { message: string; fields: Record<string, unknown> } {
  const at = text.indexOf(" {");
  if (at < 0) return { message: text, fields: {} };
  try {
    return { message: text.slice(0, at), fields: JSON.parse(text.slice(at + 1)) as Record<string, unknown> };
  } catch {
    return { message: text, fields: {} };
  }
}

export async function replayEvent(ctx: CommandContext, args: string[]): Promise<void> {
  const file = args[0];
  if (!file || args.length > 1) throw new UsageError("usage: steward replay-event FILE");
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`cannot read events from ${file}: ${(e as Error).message}`);
  }
  const events = eventsIn(doc);
  if (events.length === 0) throw new UsageError(`${file} holds no events`);
  const def = definitions.find((d) => d.trigger === "eventGrid");
  if (!def || def.trigger !== "eventGrid") throw new Error("the app has no Event Grid function");
  const handler = def.options.handler as EventGridHandler<unknown>;

  // The handler says what it did at debug level for the quiet outcomes (ignored, unchanged,
  // skipped): read at that level, whatever STEWARD_LOG_LEVEL says, and show it with --verbose.
  const level = process.env.STEWARD_LOG_LEVEL;
  process.env.STEWARD_LOG_LEVEL = "debug";
  const results: ReplayOutcome[] = [];
  try {
    for (const [i, event] of events.entries()) {
      const e = (event ?? {}) as { id?: string; subject?: string };
      const raw: Array<{ level: string; text: string }> = [];
      const context = new functionsLib.InvocationContext({
        invocationId: randomUUID(),
        functionName: def.name,
        logHandler: (lvl, ...a) =>
          raw.push({
            level: lvl,
            text: a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" "),
          }),
      });
      const base = { eventId: e.id ?? "(no id)", subject: e.subject ?? "" };
      let result: ReplayOutcome;
      try {
        await handler(event, context);
        result = { ...base, ...outcomeOf(raw.map((l) => splitLine(l.text))), log: [] };
      } catch (err) {
        result = {
          ...base,
          outcome: "failed",
          detail: `${(err as Error).message} (Event Grid would redeliver it)`,
          log: [],
        };
      }
      result.log = raw.map((l) => `[${l.level}] ${l.text}`);
      results.push(result);
      if (!ctx.json) {
        ctx.io.stdout(
          `${String(i + 1).padStart(String(events.length).length)}/${events.length} ${result.eventId}  ${result.subject ? shortId(result.subject) : "(no subject)"}: ${result.outcome}${result.detail ? `: ${result.detail}` : ""}`,
        );
        if (ctx.verbose) for (const l of result.log) ctx.io.stderr(`    ${l}`);
      }
    }
  } finally {
    if (level === undefined) delete process.env.STEWARD_LOG_LEVEL;
    else process.env.STEWARD_LOG_LEVEL = level;
  }
  if (ctx.json) printJson(ctx.io, results);
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(", ");
  const bad = results.filter((r) => r.outcome === "malformed" || r.outcome === "failed").length;
  if (bad > 0)
    throw new CommandFailed(`${bad} of ${results.length} event(s) malformed or failed (${summary})`);
  ctx.io.stderr(`${results.length} event(s): ${summary}`);
}
