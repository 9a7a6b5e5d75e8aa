/**
 * Reading throttling out of an SDK error, and a back-off for the cases where the SDK's own
 * retry policy (which honours Retry-After) has given up. A 429 storm must slow a run down,
 * never fail it: ARM's limits are per subscription and principal, so the whole run waits.
 */
import { errorFacts, isTransient } from "../azure/errors.js";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Retry-After (or retry-after-ms) of a failed response, in ms; undefined when absent. */
export function retryAfterMs(e: unknown): number | undefined {
  const headers = (e as { response?: { headers?: { get?(name: string): string | undefined } } })?.response
    ?.headers;
  if (!headers?.get) return undefined;
  for (const [name, factor] of [
    ["retry-after-ms", 1],
    ["x-ms-retry-after-ms", 1],
    ["retry-after", 1000],
  ] as const) {
    const raw = headers.get(name);
    if (raw === undefined || raw === null || raw === "") continue;
    const n = Number(raw);
    if (Number.isFinite(n)) return Math.max(0, n * factor);
    const date = Date.parse(raw);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  return undefined;
}

export function isThrottled(e: unknown): boolean {
  const { status } = errorFacts(e);
  return status === 429 || (status === 503 && retryAfterMs(e) !== undefined);
}

/** Worth another attempt after the SDK's retries: throttling, 5xx, network. */
export function isRetryable(e: unknown): boolean {
  return isTransient(e);
}

/**
 * The wait before attempt `attempt` (1-based) of an item: the server's Retry-After when it gave
 * one, else exponential from 1 s, capped; with up to 20% jitter so workers do not stampede.
 */
export function backoffMs(attempt: number, e: unknown, capMs = 60_000, random = Math.random): number {
  const server = retryAfterMs(e);
  const base = server ?? Math.min(capMs, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.min(Math.max(base, 0), 10 * capMs) * (1 + 0.2 * random()));
}
