/**
 * Reconciliation at Azure's write ceiling: with the emulator throttling as ARM does (token
 * bucket per subscription x principal, writes refilled at Azure's 10 per second; a smaller
 * burst and a time scale keep the test short), the run paces its writes from the
 * `x-ms-ratelimit-remaining-subscription-writes` headers so that it sustains at least 90 % of
 * the ceiling with fewer than 1 % of its writes answered 429. Rates are in Azure-equivalent
 * time (the emulator's clock times its time scale), so they do not depend on this machine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runReconcile } from "../../shared/reconcile/index.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import { clearRequests, memoryLogger, seedEstate, testPolicy, type Estate } from "./reconcile-harness.js";

const policy = testPolicy({ maxChangeShare: 0.99, concurrency: 8 });
const BURST = 20;
const PER_SECOND = 10; // Azure's documented write refill
const TIME_SCALE = 3;
const TAGS_SUFFIX = "/providers/microsoft.resources/tags/default";

let stack: TestStack;
let estate: Estate;

interface Logged {
  at: string;
  method: string;
  path: string;
  status: number;
}

beforeAll(async () => {
  estate = seedEstate(policy, { extraDrifted: 200 });
  stack = await startTestStack({ seed: estate.seed, policy });
});
afterAll(async () => stack?.stop());

describe("reconcile at Azure's write ceiling", () => {
  it("sustains >= 90 % of the write ceiling with < 1 % of writes throttled", async () => {
    await stack.control("POST", "/_emulator/faults", {
      throttling: { writes: { burst: BURST, perSecond: PER_SECOND }, timeScale: TIME_SCALE },
    });
    await clearRequests(stack);
    const [r] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
    expect(r!.status).toBe("completed");
    expect(r!.counts.fixed).toBe(estate.drifted.length);

    const log = await stack.control<{
      requests: Logged[];
      throttling: { admitted: { writes: number }; throttled: { writes: number } };
    }>("GET", "/_emulator/requests?kind=arm");
    const writes = log.requests.filter(
      (q) => q.method === "PATCH" && q.path.toLowerCase().endsWith(TAGS_SUFFIX) && q.status === 200,
    );
    expect(writes).toHaveLength(estate.drifted.length);
    const { admitted, throttled } = log.throttling;
    expect(throttled.writes / (admitted.writes + throttled.writes)).toBeLessThan(0.01);

    // After the burst, Azure admits PER_SECOND writes a second: the fastest possible write phase.
    const first = Date.parse(writes[0]!.at);
    const last = Date.parse(writes.at(-1)!.at);
    const azureSeconds = ((last - first) * TIME_SCALE) / 1000;
    const floorSeconds = (writes.length - BURST) / PER_SECOND;
    expect(floorSeconds / azureSeconds).toBeGreaterThanOrEqual(0.9);
  }, 60_000);

  it("a run out of budget while writing is continued from its drift list, without scanning again", async () => {
    for (const id of estate.drifted) stack.emulator.state.getResource(id)!.tags = {};
    // At 10 writes/s in real time, 204 writes cannot fit in a 3 s budget.
    await stack.control("POST", "/_emulator/faults", {
      throttling: { writes: { burst: BURST, perSecond: PER_SECOND }, timeScale: 1 },
    });
    await clearRequests(stack);
    const [first] = await runReconcile({
      subscriptionIds: [estate.sub],
      policy,
      logger: memoryLogger(),
      timeBudgetMs: 3000,
    });
    expect(first!.status).toBe("partial");
    expect(first!.resume?.phase).toBe("write");
    expect(first!.counts.pending).toBeGreaterThan(0);

    await stack.control("POST", "/_emulator/faults", {
      throttling: { writes: { burst: BURST, perSecond: PER_SECOND }, timeScale: 20 },
    });
    const before = (await stack.control<{ requests: Logged[] }>("GET", "/_emulator/requests?kind=arm"))
      .requests.length;
    const [second] = await runReconcile({
      subscriptionIds: [estate.sub],
      policy,
      logger: memoryLogger(),
      continuesRunId: first!.runId,
    });
    expect(second!.status).toBe("completed");
    expect(second!.counts.fixed).toBe(first!.counts.pending);
    const { requests } = await stack.control<{ requests: Logged[] }>("GET", "/_emulator/requests?kind=arm");
    const continuation = requests.slice(before);
    // No listing of resources or groups: the scan is not repeated.
    expect(
      continuation.filter((q) => q.method === "GET" && /\/(resources|resourcegroups)$/i.test(q.path)),
    ).toEqual([]);
    // Every drifted resource written exactly once across the two runs.
    const written = new Map<string, number>();
    for (const q of requests)
      if (q.method === "PATCH" && q.status === 200 && q.path.toLowerCase().endsWith(TAGS_SUFFIX))
        written.set(q.path.toLowerCase(), (written.get(q.path.toLowerCase()) ?? 0) + 1);
    expect(written.size).toBe(estate.drifted.length);
    expect([...written.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);

  it("the time budget covers the scan: a budget spent before the listing ends writes nothing and ends partial", async () => {
    for (const id of estate.drifted) stack.emulator.state.getResource(id)!.tags = {};
    await clearRequests(stack);
    const [r] = await runReconcile({
      subscriptionIds: [estate.sub],
      policy,
      logger: memoryLogger(),
      timeBudgetMs: 1,
    });
    expect(r!.status).toBe("partial");
    expect(r!.resume).toBeUndefined();
    const { requests } = await stack.control<{ requests: Logged[] }>("GET", "/_emulator/requests?kind=arm");
    expect(requests.filter((q) => q.method === "PATCH")).toEqual([]);
  });
});
