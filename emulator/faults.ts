/**
 * Fault injection and timings. Rules are matched before routing so that a fault looks to the
 * client exactly like Azure refusing the request (throttling, outages) whatever the route.
 */
import type { EmuRequest, EmuResponse, FaultRule, FaultSettings } from "./types.js";

export function defaultFaultSettings(): FaultSettings {
  return {
    rules: [],
    latencyMs: 0,
    lroDurationMs: 200,
    graphReadAfterWriteDelayMs: 0,
    replicationDelayMs: 0,
    lroRetryAfterSeconds: 1,
  };
}

const FAULT_CODES: Record<number, { code: string; message: string }> = {
  429: {
    code: "TooManyRequests",
    message:
      "The request is being throttled as the limit has been reached for operation type. Please retry after the time given in the Retry-After header.",
  },
  500: { code: "InternalServerError", message: "Encountered internal server error." },
  502: { code: "BadGateway", message: "The gateway did not receive a response from the service." },
  503: {
    code: "ServiceUnavailable",
    message: "The service is temporarily unavailable. Please try again later.",
  },
  504: {
    code: "GatewayTimeout",
    message: "The gateway did not receive a response within the specified time period.",
  },
};

/** Holds the live settings and the per-rule hit counters that `count` needs. */
export class FaultInjector {
  private settings: FaultSettings = defaultFaultSettings();
  /** Times each rule (by index in the current rules array) has fired since the rules were set. */
  private fired: number[] = [];

  get(): FaultSettings {
    return this.settings;
  }

  /** Merges a partial update; `rules`, when present, replaces the list and resets the counters. */
  update(partial: Partial<FaultSettings>): FaultSettings {
    const next: FaultSettings = { ...this.settings };
    for (const key of [
      "latencyMs",
      "lroDurationMs",
      "graphReadAfterWriteDelayMs",
      "replicationDelayMs",
      "lroRetryAfterSeconds",
    ] as const) {
      const value = partial[key];
      if (value !== undefined) {
        if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
          throw new Error(`${key} must be a non-negative number`);
        next[key] = value;
      }
    }
    if (partial.rules !== undefined) {
      if (!Array.isArray(partial.rules)) throw new Error("rules must be an array");
      for (const rule of partial.rules) validateRule(rule);
      next.rules = partial.rules.map((r) => ({ ...r }));
      this.fired = next.rules.map(() => 0);
    }
    this.settings = next;
    return next;
  }

  reset(): void {
    this.settings = defaultFaultSettings();
    this.fired = [];
  }

  /** Returns the fault response for this request, or undefined to let it through. */
  match(req: Pick<EmuRequest, "method" | "path">): EmuResponse | undefined {
    const rules = this.settings.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.method && rule.method.toUpperCase() !== req.method.toUpperCase()) continue;
      if (rule.path && !new RegExp(rule.path, "i").test(req.path)) continue;
      if (rule.count !== undefined && (this.fired[i] ?? 0) >= rule.count) continue;
      if (rule.rate !== undefined && rule.rate < 1 && Math.random() >= rule.rate) continue;
      this.fired[i] = (this.fired[i] ?? 0) + 1;
      return faultResponse(rule);
    }
    return undefined;
  }
}

function validateRule(rule: FaultRule): void {
  if (typeof rule !== "object" || rule === null) throw new Error("each rule must be an object");
  if (!Number.isInteger(rule.status) || rule.status < 400 || rule.status > 599)
    throw new Error("rule.status must be an HTTP error status");
  if (rule.path !== undefined) new RegExp(rule.path, "i");
}

function faultResponse(rule: FaultRule): EmuResponse {
  const known = FAULT_CODES[rule.status] ?? {
    code: "EmulatedFault",
    message: `Fault injected by the emulator (status ${rule.status}).`,
  };
  const headers: Record<string, string> = {};
  if (rule.retryAfterSeconds !== undefined) headers["retry-after"] = String(rule.retryAfterSeconds);
  return { status: rule.status, headers, body: { error: { code: known.code, message: known.message } } };
}
