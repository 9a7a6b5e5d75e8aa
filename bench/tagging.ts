/**
 * Benchmark of the tag-governance event path: ARM, Graph and Table calls per event and CPU time
 * per event, for 10,000 events, against the emulator and Azurite, at the app's default log
 * level (info). A new resource is reported on its own: the first event after start (token,
 * connections, tables, JIT), with cold caches (nothing remembered: each event alone, after a
 * reset) and with warm ones (its group's tags, the creator's name and the open-violation index
 * already known); then the mix of events, each of a new resource's round trips alone through the
 * lean clients and through the SDKs, and the figures against Azure's limits.
 *
 *   npx tsx bench/tagging.ts [--resources 2500] [--concurrency 16] [--http lean|sdk]
 *                            [--new-only] [--no-throttling] [--profile <dir>]
 *
 * `--http sdk` runs the event path through the Azure SDK clients (STEWARD_TAGGING_HTTP=sdk), for
 * the comparison; `--new-only` skips the phases after the new resources; `--no-throttling` turns
 * the emulator's ARM throttling (Azure's 10 writes/s) off, so that the phases are not stretched
 * over minutes of waiting for ARM's bucket; `--profile` writes a
 * CPU profile of the warm new-resource phase (2nd half) to <dir> and prints where its time went.
 *
 * The parent process starts Azurite and the emulator (seeded with the Contoso estate plus
 * resource groups full of untagged storage accounts), then runs the handler in a child process,
 * so `process.cpuUsage()` there measures aml-steward (parse, decide, HTTP, audit) and not the
 * emulator answering it. The child also needs NODE_EXTRA_CA_CERTS at start-up to trust the
 * emulator. The emulator's own request log cross-checks the child's call counts. Prints
 * figures; never passes or fails on time.
 */
import diagnostics from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { parseArgs } from "node:util";
import functionsRuntime from "@azure/functions";
import { buildResourceEvent } from "@aml-steward/azure-emulator";
import { contosoSeed, PEOPLE, PIPELINE_IDENTITY, STEWARD_APP } from "../local/seeds/contoso.js";
import type { EmulatorSeed, Principal } from "@aml-steward/azure-emulator";
import { emptyCounts, processCounts, type CallCounts } from "../shared/azure/callCounter.js";
import { getPolicy } from "../shared/policy/index.js";
import { runMain, setEmulatorThrottling, startBenchStack } from "./lib.js";

const GROUPS = 20;

/** Seen on Node's diagnostics channels: Table Storage requests, and TCP connections opened (to the emulator, each with a TLS handshake). */
interface WireCounts {
  tableReads: number;
  tableWrites: number;
  connections: number;
}

interface PhaseResult {
  phase: string;
  events: number;
  /** Per event, from the handler's start to its answer (what Event Grid waits for). */
  latencyMs?: { p50: number; p99: number; max: number };
  calls: CallCounts & WireCounts;
  cpuMs: number;
  /** Of cpuMs, the kernel's share: socket writes on loopback include the receiving side's TCP work. */
  systemMs: number;
  wallMs: number;
}

function layout(resources: number) {
  const policy = getPolicy();
  const sub = policy.projectSubscriptionId;
  const groups = Array.from({ length: GROUPS }, (_, g) => ({
    name: `rg-aml-bench${g}-dev`,
    id: `/subscriptions/${sub}/resourceGroups/rg-aml-bench${g}-dev`,
    tags: {
      costCenter: "CC-2100-FRAUD",
      project: `bench${g}`,
      environment: "dev",
      owner: PEOPLE.erin.userPrincipalName,
    },
  }));
  const accounts = Array.from({ length: resources }, (_, i) => {
    const g = groups[i % GROUPS]!;
    return `${g.id}/providers/Microsoft.Storage/storageAccounts/stbench${i}dev`;
  });
  // Resources for the cold-cache case: few, since each is handled alone.
  const coldAccounts = Array.from({ length: Math.min(200, Math.ceil(resources / 10)) }, (_, i) => {
    const g = groups[i % GROUPS]!;
    return `${g.id}/providers/Microsoft.Storage/storageAccounts/stcold${i}dev`;
  });
  // The very first event of the process: a new resource of its own.
  const firstAccount = `${groups[0]!.id}/providers/Microsoft.Storage/storageAccounts/stfirst0dev`;
  return { policy, sub, groups, accounts, coldAccounts, firstAccount };
}

// ====================================================================== parent

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      resources: { type: "string", default: "2500" },
      concurrency: { type: "string", default: "16" },
      http: { type: "string", default: "lean" },
      "new-only": { type: "boolean", default: false },
      "no-throttling": { type: "boolean", default: false },
      profile: { type: "string" },
    },
  });
  const resources = Number(values.resources);
  const { policy, sub, groups, accounts, coldAccounts, firstAccount } = layout(resources);

  const base = contosoSeed(policy);
  const seed: EmulatorSeed = {
    ...base,
    resourceGroups: [
      ...(base.resourceGroups ?? []),
      ...groups.map((g) => ({
        subscriptionId: sub,
        name: g.name,
        location: policy.regions.default,
        tags: g.tags,
      })),
    ],
    resources: [
      ...(base.resources ?? []),
      ...[firstAccount, ...accounts, ...coldAccounts].map((id) => ({
        id,
        location: policy.regions.default,
        kind: "StorageV2",
        sku: { name: "Standard_LRS" },
      })),
    ],
  };
  const stack = await startBenchStack("steward-bench-", seed);
  const { emulator } = stack;
  try {
    // The app's default log level: what a new resource costs in Azure includes its info lines.
    const child = stack.forkChild(import.meta.url, ["--child", String(resources), values.concurrency!], [], {
      STEWARD_LOG_LEVEL: "info",
      STEWARD_TAGGING_HTTP: values.http!,
      BENCH_NEW_ONLY: values["new-only"] ? "1" : "",
      BENCH_NO_THROTTLING: values["no-throttling"] ? "1" : "",
      BENCH_PROFILE_DIR: values.profile ?? "",
    });
    const results = await new Promise<PhaseResult[]>((resolve, reject) => {
      child.on("message", (m) => resolve(m as PhaseResult[]));
      child.on("exit", (code) =>
        code === 0 ? undefined : reject(new Error(`benchmark child exited with ${code}`)),
      );
    });
    const steward = emulator.requests.snapshot().requests.filter((r) => r.caller === STEWARD_APP.objectId);
    print(results, resources, Number(values.concurrency), values.http!);
    console.log(
      `\nThe emulator's request log (last 10,000 requests) holds ${steward.length} by aml-steward: ` +
        `${steward.filter((r) => r.kind === "arm" && r.method === "GET").length} ARM GET, ` +
        `${steward.filter((r) => r.kind === "arm" && r.method === "PATCH").length} ARM PATCH, ` +
        `${steward.filter((r) => r.kind === "graph").length} Graph.`,
    );
  } finally {
    await stack.stop();
  }
}

const isAlone = (r: PhaseResult) => r.phase.startsWith("alone");
const notInMix = (r: PhaseResult) =>
  isAlone(r) || r.phase.includes("cold") || r.phase.includes("first event");

function print(results: PhaseResult[], resources: number, concurrency: number, http: string): void {
  const total: PhaseResult = {
    phase: "all events (mix, warm)",
    events: 0,
    calls: { ...emptyCounts(), tableReads: 0, tableWrites: 0, connections: 0 },
    cpuMs: 0,
    systemMs: 0,
    wallMs: 0,
  };
  for (const r of results.filter((x) => !notInMix(x))) {
    total.events += r.events;
    total.cpuMs += r.cpuMs;
    total.systemMs += r.systemMs;
    total.wallMs += r.wallMs;
    for (const k of Object.keys(total.calls) as Array<keyof CallCounts>) total.calls[k] += r.calls[k];
  }
  const rows = [...results.filter((r) => !isAlone(r)), total].map((r) => ({
    phase: r.phase,
    events: r.events,
    "ARM reads/event": (r.calls.armReads / r.events).toFixed(3),
    "ARM writes/event": (r.calls.armWrites / r.events).toFixed(3),
    "Graph calls/event": ((r.calls.graphReads + r.calls.graphWrites) / r.events).toFixed(4),
    "Table reads/event": (r.calls.tableReads / r.events).toFixed(3),
    "Table writes/event": (r.calls.tableWrites / r.events).toFixed(3),
    "new connections": r.calls.connections,
    "CPU ms/event": (r.cpuMs / r.events).toFixed(3),
    "of which kernel": (r.systemMs / r.events).toFixed(3),
    "latency p99 ms": r.latencyMs ? r.latencyMs.p99.toFixed(1) : "",
    "wall ms (phase)": Math.round(r.wallMs),
  }));
  console.log(
    `\naml-steward tag governance: ${total.events} events over ${resources} storage accounts in ${GROUPS} resource groups, ` +
      `concurrency ${concurrency}, HTTP through the ${http === "sdk" ? "Azure SDK clients" : "lean clients"}, ` +
      `log level info, Node ${process.version}\n`,
  );
  console.table(rows);

  const fresh = results.filter((r) => r.phase.startsWith("new resource"));
  console.log("\nPer new resource:");
  for (const r of fresh) {
    const per = (n: number) => (n / r.events).toFixed(2);
    console.log(
      `  ${r.phase}: ${(r.cpuMs / r.events).toFixed(3)} ms CPU (${((r.cpuMs - r.systemMs) / r.events).toFixed(3)} user, ` +
        `${(r.systemMs / r.events).toFixed(3)} kernel); round trips: ${per(r.calls.armReads)} ARM read, ` +
        `${per(r.calls.armWrites)} ARM write, ${per(r.calls.graphReads + r.calls.graphWrites)} Graph, ` +
        `${per(r.calls.tableReads)} Table read, ${per(r.calls.tableWrites)} Table write`,
    );
  }

  const alone = results.filter(isAlone);
  if (alone.length) {
    console.log("\nEach round trip of a new resource alone (steady state, same process, CPU ms per call):");
    const byCall = new Map<string, Record<string, string>>();
    for (const r of alone) {
      const [, client, call] = /^alone \((\w+)\): (.*)$/.exec(r.phase) ?? [];
      if (!client || !call) continue;
      const row = byCall.get(call) ?? { call };
      row[client] = (r.cpuMs / r.events).toFixed(3);
      byCall.set(call, row);
    }
    console.table([...byCall.values()]);
  }

  const warm = fresh.filter((r) => r.phase.includes("warm"));
  const warmMs =
    warm.reduce((a, r) => a + r.cpuMs, 0) /
    Math.max(
      1,
      warm.reduce((a, r) => a + r.events, 0),
    );
  const maxLatency = Math.max(...results.map((r) => r.latencyMs?.max ?? 0));
  console.log(
    "\nAgainst Azure's limits:\n" +
      `  Event Grid waits ${EVENT_GRID_WINDOW_S} s per delivery; the slowest event here took ${maxLatency.toFixed(0)} ms ` +
      `(the emulator's latency, not Azure's; the handler's own budget is 20 s).\n` +
      `  ARM admits ${ARM_WRITES_PER_S} writes/s per principal and subscription after a burst of ${ARM_WRITE_BURST} ` +
      `(${(ARM_WRITES_PER_S * 3600).toLocaleString("en")}/hour; the older per-hour limit was ${ARM_LEGACY_WRITES_PER_HOUR.toLocaleString("en")}): ` +
      `each new resource costs 1 write, so ARM, not CPU, bounds the rate at ${ARM_WRITES_PER_S} new resources/s per subscription.\n` +
      `  At ${warmMs.toFixed(2)} ms CPU per new resource (warm), one core handles ${Math.floor(1000 / warmMs).toLocaleString("en")}/s; ` +
      `at ARM's ${ARM_WRITES_PER_S} writes/s that is ${((ARM_WRITES_PER_S * warmMs) / 10).toFixed(1)} % of a core per governed subscription, ` +
      `so an instance running ${concurrency} events at a time waits on Azure, not on CPU.`,
  );
}

/** Event Grid's webhook delivery timeout. */
const EVENT_GRID_WINDOW_S = 30;
/** ARM's token bucket for writes per principal per subscription (2024 limits; emulator/arm/throttling.ts). */
const ARM_WRITE_BURST = 200;
const ARM_WRITES_PER_S = 10;
const ARM_LEGACY_WRITES_PER_HOUR = 1200;

/**
 * Table Storage calls, seen on Node's HTTP client channel (the data-tables SDK has no counter of
 * ours): requests to Azurite's table endpoint, reads by method.
 */
function countWire(): WireCounts {
  const counts: WireCounts = { tableReads: 0, tableWrites: 0, connections: 0 };
  diagnostics.subscribe("net.client.socket", () => counts.connections++);
  const endpoint = /TableEndpoint=([^;]+)/.exec(process.env.AzureWebJobsStorage ?? "")?.[1];
  if (!endpoint) throw new Error("AzureWebJobsStorage has no TableEndpoint");
  const host = new URL(endpoint).host;
  diagnostics.subscribe("http.client.request.start", (message) => {
    const req = (message as { request: ClientRequest }).request;
    if (req.getHeader("host") !== host) return;
    if (req.method === "GET" || req.method === "HEAD") counts.tableReads++;
    else counts.tableWrites++;
  });
  return counts;
}

// ====================================================================== child

type Raw = ReturnType<typeof buildResourceEvent>;

function principal(
  p: { objectId: string; displayName: string; userPrincipalName?: string; appId?: string },
  kind: Principal["kind"],
): Principal {
  return { ...p, kind, createdAt: 0 };
}

async function child(resources: number, concurrency: number): Promise<void> {
  const { onResourceWrite } = await import("../functions/onResourceWrite.js");
  const { resetTaggingState } = await import("../shared/tagging/runtime.js");
  const { clearPrincipalNameCache } = await import("../shared/azure/principalNames.js");
  const { sub, groups, accounts, coldAccounts, firstAccount } = layout(resources);
  const tables = countWire();
  const profileDir = process.env.BENCH_PROFILE_DIR || undefined;
  if (process.env.BENCH_NO_THROTTLING) await setEmulatorThrottling(false);
  const tenantId = process.env.STEWARD_TENANT_ID!;
  const users = [PEOPLE.alice, PEOPLE.bob, PEOPLE.carol].map((p) => principal(p, "user"));
  const identity = principal(PIPELINE_IDENTITY, "managedIdentity");
  const steward = principal({ ...STEWARD_APP }, "servicePrincipal");
  const erin = principal(PEOPLE.erin, "user");

  const event = (resourceId: string, operationName: string, caller: Principal, at: number): Raw =>
    buildResourceEvent(
      {
        subscriptionId: sub,
        resourceId,
        operationName,
        caller,
        correlationId: crypto.randomUUID(),
        httpMethod: "PUT",
        url: `https://management.azure.com${resourceId}`,
      },
      tenantId,
      at,
    );
  const creator = (i: number) => (i % 4 === 3 ? identity : users[i % users.length]!);
  // @azure/functions is CommonJS: Node's ESM loader gives its exports as the default import.
  const context = new functionsRuntime.InvocationContext({
    functionName: "onResourceWrite",
    logHandler: () => {},
  });

  /** `forgetFirst`: each event alone, after the process forgets every cache (a cold instance's state). */
  async function run(phase: string, batch: Raw[], forgetFirst = false): Promise<PhaseResult> {
    const before = { ...processCounts };
    const tablesBefore = { ...tables };
    const latencies: number[] = [];
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: forgetFirst ? 1 : concurrency }, async () => {
        while (next < batch.length) {
          if (forgetFirst) {
            resetTaggingState();
            clearPrincipalNameCache();
          }
          const began = performance.now();
          await onResourceWrite(batch[next++], context);
          latencies.push(performance.now() - began);
        }
      }),
    );
    const used = process.cpuUsage(cpu);
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    const calls = {
      ...emptyCounts(),
      tableReads: tables.tableReads - tablesBefore.tableReads,
      tableWrites: tables.tableWrites - tablesBefore.tableWrites,
      connections: tables.connections - tablesBefore.connections,
    };
    for (const k of Object.keys(emptyCounts()) as Array<keyof CallCounts>)
      calls[k] = processCounts[k] - before[k];
    return {
      phase,
      events: batch.length,
      calls,
      latencyMs: { p50: at(0.5), p99: at(0.99), max: latencies.at(-1)! },
      cpuMs: (used.user + used.system) / 1000,
      systemMs: used.system / 1000,
      wallMs: performance.now() - t0,
    };
  }

  // The process's first event, a new resource: the token, the TLS connections, the tables'
  // creation and code V8 has not compiled yet are all in it (a freshly started instance).
  const results: PhaseResult[] = [];
  results.push(
    await run("new resource, first event after start (token, connections, tables, JIT)", [
      event(firstAccount, "Microsoft.Storage/storageAccounts/write", users[0]!, Date.now()),
    ]),
  );

  const start = Date.now();
  const creates = accounts.map((id, i) =>
    event(id, "Microsoft.Storage/storageAccounts/write", creator(i), start),
  );
  results.push(
    await run(
      "resource group written (tags read, cached)",
      groups.map((g) => event(g.id, "Microsoft.Resources/subscriptions/resourceGroups/write", erin, start)),
    ),
  );
  results.push(
    await run(
      "new resource, cold caches (one at a time)",
      coldAccounts.map((id, i) => event(id, "Microsoft.Storage/storageAccounts/write", creator(i), start)),
      true,
    ),
  );
  // What the cold case forgot, the group events put back.
  await run(
    "groups again",
    groups.map((g) => event(g.id, "Microsoft.Resources/subscriptions/resourceGroups/write", erin, start)),
  );
  // Two halves: the first runs while V8 is still optimising the SDKs' code (as on an instance
  // that has just started), the second is the steady state of a busy instance.
  const half = Math.ceil(creates.length / 2);
  results.push(await run("new resource, warm caches, 1st half", creates.slice(0, half)));
  const secondHalf = () => run("new resource, warm caches, 2nd half", creates.slice(half));
  if (profileDir) {
    const { profiled, profileRows } = await import("./cpuProfile.js");
    const { result, profile } = await profiled(
      profileDir,
      `tagging-new-resource-${process.env.STEWARD_TAGGING_HTTP}`,
      secondHalf,
    );
    results.push(result);
    console.log(
      `\nWhere the CPU of a new resource goes (warm caches, 2nd half, ${result.events} events, profile in ${profileDir}):`,
    );
    console.table(profileRows(profile, result.events));
  } else {
    results.push(await secondHalf());
  }
  if (process.env.BENCH_NEW_ONLY) {
    results.push(...(await roundTripsAlone(accounts.slice(0, Math.min(500, accounts.length)), concurrency)));
    process.send!(results);
    return;
  }
  results.push(
    await run(
      "own tag write (loop guard)",
      accounts.map((id) => event(id, "Microsoft.Resources/tags/write", steward, Date.now())),
    ),
  );
  results.push(await run("same event redelivered", creates));
  // Someone else's tag writes (portal, az tag): Dave deletes the cost centre from some accounts
  // through the Tags API (outside the measurement), and the events of those writes reach the
  // handler, since only aml-steward's own writes are filtered out. Then tag writes that leave the
  // required tags alone (Dave sets a tag of his own).
  const tampered = accounts.slice(0, Math.min(500, Math.floor(resources / 4)));
  const untouched = accounts.slice(tampered.length, tampered.length * 2);
  const dave = principal(PEOPLE.dave, "user");
  await tamperAs(PEOPLE.dave, tampered, untouched);
  results.push(
    await run(
      "someone else's tag write removing a cost tag",
      tampered.map((id) => event(id, "Microsoft.Resources/tags/write", dave, Date.now())),
    ),
  );
  results.push(
    await run(
      "someone else's tag write, required tags intact",
      untouched.map((id) => event(id, "Microsoft.Resources/tags/write", dave, Date.now())),
    ),
  );
  results.push(
    await run(
      "older event arriving late (out of order)",
      accounts
        .slice(0, Math.ceil(resources / 2))
        .map((id, i) => event(id, "Microsoft.Storage/storageAccounts/write", creator(i), start - 60_000)),
    ),
  );
  results.push(
    await run(
      "newer write to a compliant resource",
      accounts
        .slice(0, Math.floor(resources / 2))
        .map((id, i) => event(id, "Microsoft.Storage/storageAccounts/write", creator(i), Date.now() + 1)),
    ),
  );
  results.push(...(await roundTripsAlone(accounts.slice(0, Math.min(500, accounts.length)), concurrency)));
  process.send!(results);
}

/** Dave's own tag writes, through his own client (not aml-steward's, so not counted). */
async function tamperAs(person: { objectId: string }, remove: string[], note: string[]): Promise<void> {
  const { ResourceManagementClient } = await import("@azure/arm-resources");
  const { EmulatorPrincipalCredential } = await import("@aml-steward/azure-emulator");
  const endpoint = process.env.STEWARD_ARM_ENDPOINT!;
  const arm = new ResourceManagementClient(
    new EmulatorPrincipalCredential(new URL(endpoint).origin, person),
    layout(0).sub,
    { endpoint, credentialScopes: ["https://management.azure.com/.default"] },
  );
  const key = getPolicy().tags.costCenter;
  const write = (id: string, operation: "Delete" | "Merge", tags: Record<string, string>) =>
    arm.tagsOperations.beginUpdateAtScopeAndWait(
      id,
      { operation, properties: { tags } },
      { updateIntervalInMs: 10 },
    );
  for (let i = 0; i < remove.length; i += 16)
    await Promise.all(remove.slice(i, i + 16).map((id) => write(id, "Delete", { [key]: "" })));
  for (let i = 0; i < note.length; i += 16)
    await Promise.all(note.slice(i, i + 16).map((id) => write(id, "Merge", { reviewedBy: "dave" })));
}

/**
 * Where a new resource's CPU goes: each of its three round trips made alone, with no event,
 * decision or log around it, through the lean clients the event path uses and through the SDK
 * clients it used before (and promotion and reconciliation still use), in the same process.
 */
async function roundTripsAlone(ids: string[], concurrency: number): Promise<PhaseResult[]> {
  const { azure } = await import("../shared/azure/clients.js");
  const { leanClients } = await import("../shared/azure/leanClients.js");
  const { readTagTarget } = await import("../shared/tagging/tagReader.js");
  const { leanTagArm, sdkTagArm } = await import("../shared/tagging/tagArm.js");
  const { leanAuditRecorder } = await import("../shared/tagging/auditRecorder.js");
  const { AuditLog } = await import("../shared/ledger/audit.js");
  const { resetPacers } = await import("../shared/azure/ratePacer.js");
  const clients = azure();
  const lean = leanClients(clients);
  const table = "benchRoundTrips";
  const sides = [
    {
      client: "lean",
      arm: leanTagArm(lean.arm),
      audit: lean.table ? leanAuditRecorder(lean.table, table) : new AuditLog(clients.table(table)),
    },
    { client: "SDK", arm: sdkTagArm((s) => clients.resources(s)), audit: new AuditLog(clients.table(table)) },
  ];
  const measure = async (phase: string, call: (id: string) => Promise<unknown>): Promise<PhaseResult> => {
    await call(ids[0]!); // connections and compiled code, as in the event path's steady state
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < ids.length) await call(ids[next++]!);
      }),
    );
    const used = process.cpuUsage(cpu);
    return {
      phase,
      events: ids.length,
      calls: { ...emptyCounts(), tableReads: 0, tableWrites: 0, connections: 0 },
      cpuMs: (used.user + used.system) / 1000,
      systemMs: used.system / 1000,
      wallMs: performance.now() - t0,
    };
  };
  // ARM's write bucket (10/s, emulated) would make 2,000 PATCHes take minutes; CPU per call does
  // not depend on it, so it is off for these calls only.
  await setEmulatorThrottling(false);
  // ...and the client side's pacers, which have learnt the 10/s and would pace these writes.
  resetPacers();
  const out: PhaseResult[] = [];
  // Twice each, alternating, so neither side always runs on a colder JIT or a busier moment.
  for (const round of [0, 1])
    for (const { client, arm, audit } of round === 0 ? sides : [...sides].reverse()) {
      out.push(
        await measure(`alone (${client}): ARM GET of the resource`, (id) => readTagTarget(arm, id)),
        await measure(`alone (${client}): ARM tags PATCH (Merge)`, (id) =>
          arm.mergeTags(id, { benchProbe: String(round) }),
        ),
        await measure(`alone (${client}): audit row (Table insert)`, (id) =>
          audit.record({ actor: "bench", action: "probe", target: id, project: "bench", reason: "probe" }),
        ),
      );
    }
  if (!process.env.BENCH_NO_THROTTLING) await setEmulatorThrottling(true);
  // The second round of each call is the steady state.
  return out.filter((r, i, all) => all.findLastIndex((x) => x.phase === r.phase) === i);
}

const args = process.argv.slice(2);
runMain(
  args[0] === "--child" ? child(Number(args[1]), Number(args[2])).then(() => process.exit(0)) : parent(),
);
