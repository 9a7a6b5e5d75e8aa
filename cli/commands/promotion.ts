/**
 * `steward promote FILE [--dry-run] [--no-wait] [--timeout SECONDS]`: checks the request's
 * shape, puts it on the promotion queue (base64, as host.json's messageEncoding says) and,
 * unless --no-wait, follows its record until it is finished. `steward status REQUEST_ID`: the
 * record. Both read the record from Table Storage, so they work against the local stack and
 * against Azure alike.
 *
 * Exit codes: 0 succeeded (or still running with --no-wait / status accepted|running), 1
 * rejected, failed, not found or timed out, 2 a bad file or id.
 */
import { readFileSync } from "node:fs";
import { azure } from "../../shared/azure/clients.js";
import { QUEUES, TABLES } from "../../shared/config/settings.js";
import { PromotionRecords, type PromotionRecord } from "../../shared/promotion/record.js";
import { isGuid, parsePromotionRequest } from "../../shared/promotion/request.js";
import { CommandFailed, printJson, progressReporter, UsageError, type CommandContext } from "../io.js";
import { renderTable, shortId } from "../table.js";

export interface PromoteOptions {
  dryRun: boolean;
  wait: boolean;
  timeoutSeconds: number;
  /** Poll interval of the record (tests shorten it). */
  pollMs?: number;
}

const records = () => new PromotionRecords(azure().table(TABLES.promotions));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function promote(ctx: CommandContext, args: string[], opts: PromoteOptions): Promise<void> {
  const file = args[0];
  if (!file || args.length > 1) throw new UsageError("usage: steward promote FILE [--dry-run] [--no-wait]");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not JSON: ${(e as Error).message}`);
  }
  if (opts.dryRun && doc && typeof doc === "object" && !Array.isArray(doc)) doc = { ...doc, dryRun: true };
  // The same shape check the function makes first, so an obviously bad request never reaches the queue.
  const parsed = parsePromotionRequest(doc);
  if (!parsed.ok) {
    if (ctx.json) printJson(ctx.io, { file, valid: false, reasons: parsed.reasons });
    else {
      ctx.io.stderr(`${file} is not a valid promotion request:`);
      ctx.io.stderr(
        renderTable(
          ["field", "reason"],
          parsed.reasons.map((r) => [r.path || "(message)", r.reason]),
        ),
      );
    }
    throw new UsageError(`${file}: ${parsed.reasons.length} problem(s); nothing was queued`);
  }
  const requestId = parsed.request.requestId.toLowerCase();
  const before = await records().get(requestId);

  const queue = azure().queue(QUEUES.promotions);
  await queue.createIfNotExists();
  const sentAt = new Date().toISOString();
  await queue.sendMessage(Buffer.from(JSON.stringify(doc), "utf8").toString("base64"));
  ctx.io.stderr(
    `queued promotion ${requestId} (project ${parsed.request.project}${opts.dryRun ? ", dry run" : ""})`,
  );

  if (!opts.wait) {
    if (ctx.json) printJson(ctx.io, { requestId, queued: true });
    else ctx.io.stdout(`queued ${requestId}; follow it with: steward status ${requestId}`);
    return;
  }

  const progress = progressReporter(ctx.io);
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  const finished = (r: PromotionRecord) => ["succeeded", "rejected", "failed"].includes(r.status);
  let record: PromotionRecord | undefined;
  for (;;) {
    record = await records().get(requestId);
    const fresh = record && record.updatedAt >= sentAt;
    if (record && fresh) {
      progress(`  ${record.status}: ${record.steps.length} step(s) recorded, attempt ${record.attempts}`);
      if (finished(record)) break;
    } else if (record && before && finished(before) && Date.now() - Date.parse(sentAt) > 10_000) {
      // A finished request is never run again and its record may not change: report it as it is.
      ctx.io.stderr(`  request ${requestId} had already finished (${before.status}) before this submission`);
      break;
    }
    if (Date.now() > deadline) {
      throw new CommandFailed(
        `no final status after ${opts.timeoutSeconds}s (last: ${record?.status ?? "not picked up yet"}); check later with: steward status ${requestId}`,
      );
    }
    await sleep(opts.pollMs ?? 1000);
  }
  report(ctx, record!);
}

export async function status(ctx: CommandContext, args: string[]): Promise<void> {
  const id = args[0];
  if (!id || args.length > 1) throw new UsageError("usage: steward status REQUEST_ID");
  if (!isGuid(id)) throw new UsageError(`"${id}" is not a request id (a GUID)`);
  const record = await records().get(id.toLowerCase());
  if (!record) {
    if (ctx.json) printJson(ctx.io, { requestId: id.toLowerCase(), found: false });
    throw new CommandFailed(`no promotion request ${id.toLowerCase()}`);
  }
  report(ctx, record);
}

/** Prints a record; throws CommandFailed when it says rejected or failed. */
function report(ctx: CommandContext, r: PromotionRecord): void {
  if (ctx.json) printJson(ctx.io, r);
  else ctx.io.stdout(formatRecord(r));
  if (r.status === "rejected") throw new CommandFailed(`promotion ${r.requestId} was rejected`);
  if (r.status === "failed")
    throw new CommandFailed(`promotion ${r.requestId} failed: ${r.lastError ?? "see the record"}`);
}

export function formatRecord(r: PromotionRecord): string {
  const out: string[] = [];
  out.push(
    `promotion ${r.requestId}: ${r.status.toUpperCase()}${r.dryRun ? " (dry run)" : ""}`,
    `project ${r.project ?? "?"}, cost centre ${r.costCenter ?? "?"}, requested by ${r.requestedBy ?? "?"}`,
    `accepted ${r.acceptedAt}, updated ${r.updatedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ""}, ${r.attempts} attempt(s)`,
  );
  if (r.lastError) out.push(`last error: ${r.lastError}`);
  if (r.reasons?.length) {
    out.push(
      "",
      "refused because:",
      renderTable(
        ["field", "reason"],
        r.reasons.map((x) => [x.path || "(request)", x.reason]),
        { maxWidth: 90 },
      ),
    );
  }
  if (r.steps.length) {
    out.push(
      "",
      renderTable(
        ["step", "outcome", "writes", "attempt", "detail"],
        r.steps.map((s) => [s.name, s.outcome, s.writes, s.attempt, s.detail]),
      ),
    );
  }
  if (r.dryRun && r.plan) {
    out.push("", "plan:");
    out.push(
      renderTable(
        ["environment", "resource group", "workspace", "groups", "role assignments"],
        r.plan.environments.map((e) => [
          e.env,
          e.resourceGroup.name,
          e.workspace.name,
          e.groups.length,
          e.roleAssignments.length,
        ]),
      ),
    );
  }
  if (r.resources.length) {
    out.push(
      "",
      `resources (${r.resources.length}):`,
      ...r.resources.map((id) => `  ${id.startsWith("group:") ? id : shortId(id, 6)}`),
    );
  }
  return out.join("\n");
}
