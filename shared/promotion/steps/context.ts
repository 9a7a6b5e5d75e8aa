/**
 * What every promotion step gets: the clients (built only in shared/azure/clients.ts), the audit
 * log, the plan, and a way to record each write. Steps are convergent: read, compare with the
 * plan, write only the difference, and report how many writes that took.
 */
import type { EstatePolicy } from "../../policy/schema.js";
import type { AzureClients } from "../../azure/clients.js";
import type { AuditLog } from "../../ledger/audit.js";
import type { Logger } from "../../log.js";
import type { Backoff } from "../retry.js";
import type { PromotionPlan } from "../planTypes.js";
import type { StepOutcome } from "../record.js";
import type { ProjectOwnership } from "../ownership.js";

export interface StepContext {
  clients: AzureClients;
  audit: AuditLog;
  plan: PromotionPlan;
  log: Logger;
  /** aml-steward's own Entra object id. */
  stewardObjectId: string;
  /** The estate policy the promotion runs under (the asset step's data-segregation rules). */
  policy: EstatePolicy;
  backoff: { replication: Backoff; graphVisibility: Backoff };
  /** LRO polling interval when the service sends no Retry-After. */
  pollIntervalMs: number;
  /** What this project's promotions created: the only existing objects a step may continue. */
  ownership: ProjectOwnership;
  /**
   * Records ids as created by this promotion before (resource groups) or right after (groups)
   * they are created, so a crash in between does not make our own object look foreign.
   */
  claim(entries: readonly string[]): Promise<void>;
}

export interface StepResult {
  outcome: StepOutcome;
  writes: number;
  detail?: string;
  /** Resource ids (or `group:<uniqueName>:<id>`) this step created or confirmed. */
  resources?: string[];
}

/** Counts a step's writes and puts each one in the audit log. */
export class WriteTally {
  count = 0;
  constructor(private readonly ctx: StepContext) {}

  async record(
    action: string,
    target: string,
    after: unknown,
    extra: { subscriptionId?: string; before?: unknown } = {},
  ): Promise<void> {
    this.count++;
    await this.ctx.audit.record({
      actor: "promotion",
      action,
      target,
      subscriptionId: extra.subscriptionId,
      project: this.ctx.plan.project,
      before: extra.before,
      after,
      reason: `promotion ${this.ctx.plan.requestId} of project ${this.ctx.plan.project}`,
      correlationId: this.ctx.plan.requestId,
    });
  }

  outcome(created: boolean): StepOutcome {
    return this.count === 0 ? "unchanged" : created ? "created" : "updated";
  }
}

/**
 * Desired tags missing from or different on `actual` (names compared case-insensitively). A
 * `fillOnly` tag (createdBy, createdOn) counts only when missing or blank: its value is never
 * corrected, whoever wrote it first.
 */
export function tagDifference(
  desired: Record<string, string>,
  actual: Record<string, string> | undefined,
  fillOnly: readonly string[] = [],
): Record<string, string> {
  const lower = new Map(Object.entries(actual ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const fill = new Set(fillOnly.map((k) => k.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(desired)) {
    const have = lower.get(k.toLowerCase());
    if (fill.has(k.toLowerCase()) ? have === undefined || have.trim() === "" : have !== v) out[k] = v;
  }
  return out;
}

/**
 * The tags of a PUT that replaces an existing resource's (a failed workspace created again):
 * the desired ones, but the `fillOnly` tags the resource already carries keep their values.
 */
export function keepFillOnlyTags(
  desired: Record<string, string>,
  actual: Record<string, string> | undefined,
  fillOnly: readonly string[],
): Record<string, string> {
  const fill = new Set(fillOnly.map((k) => k.toLowerCase()));
  const kept = Object.entries(actual ?? {}).filter(([k, v]) => fill.has(k.toLowerCase()) && v.trim() !== "");
  if (kept.length === 0) return desired;
  const keptNames = new Set(kept.map(([k]) => k.toLowerCase()));
  return {
    ...Object.fromEntries(Object.entries(desired).filter(([k]) => !keptNames.has(k.toLowerCase()))),
    ...Object.fromEntries(kept),
  };
}
