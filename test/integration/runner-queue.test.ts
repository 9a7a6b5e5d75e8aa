/**
 * The local host's storage-queue trigger against real Azurite: dequeueCount, visibility back-off,
 * `<queue>-poison` after maxDequeueCount with the reason recorded, base64 decoding, JSON input,
 * and batch concurrency. Clocks are shortened through the runner's host.json overrides.
 */
import { randomUUID } from "node:crypto";
import { QueueServiceClient } from "@azure/storage-queue";
import type { InvocationContext } from "@azure/functions";
import { afterEach, describe, expect, it } from "vitest";
import type { FunctionDefinition } from "../../functions/definition.js";
import { startHost, type LocalHost } from "../../local/host/index.js";

const connection = () => {
  const c = process.env.STEWARD_TEST_STORAGE_CONNECTION;
  if (!c) throw new Error("globalSetup did not start Azurite");
  return c;
};
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const fast = { minPollingIntervalMs: 50, maxPollingIntervalMs: 200, visibilityTimeoutMs: 1000 };

let host: LocalHost | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
});

function queueFunction(
  queueName: string,
  handler: (input: unknown, ctx: InvocationContext) => unknown,
): FunctionDefinition {
  return {
    name: "work",
    trigger: "storageQueue",
    options: { queueName, connection: "AzureWebJobsStorage", handler },
  };
}

async function start(def: FunctionDefinition, queues: Record<string, number> = {}) {
  host = await startHost({
    definitions: [def],
    env: { AzureWebJobsStorage: connection() },
    queues: { ...fast, ...queues },
    log: { format: "silent" },
  });
  return host;
}

describe("local host: storage queue trigger", () => {
  it("moves a message that always fails to <queue>-poison after maxDequeueCount tries, saying why", async () => {
    const queueName = `poison-${randomUUID().slice(0, 8)}`;
    const seen: Array<{ dequeueCount: unknown; at: number; input: unknown }> = [];
    const h = await start(
      queueFunction(queueName, (input, ctx) => {
        seen.push({ dequeueCount: ctx.triggerMetadata?.dequeueCount, at: Date.now(), input });
        throw new Error("downstream said no (always)");
      }),
      { maxDequeueCount: 3 },
    );
    const service = QueueServiceClient.fromConnectionString(connection());
    await service.getQueueClient(queueName).sendMessage(b64(JSON.stringify({ hello: "world" })));

    const poison = await h.waitForPoison((p) => p.queue === queueName, { timeoutMs: 20_000 });

    expect(seen.map((s) => s.dequeueCount)).toEqual([1, 2, 3]);
    expect(seen[0]!.input).toEqual({ hello: "world" });
    // Visibility back-off: each retry waits at least the (1 s) visibilityTimeout.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.at - seen[i - 1]!.at).toBeGreaterThanOrEqual(900);
    expect(poison).toMatchObject({
      functionName: "work",
      poisonQueue: `${queueName}-poison`,
      dequeueCount: 3,
      reason: "downstream said no (always)",
    });
    // The poison queue holds the original text; the source queue is empty.
    const peeked = await service.getQueueClient(`${queueName}-poison`).peekMessages();
    expect(peeked.peekedMessageItems[0]?.messageText).toBe(b64(JSON.stringify({ hello: "world" })));
    const left = await service.getQueueClient(queueName).getProperties();
    expect(left.approximateMessagesCount).toBe(0);
    // The log says so too.
    const line = h.log.records.find((r) => r.message.includes("Moving message to queue"));
    expect(line?.fields).toMatchObject({ reason: "downstream said no (always)", dequeueCount: 3 });
    expect(h.invocations.filter((r) => !r.ok)).toHaveLength(3);
  });

  it("retries a failed message and deletes it once it succeeds; the handler sees the decoded JSON", async () => {
    const queueName = `retry-${randomUUID().slice(0, 8)}`;
    let calls = 0;
    const h = await start(
      queueFunction(queueName, (input, ctx) => {
        calls++;
        if (ctx.triggerMetadata?.dequeueCount === 1) throw new Error("transient");
        return input;
      }),
    );
    const service = QueueServiceClient.fromConnectionString(connection());
    await service.getQueueClient(queueName).sendMessage(b64('{"n":1}'));
    const ok = await h.waitForInvocation((r) => r.ok, { timeoutMs: 15_000 });
    expect(ok.value).toEqual({ n: 1 });
    expect(ok.triggerMetadata).toMatchObject({ dequeueCount: 2, queueTrigger: '{"n":1}' });
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(2);
    expect((await service.getQueueClient(queueName).getProperties()).approximateMessagesCount).toBe(0);
    expect(h.poisoned).toHaveLength(0);
  });

  it("poisons a message that is not base64 at once, since no retry can decode it", async () => {
    const queueName = `notb64-${randomUUID().slice(0, 8)}`;
    let calls = 0;
    const h = await start(queueFunction(queueName, () => void calls++));
    const service = QueueServiceClient.fromConnectionString(connection());
    await service.getQueueClient(queueName).sendMessage("{not base64!}");
    const p = await h.waitForPoison((x) => x.queue === queueName, { timeoutMs: 10_000 });
    expect(p.reason).toMatch(/not valid base64/);
    expect(p.dequeueCount).toBe(1);
    expect(calls).toBe(0);
  });

  it("runs at most batchSize + newBatchThreshold messages at once", async () => {
    const queueName = `batch-${randomUUID().slice(0, 8)}`;
    let running = 0;
    let peak = 0;
    const h = await start(
      queueFunction(queueName, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 150));
        running--;
      }),
      { batchSize: 2, newBatchThreshold: 1 },
    );
    const q = QueueServiceClient.fromConnectionString(connection()).getQueueClient(queueName);
    for (let i = 0; i < 8; i++) await q.sendMessage(b64(`"m${i}"`));
    const done: unknown[] = [];
    await new Promise<void>((resolve) => {
      h.onInvocation((r) => {
        done.push(r.value);
        if (done.length === 8) resolve();
      });
    });
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
  });
});
