/**
 * Benchmark of data segregation: ARM and Table calls and CPU time per datastore event (a dev
 * datastore on prod storage, one on dev storage, one whose account is in no governed
 * subscription, one in a workspace aml-steward did not create), per data-version event (a storage
 * URL of the prod account, an azureml:// path through a datastore on it), per role-assignment
 * check (a dev group's Storage Blob Data Reader on the prod account), and the nightly scan of a
 * workspace's datastores and data versions.
 *
 *   npx tsx bench/segregation.ts [--datastores 200] [--versions 40]
 *
 * The emulator is seeded with one project's dev/qa/prod resource groups, a storage account in
 * each and the dev workspace holding the datastores; the estate is built from a promotion
 * record of the same shape, kept in memory. Real SDKs against the emulator and Azurite, in a
 * child process (so `process.cpuUsage()` measures aml-steward, not the emulator). Prints
 * figures; never passes or fails on time.
 */
import { parseArgs } from "node:util";
import { buildResourceEvent } from "@aml-steward/azure-emulator";
import { contosoSeed, PEOPLE } from "../local/seeds/contoso.js";
import type { EmulatorSeed, Principal } from "@aml-steward/azure-emulator";
import type { PromotionRecord } from "../shared/promotion/record.js";
import { getPolicy } from "../shared/policy/index.js";
import type { EstatePolicy } from "../shared/policy/schema.js";
import { runMain, startBenchStack } from "./lib.js";

const ML = "Microsoft.MachineLearningServices/workspaces";
/** Dev groups of the project, one per grant (Azure allows one assignment per principal, role and scope). */
const devGroup = (i: number) => ({
  id: `0d0d0d0d-0000-4000-8000-${String(i).padStart(12, "0")}`,
  uniqueName: `grp-aml-bench-dev-${i}`,
});
const BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
const GRANTS = 50;
const grantName = (i: number) => `5e5e5e5e-0000-4000-8000-${String(i).padStart(12, "0")}`;

function layout(policy: EstatePolicy, datastores: number) {
  const sub = policy.projectSubscriptionId;
  const envs = policy.environments.map((e) => {
    const rg = `rg-aml-bench-${e.name}`;
    const id = `/subscriptions/${sub}/resourceGroups/${rg}`;
    return {
      env: e.name,
      rg,
      id,
      account: `stbench${e.name}01`,
      workspaceId: `${id}/providers/${ML}/mlw-bench-${e.name}`,
    };
  });
  const dev = envs[0]!;
  const prod = envs.at(-1)!;
  const names = Array.from({ length: datastores }, (_, i) => `ds${i}`);
  const record: PromotionRecord = {
    requestId: "bench-segregation",
    status: "succeeded",
    project: "bench",
    dryRun: false,
    acceptedAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    attempts: 1,
    steps: [],
    resources: Array.from({ length: GRANTS }, (_, i) => `group:${devGroup(i).uniqueName}:${devGroup(i).id}`),
    plan: {
      project: "bench",
      environments: envs.map((e) => ({
        env: e.env,
        subscriptionId: sub,
        resourceGroup: { id: e.id, name: e.rg, location: policy.regions.default, tags: {} },
        workspace: { id: e.workspaceId },
        groups:
          e.env === dev.env
            ? Array.from({ length: GRANTS }, (_, i) => ({
                role: "data-scientist",
                uniqueName: devGroup(i).uniqueName,
                members: [],
              }))
            : [],
        roleAssignments: [],
      })),
    } as unknown as PromotionRecord["plan"],
  };
  return { sub, envs, dev, prod, names, record };
}

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: { datastores: { type: "string", default: "200" }, versions: { type: "string", default: "40" } },
  });
  const policy = getPolicy();
  const l = layout(policy, Number(values.datastores));
  const versions = dataVersionIds(l, Number(values.versions));
  const base = contosoSeed(policy);
  const blob = (accountName: string) => ({
    datastoreType: "AzureBlob",
    accountName,
    containerName: "raw",
    credentials: { credentialsType: "None" },
  });
  const seed: EmulatorSeed = {
    ...base,
    resourceGroups: [
      ...(base.resourceGroups ?? []),
      ...l.envs.map((e) => ({ subscriptionId: l.sub, name: e.rg, location: policy.regions.default })),
      { subscriptionId: l.sub, name: "rg-other", location: policy.regions.default },
    ],
    resources: [
      ...(base.resources ?? []),
      ...l.envs.flatMap((e) => [
        {
          id: `${e.id}/providers/Microsoft.Storage/storageAccounts/${e.account}`,
          location: policy.regions.default,
        },
        { id: e.workspaceId, location: policy.regions.default, properties: {} },
      ]),
      {
        id: `/subscriptions/${l.sub}/resourceGroups/rg-other/providers/${ML}/mlw-other`,
        location: policy.regions.default,
      },
      ...l.names.map((n, i) => ({
        id: `${l.dev.workspaceId}/datastores/${n}`,
        properties: blob(i % 2 === 0 ? l.prod.account : l.dev.account),
      })),
      { id: `${l.dev.workspaceId}/datastores/elsewhere`, properties: blob("stnotgoverned01") },
      // Half by a storage URL of the prod account, half through ds0 (on the prod account).
      ...versions.flatMap((id, i) => [
        { id: id.replace(/\/versions\/1$/, ""), properties: { dataType: "uri_folder" } },
        {
          id,
          properties: {
            dataType: "uri_folder",
            dataUri:
              i % 2 === 0
                ? `https://${l.prod.account}.blob.core.windows.net/raw/v${i}/`
                : `azureml://datastores/ds0/paths/v${i}/`,
          },
        },
      ]),
      {
        id: `/subscriptions/${l.sub}/resourceGroups/rg-other/providers/${ML}/mlw-other/datastores/x`,
        properties: blob(l.prod.account),
      },
    ],
  };
  seed.groups = [
    ...(base.groups ?? []),
    ...Array.from({ length: GRANTS }, (_, i) => ({
      id: devGroup(i).id,
      displayName: devGroup(i).uniqueName,
      uniqueName: devGroup(i).uniqueName,
      members: [],
      owners: [],
    })),
  ];
  const stack = await startBenchStack("steward-bench-segregation-", seed);
  try {
    const child = stack.forkChild(import.meta.url, ["--child", values.datastores!, values.versions!]);
    await new Promise<void>((resolve, reject) =>
      child.on("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`benchmark child exited with ${code}`)),
      ),
    );
  } finally {
    await stack.stop();
  }
}

/** The data versions of the dev workspace: `dv{i}` version 1. */
function dataVersionIds(l: ReturnType<typeof layout>, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${l.dev.workspaceId}/data/dv${i}/versions/1`);
}

async function child(datastores: number, versionCount: number): Promise<void> {
  const { handleDataAccessEvent } = await import("../shared/segregation/event.js");
  const { dataAccessDeps } = await import("../shared/segregation/runtime.js");
  const { runDataAccessReconcile } = await import("../shared/segregation/nightly.js");
  const { estateFromRecords } = await import("../shared/access/estate.js");
  const { azure } = await import("../shared/azure/clients.js");
  const { countCalls } = await import("../shared/azure/callCounter.js");
  const { parseResourceWriteEvent } = await import("../shared/events/resourceWrite.js");
  const { ViolationLog } = await import("../shared/ledger/violations.js");
  const { TABLES } = await import("../shared/config/settings.js");
  const { silentLogger } = await import("../shared/log.js");
  const policy = getPolicy();
  const l = layout(policy, datastores);
  const estate = estateFromRecords([l.record]);
  // Table calls counted by wrapping the ledger the checks use.
  let tableCalls = 0;
  const log = new ViolationLog(azure().table(TABLES.violations));
  const violations = {
    syncFor: async (...a: Parameters<InstanceType<typeof ViolationLog>["syncFor"]>) => {
      const r = await log.syncFor(...a);
      tableCalls += r.tableCalls;
      return r;
    },
    resolveUnseen: (...a: Parameters<InstanceType<typeof ViolationLog>["resolveUnseen"]>) =>
      log.resolveUnseen(...a),
  };
  const deps = { ...dataAccessDeps(silentLogger), estate: async () => estate, violations };
  const caller: Principal = { ...PEOPLE.alice, kind: "user", createdAt: 0 };
  const event = (resourceId: string) => {
    const p = parseResourceWriteEvent(
      buildResourceEvent(
        {
          subscriptionId: l.sub,
          resourceId,
          operationName: `${ML}/datastores/write`,
          caller,
          correlationId: crypto.randomUUID(),
          httpMethod: "PUT",
          url: `https://management.azure.com${resourceId}`,
        },
        process.env.STEWARD_TENANT_ID!,
        Date.now(),
      ),
    );
    if (p.kind !== "resourceWrite") throw new Error(JSON.stringify(p));
    return p.event;
  };
  const rows: Array<Record<string, string | number>> = [];
  const phase = async (
    name: string,
    ids: string[],
    handle: (id: string) => Promise<unknown> = (id) => handleDataAccessEvent(event(id), deps),
  ) => {
    tableCalls = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { calls } = await countCalls(async () => {
      for (const id of ids) await handle(id);
    });
    const cpu = process.cpuUsage(cpu0);
    rows.push({
      phase: name,
      events: ids.length,
      "ARM reads/event": (calls.armReads / ids.length).toFixed(2),
      "ARM writes/event": (calls.armWrites / ids.length).toFixed(2),
      "Table calls/event": (tableCalls / ids.length).toFixed(2),
      "CPU ms/event": ((cpu.user + cpu.system) / 1000 / ids.length).toFixed(2),
      "wall ms/event": ((performance.now() - t0) / ids.length).toFixed(1),
    });
  };
  const ds = (n: string) => `${l.dev.workspaceId}/datastores/${n}`;
  await phase("warm-up (not a figure)", [ds("ds0"), ds("ds1")]);
  rows.length = 0;
  await phase(
    "dev datastore on prod storage (violation opened)",
    l.names.filter((_, i) => i % 2 === 0).map(ds),
  );
  await phase("the same events again (violation refreshed)", l.names.filter((_, i) => i % 2 === 0).map(ds));
  await phase("dev datastore on dev storage (compliant)", l.names.filter((_, i) => i % 2 === 1).map(ds));
  await phase("account in no governed subscription (unresolved)", Array(20).fill(ds("elsewhere")));
  await phase(
    "workspace aml-steward did not create",
    Array(20).fill(`/subscriptions/${l.sub}/resourceGroups/rg-other/providers/${ML}/mlw-other/datastores/x`),
  );
  const versions = dataVersionIds(l, versionCount);
  await phase(
    "dev data version, storage URL of the prod account",
    versions.filter((_, i) => i % 2 === 0),
  );
  await phase(
    "dev data version, azureml:// through a datastore on prod",
    versions.filter((_, i) => i % 2 === 1),
  );
  const { checkAssignmentById } = await import("../shared/segregation/roleGrants.js");
  const { roleGrantDeps } = await import("../shared/segregation/runtime.js");
  const grantDeps = { ...roleGrantDeps(silentLogger), estate: async () => estate, violations };
  const prodAccountId = `${l.prod.id}/providers/Microsoft.Storage/storageAccounts/${l.prod.account}`;
  // Made by Erin (Owner) the way a person would: each dev group Blob Data Reader on prod.
  const { AuthorizationManagementClient } = await import("@azure/arm-authorization");
  const { EmulatorPrincipalCredential } = await import("../emulator/principalCredential.js");
  const endpoint = process.env.STEWARD_ARM_ENDPOINT!;
  const erin = new AuthorizationManagementClient(
    new EmulatorPrincipalCredential(new URL(endpoint).origin, PEOPLE.erin),
    l.sub,
    { endpoint, credentialScopes: ["https://management.azure.com/.default"] },
  );
  for (let i = 0; i < GRANTS; i++)
    await erin.roleAssignments.create(prodAccountId, grantName(i), {
      roleDefinitionId: `/subscriptions/${l.sub}/providers/Microsoft.Authorization/roleDefinitions/${BLOB_READER}`,
      principalId: devGroup(i).id,
      principalType: "Group",
    });
  const grants = Array.from(
    { length: GRANTS },
    (_, i) => `${prodAccountId}/providers/Microsoft.Authorization/roleAssignments/${grantName(i)}`,
  );
  await phase(
    "role assignment, first of the process (its role definition read; SDK warm-up)",
    grants.slice(0, 1),
    (id) => checkAssignmentById(id, grantDeps),
  );
  await phase("role assignment: a dev group's Blob Data Reader on the prod account", grants.slice(1), (id) =>
    checkAssignmentById(id, grantDeps),
  );
  console.log(
    `\naml-steward data segregation: ${datastores} datastores and ${versionCount} data versions in one dev workspace, Node ${process.version}\n`,
  );
  console.table(rows);
  tableCalls = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const night = await countCalls(() =>
    runDataAccessReconcile(
      estate,
      { ...deps, machineLearning: (s) => azure().machineLearning(s) },
      "bench-night",
    ),
  );
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `\nNightly scan: ${night.result.workspaces} workspaces, ${night.result.checked} datastores, connections and data versions, ` +
      `${night.result.flagged.length} flagged; ${night.calls.armReads} ARM reads, ${tableCalls} Table calls (+ the resolve query), ` +
      `${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const { runRoleGrantReconcile } = await import("../shared/segregation/roleGrants.js");
  tableCalls = 0;
  const grantsNight = await countCalls(() => runRoleGrantReconcile(estate, grantDeps, "bench-night"));
  console.log(
    `Nightly role assignments: ${grantsNight.result.principals} non-production principals, ` +
      `${grantsNight.result.checked} of their assignments checked, ${grantsNight.result.flagged.length} flagged; ` +
      `${grantsNight.calls.armReads} ARM reads, ${tableCalls} Table calls`,
  );
}

if (process.argv.includes("--child")) {
  const i = process.argv.indexOf("--child");
  runMain(child(Number(process.argv[i + 1]), Number(process.argv[i + 2])));
} else {
  runMain(parent());
}
