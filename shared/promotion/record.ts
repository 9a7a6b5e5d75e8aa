/**
 * The promotion record: one Table Storage row per request, the durable answer to "what happened
 * to my promotion?". It survives crashes and redeliveries (the executor never keeps state in
 * memory between attempts) and it is how a redelivered finished request knows to do nothing.
 *
 * Table properties are limited to 64 KiB (32K UTF-16 characters); the plan of a three-
 * environment promotion can come close, so JSON fields are split over numbered properties.
 */
import type { TableClient } from "@azure/data-tables";
import { ensureTable } from "../ledger/tables.js";
import type { PromotionPlan } from "./plan.js";
import type { Refusal } from "./request.js";

export type PromotionStatus = "accepted" | "running" | "succeeded" | "rejected" | "failed";
export type StepOutcome = "created" | "updated" | "unchanged" | "skipped" | "failed";

export interface StepRecord {
  /** e.g. "dev/resourceGroup", "assets/copy". */
  name: string;
  outcome: StepOutcome;
  at: string;
  /** Writes this step made in the attempt that recorded it. */
  writes: number;
  attempt: number;
  detail?: string;
}

export interface PromotionRecord {
  requestId: string;
  status: PromotionStatus;
  project?: string;
  costCenter?: string;
  requestedBy?: string;
  dryRun: boolean;
  acceptedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Deliveries that reached the executor (the queue's dequeue count of the last one is `lastDequeueCount`). */
  attempts: number;
  lastDequeueCount?: number;
  steps: StepRecord[];
  /** ARM ids of every resource created or confirmed, and Entra groups as `group:<uniqueName>:<objectId>`. */
  resources: string[];
  lastError?: string;
  /** Why a request was refused (status rejected). */
  reasons?: Refusal[];
  /** The full plan; kept for dry runs (and for reading what a run aimed at). */
  plan?: PromotionPlan;
  /** sha256 of the request as first accepted; a different message under the same id is ignored. */
  requestHash?: string;
}

/** A promotion's project and the resources it created or confirmed (listProjectResources). */
export interface ProjectResources {
  requestId: string;
  project: string;
  costCenter?: string;
  /** ARM ids (and `group:` entries), as in PromotionRecord.resources. */
  resources: string[];
}

const PARTITION = "promotion";
const CHUNK = 30_000;
const JSON_FIELDS = ["steps", "resources", "reasons", "plan"] as const;
/** Parts of `resources` listProjectResources reads per row; a record with more is skipped. */
const LIST_MAX_PARTS = 4;

export function isFinished(status: PromotionStatus): boolean {
  return status === "succeeded" || status === "rejected";
}

export class PromotionRecords {
  constructor(private readonly table: TableClient) {}

  async get(requestId: string): Promise<PromotionRecord | undefined> {
    await ensureTable(this.table);
    try {
      const e = await this.table.getEntity<Record<string, unknown>>(PARTITION, requestId.toLowerCase());
      return fromEntity(e);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async save(record: PromotionRecord): Promise<void> {
    await ensureTable(this.table);
    await this.table.upsertEntity(toEntity(record), "Replace");
  }

  /**
   * The resources of every promotion that created something (running or succeeded, not a dry
   * run; with `includeFailed`, failed ones too: what they created is still theirs), reading only
   * the small columns, never the plan. Nothing when no promotion has ever
   * run (the table does not exist yet); a record whose resources span more than
   * LIST_MAX_PARTS parts is skipped.
   */
  async *listProjectResources(opts: { includeFailed?: boolean } = {}): AsyncIterable<ProjectResources> {
    const select = [
      "requestId",
      "status",
      "project",
      "costCenter",
      "dryRun",
      "resourcesParts",
      ...Array.from({ length: LIST_MAX_PARTS }, (_, i) => `resources_${i}`),
    ];
    try {
      for await (const e of this.table.listEntities<Record<string, unknown>>({
        queryOptions: { filter: `PartitionKey eq '${PARTITION}'`, select },
      })) {
        const counted =
          e.status === "succeeded" || e.status === "running" || (opts.includeFailed && e.status === "failed");
        if (e.dryRun === true || !counted) continue;
        if (typeof e.project !== "string") continue;
        const text = joinParts(e, "resources", LIST_MAX_PARTS);
        let ids: unknown;
        try {
          ids = text ? JSON.parse(text) : [];
        } catch {
          continue; // more parts than we read
        }
        if (!Array.isArray(ids)) continue;
        yield {
          requestId: String(e.requestId ?? e.rowKey),
          project: e.project,
          costCenter: typeof e.costCenter === "string" ? e.costCenter : undefined,
          resources: ids.filter((id): id is string => typeof id === "string"),
        };
      }
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return;
      throw err;
    }
  }
}

/** Serialises a run's record updates: parallel environment steps must not overwrite each other's. */
export class RecordWriter {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    readonly records: PromotionRecords,
    readonly record: PromotionRecord,
  ) {}

  update(change: (r: PromotionRecord) => void): Promise<void> {
    change(this.record);
    this.record.updatedAt = new Date().toISOString();
    const snapshot = structuredClone(this.record);
    this.chain = this.chain.then(() => this.records.save(snapshot));
    return this.chain;
  }

  step(step: Omit<StepRecord, "at" | "attempt">): Promise<void> {
    return this.update((r) => {
      const entry: StepRecord = { ...step, at: new Date().toISOString(), attempt: r.attempts };
      const i = r.steps.findIndex((s) => s.name === step.name);
      if (i >= 0) r.steps[i] = entry;
      else r.steps.push(entry);
    });
  }

  addResources(ids: readonly string[]): Promise<void> {
    return this.update((r) => {
      const seen = new Set(r.resources.map((x) => x.toLowerCase()));
      for (const id of ids) {
        if (seen.has(id.toLowerCase())) continue;
        seen.add(id.toLowerCase());
        r.resources.push(id);
      }
    });
  }

  flush(): Promise<void> {
    return this.chain;
  }
}

function toEntity(r: PromotionRecord): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  const e: Record<string, unknown> & { partitionKey: string; rowKey: string } = {
    partitionKey: PARTITION,
    rowKey: r.requestId.toLowerCase(),
    requestId: r.requestId,
    status: r.status,
    project: r.project,
    costCenter: r.costCenter,
    requestedBy: r.requestedBy,
    dryRun: r.dryRun,
    acceptedAt: r.acceptedAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    attempts: r.attempts,
    lastDequeueCount: r.lastDequeueCount,
    lastError: r.lastError?.slice(0, CHUNK),
    requestHash: r.requestHash,
  };
  for (const field of JSON_FIELDS) {
    const value = r[field];
    if (value === undefined) continue;
    const text = JSON.stringify(value);
    const parts = Math.max(1, Math.ceil(text.length / CHUNK));
    e[`${field}Parts`] = parts;
    for (let i = 0; i < parts; i++) e[`${field}_${i}`] = text.slice(i * CHUNK, (i + 1) * CHUNK);
  }
  for (const key of Object.keys(e)) if (e[key] === undefined) delete e[key];
  return e;
}

function fromEntity(e: Record<string, unknown>): PromotionRecord {
  const read = <T>(field: string): T | undefined => {
    if (!Number(e[`${field}Parts`] ?? 0)) return undefined;
    return JSON.parse(joinParts(e, field)) as T;
  };
  const str = (k: string) => (typeof e[k] === "string" ? (e[k] as string) : undefined);
  return {
    requestId: String(e.requestId ?? e.rowKey),
    status: String(e.status) as PromotionStatus,
    project: str("project"),
    costCenter: str("costCenter"),
    requestedBy: str("requestedBy"),
    dryRun: e.dryRun === true,
    acceptedAt: String(e.acceptedAt),
    updatedAt: String(e.updatedAt),
    finishedAt: str("finishedAt"),
    attempts: Number(e.attempts ?? 0),
    lastDequeueCount: typeof e.lastDequeueCount === "number" ? e.lastDequeueCount : undefined,
    steps: read<StepRecord[]>("steps") ?? [],
    resources: read<string[]>("resources") ?? [],
    lastError: str("lastError"),
    reasons: read<Refusal[]>("reasons"),
    plan: read<PromotionPlan>("plan"),
    requestHash: str("requestHash"),
  };
}

/** The JSON text of a field split by toEntity, from at most `maxParts` of its parts. */
function joinParts(e: Record<string, unknown>, field: string, maxParts = Infinity): string {
  const parts = Math.min(Number(e[`${field}Parts`] ?? 0), maxParts);
  let text = "";
  for (let i = 0; i < parts; i++) text += String(e[`${field}_${i}`] ?? "");
  return text;
}
