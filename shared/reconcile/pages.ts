/**
 * Page-by-page listing that survives throttling. The SDK's `byPage()` follows nextLink and
 * retries each request (honouring Retry-After); when it finally gives up on a transient error
 * we wait and reopen the listing at the last page's continuation token, so a 429 storm in the
 * middle of a 100-page listing costs a pause, not the run, and no page is fetched twice.
 */
import { getContinuationToken } from "@azure/arm-resources";
import { backoffMs, isRetryable, sleep as realSleep } from "./throttle.js";

export interface PagingOptions {
  /** Consecutive failures tolerated on one page before giving up (each already retried by the SDK). */
  maxAttempts?: number;
  onRetry?(attempt: number, delayMs: number, error: unknown): void;
  sleep?(ms: number): Promise<void>;
}

/**
 * Yields the pages of a listing. `open(token)` starts it (token undefined) or resumes it after
 * the page whose continuation token is `token`, e.g. `(t) => client.resources.list().byPage({ continuationToken: t })`.
 */
export async function* resumablePages<T>(
  open: (continuationToken?: string) => AsyncIterableIterator<T[]>,
  opts: PagingOptions = {},
): AsyncGenerator<T[]> {
  const sleep = opts.sleep ?? realSleep;
  const maxAttempts = opts.maxAttempts ?? 8;
  let token: string | undefined;
  let failures = 0;
  for (;;) {
    const pages = open(token);
    try {
      for (;;) {
        const next = await pages.next();
        if (next.done) return;
        failures = 0;
        token = getContinuationToken(next.value);
        yield next.value;
        // No continuation token after a page means it was the last one.
        if (token === undefined) return;
      }
    } catch (e) {
      failures++;
      if (!isRetryable(e) || failures >= maxAttempts) throw e;
      const delay = backoffMs(failures, e);
      opts.onRetry?.(failures, delay, e);
      await sleep(delay);
    }
  }
}
