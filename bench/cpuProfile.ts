/**
 * CPU profiles of one benchmark phase (V8's sampling profiler through node:inspector, so only
 * the phase is sampled, not start-up or the other phases), and a summary of where the time
 * went by what the code is: the SDK pipelines, TLS, sockets, JSON, logging, our own code...
 * The .cpuprofile file opens in Chrome DevTools or VS Code for the detail.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Runs `fn` under the sampling profiler and writes `{dir}/{name}.cpuprofile`. */
export async function profiled<T>(
  dir: string,
  name: string,
  fn: () => Promise<T>,
): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  // 100 µs: fine enough for calls that cost tens of µs each, over thousands of events.
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  try {
    const result = await fn();
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: CpuProfile };
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

/** First match wins: [category, test on the frame's url and function name]. */
const CATEGORIES: Array<[string, (url: string, fn: string) => boolean]> = [
  // Profiler.stop's own collection of the samples, not the phase's work.
  ["the profiler itself", (u, fn) => u === "" && fn === "dispatch"],
  ["garbage collection", (_, fn) => fn === "(garbage collector)"],
  ["idle", (_, fn) => fn === "(idle)"],
  ["V8/native, unattributed", (_, fn) => fn === "(program)"],
  [
    "SDK: core-rest-pipeline policies",
    (u) => /@azure\/core-rest-pipeline|@typespec\/ts-http-runtime/.test(u),
  ],
  ["SDK: core-client serialization", (u) => u.includes("@azure/core-client")],
  ["SDK: LRO poller", (u) => u.includes("@azure/core-lro")],
  ["SDK: arm-resources", (u) => u.includes("@azure/arm-resources")],
  ["SDK: data-tables", (u) => u.includes("@azure/data-tables")],
  ["token acquisition (identity, MSAL)", (u) => /@azure\/identity|@azure\/msal/.test(u)],
  [
    "SDK: core utilities (tracing, util, logger)",
    (u) => /@azure\/core-|@azure\/logger|@azure\/abort-controller/.test(u),
  ],
  ["Functions runtime (InvocationContext)", (u) => u.includes("@azure/functions")],
  ["event parsing (zod)", (u) => u.includes("/zod/")],
  ["TLS", (u) => /node:_tls|node:tls|node:internal\/tls/.test(u)],
  ["HTTP client (node:http, https)", (u) => /node:_http|node:http|node:https/.test(u)],
  ["sockets and streams", (u) => /node:net|node:internal\/(stream|streams|net)|stream_base/.test(u)],
  [
    "async context, timers, promises",
    (u) =>
      /node:internal\/(async_hooks|async_local|timers|process\/task_queues)|node:async_hooks|node:timers/.test(
        u,
      ),
  ],
  ["JSON (parse, stringify)", (u, fn) => u === "" && (fn === "parse" || fn === "stringify")],
  ["logging (shared/log.ts)", (u) => u.includes("/shared/log.")],
  [
    "lean clients (shared/azure)",
    (u) =>
      /\/shared\/azure\/(restCall|httpSend|leanArm|leanTable|accessTokens|retryRules|leanClients)\./.test(u),
  ],
  ["our code: tagging, events, caches, ledgers", (u) => /\/(shared|functions)\//.test(u)],
  ["other Node internals", (u) => u.startsWith("node:")],
  ["other native (builtins)", (u) => u === ""],
];

export function categorise(profile: CpuProfile): Map<string, number> {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const microseconds = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const { url, functionName } = byNode.get(id)!.callFrame;
    const category = CATEGORIES.find(([, test]) => test(url, functionName))?.[0] ?? "other";
    microseconds.set(category, (microseconds.get(category) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return microseconds;
}

/** A table of µs per event by category, busiest first, idle and the profiler's own work left out. */
export function profileRows(
  profile: CpuProfile,
  events: number,
): Array<{ where: string; "µs/event": number; share: string }> {
  const cats = categorise(profile);
  cats.delete("idle");
  cats.delete("the profiler itself");
  const total = [...cats.values()].reduce((a, b) => a + b, 0);
  return [...cats.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([where, us]) => ({
      where,
      "µs/event": Math.round(us / events),
      share: `${((100 * us) / total).toFixed(1)} %`,
    }));
}
