/**
 * When to retry an Azure call, and after how long: the rules of the Azure SDKs' default retry
 * policy (core-rest-pipeline 1.24, through @typespec/ts-http-runtime), written out so the lean
 * clients of the event path (restCall.ts) behave on the wire as the SDK clients they replace:
 *
 * - 429 or 503 with `retry-after-ms`, `x-ms-retry-after-ms` (ms) or `Retry-After` (seconds or
 *   an HTTP date): wait exactly that, however long (the caller's deadline bounds it);
 * - otherwise 408 or any 5xx but 501 and 505, or a network error: exponential back-off from
 *   `retryDelayInMs`, capped at `maxRetryDelayInMs`, with jitter in the upper half;
 * - anything else (a 429 without a Retry-After included, as the SDK does) is final.
 *
 * Pure, so the unit tests pin it.
 */

export interface RetryOptions {
  maxRetries: number;
  retryDelayInMs: number;
  maxRetryDelayInMs: number;
}

/** What one attempt produced: a response's status and headers, or a network error's code. */
export interface AttemptOutcome {
  status?: number;
  /** Lower-cased header names. */
  headers?: Record<string, string | string[] | undefined>;
  errorCode?: string;
}

/** The network failures the SDK retries (isSystemError). */
const SYSTEM_ERRORS = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOENT",
  "ENOTFOUND",
]);

/** A header's value (the first, when Node gives a list); `name` lower-cased. */
export function header(h: AttemptOutcome["headers"], name: string): string | undefined {
  const v = h?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The server's requested wait in ms on a 429/503, or undefined when it asked for none. */
export function retryAfterMs(outcome: AttemptOutcome, now = Date.now()): number | undefined {
  if (outcome.status !== 429 && outcome.status !== 503) return undefined;
  for (const [name, factor] of [
    ["retry-after-ms", 1],
    ["x-ms-retry-after-ms", 1],
    ["retry-after", 1000],
  ] as const) {
    const v = header(outcome.headers, name);
    if (!v) continue;
    const n = Number(v);
    if (!Number.isNaN(n)) return n * factor;
  }
  const date = header(outcome.headers, "retry-after");
  if (!date) return undefined;
  const diff = Date.parse(date) - now;
  return Number.isFinite(diff) ? Math.max(0, diff) : undefined;
}

function isExponentialStatus(status: number): boolean {
  return (status >= 500 || status === 408) && status !== 501 && status !== 505;
}

/**
 * Milliseconds to wait before attempt number `retryCount + 1`, or undefined when the outcome is
 * final (a success, a permanent refusal, or retries used up). `random` in [0, 1) for the jitter.
 */
export function retryDelay(
  outcome: AttemptOutcome,
  retryCount: number,
  options: RetryOptions,
  random: () => number = Math.random,
): number | undefined {
  if (retryCount >= options.maxRetries) return undefined;
  if (outcome.status !== undefined && outcome.status < 400) return undefined;
  const asked = retryAfterMs(outcome);
  if (asked !== undefined) return asked;
  const retryable =
    outcome.status !== undefined
      ? isExponentialStatus(outcome.status)
      : SYSTEM_ERRORS.has(outcome.errorCode ?? "");
  if (!retryable) return undefined;
  const clamped = Math.min(options.maxRetryDelayInMs, options.retryDelayInMs * 2 ** retryCount);
  return clamped / 2 + Math.floor(random() * (clamped / 2 + 1));
}
