/**
 * Client-side pacing of ARM writes from the `x-ms-ratelimit-remaining-subscription-writes`
 * header, so a long run of writes rides just under ARM's token bucket instead of draining it
 * and meeting a 429 storm (each 429 costs a Retry-After of dead time, and ARM counts it).
 *
 * ARM tells the remaining tokens but not the refill rate, and the rate is what matters once
 * the burst is spent. So the pacer keeps a local mirror of the bucket: it spends a token per
 * request, resets the level from every header (less what is still in flight, which ARM has
 * not counted yet), and estimates the refill from consecutive headers: between two answers,
 * refill = (remaining now - remaining then) + requests admitted between. Until it has an
 * estimate it assumes Azure's documented rate. It never waits longer than `maxWaitMs` without
 * asking ARM, which stays the authority (a stale mirror costs at most one 429).
 *
 * One pacer per subscription per process: ARM's bucket is per subscription x principal and the
 * process has one identity. Other writers of the same identity (another instance) show up in
 * the headers, which is why the mirror follows them.
 */

import type { PipelinePolicy, PipelineResponse } from "@azure/core-rest-pipeline";

export interface PacerOptions {
  /** Refill assumed before the first estimate, per second (Azure: 10 writes/s). */
  initialRatePerSecond?: number;
  /** Tokens left untouched for everything else the identity writes. */
  reserve?: number;
  /** Fraction of the estimated refill to use: a little under 1 keeps estimation noise from causing 429s. */
  headroom?: number;
  /** Longest wait before a request goes anyway and lets ARM's answer correct the mirror. */
  maxWaitMs?: number;
  now?(): number;
  sleep?(ms: number): Promise<void>;
}

interface Sample {
  at: number;
  remaining: number;
  admitted: number;
}

const MIN_WINDOW_MS = 200;
const SMOOTHING = 0.3;

export class RatePacer {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly reserve: number;
  private readonly headroom: number;
  private readonly maxWaitMs: number;
  /** Tokens per ms. */
  private rate: number;
  private estimated = false;
  /** Local mirror of the bucket; undefined until ARM has said something. */
  private tokens: number | undefined;
  private capacity = 0;
  private refilledAt: number;
  private inFlight = 0;
  private admitted = 0;
  private anchor: Sample | undefined;
  /** Serialises waiters so that tokens go out in order and none is counted twice. */
  private queue: Promise<void> = Promise.resolve();

  constructor(opts: PacerOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.reserve = opts.reserve ?? 1;
    this.headroom = opts.headroom ?? 0.97;
    this.maxWaitMs = opts.maxWaitMs ?? 2000;
    this.rate = (opts.initialRatePerSecond ?? 10) / 1000;
    this.refilledAt = this.now();
  }

  /** Estimated refill in tokens per second (for reports). */
  ratePerSecond(): number | undefined {
    return this.estimated ? this.rate * 1000 : undefined;
  }

  private refill(): void {
    const t = this.now();
    if (this.tokens !== undefined)
      this.tokens = Math.min(this.capacity, this.tokens + (t - this.refilledAt) * this.rate * this.headroom);
    this.refilledAt = t;
  }

  /** Waits until a request may go; the caller calls `release` when it is answered, then `observe`. */
  acquire(): Promise<void> {
    const turn = this.queue.then(async () => {
      let waited = 0;
      for (;;) {
        this.refill();
        if (this.tokens === undefined || this.tokens - 1 >= this.reserve || waited >= this.maxWaitMs) break;
        const missing = this.reserve + 1 - this.tokens;
        const ms = Math.min(
          this.maxWaitMs - waited,
          Math.max(1, Math.ceil(missing / (this.rate * this.headroom))),
        );
        await this.sleep(ms);
        waited += ms;
      }
      if (this.tokens !== undefined) this.tokens -= 1;
      this.inFlight++;
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** ARM's remaining-tokens header on an answer (undefined when absent), and whether it was a 429. */
  observe(remaining: number | undefined, throttled = false): void {
    this.refill();
    if (throttled) {
      this.tokens = 0;
      this.anchor = undefined;
      return;
    }
    if (remaining === undefined || !Number.isFinite(remaining)) return;
    this.admitted++;
    this.capacity = Math.max(this.capacity, remaining + 1);
    // Requests still in flight were let through after this one was admitted; they spend tokens too.
    this.tokens = remaining - this.inFlight;
    this.estimate(remaining);
  }

  private estimate(remaining: number): void {
    const t = this.now();
    const sample: Sample = { at: t, remaining, admitted: this.admitted };
    // A full bucket says nothing about the refill (it stopped refilling at the top).
    if (remaining + 1 >= this.capacity) {
      this.anchor = undefined;
      return;
    }
    if (!this.anchor) {
      this.anchor = sample;
      return;
    }
    const dt = t - this.anchor.at;
    if (dt < MIN_WINDOW_MS) return;
    const refill = remaining - this.anchor.remaining + (sample.admitted - this.anchor.admitted);
    this.anchor = sample;
    if (refill <= 0) return;
    const measured = refill / dt;
    this.rate = this.estimated ? this.rate + SMOOTHING * (measured - this.rate) : measured;
    this.estimated = true;
  }
}

export type OperationType = "reads" | "writes" | "deletes";

/** Azure's documented refill per operation type, assumed until the headers tell otherwise. */
const DOCUMENTED_RATE: Record<OperationType, number> = { reads: 25, writes: 10, deletes: 10 };

const pacers = new Map<string, RatePacer>();

/** The process's pacer for a subscription's bucket of one operation type. */
export function pacerFor(subscriptionId: string, op: OperationType): RatePacer {
  const key = `${subscriptionId.toLowerCase()}|${op}`;
  let p = pacers.get(key);
  if (!p) pacers.set(key, (p = new RatePacer({ initialRatePerSecond: DOCUMENTED_RATE[op] })));
  return p;
}

/** Forget every pacer (tests and benchmarks switch emulators, whose buckets start full). */
export function resetPacers(): void {
  pacers.clear();
}

/** Which of ARM's buckets a request of this method draws on. */
export function operationTypeOf(method: string): OperationType {
  const m = method.toUpperCase();
  if (m === "GET" || m === "HEAD") return "reads";
  return m === "DELETE" ? "deletes" : "writes";
}

/**
 * In every ARM client's pipeline, once per attempt (so the SDK's own retries are paced and
 * every 429 is seen): requests inside a subscription wait for their bucket's pacer.
 */
export const pacingPolicy: PipelinePolicy = {
  name: "stewardPacing",
  async sendRequest(request, next) {
    const sub = /^https?:\/\/[^/]+\/+subscriptions\/([^/?#]+)/i.exec(request.url)?.[1];
    if (!sub) return next(request);
    const op = operationTypeOf(request.method);
    const pacer = pacerFor(decodeURIComponent(sub), op);
    await pacer.acquire();
    let response: PipelineResponse;
    try {
      response = await next(request);
    } catch (e) {
      pacer.release();
      pacer.observe(undefined, (e as { statusCode?: number }).statusCode === 429);
      throw e;
    }
    pacer.release();
    const header = response.headers.get(`x-ms-ratelimit-remaining-subscription-${op}`);
    pacer.observe(header === undefined ? undefined : Number(header), response.status === 429);
    return response;
  },
};
