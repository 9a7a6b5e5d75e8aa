/**
 * Policy violations found on resources (region, naming, missing tags, tag limit). One row per
 * resource and kind of violation, so a violation seen again updates its row instead of adding
 * one: redelivered events and nightly runs converge on the same list. A violation that no
 * longer applies (the resource was fixed, or is gone) is *resolved*, not deleted: its row keeps
 * its history (`firstSeen`, `lastSeen`, `resolvedAt`, `resolvedBy`) and is reopened if the
 * violation comes back.
 *
 * Rows: partition = subscription, row = `{resource id}|{kind}` (both encoded, lower case), so a
 * resource's rows are one range query of one partition, and `open` (a boolean property) lets a
 * partition's open rows be listed without its resolved history.
 */
import type { TableClient } from "@azure/data-tables";
import { ensureTable, tableKey } from "./tables.js";

/**
 * `security`: aml-steward refused to act on something it did not create (a squatted group, a
 * foreign resource group, another project's asset). No scan can tell that it stopped
 * applying, so only an operator resolves it: syncFor and resolveUnseen leave it open.
 */
/**
 * `dataSegregation`: a datastore, connection, data version or role assignment gives an
 * environment without productionData access to production storage (or names storage that
 * cannot be resolved). `dataResidency`: a datastore, connection or data version uses storage
 * in a restricted region from a workspace elsewhere.
 * Both are kept by shared/segregation's checks, which the tag scan never sees.
 */
export type ViolationKind =
  | "region"
  | "naming"
  | "missingTags"
  | "tagLimit"
  | "security"
  | "access"
  | "dataSegregation"
  | "dataResidency";

/** Kinds whose rows only their own checks may resolve (not the nightly tag scan). */
const KEPT_ELSEWHERE: ReadonlySet<ViolationKind> = new Set(["access", "dataSegregation", "dataResidency"]);

export interface Violation {
  resourceId: string;
  subscriptionId: string;
  kind: ViolationKind;
  detail: string;
  project?: string;
  /** First sighting of this occurrence (a reopened violation starts a new one). */
  firstSeen: string;
  lastSeen: string;
  correlationId?: string;
  /** When it stopped applying; absent while it is open. */
  resolvedAt?: string;
  /** Correlation id of what saw it resolved: an event's, or a reconcile run id. */
  resolvedBy?: string;
}

/** A violation as the tag decision reports it. */
export interface FoundViolation {
  kind: ViolationKind;
  detail: string;
}

export interface SyncResult {
  /** Kinds recorded for the first time, or reopened. */
  opened: ViolationKind[];
  /** Kinds already open whose row was refreshed (lastSeen, detail). */
  refreshed: ViolationKind[];
  /** Kinds that were open and no longer apply, now resolved. */
  resolved: ViolationKind[];
  /** Kinds open after the sync (= the current ones). */
  open: ViolationKind[];
  /** Table requests made (1 query + one per write). */
  tableCalls: number;
}

/** The stored row: the violation plus its keys and open flag. */
interface Row extends Violation {
  partitionKey: string;
  rowKey: string;
  etag?: string;
  open?: boolean;
}

const statusOf = (e: unknown) => (e as { statusCode?: number } | undefined)?.statusCode;
const iso = (at: string | undefined) => (at ? new Date(at).toISOString() : new Date().toISOString());
const later = (a: string, b: string) => (Date.parse(a) >= Date.parse(b) ? a : b);
/** Rows written before resolution existed have no `open`; they are open unless resolved. */
const isOpen = (r: Pick<Row, "open" | "resolvedAt">) => r.open !== false && !r.resolvedAt;
const odata = (s: string) => s.replace(/'/g, "''");

function toViolation(r: Row): Violation {
  return {
    resourceId: r.resourceId,
    subscriptionId: r.subscriptionId,
    kind: r.kind,
    detail: r.detail,
    project: r.project,
    firstSeen: r.firstSeen,
    lastSeen: r.lastSeen,
    correlationId: r.correlationId,
    ...(r.resolvedAt ? { resolvedAt: r.resolvedAt, resolvedBy: r.resolvedBy } : {}),
  };
}

/** The subscription segment of an ARM id. */
function subscriptionOf(resourceId: string): string | undefined {
  return /^\/subscriptions\/([^/]+)/i.exec(resourceId)?.[1];
}

export class ViolationLog {
  constructor(private readonly table: TableClient) {}

  static partitionKey(subscriptionId: string): string {
    return tableKey(subscriptionId);
  }

  /** The key this log (and the event path's caches) knows a resource by. */
  static resourceKey(resourceId: string): string {
    return tableKey(resourceId);
  }

  private static rowKey(resourceId: string, kind: ViolationKind): string {
    return `${tableKey(resourceId)}|${kind}`;
  }

  /**
   * Record (or refresh) one violation; returns true when it is new or reopened. Two Table
   * calls (a point read, then the write). `syncFor` records a resource's whole set for less.
   */
  async upsert(v: Omit<Violation, "firstSeen" | "lastSeen"> & { seenAt?: string }): Promise<boolean> {
    await ensureTable(this.table);
    const partitionKey = ViolationLog.partitionKey(v.subscriptionId);
    const rowKey = ViolationLog.rowKey(v.resourceId, v.kind);
    let existing: Row | undefined;
    try {
      existing = await this.table.getEntity<Row>(partitionKey, rowKey);
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    await this.write(v, iso(v.seenAt), existing);
    return !existing || !isOpen(existing);
  }

  /** Writes an open row: a new occurrence unless `existing` is open (then firstSeen is kept). */
  private async write(
    v: Omit<Violation, "firstSeen" | "lastSeen">,
    seen: string,
    existing: Row | undefined,
  ): Promise<void> {
    const continuing = existing && isOpen(existing);
    await this.table.upsertEntity<Row>(
      {
        partitionKey: ViolationLog.partitionKey(v.subscriptionId),
        rowKey: ViolationLog.rowKey(v.resourceId, v.kind),
        resourceId: v.resourceId,
        subscriptionId: v.subscriptionId,
        kind: v.kind,
        detail: v.detail,
        project: v.project,
        firstSeen: continuing ? existing.firstSeen : seen,
        // Never backwards: a late writer (another instance's clock) keeps the later sighting.
        lastSeen: continuing ? later(existing.lastSeen, seen) : seen,
        correlationId: v.correlationId,
        open: true,
        // "Replace" drops resolvedAt/resolvedBy of a reopened row.
      },
      "Replace",
    );
  }

  /**
   * Marks one violation resolved. Returns false when there was no open row, or when the row
   * changed since it was read (someone saw it again meanwhile: it is not resolved then).
   */
  async resolve(
    resourceId: string,
    subscriptionId: string,
    kind: ViolationKind,
    opts: { at?: string; correlationId?: string } = {},
  ): Promise<boolean> {
    await ensureTable(this.table);
    let row: Row;
    try {
      row = await this.table.getEntity<Row>(
        ViolationLog.partitionKey(subscriptionId),
        ViolationLog.rowKey(resourceId, kind),
      );
    } catch (e) {
      if (statusOf(e) === 404) return false;
      throw e;
    }
    if (!isOpen(row)) return false;
    return this.markResolved(row, iso(opts.at), opts.correlationId);
  }

  /** Merge with If-Match: a row refreshed since it was read stays open. */
  private async markResolved(row: Row, at: string, correlationId: string | undefined): Promise<boolean> {
    try {
      await this.table.updateEntity(
        {
          partitionKey: row.partitionKey,
          rowKey: row.rowKey,
          open: false,
          resolvedAt: at,
          ...(correlationId ? { resolvedBy: correlationId } : {}),
        },
        "Merge",
        { etag: row.etag },
      );
      return true;
    } catch (e) {
      if (statusOf(e) === 412 || statusOf(e) === 404) return false;
      throw e;
    }
  }

  /** Every row of one resource (open and resolved): one range query of one partition. */
  private async rowsOf(resourceId: string, subscriptionId: string): Promise<Row[]> {
    const prefix = `${tableKey(resourceId)}|`;
    // '|' + 1 = '}': the range holds exactly the rows whose key starts with the prefix.
    const filter =
      `PartitionKey eq '${odata(ViolationLog.partitionKey(subscriptionId))}'` +
      ` and RowKey gt '${odata(prefix)}' and RowKey lt '${odata(`${tableKey(resourceId)}}`)}'`;
    const rows: Row[] = [];
    for await (const e of this.table.listEntities<Row>({ queryOptions: { filter } })) rows.push(e);
    return rows;
  }

  /**
   * Makes a resource's rows say what applies now: each current violation recorded (new,
   * reopened, or refreshed), each open row of another kind resolved. One query plus one write
   * per change (and per refresh); `refresh: false` skips rewriting an open row whose detail is
   * unchanged. An empty `current` resolves everything still open for the resource.
   */
  async syncFor(
    resourceId: string,
    subscriptionId: string,
    current: FoundViolation[],
    opts: { project?: string; correlationId?: string; seenAt?: string; refresh?: boolean } = {},
  ): Promise<SyncResult> {
    await ensureTable(this.table);
    const seen = iso(opts.seenAt);
    const rows = await this.rowsOf(resourceId, subscriptionId);
    const result: SyncResult = { opened: [], refreshed: [], resolved: [], open: [], tableCalls: 1 };
    const byKind = new Map(rows.map((r) => [r.kind, r]));
    const kinds = new Set<ViolationKind>();
    for (const v of current) {
      if (kinds.has(v.kind)) continue;
      kinds.add(v.kind);
      result.open.push(v.kind);
      const existing = byKind.get(v.kind);
      const open = existing !== undefined && isOpen(existing);
      if (open && opts.refresh === false && existing.detail === v.detail) continue;
      await this.write(
        {
          resourceId,
          subscriptionId,
          kind: v.kind,
          detail: v.detail,
          project: opts.project,
          correlationId: opts.correlationId,
        },
        seen,
        existing,
      );
      result.tableCalls++;
      (open ? result.refreshed : result.opened).push(v.kind);
    }
    for (const r of rows) {
      if (kinds.has(r.kind) || !isOpen(r) || r.kind === "security") continue;
      result.tableCalls++;
      if (await this.markResolved(r, seen, opts.correlationId)) result.resolved.push(r.kind);
    }
    return result;
  }

  /**
   * Keys (`ViolationLog.resourceKey`) of the resources with an open violation in a
   * subscription: one query of the partition's open rows (a page per 1,000), only their
   * resource ids. Undefined when there are more than `max` rows (the caller then asks per
   * resource).
   */
  async openResourceKeys(
    subscriptionId: string,
    opts: { max?: number } = {},
  ): Promise<Set<string> | undefined> {
    await ensureTable(this.table);
    const max = opts.max ?? 20_000;
    const keys = new Set<string>();
    let rows = 0;
    for await (const e of this.table.listEntities<Pick<Row, "resourceId">>({
      queryOptions: {
        filter: `PartitionKey eq '${odata(ViolationLog.partitionKey(subscriptionId))}' and open eq true`,
        select: ["resourceId"],
      },
    })) {
      if (++rows > max) return undefined;
      keys.add(ViolationLog.resourceKey(e.resourceId));
    }
    return keys;
  }

  /**
   * Kinds (of `kinds`) open on the children of a resource (a workspace's datastores and
   * connections): one range query. A child's id extends its parent's with `/`, so its row keys
   * start with the parent's key and an encoded '/' (`%2f`); the parent's own rows (`{key}|`)
   * and a sibling whose name merely starts alike (`{key}2...`) sort outside the range.
   */
  async openChildKinds(parentId: string, kinds: readonly ViolationKind[]): Promise<ViolationKind[]> {
    const sub = subscriptionOf(parentId);
    if (!sub || kinds.length === 0) return [];
    await ensureTable(this.table);
    const key = tableKey(parentId);
    const filter =
      `PartitionKey eq '${odata(ViolationLog.partitionKey(sub))}' and open eq true` +
      ` and RowKey gt '${odata(`${key}%2f`)}' and RowKey lt '${odata(`${key}%2g`)}'`;
    const found = new Set<ViolationKind>();
    for await (const e of this.table.listEntities<Pick<Row, "kind">>({
      queryOptions: { filter, select: ["kind"] },
    }))
      if (kinds.includes(e.kind)) found.add(e.kind);
    return [...found];
  }

  /**
   * The same for a whole subscription (the nightly run): parent key (`resourceKey`) -> kinds of
   * its children's open violations of `kinds`, from one query of the partition's open rows of
   * those kinds. `parentOf` maps a child's id to its parent's (undefined: not a child).
   */
  async openChildKindsIn(
    subscriptionId: string,
    kinds: readonly ViolationKind[],
    parentOf: (resourceId: string) => string | undefined,
  ): Promise<Map<string, ViolationKind[]>> {
    const byParent = new Map<string, Set<ViolationKind>>();
    if (kinds.length > 0) {
      await ensureTable(this.table);
      const ofKind = kinds.map((k) => `kind eq '${odata(k)}'`).join(" or ");
      for await (const e of this.table.listEntities<Pick<Row, "kind" | "resourceId">>({
        queryOptions: {
          filter: `PartitionKey eq '${odata(ViolationLog.partitionKey(subscriptionId))}' and open eq true and (${ofKind})`,
          select: ["kind", "resourceId"],
        },
      })) {
        const parent = parentOf(e.resourceId);
        if (!parent) continue;
        const key = ViolationLog.resourceKey(parent);
        let set = byParent.get(key);
        if (!set) byParent.set(key, (set = new Set()));
        set.add(e.kind);
      }
    }
    return new Map([...byParent].map(([k, v]) => [k, [...v]]));
  }

  /**
   * Resolves every open row of a subscription last seen before `seenBefore` (and accepted by
   * `where`): what a complete scan that refreshed each violation it found did not see again.
   * Streams the rows (a page at a time); one write per resolved row, If-Match, so a row seen
   * again meanwhile stays open. Returns how many it resolved.
   */
  async resolveUnseen(
    subscriptionId: string,
    seenBefore: string,
    opts: {
      at?: string;
      correlationId?: string;
      where?: (v: Violation) => boolean;
      /** Only these kinds (may name kinds kept elsewhere: their own scan resolves them so). */
      kinds?: readonly ViolationKind[];
    } = {},
  ): Promise<number> {
    await ensureTable(this.table);
    const at = iso(opts.at);
    const filter =
      `PartitionKey eq '${odata(ViolationLog.partitionKey(subscriptionId))}' and open eq true` +
      ` and lastSeen lt '${odata(iso(seenBefore))}'`;
    let resolved = 0;
    for await (const r of this.table.listEntities<Row>({ queryOptions: { filter } })) {
      // Access and data rows are kept by their own checks (shared/access, shared/segregation),
      // which the tag scan never sees.
      const ours = opts.kinds ? opts.kinds.includes(r.kind) : !KEPT_ELSEWHERE.has(r.kind);
      if (r.kind === "security" || !ours || (opts.where && !opts.where(toViolation(r)))) continue;
      if (await this.markResolved(r, at, opts.correlationId)) resolved++;
    }
    return resolved;
  }

  /**
   * Violations, open ones unless `includeResolved`. With `resourceId`, one range query (the
   * subscription is taken from the id when not given); otherwise a partition, or everything.
   */
  async list(
    filter: { subscriptionId?: string; resourceId?: string; includeResolved?: boolean } = {},
  ): Promise<Violation[]> {
    await ensureTable(this.table);
    let rows: Row[];
    const sub = filter.subscriptionId ?? (filter.resourceId ? subscriptionOf(filter.resourceId) : undefined);
    if (filter.resourceId && sub) {
      rows = await this.rowsOf(filter.resourceId, sub);
    } else {
      rows = [];
      const query = sub ? `PartitionKey eq '${odata(ViolationLog.partitionKey(sub))}'` : undefined;
      for await (const e of this.table.listEntities<Row>({ queryOptions: { filter: query } })) {
        if (filter.resourceId && e.resourceId.toLowerCase() !== filter.resourceId.toLowerCase()) continue;
        rows.push(e);
      }
    }
    return rows.filter((r) => filter.includeResolved || isOpen(r)).map(toViolation);
  }
}
