/**
 * `steward promote FILE [--dry-run] [--no-wait] [--timeout SECONDS] [--as UPN]`: checks the
 * request's shape, puts it on the promotion queue in an envelope with the caller's token (base64,
 * as host.json's messageEncoding says) and, unless --no-wait, follows its record until it is
 * finished or waits for an approver. `steward approve REQUEST_ID [--reject] [--comment TEXT]
 * [--plan HASH] [--as UPN]`: a decision, the same way. `steward status REQUEST_ID`: the record.
 * They read the record from Table Storage, so they work against the local stack and Azure alike.
 *
 * Exit codes: 0 succeeded, awaiting approval, or decided (or still running with --no-wait /
 * status accepted|running), 1 rejected, refused, failed, not found or timed out, 2 a bad file,
 * id or identity.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { azure } from "../../shared/azure/clients.js";
import { getSettings, QUEUES, TABLES } from "../../shared/config/settings.js";
import { envelopeFor } from "../../shared/promotion/envelope.js";
import type { PromotionPlan } from "../../shared/promotion/plan.js";
import { PromotionRecords, type PromotionRecord } from "../../shared/promotion/record.js";
import { isGuid, parsePromotionRequest } from "../../shared/promotion/request.js";
import { enqueuePromotionMessage } from "../../shared/promotion/submit.js";
import { callerAccessToken } from "../identity.js";
import {
  CommandFailed,
  printJson,
  progressReporter,
  tableWidth,
  UsageError,
  type CommandContext,
  type Progress,
} from "../io.js";
import { renderTable, shortId } from "../table.js";

export interface PromoteOptions {
  dryRun: boolean;
  wait: boolean;
  timeoutSeconds: number;
  /** Poll interval of the record (tests shorten it). */
  pollMs?: number;
  /** Locally: the seeded person to act as. */
  as?: string;
}

export interface ApproveOptions {
  reject: boolean;
  comment?: string;
  planHash?: string;
  timeoutSeconds: number;
  pollMs?: number;
  as?: string;
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
  // A dry run always plans: under the file's request id it would find that request's finished
  // record (or be refused as a different request), so it is sent under an id of its own.
  let plannedFor: unknown;
  if (opts.dryRun && doc && typeof doc === "object" && !Array.isArray(doc)) {
    plannedFor = (doc as { requestId?: unknown }).requestId;
    doc = { ...doc, requestId: randomUUID(), dryRun: true };
  }
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
          { width: tableWidth(ctx), wrap: 1 },
        ),
      );
    }
    throw new UsageError(`${file}: ${parsed.reasons.length} problem(s); nothing was queued`);
  }
  const requestId = parsed.request.requestId.toLowerCase();
  const before = await records().get(requestId);

  const token = await callerAccessToken(getSettings(), opts.as);
  const sentAt = new Date().toISOString();
  await enqueuePromotionMessage(azure().queue(QUEUES.promotions), envelopeFor(token, { request: doc }));
  ctx.io.stderr(
    `queued promotion ${requestId} (project ${parsed.request.project}${opts.dryRun ? `, dry run${typeof plannedFor === "string" ? ` of request ${plannedFor}` : ""}` : ""})`,
  );

  if (!opts.wait) {
    if (ctx.json) printJson(ctx.io, { requestId, queued: true });
    else ctx.io.stdout(`queued ${requestId}; follow it with: steward status ${requestId}`);
    return;
  }

  const progress = progressReporter(ctx.io);
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  const started = Date.now();
  const finished = (r: PromotionRecord) =>
    ["succeeded", "rejected", "failed", "expired", "awaitingApproval"].includes(r.status);
  let record: PromotionRecord | undefined;
  const seen: Seen = { steps: 0 };
  for (;;) {
    record = await records().get(requestId);
    const fresh = record && record.updatedAt >= sentAt;
    if (record && fresh) {
      followSteps(progress, record, seen);
      progress.tick(
        `  ${record.status}: ${record.steps.length} step(s), attempt ${record.attempts}, ${Math.round((Date.now() - started) / 1000)}s`,
      );
      if (finished(record)) break;
    } else if (record && before && finished(before) && Date.now() - Date.parse(sentAt) > 10_000) {
      // A finished request is never run again and its record may not change: report it as it is.
      ctx.io.stderr(`  request ${requestId} had already finished (${before.status}) before this submission`);
      break;
    } else
      progress.tick(
        `  waiting for the promotion function to pick it up, ${Math.round((Date.now() - started) / 1000)}s`,
      );
    if (Date.now() > deadline) {
      throw new CommandFailed(
        `no final status after ${opts.timeoutSeconds}s (last: ${record?.status ?? "not picked up yet"}); check later with: steward status ${requestId}`,
      );
    }
    await sleep(opts.pollMs ?? 1000);
  }
  report(ctx, record!);
}

export async function approve(ctx: CommandContext, args: string[], opts: ApproveOptions): Promise<void> {
  const id = args[0];
  if (!id || args.length > 1)
    throw new UsageError("usage: steward approve REQUEST_ID [--reject] [--comment TEXT] [--plan HASH]");
  if (!isGuid(id)) throw new UsageError(`"${id}" is not a request id (a GUID)`);
  if (opts.planHash !== undefined && !/^[0-9a-f]{64}$/.test(opts.planHash))
    throw new UsageError("--plan must be the 64-hex-digit plan hash that steward status shows");
  const requestId = id.toLowerCase();
  const before = await records().get(requestId);
  if (!before) throw new CommandFailed(`no promotion request ${requestId}`);
  const token = await callerAccessToken(getSettings(), opts.as);
  const decision = opts.reject ? "reject" : "approve";
  await enqueuePromotionMessage(
    azure().queue(QUEUES.promotions),
    envelopeFor(token, {
      approval: {
        requestId,
        decision,
        ...(opts.comment ? { comment: opts.comment } : {}),
        ...(opts.planHash ? { planHash: opts.planHash } : {}),
      },
    }),
  );
  ctx.io.stderr(`queued: ${decision} promotion ${requestId}`);
  // The decision counts when the record lists it; follow it until then, then to the end.
  const known = before.decisions?.length ?? 0;
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  const progress = progressReporter(ctx.io);
  const seen: Seen = { steps: before.steps.length, status: before.status };
  for (;;) {
    const r = (await records().get(requestId))!;
    followSteps(progress, r, seen);
    const mine = r.decisions?.[known];
    if (mine?.outcome === "refused") {
      if (ctx.json) printJson(ctx.io, r);
      else ctx.io.stdout(formatRecord(r, tableWidth(ctx)));
      throw new CommandFailed(`your decision was refused: ${mine.reason}`);
    }
    if (mine && ["succeeded", "rejected", "failed", "expired"].includes(r.status)) {
      report(ctx, r);
      return;
    }
    if (mine) progress.tick(`  ${r.status}: ${r.steps.length} step(s) recorded`);
    if (Date.now() > deadline)
      throw new CommandFailed(
        `no final status after ${opts.timeoutSeconds}s (last: ${r.status}); check later with: steward status ${requestId}`,
      );
    await sleep(opts.pollMs ?? 1000);
  }
}

/**
 * One stderr line per step the record gained since the last look, grouped under its
 * environment (steps are named ENV/what, e.g. dev/resourceGroup), and one per status change.
 */
function followSteps(progress: Progress, r: PromotionRecord, seen: Seen): void {
  if (r.status !== seen.status) {
    seen.status = r.status;
    progress.step(`  status: ${r.status}`);
  }
  for (const s of r.steps.slice(seen.steps)) {
    const [env, ...what] = s.name.split("/");
    const label = what.length ? `${env}: ${what.join("/")}` : s.name;
    progress.step(
      `  [${r.steps.indexOf(s) + 1}] ${label} ${s.outcome}${s.writes ? ` (${s.writes} write${s.writes === 1 ? "" : "s"})` : ""}${s.outcome === "failed" && s.detail ? `: ${s.detail}` : ""}`,
    );
  }
  seen.steps = Math.max(seen.steps, r.steps.length);
}

interface Seen {
  steps: number;
  status?: string;
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
  else ctx.io.stdout(formatRecord(r, tableWidth(ctx)));
  if (r.status === "rejected") throw new CommandFailed(`promotion ${r.requestId} was rejected`);
  if (r.status === "expired") throw new CommandFailed(`promotion ${r.requestId} expired without an approval`);
  if (r.status === "failed")
    throw new CommandFailed(`promotion ${r.requestId} failed: ${r.lastError ?? "see the record"}`);
}

/** What a region plan builds where: one workspace per site in every environment. */
function regionLines(regions: NonNullable<PromotionPlan["regions"]>): string[] {
  return [
    `region plan ${regions.plan}: home ${regions.home}; registry in ${regions.registryReplicas.join(", ")}`,
    ...regions.sites.map(
      (s) =>
        `  workspace per environment in ${s.region}: ${s.roles.join(", ")}${s.servedFrom ? ` (served from ${s.servedFrom})` : ""}`,
    ),
  ];
}

export function formatRecord(r: PromotionRecord, width?: number): string {
  const out: string[] = [];
  out.push(
    `promotion ${r.requestId}: ${r.status.toUpperCase()}${r.dryRun ? " (dry run)" : ""}`,
    `project ${r.project ?? "?"}, cost centre ${r.costCenter ?? "?"}, requested by ${r.requestedBy ?? "?"}`,
    `accepted ${r.acceptedAt}, updated ${r.updatedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ""}, ${r.attempts} attempt(s)`,
  );
  if (r.lastError) out.push(`last error: ${r.lastError}`);
  if (r.approval) {
    out.push(
      "",
      `needs approval by a member of ${r.approval.group.name} (${r.approval.group.id}), not the requester, before ${r.approval.deadline}:`,
      ...r.approval.reasons.map((x) => `  - ${x}`),
      `plan ${r.planHash}`,
    );
    if (r.status === "awaitingApproval")
      out.push(`approve with: steward approve ${r.requestId} --plan ${r.planHash}`);
  }
  if (r.decisions?.length) {
    out.push(
      "",
      renderTable(
        ["decision", "by", "at", "outcome"],
        r.decisions.map((d) => [
          d.decision,
          d.by.userPrincipalName ?? d.by.objectId,
          d.at,
          d.outcome === "accepted" ? "counted" : `refused: ${d.reason ?? ""}`,
        ]),
        { width, drop: [2], wrap: 3 },
      ),
    );
  }
  if (r.reasons?.length) {
    out.push(
      "",
      "refused because:",
      renderTable(
        ["field", "reason"],
        r.reasons.map((x) => [x.path || "(request)", x.reason]),
        { width, wrap: 1 },
      ),
    );
  }
  if (r.steps.length) {
    out.push(
      "",
      renderTable(
        ["step", "outcome", "writes", "attempt", "detail"],
        r.steps.map((s) => [s.name, s.outcome, s.writes, s.attempt, s.detail]),
        { width, drop: [3, 2], wrap: 4 },
      ),
    );
  }
  if (r.plan?.access?.length) out.push("", ...projectAccessLines(r.plan.access));
  if (r.plan?.regions) out.push("", ...regionLines(r.plan.regions));
  if ((r.dryRun || r.status === "awaitingApproval") && r.plan) {
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
      ...r.resources.map((id) => `  ${id.startsWith("group:") ? id : shortId(id)}`),
    );
  }
  return out.join("\n");
}

/** A project's own access, narrower than the estate matrix: shown so nobody assumes the estate's. */
function projectAccessLines(cells: NonNullable<NonNullable<PromotionRecord["plan"]>["access"]>): string[] {
  return [
    "project access (narrowed from the estate matrix for this project; reconciliation keeps it):",
    renderTable(
      ["role", "environment", "granted", "not granted"],
      cells.map((c) => [c.role, c.env, c.granted.join(", ") || "(nothing)", c.dropped.join(", ")]),
    ),
  ];
}
