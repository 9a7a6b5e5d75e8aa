/**
 * host.json, read the way the Functions host reads it: the queue extension's settings
 * (maxDequeueCount, visibilityTimeout, batchSize, newBatchThreshold, maxPollingInterval,
 * messageEncoding) and functionTimeout. Tests and the demo may override any of them (a
 * one-minute retry back-off is right in Azure and far too slow for a demo), so the runner
 * behaves like Azure with only the clock changed.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface QueueHostOptions {
  /** Deliveries before a failing message moves to `<queue>-poison` (host default 5). */
  maxDequeueCount: number;
  /** Delay before a failed message becomes visible again (host default 0). */
  visibilityTimeoutMs: number;
  /** Messages fetched per poll (host default 16, max 32). */
  batchSize: number;
  /** Fetch a new batch when in-flight messages drop to this (host default batchSize / 2). */
  newBatchThreshold: number;
  /** Longest wait between polls of an empty queue (host default 1 minute). */
  maxPollingIntervalMs: number;
  /** First wait after an empty poll; doubles up to maxPollingIntervalMs (the host starts near 200 ms). */
  minPollingIntervalMs: number;
  /** How the message text is encoded on the queue (host default base64). */
  messageEncoding: "base64" | "none";
  /**
   * How long a received message stays invisible while its function runs; the runner renews it
   * at half this period, as the host does (the host uses 10 minutes).
   */
  leaseMs: number;
}

export interface HostSettings {
  queues: QueueHostOptions;
  /** host.json functionTimeout (Flex/Premium default 30 min; ours says 15). */
  functionTimeoutMs: number;
}

export const DEFAULT_HOST_JSON = fileURLToPath(new URL("../../host.json", import.meta.url));

/**
 * A .NET TimeSpan as host.json writes it: "hh:mm:ss", "hh:mm:ss.fff" or "d.hh:mm:ss"; a bare
 * number is taken as milliseconds (older host.json files wrote maxPollingInterval that way).
 */
export function parseTimeSpan(value: string | number): number {
  if (typeof value === "number") return value;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(value.trim());
  if (!m) {
    if (/^\d+$/.test(value.trim())) return Number(value.trim());
    throw new Error(`"${value}" is not a TimeSpan (expected hh:mm:ss, e.g. 00:01:00)`);
  }
  const [, d, h, min, s, frac] = m;
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  return (((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60 + Number(s)) * 1000 + ms;
}

interface HostJson {
  functionTimeout?: string;
  extensions?: { queues?: Record<string, unknown> };
}

export function readHostJson(file = DEFAULT_HOST_JSON): HostJson {
  return JSON.parse(readFileSync(file, "utf8")) as HostJson;
}

/** The effective host settings: host defaults, then host.json, then `overrides`. */
export function hostSettings(
  hostJson: HostJson = readHostJson(),
  overrides: { queues?: Partial<QueueHostOptions>; functionTimeoutMs?: number } = {},
): HostSettings {
  const q = hostJson.extensions?.queues ?? {};
  const num = (key: string, fallback: number) => (typeof q[key] === "number" ? (q[key] as number) : fallback);
  const span = (key: string, fallback: number) =>
    typeof q[key] === "string" || typeof q[key] === "number" ? parseTimeSpan(q[key] as string) : fallback;
  const batchSize = Math.min(32, Math.max(1, num("batchSize", 16)));
  const encoding = q.messageEncoding === "none" ? "none" : "base64";
  const queues: QueueHostOptions = {
    maxDequeueCount: num("maxDequeueCount", 5),
    visibilityTimeoutMs: span("visibilityTimeout", 0),
    batchSize,
    newBatchThreshold: num("newBatchThreshold", Math.floor(batchSize / 2)),
    maxPollingIntervalMs: span("maxPollingInterval", 60_000),
    minPollingIntervalMs: 200,
    messageEncoding: encoding,
    leaseMs: 10 * 60_000,
    ...overrides.queues,
  };
  if (queues.maxDequeueCount < 1) throw new Error("queues.maxDequeueCount must be at least 1");
  return {
    queues,
    functionTimeoutMs:
      overrides.functionTimeoutMs ??
      (hostJson.functionTimeout ? parseTimeSpan(hostJson.functionTimeout) : 30 * 60_000),
  };
}
