/**
 * One run per subscription at a time: a lease held as a Table Storage entity (TABLES.leases)
 * with an expiry, taken and renewed only through ETag-conditional writes.
 *
 * Why a table entity rather than a blob lease: a blob lease lasts 15-60 s or forever, so a
 * run must renew it every few seconds or risk an infinite lease that outlives a crash and
 * needs a manual break. The entity's expiry is ours to choose (minutes), a crashed holder's
 * lease simply runs out, the holder (run id) and times are readable by an operator, and the
 * ETag makes take-over atomic: of two runs that find an expired lease, one update wins and the
 * other gets 412. The entity's expiry is compared with the local clock; instances in Azure
 * keep clock skew far below the lease's safety margin.
 *
 * Fencing: the holder renews every ttl/3 and `held()` turns false as soon as a renewal is
 * refused or the last confirmed expiry (minus a margin) has passed; the write loop asks before
 * every write, so a run that stalled past its lease stops instead of writing alongside the
 * run that took over.
 */
import type { TableClient } from "@azure/data-tables";
import { ensureTable, tableKey } from "../ledger/tables.js";

const PARTITION = "lease";

export interface LeaseInfo {
  holder: string;
  expiresAt: string;
  acquiredAt: string;
}

export type AcquireResult = { ok: true; lease: Lease } | { ok: false; heldBy: LeaseInfo };

interface LeaseEntity extends LeaseInfo {
  partitionKey: string;
  rowKey: string;
  etag?: string;
}

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private lost = false;

  private constructor(
    private readonly table: TableClient,
    readonly key: string,
    readonly holder: string,
    private readonly ttlMs: number,
    private etag: string,
    private expiresAt: number,
    private readonly now: () => number,
  ) {}

  /** Takes the lease named `name` for `holder`, unless another holder has an unexpired one. */
  static async acquire(
    table: TableClient,
    name: string,
    holder: string,
    opts: { ttlMs: number; now?: () => number; autoRenew?: boolean },
  ): Promise<AcquireResult> {
    const now = opts.now ?? Date.now;
    await ensureTable(table);
    const rowKey = tableKey(name);
    const fresh = (): LeaseEntity => ({
      partitionKey: PARTITION,
      rowKey,
      holder,
      acquiredAt: new Date(now()).toISOString(),
      expiresAt: new Date(now() + opts.ttlMs).toISOString(),
    });
    for (let tries = 0; tries < 3; tries++) {
      const entity = fresh();
      try {
        const res = await table.createEntity(entity);
        return { ok: true, lease: Lease.held(table, rowKey, holder, opts, res.etag!, entity, now) };
      } catch (e) {
        if (statusOf(e) !== 409) throw e;
      }
      let current: LeaseEntity;
      try {
        current = await table.getEntity<LeaseEntity>(PARTITION, rowKey);
      } catch (e) {
        if (statusOf(e) === 404) continue; // released meanwhile: try to create again
        throw e;
      }
      const expired = Date.parse(current.expiresAt) <= now();
      if (!expired && current.holder !== holder) {
        return {
          ok: false,
          heldBy: { holder: current.holder, expiresAt: current.expiresAt, acquiredAt: current.acquiredAt },
        };
      }
      try {
        const res = await table.updateEntity(entity, "Replace", { etag: current.etag! });
        return { ok: true, lease: Lease.held(table, rowKey, holder, opts, res.etag!, entity, now) };
      } catch (e) {
        if (statusOf(e) !== 412 && statusOf(e) !== 404) throw e;
        // Someone else took it (or released it) between our read and write: look again.
      }
    }
    const current = await table.getEntity<LeaseEntity>(PARTITION, rowKey).catch(() => undefined);
    return {
      ok: false,
      heldBy: current ?? { holder: "(unknown)", expiresAt: "", acquiredAt: "" },
    };
  }

  private static held(
    table: TableClient,
    rowKey: string,
    holder: string,
    opts: { ttlMs: number; autoRenew?: boolean },
    etag: string,
    entity: LeaseEntity,
    now: () => number,
  ): Lease {
    const lease = new Lease(table, rowKey, holder, opts.ttlMs, etag, Date.parse(entity.expiresAt), now);
    if (opts.autoRenew !== false) lease.startRenewing();
    return lease;
  }

  /** True while the lease is certainly ours: renewals succeed and the expiry is not near. */
  held(): boolean {
    // Stop a little before the expiry: a write started now must not land after it.
    const margin = Math.min(30_000, this.ttlMs / 5);
    return !this.lost && this.now() < this.expiresAt - margin;
  }

  get expires(): Date {
    return new Date(this.expiresAt);
  }

  /** Pushes the expiry to now + ttl; false (and the lease is lost) when another holder has it. */
  async renew(): Promise<boolean> {
    if (this.lost) return false;
    const expiresAt = this.now() + this.ttlMs;
    try {
      const res = await this.table.updateEntity(
        { partitionKey: PARTITION, rowKey: this.key, expiresAt: new Date(expiresAt).toISOString() },
        "Merge",
        { etag: this.etag },
      );
      this.etag = res.etag!;
      this.expiresAt = expiresAt;
      return true;
    } catch (e) {
      if (statusOf(e) === 412 || statusOf(e) === 404) {
        this.lost = true;
        this.stopRenewing();
        return false;
      }
      // A transient storage error: keep the old expiry; held() turns false if it passes.
      return this.held();
    }
  }

  /** Gives the lease up (only if still ours); a lost or taken-over lease is left alone. */
  async release(): Promise<void> {
    this.stopRenewing();
    if (this.lost) return;
    this.lost = true;
    try {
      await this.table.deleteEntity(PARTITION, this.key, { etag: this.etag });
    } catch (e) {
      if (statusOf(e) !== 412 && statusOf(e) !== 404) throw e;
    }
  }

  private startRenewing(): void {
    const every = Math.max(1000, Math.floor(this.ttlMs / 3));
    this.timer = setInterval(() => void this.renew(), every);
    // A forgotten lease must never keep a process (CLI, tests) alive.
    this.timer.unref();
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
