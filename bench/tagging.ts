/**
 * Benchmark of the tag-governance event path: ARM and Graph calls per event and CPU time per
 * event, for 10,000 events, with the real SDKs against the emulator and Azurite.
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
import { parseArgs } from "node:util";
import functionsRuntime from "@azure/functions";
import { buildResourceEvent } from "../emulator/events.js";
import { contosoSeed, PEOPLE, PIPELINE_IDENTITY, STEWARD_APP } from "../emulator/seeds/contoso.js";
import type { EmulatorSeed, Principal } from "../emulator/types.js";
import { emptyCounts, processCounts, type CallCounts } from "../shared/azure/callCounter.js";
import { getPolicy } from "../shared/policy/index.js";
import { runMain, startBenchStack } from "./lib.js";

const GROUPS = 20;

interface PhaseResult {
  phase: string;
  events: number;
  calls: CallCounts;
  cpuMs: number;
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
  return { policy, sub, groups, accounts };
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
  const { policy, sub, groups, accounts } = layout(resources);

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
      ...accounts.map((id) => ({
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
    const child = stack.forkChild(import.meta.url, ["--child", String(resources), values.concurrency!]);
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
    phase: "all events",
    events: 0,
    calls: emptyCounts(),
    cpuMs: 0,
    wallMs: 0,
  };
  for (const r of results) {
    total.events += r.events;
    total.cpuMs += r.cpuMs;
    total.wallMs += r.wallMs;
    for (const k of Object.keys(total.calls) as Array<keyof CallCounts>) total.calls[k] += r.calls[k];
  }
  const rows = [...results, total].map((r) => ({
    phase: r.phase,
    events: r.events,
    "ARM reads/event": (r.calls.armReads / r.events).toFixed(3),
    "ARM writes/event": (r.calls.armWrites / r.events).toFixed(3),
    "Graph calls/event": ((r.calls.graphReads + r.calls.graphWrites) / r.events).toFixed(4),
    "CPU ms/event": (r.cpuMs / r.events).toFixed(3),
    "wall ms (phase)": Math.round(r.wallMs),
  }));
  console.log(
    `\naml-steward tag governance: ${total.events} events over ${resources} storage accounts in ${GROUPS} resource groups, ` +
      `concurrency ${concurrency}, Node ${process.version}\n`,
  );
  console.table(rows);
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
  const { sub, groups, accounts } = layout(resources);
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

  async function run(phase: string, batch: Raw[]): Promise<PhaseResult> {
    const before = { ...processCounts };
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < batch.length) await onResourceWrite(batch[next++], context);
      }),
    );
    const used = process.cpuUsage(cpu);
    const calls = emptyCounts();
    for (const k of Object.keys(calls) as Array<keyof CallCounts>) calls[k] = processCounts[k] - before[k];
    return {
      phase,
      events: batch.length,
      calls,
      cpuMs: (used.user + used.system) / 1000,
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
  results.push(await run("new resource: first event", creates));
  results.push(
    await run(
      "own tag write (loop guard)",
      accounts.map((id) => event(id, "Microsoft.Resources/tags/write", steward, Date.now())),
    ),
  );
  results.push(await run("same event redelivered", creates));
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
  process.send!(results);
}

const args = process.argv.slice(2);
runMain(
  args[0] === "--child" ? child(Number(args[1]), Number(args[2])).then(() => process.exit(0)) : parent(),
);
