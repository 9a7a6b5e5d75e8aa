/**
 * One delivery of a promotion message, start to finish. The message is an envelope (see
 * envelope.ts): the sender's token plus a request or an approval. The rules:
 *
 * - Identity comes only from the validated token. A message without a valid one is refused and
 *   recorded under an id of its own, never under the request id it claims, so nobody can occupy
 *   or close someone else's request.
 * - The first authenticated sender owns a request id (conditional insert). A different request
 *   under the same id is refused; the same one again is a redelivery and acts on the record.
 * - Authorisation (authorise.ts): new projects from requester groups, changes from the
 *   project's recorded owners. A new project, and a change that touches production data or the
 *   owners, is planned and waits: nothing is created until a member of the cost centre's
 *   approvers group other than the requester approves that exact plan (its hash), before the
 *   policy's deadline. Every decision, refused ones too, is recorded.
 * - Execution holds a lease on the record (ETag-conditional), so two deliveries never run the
 *   same request at once; a delivery that finds the lease held records its attempt and throws,
 *   so the queue retries it after the holder finished (and finds nothing to do).
 * - A refusal does not throw (retrying cannot fix it); a transient failure throws so the queue
 *   retries, and on the last delivery the record is marked failed first; a permanent conflict
 *   marks it failed without throwing.
 */
import { createHash } from "node:crypto";
import type { Caller, TokenCheck, TokenValidator } from "../auth/callerToken.js";
import type { AzureClients } from "../azure/clients.js";
import { errorFacts } from "../azure/errors.js";
import { getSettings } from "../config/settings.js";
import { STEWARD_NAMESPACE, uuidV5 } from "../ids.js";
import { AuditLog } from "../ledger/audit.js";
import type { Logger } from "../log.js";
import type { EstatePolicy } from "../policy/schema.js";
import { admit, normaliseRef } from "./admission.js";
import { authorise, groupsToCheck, type TeamOfRequest } from "./authorise.js";
import { parseEnvelope, type ApprovalDecision } from "./envelope.js";
import { executePlan, type ExecuteOptions } from "./execute.js";
import { azureLookups, existingGroupIds } from "./lookups.js";
import { planPromotion, type PromotionPlan } from "./plan.js";
import { ProjectConflict, ProjectRegistry, type ProjectEntry } from "./projects.js";
import {
  isFinished,
  PromotionRecords,
  RecordWriter,
  type Decision,
  type Identity,
  type PromotionRecord,
} from "./record.js";
import { asSentBy, isGuid, parsePromotionRequest, type Refusal, type RequestBody } from "./request.js";
import { PromotionConflict } from "./steps/assets.js";

export interface ProcessDeps {
  clients: AzureClients;
  policy: EstatePolicy;
  records: PromotionRecords;
  projects: ProjectRegistry;
  audit: AuditLog;
  log: Logger;
  tokens: TokenValidator;
  /** Which of `groupIds` the object is a member of (transitively). */
  memberGroups(objectId: string, groupIds: readonly string[]): Promise<Set<string>>;
}

export interface ProcessOptions extends ExecuteOptions {
  /** The queue's dequeue count of this delivery (1 on the first). */
  dequeueCount: number;
  maxDequeueCount: number;
  /** The queue message's id: the same across its redeliveries, so a crashed delivery's retry may retake its lease. */
  messageId?: string;
  /** How long an execution lease lasts: at least the function timeout, so a live holder never loses it. */
  leaseMs?: number;
  now?: () => Date;
}

export type ProcessOutcome =
  | { kind: "succeeded"; requestId: string }
  | { kind: "dryRun"; requestId: string; plan: PromotionPlan }
  | { kind: "awaitingApproval"; requestId: string; approvers: string; planHash: string }
  | { kind: "rejected"; requestId: string; reasons: Refusal[] }
  | { kind: "approvalRefused"; requestId: string; reason: string }
  | { kind: "expired"; requestId: string }
  | { kind: "alreadyFinished"; requestId: string; status: PromotionRecord["status"] }
  | { kind: "failed"; requestId: string; error: string };

/** Thrown when another delivery holds the execution lease: the queue retries this one later. */
export class ExecutionBusy extends Error {
  constructor(requestId: string, holder: string) {
    super(`promotion ${requestId} is being executed by another delivery (${holder}); retrying later`);
    this.name = "ExecutionBusy";
  }
}

const DEFAULT_LEASE_MS = 16 * 60_000; // host.json functionTimeout is 15 minutes

export async function processPromotionMessage(
  message: unknown,
  deps: ProcessDeps,
  opts: ProcessOptions,
): Promise<ProcessOutcome> {
  const p = new Delivery(message, deps, opts);
  return p.run();
}

class Delivery {
  private readonly now: () => Date;
  private readonly log: Logger;
  private readonly messageId: string;

  constructor(
    private readonly message: unknown,
    private readonly deps: ProcessDeps,
    private readonly opts: ProcessOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
    this.log = deps.log;
    this.messageId = opts.messageId ?? `message-${anonymousId(message)}`;
  }

  async run(): Promise<ProcessOutcome> {
    const env = parseEnvelope(this.message);
    if (!env.ok) return this.refuseUnowned(env.reasons, peekRequestId(this.message));
    const check = await this.deps.tokens.validate(env.token);
    return env.kind === "approval" ? this.approval(env.approval, check) : this.request(env.body, check);
  }

  // ------------------------------------------------------------------ requests

  private async request(body: unknown, check: TokenCheck): Promise<ProcessOutcome> {
    const parsed = parsePromotionRequest(body);
    if (!check.ok) {
      // A redelivery after the token expired continues what its verified sender started.
      if (check.failure === "expired" && check.expiredCaller && parsed.ok) {
        const existing = await this.deps.records.get(parsed.request.requestId);
        if (existing?.requestHash === requestHash(parsed.request, check.expiredCaller))
          return this.continueRecord(existing.requestId, check.expiredCaller, parsed.request);
      }
      return this.refuseUnowned(
        [{ path: "token", reason: check.reason }],
        parsed.ok ? parsed.request.requestId : parsed.requestId,
      );
    }
    const caller = check.caller;
    if (!parsed.ok) return this.refuseShape(parsed.reasons, parsed.requestId, caller);

    const requestId = parsed.request.requestId.toLowerCase();
    const hash = requestHash(parsed.request, caller);
    const at = this.now().toISOString();
    const fresh: PromotionRecord = {
      requestId,
      status: "accepted",
      dryRun: parsed.request.dryRun,
      project: parsed.request.project,
      costCenter: parsed.request.costCenter,
      requestedBy: caller.userPrincipalName ?? caller.objectId,
      requester: identityOf(caller),
      requestHash: hash,
      acceptedAt: at,
      updatedAt: at,
      attempts: 0,
      steps: [],
      resources: [],
      attemptLog: [this.attempt("accepted")],
    };
    if (!(await this.deps.records.create(fresh))) {
      const existing = await this.deps.records.get(requestId);
      if (existing && existing.requestHash !== hash) {
        this.log.warn("a different request reuses a promotion request id; refused", { requestId });
        return this.refuseUnowned(
          [
            {
              path: "requestId",
              reason: `request id ${requestId} already belongs to another request (accepted ${existing.acceptedAt}); send yours under a new id`,
            },
          ],
          requestId,
          caller,
        );
      }
      return this.continueRecord(requestId, caller, parsed.request);
    }
    return this.accept(requestId, caller, parsed.request);
  }

  /** A redelivery: act on what the record says, never on the message's authority. */
  private async continueRecord(
    requestId: string,
    caller: Caller,
    body: RequestBody,
  ): Promise<ProcessOutcome> {
    const r = await this.deps.records.get(requestId);
    if (!r) return this.accept(requestId, caller, body);
    if (isFinished(r.status)) {
      await this.note(requestId, `already ${r.status}`);
      this.log.info("promotion already finished; nothing to do", { requestId, status: r.status });
      return { kind: "alreadyFinished", requestId, status: r.status };
    }
    if (r.status === "awaitingApproval") {
      if (await this.closeIfExpired(r)) return { kind: "expired", requestId };
      await this.note(requestId, "still awaiting approval");
      return {
        kind: "awaitingApproval",
        requestId,
        approvers: r.approval?.group.name ?? "",
        planHash: r.planHash ?? "",
      };
    }
    if (r.plan && !r.dryRun && approvedToRun(r)) return this.execute(requestId);
    return this.accept(requestId, caller, body); // crashed before a decision: decide again
  }

  private async accept(requestId: string, caller: Caller, body: RequestBody): Promise<ProcessOutcome> {
    const { deps } = this;
    const sent = asSentBy(body, caller);
    if (!sent.ok) return this.reject(requestId, sent.reasons);
    const request = sent.request;
    try {
      const lookups = azureLookups(deps.clients, {
        records: deps.records,
        stewardObjectId: getSettings().STEWARD_IDENTITY_OBJECT_ID ?? "",
        log: this.log,
      });
      const admission = await admit(deps.policy, request, lookups);
      if (!admission.ok) return await this.reject(requestId, admission.reasons);
      const ownerIds = request.owners
        .map((o) => admission.principals.get(normaliseRef(o))?.objectId)
        .filter((o): o is string => !!o);
      const project = await deps.projects.get(request.project);
      const team = request.fromTeam ? await teamOf(deps, request.fromTeam) : undefined;
      const asked = [
        ...(project ? [] : groupsToCheck(deps.policy, request.costCenter)),
        ...(team?.groupIds ?? []),
      ];
      const callerGroups =
        asked.length > 0 ? await deps.memberGroups(caller.objectId, asked) : new Set<string>();
      const auth = authorise({
        policy: deps.policy,
        request,
        environments: admission.environments,
        ownerIds,
        caller,
        project,
        callerGroups,
        ...(team ? { team } : {}),
      });
      if (!auth.ok) return await this.reject(requestId, auth.reasons);

      const settings = getSettings();
      const stewardObjectId = settings.STEWARD_IDENTITY_OBJECT_ID;
      if (!stewardObjectId)
        throw new Error(
          "STEWARD_IDENTITY_OBJECT_ID is not set: groups need aml-steward's object id as owner",
        );
      const record = (await deps.records.get(requestId))!;
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
      }
      const planHash = sha256(plan);
      // The approver's time starts when the request starts waiting for them.
      const deadline = new Date(
        this.now().getTime() + deps.policy.requests.approvalTimeoutDays * 86_400_000,
      ).toISOString();
      const status: PromotionRecord["status"] = request.dryRun
        ? "succeeded"
        : auth.approval
          ? "awaitingApproval"
          : "approved";
      await deps.records.mutate(requestId, (r) => {
        r.kind = auth.kind;
        r.ownerIds = ownerIds;
        r.plan = plan;
        r.planHash = planHash;
        r.approval = auth.approval ? { ...auth.approval, deadline } : undefined;
        r.status = status;
        r.lastError = undefined;
        if (request.dryRun) r.finishedAt = this.now().toISOString();
      });
      if (request.dryRun) return { kind: "dryRun", requestId, plan };
      if (auth.approval) {
        this.log.info("promotion awaits approval", {
          requestId,
          project: request.project,
          approvers: auth.approval.group.name,
          reasons: auth.approval.reasons,
        });
        return { kind: "awaitingApproval", requestId, approvers: auth.approval.group.name, planHash };
      }
      return await this.execute(requestId);
    } catch (e) {
      return this.failure(requestId, e);
    }
  }

  // ------------------------------------------------------------------ approvals

  private async approval(a: ApprovalDecision, check: TokenCheck): Promise<ProcessOutcome> {
    const requestId = a.requestId.toLowerCase();
    const caller = check.ok ? check.caller : check.failure === "expired" ? check.expiredCaller : undefined;
    const current = await this.deps.records.get(requestId);
    // A redelivered approval whose decision already counted continues; nothing else may.
    const counted = current?.decisions?.some(
      (d) => d.outcome === "accepted" && d.decision === a.decision && d.by.objectId === caller?.objectId,
    );
    if (current && caller && counted) return this.continueApproved(current);
    if (!check.ok)
      return this.refuseUnowned([{ path: "token", reason: check.reason }], requestId, undefined, "approval");
    if (!current) {
      return this.refuseUnowned(
        [{ path: "approval.requestId", reason: `there is no promotion request ${requestId}` }],
        requestId,
        check.caller,
        "approval",
      );
    }
    if (await this.closeIfExpired(current)) return { kind: "expired", requestId };

    const reason = await this.approvalRefusal(current, a, check.caller);
    const decision: Decision = {
      by: identityOf(check.caller),
      at: this.now().toISOString(),
      decision: a.decision,
      comment: a.comment,
      planHash: a.planHash ?? current.planHash,
      outcome: reason ? "refused" : "accepted",
      reason,
    };
    const saved = await this.deps.records.mutate(requestId, (r) => {
      if (!reason && r.status !== "awaitingApproval") {
        decision.outcome = "refused";
        decision.reason = `the request was ${r.status} meanwhile`;
      }
      r.decisions = [...(r.decisions ?? []), decision];
      if (decision.outcome !== "accepted") return;
      if (a.decision === "approve") {
        r.status = "approved";
      } else {
        r.status = "rejected";
        r.finishedAt = decision.at;
        r.reasons = [
          {
            path: "approval",
            reason: `rejected by ${who(check.caller)}${a.comment ? `: ${a.comment}` : ""}`,
          },
        ];
      }
    });
    if (decision.outcome === "refused") {
      this.log.warn("approval refused", { requestId, by: check.caller.objectId, reason: decision.reason });
      return { kind: "approvalRefused", requestId, reason: decision.reason ?? "" };
    }
    this.log.info("promotion decided", { requestId, decision: a.decision, by: check.caller.objectId });
    if (a.decision === "reject") return { kind: "rejected", requestId, reasons: saved?.record.reasons ?? [] };
    return this.execute(requestId);
  }

  /** Why `caller` may not decide on `r` with `a`, or undefined when they may. */
  private async approvalRefusal(
    r: PromotionRecord,
    a: ApprovalDecision,
    caller: Caller,
  ): Promise<string | undefined> {
    if (r.status !== "awaitingApproval") return `the request is ${r.status}, not awaiting approval`;
    if (!r.approval) return "the request needs no approval";
    if (r.requester && r.requester.objectId === caller.objectId)
      return "an approver may not decide on their own request";
    if (a.planHash && a.planHash !== r.planHash)
      return `the approval is for plan ${a.planHash.slice(0, 12)}…, but the request's plan is ${r.planHash?.slice(0, 12)}…`;
    const group = r.approval.group;
    const groups = await this.deps.memberGroups(caller.objectId, [group.id]);
    if (!groups.has(group.id.toLowerCase()))
      return `${who(caller)} is not a member of ${group.name} (${group.id}), who approve this cost centre's projects`;
    return undefined;
  }

  private async continueApproved(r: PromotionRecord): Promise<ProcessOutcome> {
    if (isFinished(r.status)) {
      await this.note(r.requestId, `already ${r.status}`);
      return { kind: "alreadyFinished", requestId: r.requestId, status: r.status };
    }
    return this.execute(r.requestId);
  }

  private async closeIfExpired(r: PromotionRecord): Promise<boolean> {
    if (r.status !== "awaitingApproval" || !r.approval) return false;
    if (this.now().toISOString() <= r.approval.deadline) return false;
    await this.deps.records.mutate(r.requestId, (x) => {
      if (x.status !== "awaitingApproval") return;
      x.status = "expired";
      x.finishedAt = this.now().toISOString();
      x.reasons = [{ path: "approval", reason: `no approval before ${r.approval!.deadline}` }];
    });
    this.log.info("promotion request expired without approval", { requestId: r.requestId });
    return true;
  }

  // ------------------------------------------------------------------ execution

  private async execute(requestId: string): Promise<ProcessOutcome> {
    const { deps, opts } = this;
    const until = new Date(this.now().getTime() + (opts.leaseMs ?? DEFAULT_LEASE_MS)).toISOString();
    const claim = await deps.records.mutate(requestId, (r) => {
      if (isFinished(r.status)) return { ok: false as const, finished: true };
      const held = r.lease && r.lease.holder !== this.messageId && r.lease.until > this.now().toISOString();
      if (held && r.status === "running") {
        r.attemptLog = [...(r.attemptLog ?? []), this.attempt(`lease held by ${r.lease!.holder}`)];
        return { ok: false as const, finished: false, holder: r.lease!.holder };
      }
      r.lease = { holder: this.messageId, until };
      r.status = "running";
      r.attempts++;
      r.lastDequeueCount = opts.dequeueCount;
      r.attemptLog = [...(r.attemptLog ?? []), this.attempt("executing")];
      return { ok: true as const };
    });
    if (!claim) throw new Error(`promotion record ${requestId} disappeared`);
    if (!claim.result.ok) {
      if (claim.result.finished) return { kind: "alreadyFinished", requestId, status: claim.record.status };
      throw new ExecutionBusy(requestId, claim.result.holder ?? "another delivery");
    }
    const record = claim.record;
    const writer = new RecordWriter(deps.records, record, claim.etag);
    try {
      const plan = record.plan;
      if (!plan) throw new Error(`promotion ${requestId} has no plan to execute`);
      await this.registerProject(record);
      const stewardObjectId = getSettings().STEWARD_IDENTITY_OBJECT_ID ?? "";
      await executePlan(
        plan,
        {
          clients: deps.clients,
          audit: deps.audit,
          writer,
          log: this.log,
          stewardObjectId,
          policy: deps.policy,
        },
        opts,
      );
      await writer.update((r) => {
        r.status = "succeeded";
        r.finishedAt = this.now().toISOString();
        r.lastError = undefined;
        r.lease = undefined;
      });
      this.log.info("promotion succeeded", { requestId, project: plan.project, attempt: opts.dequeueCount });
      return { kind: "succeeded", requestId };
    } catch (e) {
      return this.failure(requestId, e, writer);
    }
  }

  /**
   * The project and its owners are registered before anything is built, so a crash half-way
   * still leaves the project owned by whoever was authorised, and a second new-project request
   * for the same name finds it taken.
   */
  private async registerProject(r: PromotionRecord): Promise<void> {
    const plan = r.plan!;
    const entry = {
      project: plan.project,
      costCenter: plan.costCenter,
      ownerIds: r.ownerIds ?? [],
      createdBy: r.requestId,
      lastRequestId: r.requestId,
    };
    if (r.kind !== "change") return this.deps.projects.register(entry, undefined);
    const current = await this.deps.projects.get(plan.project);
    if (!current) throw new ProjectConflict(`project "${plan.project}" is no longer registered`);
    if (!r.requester || !current.ownerIds.includes(r.requester.objectId))
      throw new ProjectConflict(`the requester is no longer an owner of project "${plan.project}"`);
    await this.deps.projects.register({ ...entry, createdBy: current.createdBy }, current);
  }

  // ------------------------------------------------------------------ outcomes

  private async failure(requestId: string, e: unknown, writer?: RecordWriter): Promise<ProcessOutcome> {
    const facts = errorFacts(e);
    const cause = `${facts.status ? `${facts.status} ` : ""}${facts.code ? `${facts.code}: ` : ""}${facts.message}`;
    const permanent = e instanceof PromotionConflict || e instanceof ProjectConflict;
    const last = this.opts.dequeueCount >= this.opts.maxDequeueCount;
    const change = (r: PromotionRecord) => {
      r.lastError = cause;
      r.lease = undefined;
      if (permanent || last) {
        r.status = "failed";
        r.finishedAt = this.now().toISOString();
      }
    };
    if (writer) await writer.update(change);
    else await this.deps.records.mutate(requestId, change);
    if (permanent) {
      this.log.error("promotion failed permanently", { requestId, error: cause });
      return { kind: "failed", requestId, error: cause };
    }
    this.log.warn(
      last ? "promotion failed on its last delivery" : "promotion attempt failed; the queue will retry",
      {
        requestId,
        attempt: this.opts.dequeueCount,
        maxDequeueCount: this.opts.maxDequeueCount,
        error: cause,
      },
    );
    throw e;
  }

  private async reject(requestId: string, reasons: Refusal[]): Promise<ProcessOutcome> {
    await this.deps.records.mutate(requestId, (r) => {
      r.status = "rejected";
      r.reasons = reasons;
      r.finishedAt = this.now().toISOString();
    });
    this.log.warn("promotion request refused", { requestId, reasons });
    return { kind: "rejected", requestId, reasons };
  }

  /**
   * A request from an authenticated sender that is not a valid request: recorded under the id
   * it names if that id is free (the sender owns it from now on), else under an id of its own.
   */
  private async refuseShape(
    reasons: Refusal[],
    requestId: string | undefined,
    caller: Caller,
  ): Promise<ProcessOutcome> {
    if (!requestId) return this.refuseUnowned(reasons, undefined, caller);
    const id = requestId.toLowerCase();
    const created = await this.deps.records.create(
      this.refusalRecord(id, reasons, caller, "refused request"),
    );
    if (!created) return this.refuseUnowned(reasons, id, caller);
    this.log.warn("promotion request refused", { requestId: id, reasons });
    return { kind: "rejected", requestId: id, reasons };
  }

  /**
   * A refusal that may not occupy the id it names (no valid token, or the id is someone
   * else's): recorded under an id derived from the message, with the id it claimed.
   */
  private async refuseUnowned(
    reasons: Refusal[],
    claimedRequestId: string | undefined,
    caller?: Caller,
    what: "request" | "approval" = "request",
  ): Promise<ProcessOutcome> {
    const id = anonymousId(this.message);
    const created = await this.deps.records.create({
      ...this.refusalRecord(id, reasons, caller, `refused ${what}`),
      claimedRequestId: claimedRequestId?.toLowerCase(),
    });
    if (!created) await this.note(id, `refused ${what} again`);
    this.log.warn(`promotion ${what} refused`, { recordId: id, claimedRequestId, reasons });
    return { kind: "rejected", requestId: id, reasons };
  }

  /** A record that is born refused: nothing was admitted, so nothing will ever run under it. */
  private refusalRecord(
    id: string,
    reasons: Refusal[],
    caller: Caller | undefined,
    outcome: string,
  ): PromotionRecord {
    const at = this.now().toISOString();
    return {
      requestId: id,
      status: "rejected",
      dryRun: false,
      acceptedAt: at,
      updatedAt: at,
      finishedAt: at,
      attempts: 0,
      steps: [],
      resources: [],
      reasons,
      requester: caller ? identityOf(caller) : undefined,
      requestedBy: caller ? (caller.userPrincipalName ?? caller.objectId) : undefined,
      attemptLog: [this.attempt(outcome)],
    };
  }

  private attempt(outcome: string) {
    return {
      at: this.now().toISOString(),
      messageId: this.messageId,
      dequeueCount: this.opts.dequeueCount,
      outcome,
    };
  }

  private async note(requestId: string, outcome: string): Promise<void> {
    await this.deps.records.mutate(requestId, (r) => {
      r.attemptLog = [...(r.attemptLog ?? []), this.attempt(outcome)];
    });
  }
}

/** Runs only with every approval it needs: none asked, or one accepted approve decision. */
function approvedToRun(r: PromotionRecord): boolean {
  if (!r.approval) return true;
  return (r.decisions ?? []).some((d) => d.outcome === "accepted" && d.decision === "approve");
}

function identityOf(c: Caller): Identity {
  return { objectId: c.objectId, userPrincipalName: c.userPrincipalName, displayName: c.displayName };
}

function who(c: Caller): string {
  return c.userPrincipalName ?? c.displayName ?? c.objectId;
}

function sha256(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/** The request and who sent it: the same body from someone else is a different request. */
export function requestHash(body: RequestBody, sender: { objectId: string }): string {
  return sha256({ body, sender: sender.objectId });
}

function peekRequestId(message: unknown): string | undefined {
  let input = message;
  try {
    if (Buffer.isBuffer(input)) input = input.toString("utf8");
    if (typeof input === "string") input = JSON.parse(input);
  } catch {
    return undefined;
  }
  const o = input as { requestId?: unknown; request?: { requestId?: unknown } } | null;
  const id = o?.request?.requestId ?? o?.requestId;
  return typeof id === "string" && isGuid(id) ? id : undefined;
}

/** A message without a usable, owned id is still recorded: under an id derived from its content. */
function anonymousId(message: unknown): string {
  const text =
    typeof message === "string"
      ? message
      : Buffer.isBuffer(message)
        ? message.toString("utf8")
        : (JSON.stringify(message) ?? "");
  return uuidV5(`promotion-message|${text}`, STEWARD_NAMESPACE);
}

/** The production wiring: the process's clients, policy, tables and token validator. */
export function defaultProcessDeps(
  clients: AzureClients,
  policy: EstatePolicy,
  log: Logger,
  tables: { promotions: string; audit: string },
  tokens: TokenValidator,
  memberGroups: ProcessDeps["memberGroups"],
): ProcessDeps {
  const table = clients.table(tables.promotions);
  return {
    clients,
    policy,
    records: new PromotionRecords(table),
    projects: new ProjectRegistry(table),
    audit: new AuditLog(clients.table(tables.audit)),
    log,
    tokens,
    memberGroups,
  };
}

/**
 * The team a project is promoted from: its registry entry and the object ids of the groups its
 * onboarding created (from the onboarding's records), so authorise can ask whether the caller
 * is one of the team.
 */
async function teamOf(
  deps: { projects: { get(p: string): Promise<ProjectEntry | undefined> }; records: PromotionRecords },
  name: string,
): Promise<TeamOfRequest> {
  const entry = await deps.projects.get(name);
  if (!entry) return { name, groupIds: [] };
  const ids = new Set<string>();
  for (const id of new Set([entry.createdBy, entry.lastRequestId])) {
    const r = await deps.records.get(id);
    for (const res of r?.resources ?? [])
      if (res.startsWith("group:")) ids.add(res.split(":")[2]!.toLowerCase());
  }
  return { name, entry, groupIds: [...ids] };
}
