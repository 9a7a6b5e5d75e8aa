/**
 * ARM request throttling, the one place it happens: the ARM router asks `admit` for every
 * authenticated request before authorisation, as Azure Resource Manager meters requests before
 * it looks at what they ask for (a refused request still costs a token).
 *
 * Azure's model (azure-facts.md, "Throttling"; the 2024 token-bucket limits): one bucket per
 * subscription x principal x operation type (reads 250 burst / 25 per s, writes 200 / 10,
 * deletes 200 / 10) and one per subscription x operation type shared by every principal, 15
 * times larger. A request needs a token from both; an empty bucket answers 429 with
 * `Retry-After`. Every answer carries `x-ms-ratelimit-remaining-subscription-{reads,writes,
 * deletes}` for its own operation type, which is what well-behaved clients pace themselves on.
 * Requests outside a subscription (`/subscriptions`, `/providers/...`) use the tenant's buckets
 * and `x-ms-ratelimit-remaining-tenant-*` headers.
 *
 * Time scale: `timeScale` Azure seconds pass per real second, so a 16-minute Azure schedule
 * runs in seconds. Buckets refill in Azure time; `Retry-After` is in real seconds (fractional
 * when scaled, which the JS and Python SDKs both parse) so clients wait the scaled time;
 * `azureElapsedMs` in the stats converts a run's wall time back to what Azure would take.
 */
import type { EmuResponse } from "../types.js";
import { armError } from "./errors.js";
import { lower, splitPath } from "./ids.js";
import type { BucketLimit, ThrottleSettings } from "./throttleSettings.js";

export type { BucketLimit, ThrottleSettings } from "./throttleSettings.js";

export type OperationType = "reads" | "writes" | "deletes";

export function defaultThrottleSettings(): ThrottleSettings {
  return {
    enabled: true,
    reads: { burst: 250, perSecond: 25 },
    writes: { burst: 200, perSecond: 10 },
    deletes: { burst: 200, perSecond: 10 },
    subscriptionMultiplier: 15,
    timeScale: 1,
  };
}

/** One object, so that "settings changed" (which refills the buckets) is an identity check. */
const AZURE_DEFAULTS: ThrottleSettings = Object.freeze(defaultThrottleSettings());

const OPERATION_TYPES: OperationType[] = ["reads", "writes", "deletes"];

/** Checks and merges a partial update (POST /_emulator/faults {throttling: {...}}). */
export function mergeThrottleSettings(current: ThrottleSettings, partial: unknown): ThrottleSettings {
  if (typeof partial !== "object" || partial === null || Array.isArray(partial))
    throw new Error("throttling must be an object");
  const p = partial as Record<string, unknown>;
  const next: ThrottleSettings = structuredClone(current);
  if (p.enabled !== undefined) {
    if (typeof p.enabled !== "boolean") throw new Error("throttling.enabled must be a boolean");
    next.enabled = p.enabled;
  }
  const positive = (key: string, v: unknown): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
      throw new Error(`throttling.${key} must be a positive number`);
    return v;
  };
  for (const op of OPERATION_TYPES) {
    const limit = p[op];
    if (limit === undefined) continue;
    if (typeof limit !== "object" || limit === null) throw new Error(`throttling.${op} must be an object`);
    const l = limit as Record<string, unknown>;
    if (l.burst !== undefined) next[op].burst = positive(`${op}.burst`, l.burst);
    if (l.perSecond !== undefined) next[op].perSecond = positive(`${op}.perSecond`, l.perSecond);
  }
  if (p.subscriptionMultiplier !== undefined)
    next.subscriptionMultiplier = positive("subscriptionMultiplier", p.subscriptionMultiplier);
  if (p.timeScale !== undefined) next.timeScale = positive("timeScale", p.timeScale);
  return next;
}

export function operationTypeOf(method: string): OperationType {
  const m = method.toUpperCase();
  if (m === "GET" || m === "HEAD") return "reads";
  if (m === "DELETE") return "deletes";
  return "writes";
}

interface Bucket {
  tokens: number;
  /** Azure time (ms) of the last refill. */
  at: number;
}

export interface ThrottleCounters {
  admitted: Record<OperationType, number>;
  throttled: Record<OperationType, number>;
  /** Azure-equivalent time since the counters were last reset. */
  azureElapsedMs: number;
  timeScale: number;
  enabled: boolean;
}

export type Admission = { ok: true; headers: Record<string, string> } | { ok: false; response: EmuResponse };

export class ArmThrottle {
  private buckets = new Map<string, Bucket>();
  private admitted = { reads: 0, writes: 0, deletes: 0 };
  private throttled = { reads: 0, writes: 0, deletes: 0 };
  private lastSettings: ThrottleSettings | undefined;
  /** The real time and Azure time at which the current time scale took effect. */
  private epochReal: number;
  private epochAzure = 0;
  private startAzure = 0;

  constructor(
    private readonly now: () => number,
    private readonly settingsOf: () => ThrottleSettings | undefined,
  ) {
    this.epochReal = now();
  }

  private settings(): ThrottleSettings {
    return this.settingsOf() ?? AZURE_DEFAULTS;
  }

  /** Azure-equivalent clock in ms: real time stretched by the time scale in force since it was set. */
  private azureNow(s: ThrottleSettings): number {
    return this.epochAzure + (this.now() - this.epochReal) * s.timeScale;
  }

  /** New limits or a new time scale start from full buckets, as a fresh subscription would. */
  private sync(): ThrottleSettings {
    const s = this.settings();
    if (s !== this.lastSettings) {
      if (this.lastSettings) this.epochAzure = this.azureNow(this.lastSettings);
      this.epochReal = this.now();
      this.lastSettings = s;
      this.buckets.clear();
    }
    return s;
  }

  reset(): void {
    this.buckets.clear();
    this.admitted = { reads: 0, writes: 0, deletes: 0 };
    this.throttled = { reads: 0, writes: 0, deletes: 0 };
    const s = this.settings();
    this.lastSettings = s;
    this.epochReal = this.now();
    this.epochAzure = 0;
    this.startAzure = 0;
  }

  /** Restarts the counters (DELETE /_emulator/requests) but not the buckets: Azure's memory of recent requests stays. */
  clearCounters(): void {
    this.admitted = { reads: 0, writes: 0, deletes: 0 };
    this.throttled = { reads: 0, writes: 0, deletes: 0 };
    this.startAzure = this.azureNow(this.sync());
  }

  counters(): ThrottleCounters {
    const s = this.sync();
    return {
      admitted: { ...this.admitted },
      throttled: { ...this.throttled },
      azureElapsedMs: Math.round(this.azureNow(s) - this.startAzure),
      timeScale: s.timeScale,
      enabled: s.enabled,
    };
  }

  /** Takes a token for the request from its principal's bucket and its scope's shared one. */
  admit(method: string, path: string, principalId: string | undefined): Admission {
    const s = this.sync();
    const op = operationTypeOf(method);
    const seg = splitPath(path);
    const inSubscription = lower(seg[0] ?? "") === "subscriptions" && seg.length >= 2;
    const scope = inSubscription ? `s:${lower(seg[1]!)}` : "tenant";
    const header = `x-ms-ratelimit-remaining-${inSubscription ? "subscription" : "tenant"}-${op}`;
    if (!s.enabled) {
      this.admitted[op]++;
      return { ok: true, headers: {} };
    }
    const limit = s[op];
    const t = this.azureNow(s);
    const own = this.refill(`${scope}|${lower(principalId ?? "anonymous")}|${op}`, limit, 1, t);
    const shared = this.refill(`${scope}|*|${op}`, limit, s.subscriptionMultiplier, t);
    if (own.tokens >= 1 && shared.tokens >= 1) {
      own.tokens -= 1;
      shared.tokens -= 1;
      this.admitted[op]++;
      return { ok: true, headers: { [header]: String(Math.floor(Math.min(own.tokens, shared.tokens))) } };
    }
    this.throttled[op]++;
    const rate = limit.perSecond;
    const azureWaitS = Math.max(
      (1 - own.tokens) / rate,
      (1 - shared.tokens) / (rate * s.subscriptionMultiplier),
    );
    const realWaitS = azureWaitS / s.timeScale;
    // Azure sends whole seconds; a scaled wait keeps its fraction or every retry would wait 1 s.
    const retryAfter = s.timeScale === 1 ? String(Math.max(1, Math.ceil(realWaitS))) : realWaitS.toFixed(3);
    const kind = op === "reads" ? "read" : op === "writes" ? "write" : "delete";
    return {
      ok: false,
      response: armError(
        429,
        inSubscription ? "SubscriptionRequestsThrottled" : "TenantRequestsThrottled",
        `Number of '${kind}' requests for ${inSubscription ? `subscription '${seg[1]}'` : "the tenant"} actor '${principalId ?? "anonymous"}' exceeded. Please try again after '${Math.ceil(azureWaitS)}' seconds after the last request.`,
        { "retry-after": retryAfter, [header]: "0" },
      ),
    };
  }

  private refill(key: string, limit: BucketLimit, multiplier: number, t: number): Bucket {
    const capacity = limit.burst * multiplier;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: capacity, at: t };
      this.buckets.set(key, b);
      return b;
    }
    b.tokens = Math.min(capacity, b.tokens + ((t - b.at) / 1000) * limit.perSecond * multiplier);
    b.at = t;
    return b;
  }
}
