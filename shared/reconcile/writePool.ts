/**
 * Runs the tag writes of one subscription with bounded, self-adjusting concurrency.
 *
 * - At most `concurrency` writes in flight (policy.reconcile.concurrency).
 * - Items are pulled from an async source one at a time, so memory holds only what is in
 *   flight, whatever the length of the drift list.
 * - Throttling (AIMD): every 429 seen (those the SDK retried by itself, through the
 *   `throttledCount` signal, and those that came back as errors) halves the concurrency;
 *   each `limit` successes in a row add one slot back. A 429 that reaches us also pauses every
 *   worker until its Retry-After has passed, since ARM's limit is per subscription and caller.
 * - An item whose write fails transiently is retried here, after the SDK's own retries, up to
 *   `maxAttempts`; so a 429 storm slows the run down instead of failing it.
 * - `shouldContinue` is asked before every write: lease lost, abort or time budget stop the run
 *   between writes (what was not started stays pending; the next run picks it up).
 */
import { backoffMs, isRetryable, isThrottled, retryAfterMs, sleep as realSleep } from "./throttle.js";

export interface PoolOptions<T> {
  concurrency: number;
  /** Attempts per item at this level (each one already includes the SDK's retries). */
  maxAttempts: number;
  shouldContinue(): boolean;
  /** A counter of 429 responses that grows as they happen (e.g. processCounts.throttled). */
  throttledCount?(): number;
  onRetry?(item: T, attempt: number, delayMs: number, error: unknown): void;
  sleep?(ms: number): Promise<void>;
  now?(): number;
  random?(): number;
}

export interface PoolResult {
  /** True when shouldContinue() stopped the pool before the source ran out. */
  stopped: boolean;
  /** Items taken from the source. */
  started: number;
  /** Lowest concurrency the pool went down to. */
  minConcurrency: number;
  /** Concurrency when the pool ended (back at the maximum after a throttled spell). */
  finalConcurrency: number;
  /** Total time spent paused for Retry-After, in ms. */
  pausedMs: number;
}

export async function runPool<T>(
  source: AsyncIterable<T> | Iterable<T>,
  work: (item: T) => Promise<void>,
  onFailure: (item: T, error: unknown) => void,
  opts: PoolOptions<T>,
): Promise<PoolResult> {
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const max = Math.max(1, Math.floor(opts.concurrency));
  const iterator =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (source as Iterable<T>)[Symbol.iterator]();

  let limit = max;
  let active = 0;
  let pauseUntil = 0;
  let streak = 0;
  let lastThrottled = opts.throttledCount?.() ?? 0;
  const result: PoolResult = {
    stopped: false,
    started: 0,
    minConcurrency: max,
    finalConcurrency: max,
    pausedMs: 0,
  };

  const cut = () => {
    limit = Math.max(1, Math.floor(limit / 2));
    streak = 0;
    result.minConcurrency = Math.min(result.minConcurrency, limit);
  };
  const noteThrottleSignal = () => {
    const seen = opts.throttledCount?.();
    if (seen !== undefined && seen > lastThrottled) {
      lastThrottled = seen;
      cut();
    }
  };
  const throttled = (e: unknown) => {
    cut();
    const wait = retryAfterMs(e) ?? 1000;
    pauseUntil = Math.max(pauseUntil, now() + wait);
  };
  const succeeded = () => {
    if (limit >= max) return;
    if (++streak >= limit) {
      limit++;
      streak = 0;
    }
  };

  /** Waits for a free slot and the end of any pause; false when the run must stop. */
  const acquire = async (): Promise<boolean> => {
    for (;;) {
      if (!opts.shouldContinue()) return false;
      noteThrottleSignal();
      const wait = pauseUntil - now();
      if (wait > 0) {
        const step = Math.min(wait, 500);
        result.pausedMs += step;
        await sleep(step);
        continue;
      }
      if (active < limit) {
        active++;
        return true;
      }
      await sleep(20);
    }
  };

  const attempt = async (item: T) => {
    for (let n = 1; ; n++) {
      try {
        await work(item);
        succeeded();
        return;
      } catch (e) {
        if (isThrottled(e)) throttled(e);
        if (!isRetryable(e) || n >= opts.maxAttempts) {
          onFailure(item, e);
          return;
        }
        // Stopping mid-retry leaves the item pending rather than failed: it was not refused.
        if (!opts.shouldContinue()) return;
        const delay = backoffMs(n, e, 60_000, opts.random);
        opts.onRetry?.(item, n, delay, e);
        await sleep(delay);
      }
    }
  };

  let exhausted = false;
  const worker = async () => {
    while (!exhausted) {
      if (!(await acquire())) {
        result.stopped = true;
        return;
      }
      try {
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          return;
        }
        result.started++;
        await attempt(next.value);
      } finally {
        active--;
      }
    }
  };

  await Promise.all(Array.from({ length: max }, worker));
  // Close the source (e.g. a blob download) when the pool stopped before reading it all.
  if (!exhausted) await iterator.return?.();
  result.finalConcurrency = limit;
  return result;
}
