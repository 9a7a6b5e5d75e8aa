/**
 * Which HTTP client the event path's lean clients should use: CPU per ARM GET over HTTPS with a
 * kept-alive connection, through Node's https.request (shared/azure/httpSend.ts), the global
 * fetch (undici), and the SDK's pipeline (ResourceManagementClient), against the emulator.
 *
 *   npx tsx bench/httpClients.ts [--calls 2000] [--concurrency 16] [--gap-ms 0]
 *
 * `--gap-ms` makes each caller idle after each call, as an instance does between events that
 * arrive a few a second: CPU per call is then that of a process woken up for it.
 *
 * Same layout as the other benchmarks: the parent starts the emulator, a child (which trusts its
 * CA from start-up) makes the calls and measures its own CPU. Prints figures; never passes or
 * fails on time.
 */
import { parseArgs } from "node:util";
import { contosoSeed } from "../local/seeds/contoso.js";
import { getPolicy } from "../shared/policy/index.js";
import { runMain, setEmulatorThrottling, startBenchStack } from "./lib.js";

const GROUP = "rg-httpbench";

interface Row {
  client: string;
  "CPU ms/call": string;
  "wall ms": number;
}

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: "string", default: "2000" },
      concurrency: { type: "string", default: "16" },
      "gap-ms": { type: "string", default: "0" },
    },
  });
  const policy = getPolicy();
  const base = contosoSeed(policy);
  const stack = await startBenchStack("steward-httpbench-", {
    ...base,
    resourceGroups: [
      ...(base.resourceGroups ?? []),
      {
        subscriptionId: policy.projectSubscriptionId,
        name: GROUP,
        location: policy.regions.default,
        tags: { a: "b" },
      },
    ],
  });
  try {
    const child = stack.forkChild(import.meta.url, [
      "--child",
      values.calls!,
      values.concurrency!,
      values["gap-ms"]!,
    ]);
    const rows = await new Promise<Row[]>((resolve, reject) => {
      child.on("message", (m) => resolve(m as Row[]));
      child.on("exit", (code) => (code === 0 ? undefined : reject(new Error(`child exited with ${code}`))));
    });
    console.log(
      `\nCPU per ARM GET (a resource group) over HTTPS, kept-alive connections, ${values.calls} calls, ` +
        `${values.concurrency} at a time, ${values["gap-ms"]} ms idle after each, Node ${process.version}, best of 3 rounds:\n`,
    );
    console.table(rows);
  } finally {
    await stack.stop();
  }
}

/** `gapMs`: each caller idles that long after each call, as an instance does between sparse events. */
async function child(calls: number, concurrency: number, gapMs: number): Promise<void> {
  const { azure } = await import("../shared/azure/clients.js");
  const { AccessTokens } = await import("../shared/azure/accessTokens.js");
  const { ARM_SCOPE } = await import("../shared/azure/leanArm.js");
  const { httpSend } = await import("../shared/azure/httpSend.js");
  const { ResourceManagementClient } = await import("@azure/arm-resources");
  const sub = getPolicy().projectSubscriptionId;
  const group = GROUP;
  const endpoint = process.env.STEWARD_ARM_ENDPOINT!;
  // ARM throttling would only stretch the wall time.
  await setEmulatorThrottling(false);

  const url = new URL(`${endpoint}/subscriptions/${sub}/resourcegroups/${group}?api-version=2025-04-01`);
  const tokens = new AccessTokens(azure().credential);
  const headers = async () => ({
    accept: "application/json",
    authorization: await tokens.authorization(ARM_SCOPE),
  });
  const sdk = new ResourceManagementClient(azure().credential, sub, {
    endpoint,
    credentialScopes: ["https://management.azure.com/.default"],
  });

  const clients: Record<string, () => Promise<unknown>> = {
    "https.request (lean)": async () => {
      const res = await httpSend({ method: "GET", url, headers: await headers() });
      return JSON.parse(res.text) as unknown;
    },
    "fetch (undici)": async () => {
      const res = await fetch(url, { headers: await headers() });
      return res.json();
    },
    "ResourceManagementClient (SDK)": () => sdk.resourceGroups.get(group),
  };
  const best = new Map<string, Row>();
  for (let round = 0; round < 3; round++) {
    for (const [client, call] of Object.entries(clients)) {
      await call();
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < calls) {
            await call();
            if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
          }
        }),
      );
      const used = process.cpuUsage(cpu);
      const perCall = (used.user + used.system) / 1000 / calls;
      const prev = best.get(client);
      if (!prev || perCall < Number(prev["CPU ms/call"]))
        best.set(client, {
          client,
          "CPU ms/call": perCall.toFixed(3),
          "wall ms": Math.round(performance.now() - t0),
        });
    }
  }
  process.send!([...best.values()]);
}

const args = process.argv.slice(2);
runMain(
  args[0] === "--child"
    ? child(Number(args[1]), Number(args[2]), Number(args[3])).then(() => process.exit(0))
    : parent(),
);
