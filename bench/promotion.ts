/**
 * Benchmark of one promotion: ARM and Graph calls and wall time, for 1 and 3 environments,
 * each as Alice's signed request (accepted, planned, waiting) then Erin's approval (executed),
 * with the added cost of authentication and approval reported separately,
 * with realistic emulator timings (50 ms added to every call, a 30 s ML workspace LRO, 2 s for
 * every other long-running operation: storage account PUT, key vault provisioning), the real
 * SDKs, the real handler and Azurite for the records and the audit log.
 *
 *   npx tsx bench/promotion.ts [--latency 50] [--lro 30000] [--other-lro 2000]
 *   STEWARD_POLICY_PATH=examples/policies/regional-training.yaml npx tsx bench/promotion.ts
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
import { startAzurite } from "../local/azurite.js";
import { ensureTrustedCertificate } from "../local/host/trust.js";
import { startEmulator } from "@aml-steward/azure-emulator";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import { contosoSeed, PEOPLE, STEWARD_API } from "../local/seeds/contoso.js";
import { callerTokens } from "../shared/auth/callerToken.js";
import { envelopeFor } from "../shared/promotion/envelope.js";
import { emulatorAppSettings } from "../local/stack.js";
import { countCalls } from "../shared/azure/callCounter.js";
import { azure, resetAzureClients } from "../shared/azure/clients.js";
import { getSettings, resetSettings, TABLES } from "../shared/config/settings.js";
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

const apiToken = async (person: { objectId: string }) =>
  (
    await new EmulatorPrincipalCredential(emulator.url, person).getToken(
      `api://${STEWARD_API.appId}/.default`,
    )
  ).token;

interface Row {
  environments: number;
  wallS: number;
  /** The request's delivery: validate, admit, authorise, plan, record (nothing built). */
  accept: { armReads: number; graphCalls: number; cpuMs: number; status: string };
  /** A decision's own delivery: validate, membership, record it. */
  approve: { graphCalls: number; cpuMs: number };
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
  // A fresh estate: the previous run's project is no longer in aml-steward's registry either.
  await azure()
    .table(TABLES.promotions)
    .deleteEntity("project", String(example.project))
    .catch(() => undefined);
  emulator.faults.update({
    latencyMs,
    lroDurationMs: otherLroMs,
    lroDurationMsByType: { "Microsoft.MachineLearningServices/workspaces": workspaceLroMs },
  });
  emulator.requests.clear();
  const request = { ...example, requestId: randomUUID(), environments };
  const context = (id: string) =>
    new InvocationContext({
      functionName: "processPromotion",
      triggerMetadata: { dequeueCount: 1, id },
      logHandler: () => undefined,
    });
  const [aliceToken, erinToken] = [await apiToken(PEOPLE.alice), await apiToken(PEOPLE.erin)];
  const cpu = async <T>(f: () => Promise<T>) => {
    const before = process.cpuUsage();
    const out = await countCalls(f);
    const used = process.cpuUsage(before);
    return { ...out, cpuMs: Math.round((used.user + used.system) / 100) / 10 };
  };
  const accepted = await cpu(() => handler(envelopeFor(aliceToken, { request }), context("m-request")));
  // The decision alone: a rejection stops at the record, so it isolates the approval's cost.
  const decision = { requestId: request.requestId, decision: "approve" as const };
  emulator.requests.clear();
  const started = performance.now();
  const { result, calls } = await countCalls(() =>
    handler(envelopeFor(erinToken, { approval: decision }), context("m-approve")),
  );
  const wallS = (performance.now() - started) / 1000;
  const byKind = emulator.requests.snapshot().counters.byKind;
  return {
    environments: environments.length,
    wallS: Math.round(wallS * 10) / 10,
    accept: {
      armReads: accepted.calls.armReads,
      graphCalls: accepted.calls.graphReads + accepted.calls.graphWrites,
      cpuMs: accepted.cpuMs,
      status: accepted.result.kind,
    },
    approve: await approvalCost(erinToken),
    ...calls,
    emulatorArm: byKind.arm ?? 0,
    emulatorGraph: byKind.graph ?? 0,
    status: result.kind,
  } as Row;
}

/** One decision's own cost: a waiting request rejected (no execution behind it). */
async function approvalCost(token: string): Promise<Row["approve"]> {
  // A project of its own: the measured run's project has owners now, and Alice is not one.
  const request = {
    ...example,
    requestId: randomUUID(),
    project: `probe-${randomUUID().slice(0, 6)}`,
    environments: ["dev"],
  };
  const ctx = (id: string) =>
    new InvocationContext({
      functionName: "processPromotion",
      triggerMetadata: { dequeueCount: 1, id },
      logHandler: () => undefined,
    });
  await handler(envelopeFor(await apiToken(PEOPLE.alice), { request }), ctx("m-r"));
  const before = process.cpuUsage();
  const { calls } = await countCalls(() =>
    handler(
      envelopeFor(token, { approval: { requestId: request.requestId, decision: "reject" } }),
      ctx("m-d"),
    ),
  );
  const used = process.cpuUsage(before);
  return {
    graphCalls: calls.graphReads + calls.graphWrites,
    cpuMs: Math.round((used.user + used.system) / 100) / 10,
  };
}

/** CPU of validating one token with a warm key set (what every message and API call pays). */
async function validationCpuUs(n = 2000): Promise<number> {
  const token = await apiToken(PEOPLE.alice);
  const v = callerTokens(getSettings());
  await v.validate(token); // discovery and JWKS fetch, once per process
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await v.validate(token);
  const used = process.cpuUsage(before);
  return Math.round((used.user + used.system) / n);
}

try {
  console.log(
    `promotion benchmark: ${latencyMs} ms per call, ${workspaceLroMs / 1000} s ML workspace LRO, ${otherLroMs / 1000} s other LROs (Retry-After 1 s)`,
  );
  // Warm-up: the first request of a process pays module loading, OpenID discovery and the key set.
  await handler(
    envelopeFor(await apiToken(PEOPLE.alice), {
      request: { ...example, requestId: randomUUID(), dryRun: true },
    }),
    new InvocationContext({
      functionName: "processPromotion",
      triggerMetadata: { dequeueCount: 1 },
      logHandler: () => undefined,
    }),
  );
  const one = await run(["dev"]);
  // Every environment of the policy (Contoso: dev, qa, prod); STEWARD_POLICY_PATH picks the policy,
  // so a region plan's cost is measured by running the same benchmark on its example.
  const three = await run(policy.environments.map((e) => e.name));
  const perToken = await validationCpuUs();
  console.log("\nauthentication and approval (before anything is built):");
  console.table(
    [one, three].map((r) => ({
      environments: r.environments,
      "request: ARM reads": r.accept.armReads,
      "request: Graph calls": r.accept.graphCalls,
      "request: CPU ms": r.accept.cpuMs,
      "request outcome": r.accept.status,
      "decision: Graph calls": r.approve.graphCalls,
      "decision: CPU ms": r.approve.cpuMs,
    })),
  );
  console.log(`token validation with a warm key set: ${perToken} µs CPU per token (RS256 verify + claims)`);
  console.log("\nexecution after approval:");
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
  console.log(
    `${three.environments} environments take ${(three.wallS / one.wallS).toFixed(2)}x the time of 1`,
  );
} finally {
  await emulator.stop();
  await azurite.stop();
}
