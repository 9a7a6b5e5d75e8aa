/**
 * Benchmark of the nightly reconciliation at growing subscription sizes: ARM list calls (target:
 * the number of pages, nothing per resource), writes (target: = drifted resources), 429s
 * (target: under 1 % of writes), the write rate against ARM's ceiling (target: at least 90 %),
 * peak heap (target: flat as the subscription grows) and Azure-equivalent wall time.
 *
 *   npx tsx bench/reconcile.ts [--sizes 1000,10000,100000] [--latency 20] [--drift 0.1] [--time-scale 5]
 *
 * The emulator throttles as ARM does (writes: 200 burst, 10 per second per identity and
 * subscription), at `--time-scale` Azure seconds per real second; latency is given in Azure
 * milliseconds and scaled the same way. Times are reported in Azure-equivalent seconds, which
 * is what the run would take against Azure: at least (writes - 200) / 10 s. A time scale above
 * what this machine can serve (Azurite audits every write) shows as a ratio below 1 that is the
 * machine's, not the pacing's: 5 (50 writes/s real) is safe on two busy cores.
 *
 * The default run takes about two minutes on an idle machine, most of it the 100,000 size
 * (10,000 tag writes, each audited by two Table inserts that Azurite handles one at a time);
 * `--sizes 1000,10000` takes seconds.
 *
 * The parent process runs Azurite and the emulator and seeds each size through the control API
 * (POST /_emulator/seed, in chunks); a child process runs the reconciliation, so its heap holds
 * aml-steward's working set and not the emulator's 100,000 resources. The child needs
 * NODE_EXTRA_CA_CERTS at start-up to trust the emulator, and --expose-gc for a clean baseline.
 * Prints figures; never passes or fails on time.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { parseArgs } from "node:util";
import { contosoSeed } from "../local/seeds/contoso.js";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { getPolicy, parsePolicy, type EstatePolicy } from "../shared/policy/index.js";
import { runMain, startBenchStack } from "./lib.js";

const PER_GROUP = 200;
const MAX_GROUPS = 500;
const SEED_CHUNK = 5000;
const TYPES = [
  "Microsoft.Compute/disks",
  "Microsoft.Network/networkInterfaces",
  "Microsoft.Compute/snapshots",
];

interface SizeResult {
  size: number;
  status: string;
  scanned: number;
  drifted: number;
  fixed: number;
  unattributed: number;
  resourcePages: number;
  groupPages: number;
  armReads: number;
  armWrites: number;
  throttled: number;
  /** ARM requests the emulator answered during the run (cross-checks armReads + armWrites). */
  emulatorArm: number;
  heapBaselineMb: number;
  heapPeakMb: number;
  /** Peak of the heap still in use after a forced GC (sampled every second): the working set. */
  liveHeapPeakMb: number;
  rssPeakMb: number;
  wallMs: number;
  scanMs: number;
  /** Real ms from the start of the run to its first and last write. */
  firstWriteMs?: number;
  lastWriteMs?: number;
  /** From the emulator's throttling counters. */
  admittedWrites: number;
  throttledWrites: number;
  azureElapsedMs: number;
}

const WRITE_BURST = 200;
const WRITES_PER_SECOND = 10;

/** The default policy, with a guard wide enough for the benchmark's deliberate 10% drift. */
function benchPolicy(): EstatePolicy {
  const doc = structuredClone(getPolicy());
  doc.reconcile = { ...doc.reconcile, maxChangeShare: 0.5, maxChangeCount: 10_000_000 };
  return parsePolicy(doc, "bench-policy");
}

function layout(policy: EstatePolicy, size: number, drift: number) {
  const sub = policy.projectSubscriptionId;
  const groupCount = Math.min(MAX_GROUPS, Math.max(1, Math.ceil(size / PER_GROUP)));
  const groups = Array.from({ length: groupCount }, (_, g) => ({
    name: `rg-aml-bench${g}-dev`,
    tags: {
      costCenter: "CC-2100-FRAUD",
      project: `bench${g}`,
      environment: "dev",
      owner: "erin@contoso.com",
    },
  }));
  const orphanGroup = "rg-bench-orphan";
  const everyDrift = Math.max(1, Math.round(1 / drift));
  /** Resource i: 1% in an untagged group (unattributed), every `everyDrift`-th untagged (drift). */
  const resource = (i: number) => {
    const orphan = i % 100 === 99;
    const g = groups[i % groupCount]!;
    const rg = orphan ? orphanGroup : g.name;
    const type = TYPES[i % TYPES.length]!;
    const id = `/subscriptions/${sub}/resourceGroups/${rg}/providers/${type}/bench-${i}`;
    const drifted = !orphan && i % everyDrift === 0;
    return { id, location: policy.regions.default, tags: orphan || drifted ? {} : { ...g.tags } };
  };
  return { sub, groups, orphanGroup, resource };
}

// ====================================================================== parent

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "1000,10000,100000" },
      latency: { type: "string", default: "20" },
      drift: { type: "string", default: "0.1" },
      "time-scale": { type: "string", default: "5" },
    },
  });
  const timeScale = Number(values["time-scale"]);
  const sizes = values.sizes!.split(",").map((s) => Number(s.trim()));
  const latencyMs = Number(values.latency);
  const drift = Number(values.drift);
  const policy = benchPolicy();

  const stack = await startBenchStack("steward-bench-reconcile-", contosoSeed(policy));
  const ca = readFileSync(stack.certPath);
  const control = (method: string, p: string, body?: unknown) =>
    controlCall(stack.emulator.url, ca, method, p, body);

  const child = stack.forkChild(import.meta.url, ["--child"], ["--expose-gc"]);
  const replies: Array<(m: unknown) => void> = [];
  child.on("message", (m) => replies.shift()?.(m));
  const ask = <T>(m: unknown) =>
    new Promise<T>((resolve, reject) => {
      replies.push(resolve as (m: unknown) => void);
      child.send(m as never, (e) => e && reject(e));
    });
  child.on("exit", (code) => {
    if (code) console.error(`benchmark child exited with ${code}`);
  });

  const results: SizeResult[] = [];
  try {
    for (const size of sizes) {
      const t0 = Date.now();
      await control("POST", "/_emulator/reset");
      await seedSize(control, policy, size, drift);
      await control("POST", "/_emulator/faults", {
        latencyMs: latencyMs / timeScale,
        throttling: { enabled: true, timeScale },
      });
      await control("DELETE", "/_emulator/requests");
      process.stderr.write(
        `size ${size}: seeded in ${Math.round((Date.now() - t0) / 1000)} s; reconciling...\n`,
      );
      const r = await ask<ChildResult>({ size });
      const { counters, throttling } = (await control("GET", "/_emulator/requests?kind=none")) as {
        counters: { byKind: Record<string, number> };
        throttling: { admitted: { writes: number }; throttled: { writes: number }; azureElapsedMs: number };
      };
      results.push({
        ...r,
        emulatorArm: counters.byKind.arm ?? 0,
        admittedWrites: throttling.admitted.writes,
        throttledWrites: throttling.throttled.writes,
        azureElapsedMs: throttling.azureElapsedMs,
      });
      process.stderr.write(`size ${size}: ${r.status} in ${Math.round(r.wallMs / 1000)} s\n`);
    }
  } finally {
    child.kill();
    await stack.stop();
  }
  print(results, latencyMs, drift, policy, timeScale);
}

async function seedSize(
  control: (m: string, p: string, b?: unknown) => Promise<unknown>,
  policy: EstatePolicy,
  size: number,
  drift: number,
): Promise<void> {
  const { sub, groups, orphanGroup, resource } = layout(policy, size, drift);
  const seed: EmulatorSeed = {
    resourceGroups: [
      ...groups.map((g) => ({
        subscriptionId: sub,
        name: g.name,
        location: policy.regions.default,
        tags: g.tags,
      })),
      { subscriptionId: sub, name: orphanGroup, location: policy.regions.default },
    ],
  };
  await control("POST", "/_emulator/seed", seed);
  for (let from = 0; from < size; from += SEED_CHUNK) {
    const resources = Array.from({ length: Math.min(SEED_CHUNK, size - from) }, (_, k) => resource(from + k));
    await control("POST", "/_emulator/seed", { resources });
  }
}

/** The control API over HTTPS, trusting the emulator's certificate (this process has no NODE_EXTRA_CA_CERTS). */
function controlCall(base: string, ca: Buffer, method: string, p: string, body?: unknown): Promise<unknown> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${p}`,
      {
        method,
        ca,
        headers: payload ? { "content-type": "application/json", "content-length": payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if ((res.statusCode ?? 500) >= 300)
            reject(new Error(`${method} ${p} -> ${res.statusCode} ${text}`));
          else resolve(text ? JSON.parse(text) : undefined);
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

type ChildResult = Omit<SizeResult, "emulatorArm" | "admittedWrites" | "throttledWrites" | "azureElapsedMs">;

function print(
  results: SizeResult[],
  latencyMs: number,
  drift: number,
  policy: EstatePolicy,
  timeScale: number,
): void {
  console.log(
    `\naml-steward reconciliation: one subscription, ${Math.round(drift * 100)}% drifted, 1% unattributed, ` +
      `page size 1000, ${latencyMs} ms (Azure-equivalent) latency per call, write concurrency ${policy.reconcile.concurrency}, ` +
      `ARM throttling at Azure's limits (writes ${WRITE_BURST} burst, ${WRITES_PER_SECOND}/s), time scale ${timeScale}, ` +
      `Node ${process.version}\n`,
  );
  const azure = (realMs: number) => (realMs * timeScale) / 1000;
  const mb = (x: number) => x.toFixed(1);
  console.table(
    results.map((r) => ({
      resources: r.size,
      status: r.status,
      "list calls (res+RG pages)": `${r.resourcePages + r.groupPages} (${r.resourcePages}+${r.groupPages})`,
      "ARM reads": r.armReads,
      drifted: r.drifted,
      "writes (ARM PATCH)": r.armWrites,
      fixed: r.fixed,
      unattributed: r.unattributed,
      "429s": r.throttled,
      "429s / writes %": ((100 * r.throttledWrites) / Math.max(1, r.admittedWrites)).toFixed(2),
      "emulator ARM requests": r.emulatorArm,
      ...writeRate(r, azure),
      "heap baseline MB": mb(r.heapBaselineMb),
      "heap peak MB": mb(r.heapPeakMb),
      "live heap peak MB": mb(r.liveHeapPeakMb),
      "RSS peak MB": mb(r.rssPeakMb),
      "scan s (Azure)": azure(r.scanMs).toFixed(1),
      "wall s (Azure)": (r.azureElapsedMs / 1000).toFixed(1),
      "wall s (real)": (r.wallMs / 1000).toFixed(1),
    })),
  );
}

/**
 * The write phase against ARM's ceiling. The first 200 writes ride the burst; after it ARM
 * admits 10 a second, so the floor is (writes - 200) / 10 s and the sustained rate is measured
 * over the writes after the burst: (writes - 200) / write phase, divided by the ceiling.
 */
function writeRate(r: SizeResult, azure: (realMs: number) => number): Record<string, string> {
  const writes = r.admittedWrites;
  const floorS = Math.max(0, (writes - WRITE_BURST) / WRITES_PER_SECOND);
  const phaseS =
    r.firstWriteMs !== undefined && r.lastWriteMs !== undefined ? azure(r.lastWriteMs - r.firstWriteMs) : 0;
  return {
    "write phase s (Azure)": phaseS.toFixed(1),
    "Azure floor s": floorS.toFixed(1),
    "sustained writes/s / ceiling": floorS > 0 && phaseS > 0 ? (floorS / phaseS).toFixed(3) : "n/a (burst)",
  };
}

// ====================================================================== child

async function child(): Promise<void> {
  const { runReconcile } = await import("../shared/reconcile/index.js");
  const { silentLogger } = await import("../shared/log.js");
  const policy = benchPolicy();
  const gc = (globalThis as { gc?: () => void }).gc;

  process.on("message", (m: { size: number }) => {
    void (async () => {
      gc?.();
      const base = process.memoryUsage();
      let heapPeak = base.heapUsed;
      let rssPeak = base.rss;
      let livePeak = base.heapUsed;
      let ticks = 0;
      // heapUsed includes garbage not yet collected, whose peak follows V8's GC timing; a GC
      // once a second shows what the run really keeps alive.
      const sampler = setInterval(() => {
        if (++ticks % 100 === 0 && gc) {
          gc();
          livePeak = Math.max(livePeak, process.memoryUsage().heapUsed);
        }
        const u = process.memoryUsage();
        heapPeak = Math.max(heapPeak, u.heapUsed);
        rssPeak = Math.max(rssPeak, u.rss);
      }, 10);
      const t0 = performance.now();
      let scanMs = 0;
      let firstWriteMs: number | undefined;
      let lastWriteMs: number | undefined;
      const [r] = await runReconcile({
        subscriptionIds: [policy.projectSubscriptionId],
        policy,
        logger: silentLogger,
        onProgress: (p) => {
          const at = performance.now() - t0;
          if (p.written === 0) scanMs = at;
          else {
            firstWriteMs ??= at;
            lastWriteMs = at;
          }
        },
      });
      clearInterval(sampler);
      const MB = 1024 * 1024;
      const result: ChildResult = {
        size: m.size,
        status: r!.status + (r!.error ? ` (${r!.error})` : ""),
        scanned: r!.counts.scanned,
        drifted: r!.counts.drifted,
        fixed: r!.counts.fixed,
        unattributed: r!.counts.unattributed,
        resourcePages: r!.pages.resources,
        groupPages: r!.pages.resourceGroups,
        armReads: r!.calls.armReads,
        armWrites: r!.calls.armWrites,
        throttled: r!.calls.throttled,
        heapBaselineMb: base.heapUsed / MB,
        heapPeakMb: heapPeak / MB,
        liveHeapPeakMb: livePeak / MB,
        rssPeakMb: rssPeak / MB,
        wallMs: r!.durationMs,
        scanMs,
        firstWriteMs,
        lastWriteMs,
      };
      process.send!(result);
    })();
  });
}

runMain(process.argv[2] === "--child" ? child() : parent());
