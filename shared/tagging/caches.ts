/**
 * Per-process memory of the event path. None of it is state that must survive (that lives in
 * Table Storage): losing it on a cold start only costs reads. Each cache is bounded and says
 * below why using it cannot leave a resource wrongly tagged.
 */
import { TtlLru } from "../lru.js";

export interface GroupTags {
  tags: Record<string, string>;
  location?: string;
}

export interface Observation {
  tags: Record<string, string>;
  location?: string;
  /** Epoch ms when the read (or write) that produced `tags` STARTED, on our clock. */
  at: number;
  /** The violations last recorded for this resource, so an unchanged set is not written again. */
  violationsKey?: string;
}

export interface TaggingCacheOptions {
  /** Resource-group tags live this long (a group's tag-only edits arrive as filtered tags/write events). */
  groupTtlMs: number;
  /** Tolerated difference between Azure's eventTime clock and ours. */
  clockSkewMs: number;
  maxGroups: number;
  maxResources: number;
  maxEventIds: number;
  /** How long a subscription's list of resources with open violations is trusted. */
  openViolationsTtlMs: number;
  /** Subscriptions whose list is kept, and open rows per subscription beyond which none is kept. */
  maxOpenViolationSubscriptions: number;
  maxOpenViolationRows: number;
}

export const DEFAULT_CACHE_OPTIONS: TaggingCacheOptions = {
  groupTtlMs: 60_000,
  clockSkewMs: 5_000,
  maxGroups: 2_000,
  maxResources: 20_000,
  maxEventIds: 20_000,
  openViolationsTtlMs: 10 * 60_000,
  maxOpenViolationSubscriptions: 100,
  maxOpenViolationRows: 20_000,
};

/**
 * A subscription's resources with open violations (ViolationLog.resourceKey), as one query
 * found them and this process has changed them since; undefined when there were too many to
 * keep (every resource then counts as "may have some").
 */
export interface OpenViolations {
  keys: Set<string> | undefined;
}

export class TaggingCaches {
  /**
   * Resource group id (lower case) -> its tags. Filled by reads, replaced by the group's own
   * write events (which always re-read the group), and short-lived because a tag-only change to
   * a group comes as a tags/write event that the subscription filters out.
   */
  readonly groups: TtlLru<string, GroupTags>;
  /**
   * Resource id (lower case) -> the tags we last read or wrote, and when. An event whose
   * eventTime is older than that moment (minus the clock skew) describes a write that our read
   * already saw, so its decision can use these tags without a new read. A newer event always
   * reads: a resource PUT replaces the whole tag set, so the write it reports may have removed
   * our tags.
   */
  readonly observed: TtlLru<string, Observation>;
  /** Ids of events fully handled: a redelivery (Event Grid is at-least-once) costs nothing. */
  readonly handledEvents: TtlLru<string, true>;
  /**
   * Subscription id (lower case) -> which of its resources have open violations, so that a
   * resource without violations now costs no Table call to find out whether an old row must be
   * resolved. Loaded by one query per subscription (shared by concurrent events), updated by
   * this process's own syncs, and reloaded after the TTL: a row another instance (or the
   * nightly run) opened meanwhile is resolved by the first event after the reload, or by the
   * next reconciliation.
   */
  readonly openViolations: TtlLru<string, Promise<OpenViolations>>;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(readonly options: TaggingCacheOptions = DEFAULT_CACHE_OPTIONS) {
    this.groups = new TtlLru(options.maxGroups, options.groupTtlMs);
    // Observations stay useful as long as out-of-order or redelivered events can still come
    // (Event Grid retries for up to 24 hours).
    this.observed = new TtlLru(options.maxResources, 24 * 60 * 60 * 1000);
    this.handledEvents = new TtlLru(options.maxEventIds, 24 * 60 * 60 * 1000);
    this.openViolations = new TtlLru(options.maxOpenViolationSubscriptions, options.openViolationsTtlMs);
  }

  /** Is an event at `eventTime` already reflected in what we observed? */
  covers(obs: Observation | undefined, eventTime: string): obs is Observation {
    if (!obs) return false;
    const t = Date.parse(eventTime);
    return !Number.isNaN(t) && t < obs.at - this.options.clockSkewMs;
  }

  /**
   * Runs `fn` after every earlier call for the same key has finished, so two events for one
   * resource in this process never read-then-write over each other.
   */
  async serialise<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  clear(): void {
    this.groups.clear();
    this.observed.clear();
    this.handledEvents.clear();
    this.openViolations.clear();
  }
}
