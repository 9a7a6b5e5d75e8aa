/**
 * The Functions side and the lease: the timer fans out one message per governed subscription;
 * the queue function reconciles one; two concurrent runs never both write; a held lease makes
 * the message come back later; a run out of time budget queues its continuation, which
 * finishes the job.
 */
import { InvocationContext, type Timer } from "@azure/functions";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createReconcileSubscriptionHandler,
  definitions,
  reconcileCostTags,
} from "../../functions/reconcileCostTags.js";
import { azure } from "../../shared/azure/clients.js";
import { QUEUES, TABLES } from "../../shared/config/settings.js";
import { runReconcile } from "../../shared/reconcile/index.js";
import { Lease } from "../../shared/reconcile/lease.js";
import { parseMessage, type ReconcileMessage } from "../../shared/reconcile/messages.js";
import { leaseName } from "../../shared/reconcile/run.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import {
  clearRequests,
  memoryLogger,
  seedEstate,
  tagWrites,
  testPolicy,
  type Estate,
} from "./reconcile-harness.js";

const policy = testPolicy({ maxChangeShare: 0.9, concurrency: 2 });
let stack: TestStack;
let estate: Estate;
const logs: string[] = [];

function context(name: string): InvocationContext {
  return new InvocationContext({
    invocationId: `inv-${Math.random().toString(36).slice(2)}`,
    functionName: name,
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(" ")}`),
  });
}

/** Receives (and deletes) the visible messages for our subscriptions; other files' messages stay. */
async function takeMessages(): Promise<ReconcileMessage[]> {
  const q = azure().queue(QUEUES.reconcile);
  const ours = new Set(policy.governedSubscriptions.map((s) => s.id));
  const out: ReconcileMessage[] = [];
  for (let round = 0; round < 5; round++) {
    const { receivedMessageItems } = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 5 });
    if (receivedMessageItems.length === 0) break;
    for (const m of receivedMessageItems) {
      const parsed = parseMessage(m.messageText);
      if (parsed.ok && ours.has(parsed.message.subscriptionId)) {
        out.push(parsed.message);
        await q.deleteMessage(m.messageId, m.popReceipt);
      }
    }
  }
  return out;
}

const redrift = () => {
  for (const id of estate.drifted) stack.emulator.state.getResource(id)!.tags = {};
};

beforeAll(async () => {
  estate = seedEstate(policy, { extraDrifted: 6 });
  stack = await startTestStack({ seed: estate.seed, policy });
  const dir = mkdtempSync(path.join(os.tmpdir(), "steward-reconcile-policy-"));
  const file = path.join(dir, "policy.json");
  writeFileSync(file, JSON.stringify(policy));
  process.env.STEWARD_POLICY_PATH = file;
  await azure().queue(QUEUES.reconcile).createIfNotExists();
});
afterAll(async () => {
  delete process.env.STEWARD_POLICY_PATH;
  await stack?.stop();
});

describe("reconcile functions", () => {
  it("declares the timer on the schedule setting and the queue function", () => {
    expect(definitions.map((d) => [d.name, d.trigger])).toEqual([
      ["reconcileCostTags", "timer"],
      ["reconcileSubscription", "storageQueue"],
    ]);
    expect(definitions[0]!.options).toMatchObject({ schedule: "%STEWARD_RECONCILE_SCHEDULE%" });
    expect(definitions[1]!.options).toMatchObject({ queueName: "reconcile-subscriptions" });
  });

  it("the timer sends one message per governed subscription; the queue function reconciles it", async () => {
    await reconcileCostTags({ isPastDue: false } as Timer, context("reconcileCostTags"));
    const messages = await takeMessages();
    expect(messages.map((m) => m.subscriptionId).sort()).toEqual(
      policy.governedSubscriptions.map((s) => s.id).sort(),
    );
    expect(new Set(messages.map((m) => m.batchId)).size).toBe(1);

    const handler = createReconcileSubscriptionHandler({ policy });
    const mine = messages.find((m) => m.subscriptionId === estate.sub)!;
    const report = await handler(mine, context("reconcileSubscription"));
    expect(report).toMatchObject({ status: "completed", batchId: mine.batchId });
    expect(report!.counts.fixed).toBe(estate.drifted.length);
    // Delivered again (at-least-once): converged, so nothing to write.
    const again = await handler(mine, context("reconcileSubscription"));
    expect(again!.counts).toMatchObject({ drifted: 0, fixed: 0 });
  });

  it("drops malformed messages and subscriptions the policy does not govern", async () => {
    const handler = createReconcileSubscriptionHandler({ policy });
    expect(await handler("not json", context("reconcileSubscription"))).toBeUndefined();
    expect(
      await handler(
        { v: 1, subscriptionId: "11111111-2222-4333-8444-555555555555" },
        context("reconcileSubscription"),
      ),
    ).toBeUndefined();
    expect(logs.some((l) => l.includes("malformed reconcile message dropped"))).toBe(true);
  });

  it("two concurrent runs of one subscription: one writes, the other is refused by the lease", async () => {
    redrift();
    await clearRequests(stack);
    const [a, b] = await Promise.all([
      runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() }),
      runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() }),
    ]);
    const statuses = [a![0]!.status, b![0]!.status].sort();
    expect(statuses).toEqual(["busy", "completed"]);
    const writes = await tagWrites(stack);
    expect(writes.size).toBe(estate.drifted.length);
    expect([...writes.values()].every((n) => n === 1)).toBe(true);
  });

  it("a held lease puts the message back until it expires; then the run goes ahead", async () => {
    redrift();
    const other = await Lease.acquire(azure().table(TABLES.leases), leaseName(estate.sub), "someone-else", {
      ttlMs: 3000,
      autoRenew: false,
    });
    expect(other.ok).toBe(true);
    const handler = createReconcileSubscriptionHandler({ policy });
    const busy = await handler({ v: 1, subscriptionId: estate.sub }, context("reconcileSubscription"));
    expect(busy).toMatchObject({ status: "busy", busy: { holder: "someone-else" } });
    expect(logs.some((l) => l.includes("put back until the lease expires"))).toBe(true);
    // The put-back message becomes visible after the lease's expiry (+5 s).
    await new Promise((r) => setTimeout(r, 8500));
    const [back] = await takeMessages();
    expect(back).toMatchObject({ subscriptionId: estate.sub, busyRetries: 1 });
    const done = await handler(back, context("reconcileSubscription"));
    expect(done).toMatchObject({ status: "completed" });
    expect(done!.counts.fixed).toBe(estate.drifted.length);
  }, 30_000);

  it("a run out of time budget ends partial and queues a continuation that finishes the job", async () => {
    redrift();
    await clearRequests(stack);
    // With 400 ms per call, 2 writes at a time and 10 to make, no run can finish in 1.5 s.
    await stack.control("POST", "/_emulator/faults", { latencyMs: 400 });
    try {
      const tight = createReconcileSubscriptionHandler({ policy, timeBudgetMs: 1500 });
      const first = await tight(
        { v: 1, subscriptionId: estate.sub, batchId: "b-budget" },
        context("reconcileSubscription"),
      );
      expect(first!.status).toBe("partial");
      expect(first!.counts.pending).toBeGreaterThan(0);
      const [next] = await takeMessages();
      expect(next).toMatchObject({
        subscriptionId: estate.sub,
        continuesRunId: first!.runId,
        continuation: 1,
        batchId: "b-budget",
      });
      const handler = createReconcileSubscriptionHandler({ policy });
      const second = await handler(next, context("reconcileSubscription"));
      expect(second).toMatchObject({ status: "completed", continuesRunId: first!.runId });
      expect(second!.counts.fixed).toBe(first!.counts.pending);
      const writes = await tagWrites(stack, { okOnly: true });
      expect(writes.size).toBe(estate.drifted.length);
      expect([...writes.values()].every((n) => n === 1)).toBe(true);
    } finally {
      await stack.control("DELETE", "/_emulator/faults");
    }
  }, 30_000);
});
