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
import type { PromotionPlan } from "./planTypes.js";
import type { Refusal } from "./request.js";

export type PromotionStatus =
  "accepted" | "awaitingApproval" | "approved" | "running" | "succeeded" | "rejected" | "expired" | "failed";

/** A person or app as a validated token named them (never as a message body claimed). */
export interface Identity {
  objectId: string;
  userPrincipalName?: string;
  displayName?: string;
}

/** Why a request waits for an approver, and who may give it. */
export interface ApprovalRequirement {
  /** The Entra group whose members may approve (the cost centre's budget owners). */
  group: { id: string; name: string };
  reasons: string[];
  /** ISO time after which the request is closed as expired. */
  deadline: string;
}

export interface Decision {
  by: Identity;
  at: string;
  decision: "approve" | "reject";
  comment?: string;
  /** The plan the approver saw (sha256 of the stored plan). */
  planHash?: string;
  /** accepted: it counted; refused: it did not, for `reason`. */
  outcome: "accepted" | "refused";
  reason?: string;
}

/** One delivery of a message about this request, whatever became of it. */
export interface AttemptEntry {
  at: string;
  /** The queue message's id (stable across its redeliveries), or "http". */
  messageId: string;
  dequeueCount: number;
  outcome: string;
}
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
  /** sha256 of the request and its sender as first accepted; a different one under the same id is refused. */
  requestHash?: string;
  /** Who sent the request, from their validated token. */
  requester?: Identity;
  /** A new project, or a change to one aml-steward already built. */
  kind?: "newProject" | "change";
  /** Object ids of the owners the request names, resolved at acceptance (the project's owners once it runs). */
  ownerIds?: string[];
  /** Present when the request needs an approval before anything is created. */
  approval?: ApprovalRequirement;
  decisions?: Decision[];
  /** sha256 of `plan`: what an approver approves, and what then runs. */
  planHash?: string;
  /** Every delivery, including those that found the work done or held by another delivery. */
  attemptLog?: AttemptEntry[];
  /** The delivery executing the plan, so two deliveries never execute at once. */
  lease?: { holder: string; until: string };
  /** For a refused message recorded under its own id: the request id it claimed. */
  claimedRequestId?: string;
}

/** Table Storage answered 412: someone else wrote the record since it was read. */
export class RecordChanged extends Error {
  constructor(requestId: string) {
    super(`promotion record ${requestId} changed while being updated`);
    this.name = "RecordChanged";
  }
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
const JSON_FIELDS = [
  "steps",
  "resources",
  "reasons",
  "plan",
  "requester",
  "ownerIds",
  "approval",
  "decisions",
  "attemptLog",
  "lease",
] as const;
/** attemptLog keeps the newest entries only, so a message stuck in redelivery cannot grow a row past 1 MiB. */
const MAX_ATTEMPT_LOG = 50;
/** Parts of `resources` listProjectResources reads per row; a record with more is skipped. */
const LIST_MAX_PARTS = 4;

export function isFinished(status: PromotionStatus): boolean {
  return status === "succeeded" || status === "rejected" || status === "expired";
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

  /** The record and its ETag, for a conditional update. */
  async getVersioned(requestId: string): Promise<{ record: PromotionRecord; etag: string } | undefined> {
    await ensureTable(this.table);
    try {
      const e = await this.table.getEntity<Record<string, unknown>>(PARTITION, requestId.toLowerCase());
      return { record: fromEntity(e), etag: String(e.etag) };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  /**
   * Inserts a new record; undefined when one with this id exists already. The first sender to
   * reach the table owns the id: a read-then-write check would let two senders both believe
   * they did.
   */
  async create(record: PromotionRecord): Promise<string | undefined> {
    await ensureTable(this.table);
    try {
      const r = await this.table.createEntity(toEntity(record));
      if (!r.etag) throw new Error("Table Storage answered an insert without an ETag");
      return r.etag;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 409) return undefined;
      throw err;
    }
  }

  /** Replaces the record if it is still at `etag`; throws RecordChanged otherwise. */
  async replace(record: PromotionRecord, etag: string): Promise<string> {
    try {
      const r = await this.table.updateEntity(toEntity(record), "Replace", { etag });
      if (!r.etag) throw new Error("Table Storage answered an update without an ETag");
      return r.etag;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 412 || status === 404) throw new RecordChanged(record.requestId);
      throw err;
    }
  }

  /**
   * Read, change, write back conditionally; on a concurrent write, read again and re-apply.
   * For short decisions (an attempt entry, an approval, a lease) made against the newest record.
   */
  async mutate<T>(
    requestId: string,
    change: (r: PromotionRecord) => T,
  ): Promise<{ record: PromotionRecord; etag: string; result: T } | undefined> {
    for (let i = 0; ; i++) {
      const current = await this.getVersioned(requestId);
      if (!current) return undefined;
      const result = change(current.record);
      current.record.updatedAt = new Date().toISOString();
      try {
        const etag = await this.replace(current.record, current.etag);
        return { record: current.record, etag, result };
      } catch (e) {
        if (!(e instanceof RecordChanged) || i >= 20) throw e;
      }
    }
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

/**
 * Serialises a run's record updates: parallel environment steps must not overwrite each other's.
 * Writes are conditional on the record's ETag. The delivery holding the lease is the only one
 * that changes steps and status while it runs; other deliveries only append to `attemptLog` and
 * `decisions`, so on a conflict the writer takes their entries from the newer record and writes
 * again.
 */
export class RecordWriter {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    readonly records: PromotionRecords,
    readonly record: PromotionRecord,
    private etag: string,
  ) {}

  update(change: (r: PromotionRecord) => void): Promise<void> {
    change(this.record);
    this.record.updatedAt = new Date().toISOString();
    this.chain = this.chain.then(() => this.write());
    return this.chain;
  }

  private async write(): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        this.etag = await this.records.replace(this.record, this.etag);
        return;
      } catch (e) {
        if (!(e instanceof RecordChanged) || i >= 20) throw e;
        const newer = await this.records.getVersioned(this.record.requestId);
        if (!newer) throw e;
        this.record.attemptLog = mergeAttempts(this.record.attemptLog, newer.record.attemptLog);
        this.record.decisions = mergeDecisions(this.record.decisions, newer.record.decisions);
        this.etag = newer.etag;
      }
    }
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

export function mergeDecisions(a: Decision[] | undefined, b: Decision[] | undefined): Decision[] | undefined {
  if (!a && !b) return undefined;
  const key = (x: Decision) => `${x.at}|${x.by.objectId}|${x.decision}|${x.outcome}`;
  const byKey = new Map<string, Decision>();
  for (const x of [...(a ?? []), ...(b ?? [])]) byKey.set(key(x), x);
  return [...byKey.values()].sort((x, y) => x.at.localeCompare(y.at));
}

export function mergeAttempts(a: AttemptEntry[] | undefined, b: AttemptEntry[] | undefined): AttemptEntry[] {
  const key = (x: AttemptEntry) => `${x.at}|${x.messageId}|${x.dequeueCount}|${x.outcome}`;
  const byKey = new Map<string, AttemptEntry>();
  for (const x of [...(a ?? []), ...(b ?? [])]) byKey.set(key(x), x);
  return [...byKey.values()].sort((x, y) => x.at.localeCompare(y.at)).slice(-MAX_ATTEMPT_LOG);
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
    kind: r.kind,
    planHash: r.planHash,
    claimedRequestId: r.claimedRequestId,
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
    requester: read<Identity>("requester"),
    kind: str("kind") as PromotionRecord["kind"],
    ownerIds: read<string[]>("ownerIds"),
    approval: read<ApprovalRequirement>("approval"),
    decisions: read<Decision[]>("decisions"),
    planHash: str("planHash"),
    attemptLog: read<AttemptEntry[]>("attemptLog"),
    lease: read<{ holder: string; until: string }>("lease"),
    claimedRequestId: str("claimedRequestId"),
  };
}

/** The JSON text of a field split by toEntity, from at most `maxParts` of its parts. */
function joinParts(e: Record<string, unknown>, field: string, maxParts = Infinity): string {
  const parts = Math.min(Number(e[`${field}Parts`] ?? 0), maxParts);
  let text = "";
  for (let i = 0; i < parts; i++) text += String(e[`${field}_${i}`] ?? "");
  return text;
}
