/**
 * `steward replay-event FILE`: runs the Event Grid function on saved events, in this process,
 * exactly as the host would (one invocation per event, a real InvocationContext). FILE holds an
 * Event Grid event, a CloudEvent, an array of either, or the emulator's event log
 * (`{"value": [{"event": ...}]}`). Useful to re-run an event after fixing a policy, or to see
 * what the handler does with an event captured from Azure. Exit 1 if any invocation failed.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { EventGridHandler } from "@azure/functions";
// @azure/functions is CommonJS whose named exports Node's ESM loader cannot detect: use the default.
import functionsLib from "@azure/functions";
import { definitions } from "../../functions/onResourceWrite.js";
import { CommandFailed, printJson, UsageError, type CommandContext } from "../io.js";
import { renderTable, shortId } from "../table.js";

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

  const results: Array<{ eventId: string; subject: string; ok: boolean; error?: string; log: string[] }> = [];
  for (const [i, event] of events.entries()) {
    const e = (event ?? {}) as { id?: string; subject?: string };
    const lines: string[] = [];
    const invocationId = randomUUID();
    const context = new functionsLib.InvocationContext({
      invocationId,
      functionName: def.name,
      logHandler: (level, ...a) => {
        const line = `[${level}] ${a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" ")}`;
        lines.push(line);
        if (ctx.verbose || level === "warning" || level === "error") ctx.io.stderr(`  ${line}`);
      },
    });
    ctx.io.stderr(`event ${i + 1}/${events.length}: ${e.id ?? "(no id)"} ${e.subject ?? ""}`);
    try {
      await handler(event, context);
      results.push({ eventId: e.id ?? "", subject: e.subject ?? "", ok: true, log: lines });
    } catch (err) {
      results.push({
        eventId: e.id ?? "",
        subject: e.subject ?? "",
        ok: false,
        error: (err as Error).message,
        log: lines,
      });
    }
  }
  if (ctx.json) printJson(ctx.io, results);
  else {
    ctx.io.stdout(
      renderTable(
        ["event", "subject", "result", "what the handler said"],
        results.map((r) => [
          r.eventId,
          shortId(r.subject),
          r.ok ? "ok" : `FAILED: ${r.error}`,
          r.log.at(-1) ?? "",
        ]),
        { maxWidth: 100 },
      ),
    );
  }
  const failed = results.filter((r) => !r.ok).length;
  if (failed > 0)
    throw new CommandFailed(
      `${failed} of ${results.length} event(s) failed (Event Grid would redeliver them)`,
    );
}
