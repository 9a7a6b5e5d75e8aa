/**
 * Faults: 429 storms (on the listing and on the tag writes) slow a run down but it completes;
 * a run stopped mid-way (abort after some writes: what a crash leaves behind) followed by a
 * rerun converges with exactly one successful write per drifted resource overall; writes that
 * keep failing are counted and the rerun fixes them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runReconcile } from "../../shared/reconcile/index.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import {
  clearRequests,
  memoryLogger,
  seedEstate,
  tagWrites,
  testPolicy,
  tagsOf,
  type Estate,
  FRAUD_TAGS,
} from "./reconcile-harness.js";

const policy = testPolicy({ maxChangeShare: 0.9, concurrency: 4 });
let stack: TestStack;
let estate: Estate;

/** Puts every drifted resource back into drift (no tags). */
function redrift() {
  for (const id of estate.drifted) stack.emulator.state.getResource(id)!.tags = {};
}

beforeAll(async () => {
  estate = seedEstate(policy, { extraDrifted: 8 });
  stack = await startTestStack({ seed: estate.seed, policy, pageSize: 4 });
});
afterEach(async () => {
  await stack.control("DELETE", "/_emulator/faults");
});
afterAll(async () => stack?.stop());

describe("reconcile under faults", () => {
  it("survives a 429 storm on listing and writing, honouring Retry-After", async () => {
    await clearRequests(stack);
    await stack.control("POST", "/_emulator/faults", {
      rules: [
        { method: "PATCH", path: "/tags/default$", status: 429, retryAfterSeconds: 1, rate: 0.5, count: 12 },
        { method: "GET", path: "/resources$", status: 429, retryAfterSeconds: 1, count: 2 },
      ],
    });
    const started = Date.now();
    const [r] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
    expect(r!.status).toBe("completed");
    expect(r!.counts).toMatchObject({
      drifted: estate.drifted.length,
      fixed: estate.drifted.length,
      failed: 0,
    });
    expect(r!.calls.throttled).toBeGreaterThanOrEqual(2);
    // Retry-After was honoured: at least the two listing 429s cost a second each.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const ok = await tagWrites(stack, { okOnly: true });
    expect([...ok.values()].every((n) => n === 1)).toBe(true);
    expect(ok.size).toBe(estate.drifted.length);
    for (const id of estate.drifted) expect(tagsOf(stack, id)).toMatchObject({ project: "fraud" });
  });

  it("a 429 storm longer than the SDK's patience slows the run instead of failing it", async () => {
    redrift();
    // More consecutive 429s on one resource than the SDK's 8 retries: the run must pause and
    // retry that write itself.
    const one = estate.drifted[1]!.replace(/^\/subscriptions\/[^/]+/, "").replace(
      /[.*+?^${}()|[\]\\]/g,
      "\\$&",
    );
    await stack.control("POST", "/_emulator/faults", {
      rules: [
        {
          method: "PATCH",
          path: `${one}/providers/Microsoft.Resources/tags/default$`,
          status: 429,
          retryAfterSeconds: 0,
          count: 12,
        },
      ],
    });
    const log = memoryLogger();
    const [r] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: log });
    expect(r!.status).toBe("completed");
    expect(r!.counts).toMatchObject({ fixed: estate.drifted.length, failed: 0 });
    expect(r!.calls.throttled).toBe(12);
    // At least one write outlasted the SDK's retries and was retried by the run itself.
    expect(log.lines.some((l) => l.message.includes("throttled or failing; retrying"))).toBe(true);
  });

  it("a run stopped mid-way, then rerun, converges with one successful write per drifted resource", async () => {
    redrift();
    await clearRequests(stack);
    const abort = new AbortController();
    const [first] = await runReconcile({
      subscriptionIds: [estate.sub],
      policy,
      logger: memoryLogger(),
      signal: abort.signal,
      onProgress: (p) => {
        if (p.written >= 3) abort.abort();
      },
    });
    expect(first!.status).toBe("aborted");
    expect(first!.counts.fixed).toBeGreaterThanOrEqual(3);
    expect(first!.counts.fixed).toBeLessThan(estate.drifted.length);
    expect(first!.counts.pending).toBe(estate.drifted.length - first!.counts.fixed);

    const [second] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
    expect(second!.status).toBe("completed");
    expect(second!.counts.drifted).toBe(first!.counts.pending);
    expect(second!.counts.fixed).toBe(first!.counts.pending);

    const writes = await tagWrites(stack, { okOnly: true });
    expect(writes.size).toBe(estate.drifted.length);
    expect([...writes.values()].every((n) => n === 1)).toBe(true);
    const [third] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
    expect(third!.counts.drifted).toBe(0);
  });

  it("writes refused for good are counted as failed; the next run fixes them", async () => {
    redrift();
    const victim = estate.drifted[0]!.replace(/^\/subscriptions\/[^/]+/, "").replace(
      /[.*+?^${}()|[\]\\]/g,
      "\\$&",
    );
    await stack.control("POST", "/_emulator/faults", {
      rules: [
        { method: "PATCH", path: `${victim}/providers/Microsoft.Resources/tags/default$`, status: 409 },
      ],
    });
    const log = memoryLogger();
    const [r] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: log });
    expect(r!.status).toBe("completed");
    expect(r!.counts).toMatchObject({ failed: 1, fixed: estate.drifted.length - 1 });
    expect(r!.failures[0]?.id.toLowerCase()).toBe(estate.drifted[0]!.toLowerCase());
    expect(log.lines.some((l) => l.level === "warn" && l.message.includes("tag write failed"))).toBe(true);

    await stack.control("DELETE", "/_emulator/faults");
    const [again] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
    expect(again!.counts).toMatchObject({ drifted: 1, fixed: 1, failed: 0 });
    expect(tagsOf(stack, estate.drifted[0]!)).toMatchObject({ costCenter: FRAUD_TAGS.costCenter });
  });
});
