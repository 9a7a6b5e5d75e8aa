/**
 * Fault injection and timings. Rules are matched before routing so that a fault looks to the
 * client exactly like Azure refusing the request (throttling, outages) whatever the route.
 */
import { randomUUID } from "node:crypto";
import { defaultThrottleSettings, mergeThrottleSettings } from "./arm/throttling.js";
import { graphErrorBody } from "./graph/responses.js";
import type { EmuResponse, FaultRule, FaultSettings } from "./types.js";

export function defaultFaultSettings(): FaultSettings {
  return {
    rules: [],
    latencyMs: 0,
    lroDurationMs: 200,
    lroDurationMsByType: {},
    graphReadAfterWriteDelayMs: 0,
    replicationDelayMs: 0,
    lroRetryAfterSeconds: 1,
    throttling: defaultThrottleSettings(),
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

/** Microsoft Graph's codes for the same statuses (graph/errors and the throttling guidance). */
const GRAPH_FAULT_CODES: Record<number, { code: string; message: string }> = {
  429: { code: "TooManyRequests", message: "Please retry again later." },
  500: { code: "generalException", message: "An unspecified error has occurred." },
  503: {
    code: "serviceNotAvailable",
    message:
      "The service is temporarily unavailable for maintenance or is overloaded. Please retry after a delay.",
  },
};

/** Which emulated service a request is for; the fault body takes that service's error shape. */
export type FaultService = "arm" | "graph" | "entra";

export interface FaultMatchRequest {
  method: string;
  path: string;
  /** Default "arm". */
  service?: FaultService;
  /** Graph echoes it in the body and the headers. */
  clientRequestId?: string;
}

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
    if (partial.lroDurationMsByType !== undefined) {
      next.lroDurationMsByType = validateDurationsByType(partial.lroDurationMsByType);
    }
    if (partial.throttling !== undefined) {
      next.throttling = mergeThrottleSettings(
        this.settings.throttling ?? defaultThrottleSettings(),
        partial.throttling,
      );
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
  match(req: FaultMatchRequest): EmuResponse | undefined {
    const rules = this.settings.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.method && rule.method.toUpperCase() !== req.method.toUpperCase()) continue;
      if (rule.path && !new RegExp(rule.path, "i").test(req.path)) continue;
      if (rule.count !== undefined && (this.fired[i] ?? 0) >= rule.count) continue;
      if (rule.rate !== undefined && rule.rate < 1 && Math.random() >= rule.rate) continue;
      this.fired[i] = (this.fired[i] ?? 0) + 1;
      return faultResponse(rule, req.service ?? "arm", req.clientRequestId);
    }
    return undefined;
  }
}

function validateDurationsByType(value: unknown): Record<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error("lroDurationMsByType must be an object of resource type -> milliseconds");
  const out: Record<string, number> = {};
  for (const [type, ms] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[^/\s]+(\/[^/\s]+)+$/.test(type))
      throw new Error(`lroDurationMsByType: '${type}' is not an ARM resource type (Namespace/type)`);
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0)
      throw new Error(`lroDurationMsByType['${type}'] must be a non-negative number`);
    out[type] = ms;
  }
  return out;
}

/** The LRO duration for a resource type: its lroDurationMsByType entry (case-insensitive), else lroDurationMs. */
export function lroDurationFor(settings: FaultSettings, resourceType?: string): number {
  const byType = settings.lroDurationMsByType;
  if (resourceType && byType) {
    const want = resourceType.toLowerCase();
    for (const [type, ms] of Object.entries(byType)) if (type.toLowerCase() === want) return ms;
  }
  return settings.lroDurationMs;
}

function validateRule(rule: FaultRule): void {
  if (typeof rule !== "object" || rule === null) throw new Error("each rule must be an object");
  if (!Number.isInteger(rule.status) || rule.status < 400 || rule.status > 599)
    throw new Error("rule.status must be an HTTP error status");
  if (rule.path !== undefined) new RegExp(rule.path, "i");
  for (const key of ["code", "message"] as const) {
    const v = rule[key];
    if (v !== undefined && (typeof v !== "string" || v === ""))
      throw new Error(`rule.${key} must be a non-empty string`);
  }
}

function faultResponse(rule: FaultRule, service: FaultService, clientRequestId?: string): EmuResponse {
  const fallback = {
    code: "EmulatedFault",
    message: `Fault injected by the emulator (status ${rule.status}).`,
  };
  const known =
    (service === "graph" ? GRAPH_FAULT_CODES[rule.status] : undefined) ??
    FAULT_CODES[rule.status] ??
    fallback;
  const code = rule.code ?? known.code;
  const message = rule.message ?? known.message;
  const headers: Record<string, string> = {};
  if (rule.retryAfterSeconds !== undefined) headers["retry-after"] = String(rule.retryAfterSeconds);
  if (service === "graph") {
    const requestId = randomUUID();
    const clientId = clientRequestId ?? requestId;
    headers["request-id"] = requestId;
    headers["client-request-id"] = clientId;
    return { status: rule.status, headers, body: graphErrorBody(code, message, requestId, clientId) };
  }
  if (service === "entra") {
    return {
      status: rule.status,
      headers,
      body: {
        error:
          rule.code ??
          (rule.status === 429 || rule.status === 503 ? "temporarily_unavailable" : "server_error"),
        error_description: message,
      },
    };
  }
  return { status: rule.status, headers, body: { error: { code, message } } };
}
