/**
 * Benchmark of one promotion: ARM and Graph calls and wall time, for 1 and 3 environments,
 * with realistic emulator timings (50 ms added to every call, a 30 s ML workspace LRO, 2 s for
 * every other long-running operation: storage account PUT, key vault provisioning), the real
 * SDKs, the real handler and Azurite for the records and the audit log.
 *
 *   npx tsx bench/promotion.ts [--latency 50] [--lro 30000] [--other-lro 2000]
 *
 * `--lro` applies to Microsoft.MachineLearningServices/workspaces only (the emulator's
 * lroDurationMsByType); `--other-lro` to every other type (lroDurationMs).
 * Environments run in parallel, so three should take far less than three times one: the
 * workspace LRO dominates and overlaps. Prints figures; never passes or fails on time.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import functionsRuntime from "@azure/functions";
import { startAzurite } from "../emulator/azurite.js";
import { ensureTrustedCertificate } from "../emulator/host/trust.js";
import { startEmulator } from "../emulator/index.js";
import { contosoSeed } from "../emulator/seeds/contoso.js";
import { emulatorAppSettings } from "../emulator/stack.js";
import { countCalls } from "../shared/azure/callCounter.js";
import { resetAzureClients } from "../shared/azure/clients.js";
import { resetSettings } from "../shared/config/settings.js";
import { getPolicy } from "../shared/policy/index.js";
import { createPromotionHandler } from "../functions/processPromotion.js";

const { values } = parseArgs({
  options: {
    latency: { type: "string", default: "50" },
    lro: { type: "string", default: "30000" },
    "other-lro": { type: "string", default: "2000" },
  },
});
const latencyMs = Number(values.latency);
const workspaceLroMs = Number(values.lro);
const otherLroMs = Number(values["other-lro"]);

const { certPath, keyPath } = await ensureTrustedCertificate();
const policy = getPolicy();
const azurite = await startAzurite();
const emulator = await startEmulator({ certPath, keyPath, seed: contosoSeed(policy) });
Object.assign(process.env, {
  ...emulatorAppSettings(emulator, azurite.connectionString),
  STEWARD_LOG_LEVEL: "warn",
});
resetSettings();
resetAzureClients();

const example = JSON.parse(
  readFileSync(new URL("../docs/examples/promotion-request.json", import.meta.url), "utf8"),
) as Record<string, unknown>;
const handler = createPromotionHandler();
// @azure/functions is CommonJS: named exports are not visible to ESM under plain Node.
const { InvocationContext } = functionsRuntime;

interface Row {
  environments: number;
  wallS: number;
  armReads: number;
  armWrites: number;
  graphReads: number;
  graphWrites: number;
  emulatorArm: number;
  emulatorGraph: number;
  status: string;
}

async function run(environments: string[]): Promise<Row> {
  emulator.reset();
  emulator.faults.update({
    latencyMs,
    lroDurationMs: otherLroMs,
    lroDurationMsByType: { "Microsoft.MachineLearningServices/workspaces": workspaceLroMs },
  });
  emulator.requests.clear();
  const message = { ...example, requestId: randomUUID(), environments };
  const context = new InvocationContext({
    functionName: "processPromotion",
    triggerMetadata: { dequeueCount: 1 },
    logHandler: () => undefined,
  });
  const started = performance.now();
  const { result, calls } = await countCalls(() => handler(message, context));
  const wallS = (performance.now() - started) / 1000;
  const byKind = emulator.requests.snapshot().counters.byKind;
  return {
    environments: environments.length,
    wallS: Math.round(wallS * 10) / 10,
    ...calls,
    emulatorArm: byKind.arm ?? 0,
    emulatorGraph: byKind.graph ?? 0,
    status: result.kind,
  } as Row;
}

try {
  console.log(
    `promotion benchmark: ${latencyMs} ms per call, ${workspaceLroMs / 1000} s ML workspace LRO, ${otherLroMs / 1000} s other LROs (Retry-After 1 s)`,
  );
  const one = await run(["dev"]);
  const three = await run(["dev", "qa", "prod"]);
  console.table(
    [one, three].map(
      ({
        environments,
        wallS,
        armReads,
        armWrites,
        graphReads,
        graphWrites,
        emulatorArm,
        emulatorGraph,
        status,
      }) => ({
        environments,
        "wall s": wallS,
        "ARM reads": armReads,
        "ARM writes": armWrites,
        "Graph reads": graphReads,
        "Graph writes": graphWrites,
        "emulator ARM/Graph requests": `${emulatorArm}/${emulatorGraph}`,
        status,
      }),
    ),
  );
  console.log(`3 environments take ${(three.wallS / one.wallS).toFixed(2)}x the time of 1`);
} finally {
  await emulator.stop();
  await azurite.stop();
}
