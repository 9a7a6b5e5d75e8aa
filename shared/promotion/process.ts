/**
 * One delivery of a promotion message, start to finish: parse, look at the record, admit or
 * refuse, plan, then execute (or, for a dry run, return the plan). The rules about delivery:
 *
 * - A finished request (succeeded or rejected) is never run again: redelivery makes no write.
 * - A refusal is recorded with every reason and does not throw: retrying cannot fix it.
 * - A transient failure throws, so the queue makes the message visible again later; on the
 *   last delivery (dequeueCount >= maxDequeueCount) the record is marked failed first, because
 *   the host moves the message to the poison queue next.
 * - A permanent conflict (e.g. a dev asset of the same name that did not come from exploration)
 *   marks the record failed and does not throw.
 */
import { createHash } from "node:crypto";
import type { AzureClients } from "../azure/clients.js";
import { errorFacts } from "../azure/errors.js";
import { getSettings } from "../config/settings.js";
import { STEWARD_NAMESPACE, uuidV5 } from "../ids.js";
import { AuditLog } from "../ledger/audit.js";
import type { Logger } from "../log.js";
import type { EstatePolicy } from "../policy/schema.js";
import { admit } from "./admission.js";
import { executePlan, type ExecuteOptions } from "./execute.js";
import { existingGroupIds, azureLookups } from "./lookups.js";
import { planPromotion, type PromotionPlan } from "./plan.js";
import { isFinished, PromotionRecords, RecordWriter, type PromotionRecord } from "./record.js";
import { parsePromotionRequest, type Refusal } from "./request.js";
import { PromotionConflict } from "./steps/assets.js";

export interface ProcessDeps {
  clients: AzureClients;
  policy: EstatePolicy;
  records: PromotionRecords;
  audit: AuditLog;
  log: Logger;
}

export interface ProcessOptions extends ExecuteOptions {
  /** The queue's dequeue count of this delivery (1 on the first). */
  dequeueCount: number;
  maxDequeueCount: number;
  now?: () => Date;
}

export type ProcessOutcome =
  | { kind: "succeeded"; requestId: string }
  | { kind: "dryRun"; requestId: string; plan: PromotionPlan }
  | { kind: "rejected"; requestId: string; reasons: Refusal[] }
  | { kind: "alreadyFinished"; requestId: string; status: PromotionRecord["status"] }
  | { kind: "failed"; requestId: string; error: string };

export async function processPromotionMessage(
  message: unknown,
  deps: ProcessDeps,
  opts: ProcessOptions,
): Promise<ProcessOutcome> {
  const now = opts.now ?? (() => new Date());
  const parsed = parsePromotionRequest(message);
  const requestId = parsed.ok
    ? parsed.request.requestId.toLowerCase()
    : (parsed.requestId ?? anonymousId(message));
  const log = deps.log;

  const existing = await deps.records.get(requestId);
  if (existing && isFinished(existing.status)) {
    log.info("promotion already finished; nothing to do", { requestId, status: existing.status });
    return { kind: "alreadyFinished", requestId, status: existing.status };
  }
  const hash = parsed.ok ? hashOf(parsed.request) : undefined;
  if (existing?.requestHash && hash && existing.requestHash !== hash) {
    // Same id, different content: the first message owns the id; never mix two requests.
    log.warn("a different message reuses a promotion request id; ignored", { requestId });
    return { kind: "alreadyFinished", requestId, status: existing.status };
  }

  const at = now().toISOString();
  const record: PromotionRecord = existing ?? {
    requestId,
    status: "accepted",
    dryRun: parsed.ok ? parsed.request.dryRun : false,
    acceptedAt: at,
    updatedAt: at,
    attempts: 0,
    steps: [],
    resources: [],
  };
  const writer = new RecordWriter(deps.records, record);
  await writer.update((r) => {
    r.attempts++;
    r.lastDequeueCount = opts.dequeueCount;
    if (parsed.ok) {
      r.project = parsed.request.project;
      r.costCenter = parsed.request.costCenter;
      r.requestedBy = parsed.request.requestedBy;
      r.requestHash = hash;
    }
  });

  const reject = async (reasons: Refusal[]): Promise<ProcessOutcome> => {
    await writer.update((r) => {
      r.status = "rejected";
      r.reasons = reasons;
      r.finishedAt = now().toISOString();
    });
    log.warn("promotion request refused", { requestId, reasons });
    return { kind: "rejected", requestId, reasons };
  };
  if (!parsed.ok) return reject(parsed.reasons);
  const request = parsed.request;

  try {
    const lookups = azureLookups(deps.clients, {
      records: deps.records,
      stewardObjectId: getSettings().STEWARD_IDENTITY_OBJECT_ID ?? "",
      log,
    });
    const admission = await admit(deps.policy, request, lookups);
    if (!admission.ok) return await reject(admission.reasons);

    const settings = getSettings();
    const stewardObjectId = settings.STEWARD_IDENTITY_OBJECT_ID;
    if (!stewardObjectId)
      throw new Error("STEWARD_IDENTITY_OBJECT_ID is not set: groups need aml-steward's object id as owner");
    const planCtx = {
      tenantId: settings.STEWARD_TENANT_ID ?? "",
      stewardObjectId,
      budgetStartDate: `${record.acceptedAt.slice(0, 7)}-01`,
      // acceptedAt is the ISO (UTC) time of the first delivery, kept in the record for good.
      acceptedOn: record.acceptedAt.slice(0, 10),
    };
    let plan = planPromotion(deps.policy, admission, planCtx);

    if (request.dryRun) {
      const names = plan.environments.flatMap((e) => e.groups.map((g) => g.uniqueName));
      plan = planPromotion(deps.policy, admission, {
        ...planCtx,
        groupIds: await existingGroupIds(deps.clients, names),
      });
      await writer.update((r) => {
        r.status = "succeeded";
        r.plan = plan;
        r.finishedAt = now().toISOString();
        r.lastError = undefined;
      });
      return { kind: "dryRun", requestId, plan };
    }

    await writer.update((r) => {
      r.status = "running";
    });
    await executePlan(plan, { clients: deps.clients, audit: deps.audit, writer, log, stewardObjectId }, opts);
    await writer.update((r) => {
      r.status = "succeeded";
      r.finishedAt = now().toISOString();
      r.lastError = undefined;
    });
    log.info("promotion succeeded", { requestId, project: request.project, attempt: opts.dequeueCount });
    return { kind: "succeeded", requestId };
  } catch (e) {
    const facts = errorFacts(e);
    const cause = `${facts.status ? `${facts.status} ` : ""}${facts.code ? `${facts.code}: ` : ""}${facts.message}`;
    const permanent = e instanceof PromotionConflict;
    const last = opts.dequeueCount >= opts.maxDequeueCount;
    await writer.update((r) => {
      r.lastError = cause;
      if (permanent || last) {
        r.status = "failed";
        r.finishedAt = now().toISOString();
      }
    });
    if (permanent) {
      log.error("promotion failed permanently", { requestId, error: cause });
      return { kind: "failed", requestId, error: cause };
    }
    log.warn(
      last ? "promotion failed on its last delivery" : "promotion attempt failed; the queue will retry",
      {
        requestId,
        attempt: opts.dequeueCount,
        maxDequeueCount: opts.maxDequeueCount,
        error: cause,
      },
    );
    throw e;
  }
}

function hashOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/** A request without a usable id is still recorded: under an id derived from its content. */
function anonymousId(message: unknown): string {
  const text =
    typeof message === "string"
      ? message
      : Buffer.isBuffer(message)
        ? message.toString("utf8")
        : (JSON.stringify(message) ?? "");
  return uuidV5(`promotion-message|${text}`, STEWARD_NAMESPACE);
}

/** The production wiring: the process's clients, policy and tables. */
export function defaultProcessDeps(
  clients: AzureClients,
  policy: EstatePolicy,
  log: Logger,
  tables: { promotions: string; audit: string },
): ProcessDeps {
  return {
    clients,
    policy,
    records: new PromotionRecords(clients.table(tables.promotions)),
    audit: new AuditLog(clients.table(tables.audit)),
    log,
  };
}
