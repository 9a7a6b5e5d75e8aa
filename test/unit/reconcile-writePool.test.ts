import { describe, expect, it } from "vitest";
import { backoffMs, retryAfterMs } from "../../shared/reconcile/throttle.js";
import { runPool } from "../../shared/reconcile/writePool.js";

/** An error shaped like the SDK's RestError. */
function restError(status: number, retryAfter?: string) {
  return Object.assign(new Error(`status ${status}`), {
    statusCode: status,
    response: { headers: { get: (n: string) => (n === "retry-after" ? retryAfter : undefined) } },
  });
}

/** A virtual clock: sleep advances time instantly, so throttling tests take no wall time. */
function clock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

async function* source(n: number) {
  for (let i = 0; i < n; i++) yield i;
}

describe("runPool", () => {
  it("never runs more than `concurrency` at once and does every item once", async () => {
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    await runPool(
      source(50),
      async (i) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 1));
        done.push(i);
        active--;
      },
      () => {
        throw new Error("no failure expected");
      },
      { concurrency: 4, maxAttempts: 3, shouldContinue: () => true },
    );
    expect(peak).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
  });

  it("survives a 429 storm: retries after Retry-After, halves concurrency, pauses everyone", async () => {
    const c = clock();
    const tries = new Map<number, number>();
    const failures: unknown[] = [];
    const result = await runPool(
      source(20),
      async (i) => {
        const n = (tries.get(i) ?? 0) + 1;
        tries.set(i, n);
        if (n <= 3) throw restError(429, "7");
      },
      (_i, e) => failures.push(e),
      { concurrency: 8, maxAttempts: 6, shouldContinue: () => true, ...c, random: () => 0 },
    );
    expect(failures).toEqual([]);
    expect([...tries.values()].every((n) => n === 4)).toBe(true);
    expect(result.minConcurrency).toBe(1);
    expect(c.now()).toBeGreaterThanOrEqual(3 * 7000);
  });

  it("cuts concurrency when the SDK reports 429s it absorbed, and grows it back on success", async () => {
    let throttled = 0;
    const res = await runPool(
      source(60),
      async (i) => {
        if (i === 5) throttled += 3;
        await new Promise((r) => setTimeout(r, 1));
      },
      () => undefined,
      { concurrency: 8, maxAttempts: 2, shouldContinue: () => true, throttledCount: () => throttled },
    );
    expect(res.minConcurrency).toBe(4);
    expect(res.finalConcurrency).toBe(8);
  });

  it("fails an item at once on a permanent error, and after maxAttempts on a transient one", async () => {
    const c = clock();
    const failed: Array<[number, number]> = [];
    const calls = new Map<number, number>();
    await runPool(
      [0, 1, 2],
      async (i) => {
        calls.set(i, (calls.get(i) ?? 0) + 1);
        if (i === 0) throw restError(403);
        if (i === 1) throw restError(503);
      },
      (i, e) => failed.push([i, (e as { statusCode: number }).statusCode]),
      { concurrency: 2, maxAttempts: 4, shouldContinue: () => true, ...c },
    );
    expect(failed.sort()).toEqual([
      [0, 403],
      [1, 503],
    ]);
    expect(calls.get(0)).toBe(1);
    expect(calls.get(1)).toBe(4);
    expect(calls.get(2)).toBe(1);
  });

  it("stops taking items when shouldContinue turns false, and closes the source", async () => {
    let go = true;
    let closed = false;
    async function* src() {
      try {
        for (let i = 0; i < 100; i++) yield i;
      } finally {
        closed = true;
      }
    }
    let done = 0;
    const res = await runPool(
      src(),
      async () => {
        if (++done === 10) go = false;
      },
      () => undefined,
      { concurrency: 1, maxAttempts: 1, shouldContinue: () => go },
    );
    expect(res.stopped).toBe(true);
    expect(done).toBe(10);
    expect(closed).toBe(true);
  });
});

describe("Retry-After", () => {
  it("reads seconds, milliseconds and dates", () => {
    expect(retryAfterMs(restError(429, "3"))).toBe(3000);
    expect(retryAfterMs(new Error("x"))).toBeUndefined();
    const at = new Date(Date.now() + 10_000).toUTCString();
    expect(retryAfterMs(restError(429, at))).toBeGreaterThan(8000);
  });
  it("backs off from the server's hint, else exponentially, capped", () => {
    expect(backoffMs(1, restError(429, "5"), 60_000, () => 0)).toBe(5000);
    expect(backoffMs(3, new Error("x"), 60_000, () => 0)).toBe(4000);
    expect(backoffMs(20, new Error("x"), 60_000, () => 0)).toBe(60_000);
  });
});
