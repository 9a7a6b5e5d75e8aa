/**
 * Benchmark of the tag-governance event path: ARM, Graph and Table calls per event and CPU time
 * per event, for 10,000 events, with the real SDKs against the emulator and Azurite, at the
 * app's default log level (info). A new resource is reported on its own, with cold caches
 * (nothing remembered: each event alone, after a reset) and warm ones (its group's tags, the
 * creator's name and the open-violation index already known), beside the mix of events.
 *
 *   npx tsx bench/tagging.ts [--resources 2500] [--concurrency 16]
 *
 * The parent process starts Azurite and the emulator (seeded with the Contoso estate plus
 * resource groups full of untagged storage accounts), then runs the handler in a child process,
 * so `process.cpuUsage()` there measures aml-steward (parse, decide, SDK, audit) and not the
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
import { runMain, startBenchStack } from "./lib.js";

const GROUPS = 20;

interface TableCalls {
  tableReads: number;
  tableWrites: number;
}

interface PhaseResult {
  phase: string;
  events: number;
  calls: CallCounts & TableCalls;
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
  return { policy, sub, groups, accounts, coldAccounts };
}

// ====================================================================== parent

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      resources: { type: "string", default: "2500" },
      concurrency: { type: "string", default: "16" },
    },
  });
  const resources = Number(values.resources);
  const { policy, sub, groups, accounts, coldAccounts } = layout(resources);

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
      ...[...accounts, ...coldAccounts].map((id) => ({
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
    });
    const results = await new Promise<PhaseResult[]>((resolve, reject) => {
      child.on("message", (m) => resolve(m as PhaseResult[]));
      child.on("exit", (code) =>
        code === 0 ? undefined : reject(new Error(`benchmark child exited with ${code}`)),
      );
    });
    const steward = emulator.requests.snapshot().requests.filter((r) => r.caller === STEWARD_APP.objectId);
    print(results, resources, Number(values.concurrency));
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

function print(results: PhaseResult[], resources: number, concurrency: number): void {
  const total: PhaseResult = {
    phase: "all events (mix, warm)",
    events: 0,
    calls: { ...emptyCounts(), tableReads: 0, tableWrites: 0 },
    cpuMs: 0,
    systemMs: 0,
    wallMs: 0,
  };
  for (const r of results) {
    if (r.phase.includes("cold") || r.phase.startsWith("alone")) continue;
    total.events += r.events;
    total.cpuMs += r.cpuMs;
    total.systemMs += r.systemMs;
    total.wallMs += r.wallMs;
    for (const k of Object.keys(total.calls) as Array<keyof CallCounts>) total.calls[k] += r.calls[k];
  }
  const rows = [...results.filter((r) => !r.phase.startsWith("alone")), total].map((r) => ({
    phase: r.phase,
    events: r.events,
    "ARM reads/event": (r.calls.armReads / r.events).toFixed(3),
    "ARM writes/event": (r.calls.armWrites / r.events).toFixed(3),
    "Graph calls/event": ((r.calls.graphReads + r.calls.graphWrites) / r.events).toFixed(4),
    "Table reads/event": (r.calls.tableReads / r.events).toFixed(3),
    "Table writes/event": (r.calls.tableWrites / r.events).toFixed(3),
    "CPU ms/event": (r.cpuMs / r.events).toFixed(3),
    "of which kernel": (r.systemMs / r.events).toFixed(3),
    "wall ms (phase)": Math.round(r.wallMs),
  }));
  console.log(
    `\naml-steward tag governance: ${total.events} events over ${resources} storage accounts in ${GROUPS} resource groups, ` +
      `concurrency ${concurrency}, Node ${process.version}\n`,
  );
  console.table(rows);
  const fresh = results.filter((r) => r.phase.startsWith("new resource") || r.phase.startsWith("alone"));
  console.log("\nPer new resource:");
  for (const r of fresh) {
    const per = (n: number) => (n / r.events).toFixed(2);
    if (r.phase.startsWith("alone")) {
      const cpu = (r.cpuMs / r.events).toFixed(3);
      console.log(`  ${r.phase}: ${cpu} ms CPU (${(r.systemMs / r.events).toFixed(3)} kernel)`);
      continue;
    }
    console.log(
      `  ${r.phase}: ${(r.cpuMs / r.events).toFixed(3)} ms CPU (${((r.cpuMs - r.systemMs) / r.events).toFixed(3)} user, ` +
        `${(r.systemMs / r.events).toFixed(3)} kernel); round trips: ${per(r.calls.armReads)} ARM read, ` +
        `${per(r.calls.armWrites)} ARM write, ${per(r.calls.graphReads + r.calls.graphWrites)} Graph, ` +
        `${per(r.calls.tableReads)} Table read, ${per(r.calls.tableWrites)} Table write`,
    );
  }
}

/**
 * Table Storage calls, seen on Node's HTTP client channel (the data-tables SDK has no counter of
 * ours): requests to Azurite's table endpoint, reads by method.
 */
function countTableCalls(): TableCalls {
  const counts: TableCalls = { tableReads: 0, tableWrites: 0 };
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
  const { sub, groups, accounts, coldAccounts } = layout(resources);
  const tables = countTableCalls();
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
          await onResourceWrite(batch[next++], context);
        }
      }),
    );
    const used = process.cpuUsage(cpu);
    const calls = {
      ...emptyCounts(),
      tableReads: tables.tableReads - tablesBefore.tableReads,
      tableWrites: tables.tableWrites - tablesBefore.tableWrites,
    };
    for (const k of Object.keys(emptyCounts()) as Array<keyof CallCounts>)
      calls[k] = processCounts[k] - before[k];
    return {
      phase,
      events: batch.length,
      calls,
      cpuMs: (used.user + used.system) / 1000,
      systemMs: used.system / 1000,
      wallMs: performance.now() - t0,
    };
  }

  // Warm-up outside the figures: token acquisition, TLS sessions, table creation, JIT.
  const warm = `/subscriptions/${sub}/resourceGroups/${groups[0]!.name}/providers/Microsoft.Storage/storageAccounts/warmup`;
  await run("warm-up", [event(warm, "Microsoft.Storage/storageAccounts/write", users[0]!, Date.now())]);

  const results: PhaseResult[] = [];
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
  results.push(await run("new resource, warm caches, 2nd half", creates.slice(half)));
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
  results.push(...(await roundTripsAlone(accounts.slice(0, Math.min(1000, accounts.length)), concurrency)));
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
 * Where a new resource's CPU goes: each of its three round trips made alone through the same
 * SDK clients, with no event, decision or log around it.
 */
async function roundTripsAlone(ids: string[], concurrency: number): Promise<PhaseResult[]> {
  const { azure } = await import("../shared/azure/clients.js");
  const { readTagTarget } = await import("../shared/tagging/tagReader.js");
  const { AuditLog } = await import("../shared/ledger/audit.js");
  const clients = azure();
  const resources = (s: string) => clients.resources(s);
  const sub = ids[0]!.split("/")[2]!;
  const audit = new AuditLog(clients.table("benchRoundTrips"));
  await audit.record({ actor: "bench", action: "probe", target: "warm-up", reason: "warm-up" });
  const measure = async (phase: string, call: (id: string) => Promise<unknown>): Promise<PhaseResult> => {
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
      calls: { ...emptyCounts(), tableReads: 0, tableWrites: 0 },
      cpuMs: (used.user + used.system) / 1000,
      systemMs: used.system / 1000,
      wallMs: performance.now() - t0,
    };
  };
  return [
    await measure("alone: ARM GET of the resource", (id) => readTagTarget(resources, id)),
    await measure("alone: ARM tags PATCH (Merge)", (id) =>
      resources(sub).tagsOperations.beginUpdateAtScopeAndWait(id, {
        operation: "Merge",
        properties: { tags: { benchProbe: "1" } },
      }),
    ),
    await measure("alone: audit row (Table insert)", (id) =>
      audit.record({ actor: "bench", action: "probe", target: id, project: "bench", reason: "probe" }),
    ),
  ];
}

const args = process.argv.slice(2);
runMain(
  args[0] === "--child" ? child(Number(args[1]), Number(args[2])).then(() => process.exit(0)) : parent(),
);
