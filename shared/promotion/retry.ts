/**
 * In-process back-off for the waits that are part of the job rather than failures: Entra's
 * replication delay (a new group is not yet known to ARM or visible to Graph reads). Anything
 * else transient is left to the SDKs' own retry policies and, beyond them, to the queue.
 */
export interface Backoff {
  /** Waits between attempts, in ms; the number of entries is the number of retries. */
  delaysMs: readonly number[];
}

/** Entra replication is documented in minutes; about 4 minutes of patience in all. */
export const REPLICATION_BACKOFF: Backoff = {
  delaysMs: [2_000, 4_000, 8_000, 15_000, 30_000, 60_000, 120_000],
};
/** Graph read-after-write on a just-created group: usually seconds. */
export const GRAPH_VISIBILITY_BACKOFF: Backoff = { delaysMs: [1_000, 2_000, 4_000, 8_000, 15_000, 30_000] };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Calls `fn` until it succeeds, `retryable(e)` is false, or the back-off is spent (then rethrows). */
export async function withBackoff<T>(
  fn: () => Promise<T>,
  retryable: (e: unknown) => boolean,
  backoff: Backoff,
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const delay = backoff.delaysMs[attempt];
      if (delay === undefined || !retryable(e)) throw e;
      onRetry?.(e, attempt + 1, delay);
      await sleep(delay);
    }
  }
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping order in the results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length && errors.length === 0) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
  return out;
}
