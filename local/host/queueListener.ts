/**
 * The storage-queue trigger with the host's semantics (Microsoft.Azure.WebJobs queue listener
 * and QueueProcessor):
 *
 * - polls with a randomised exponential back-off: ~100 ms after a hit, from minPollingInterval
 *   doubling to maxPollingInterval while the queue is empty;
 * - fetches `batchSize` messages and fetches again once in-flight work drops to
 *   `newBatchThreshold` (so at most batchSize + newBatchThreshold run at once);
 * - keeps a running message invisible (lease renewed at half its period);
 * - hands the function the decoded text (base64 per host.json), JSON-parsed when it is JSON, as
 *   the Node worker does, with `dequeueCount`, `id`, `insertionTime`... in triggerMetadata;
 * - success deletes the message; failure makes it visible again after `visibilityTimeout`; a
 *   failure at `dequeueCount >= maxDequeueCount` copies it to `<queue>-poison` and deletes it.
 *   A message already dequeued more than maxDequeueCount times (its host crashed mid-run) goes to
 *   poison without running, and so does text that is not valid base64, which no retry can fix.
 */
import type { QueueClient, DequeuedMessageItem } from "@azure/storage-queue";
import type { FunctionDefinition } from "../../functions/definition.js";
import type { QueueHostOptions } from "./config.js";
import { invokeFunction, type InvocationResult } from "./invoke.js";
import type { HostLog } from "./log.js";

export interface PoisonRecord {
  at: string;
  functionName: string;
  queue: string;
  poisonQueue: string;
  messageId: string;
  dequeueCount: number;
  /** Why the host gave up: the last invocation's error, or why it could not run. */
  reason: string;
  messageText: string;
}

export interface QueueListenerHooks {
  onInvocation(result: InvocationResult): void;
  onPoison(record: PoisonRecord): void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class QueueListener {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private loop?: Promise<void>;
  private wake?: () => void;
  readonly queueName: string;

  constructor(
    private readonly def: Extract<FunctionDefinition, { trigger: "storageQueue" }>,
    private readonly queue: QueueClient,
    private readonly poison: QueueClient,
    private readonly opts: QueueHostOptions,
    private readonly log: HostLog,
    private readonly hooks: QueueListenerHooks,
    private readonly functionTimeoutMs?: number,
  ) {
    this.queueName = queue.name;
  }

  async start(): Promise<void> {
    // The host does not create trigger queues; locally it is friendlier to, so `steward promote`
    // and the emulator's queue subscriptions work against a fresh Azurite.
    await this.queue.createIfNotExists();
    this.loop = this.run();
  }

  /** Stops polling and waits for running invocations (their messages then settle normally). */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Number of messages being processed right now. */
  get busy(): number {
    return this.inFlight.size;
  }

  private async run(): Promise<void> {
    const { batchSize, newBatchThreshold, minPollingIntervalMs, maxPollingIntervalMs } = this.opts;
    let delay = minPollingIntervalMs;
    while (!this.abort.signal.aborted) {
      if (this.inFlight.size > newBatchThreshold) {
        // Wait for a slot: the host fetches again only when in-flight work drops to the threshold.
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.abort.signal.aborted || this.inFlight.size <= newBatchThreshold) resolve();
        });
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        const res = await this.queue.receiveMessages({
          numberOfMessages: batchSize,
          visibilityTimeout: Math.max(1, Math.ceil(this.opts.leaseMs / 1000)),
          abortSignal: this.abort.signal,
        });
        messages = res.receivedMessageItems;
      } catch (e) {
        if (this.abort.signal.aborted) break;
        this.log.host("warn", `Polling queue '${this.queueName}' failed; retrying`, {
          functionName: this.def.name,
          error: (e as Error).message,
        });
      }
      for (const m of messages) {
        const p = this.process(m).finally(() => {
          this.inFlight.delete(p);
          if (this.inFlight.size <= newBatchThreshold) this.wake?.();
        });
        this.inFlight.add(p);
      }
      if (messages.length > 0) {
        delay = minPollingIntervalMs;
        await sleep(Math.min(100, minPollingIntervalMs), this.abort.signal);
      } else {
        // Randomised so that many instances do not poll in lockstep.
        await sleep(delay * (0.8 + Math.random() * 0.4), this.abort.signal);
        delay = Math.min(maxPollingIntervalMs, delay * 2);
      }
    }
  }

  private async process(m: DequeuedMessageItem): Promise<void> {
    const lease = { popReceipt: m.popReceipt };
    if (m.dequeueCount > this.opts.maxDequeueCount) {
      return this.toPoison(
        m,
        lease,
        `dequeued ${m.dequeueCount} times without completing (a host stopped mid-run); maxDequeueCount is ${this.opts.maxDequeueCount}`,
      );
    }
    let text = m.messageText;
    if (this.opts.messageEncoding === "base64") {
      const compact = text.replace(/\s/g, "");
      if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
        return this.toPoison(
          m,
          lease,
          "the message is not valid base64, as host.json messageEncoding requires; retrying cannot fix it",
        );
      }
      text = Buffer.from(compact, "base64").toString("utf8");
    }

    // Keep the message invisible while the function runs, as the host renews its lease.
    const renewEvery = Math.max(1000, Math.floor(this.opts.leaseMs / 2));
    const renewal = setInterval(() => {
      this.queue
        .updateMessage(m.messageId, lease.popReceipt, undefined, Math.ceil(this.opts.leaseMs / 1000))
        .then((r) => {
          if (r.popReceipt) lease.popReceipt = r.popReceipt;
        })
        .catch(() => undefined);
    }, renewEvery);
    renewal.unref();

    let result: InvocationResult;
    try {
      result = await invokeFunction(this.def, tryJson(text), this.log, {
        reason: `New queue message detected on '${this.queueName}'.`,
        triggerMetadata: {
          id: m.messageId,
          queueTrigger: text,
          dequeueCount: m.dequeueCount,
          insertionTime: m.insertedOn.toISOString(),
          expirationTime: m.expiresOn.toISOString(),
          nextVisibleTime: m.nextVisibleOn.toISOString(),
          popReceipt: m.popReceipt,
        },
        ...(this.functionTimeoutMs ? { timeoutMs: this.functionTimeoutMs } : {}),
      });
    } finally {
      clearInterval(renewal);
    }
    this.hooks.onInvocation(result);

    if (result.ok) {
      await this.settle(() => this.queue.deleteMessage(m.messageId, lease.popReceipt));
    } else if (m.dequeueCount >= this.opts.maxDequeueCount) {
      await this.toPoison(m, lease, result.error?.message ?? "the function failed");
    } else {
      const seconds = Math.ceil(this.opts.visibilityTimeoutMs / 1000);
      this.log.host(
        "warn",
        `Message ${m.messageId} failed on try ${m.dequeueCount} of ${this.opts.maxDequeueCount}; visible again in ${seconds}s`,
        { functionName: this.def.name, error: result.error?.message },
      );
      await this.settle(() => this.queue.updateMessage(m.messageId, lease.popReceipt, undefined, seconds));
    }
  }

  private async toPoison(
    m: DequeuedMessageItem,
    lease: { popReceipt: string },
    reason: string,
  ): Promise<void> {
    const record: PoisonRecord = {
      at: new Date().toISOString(),
      functionName: this.def.name,
      queue: this.queueName,
      poisonQueue: this.poison.name,
      messageId: m.messageId,
      dequeueCount: m.dequeueCount,
      reason,
      messageText: m.messageText,
    };
    this.log.host(
      "warn",
      `Message has reached MaxDequeueCount of ${this.opts.maxDequeueCount}. Moving message to queue '${this.poison.name}'.`,
      { functionName: this.def.name, messageId: m.messageId, dequeueCount: m.dequeueCount, reason },
    );
    // Same text as the original, so whoever drains the poison queue reads what was sent.
    try {
      await this.poison.sendMessage(m.messageText);
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
      await this.poison.createIfNotExists();
      await this.poison.sendMessage(m.messageText);
    }
    await this.settle(() => this.queue.deleteMessage(m.messageId, lease.popReceipt));
    this.hooks.onPoison(record);
  }

  /** A delete or release that lost its lease (another consumer took over, or the message is gone) is fine. */
  private async settle(op: () => Promise<unknown>): Promise<void> {
    try {
      await op();
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status === 404 || status === 400) return;
      this.log.host("error", "Could not settle a queue message", {
        functionName: this.def.name,
        error: (e as Error).message,
      });
    }
  }
}
