/**
 * Benchmark of access drift: ARM calls per role-assignment event (a matrix assignment written
 * again, a hand-made Owner removed in restore mode, a scope aml-steward did not create), the
 * nightly comparison's ARM calls, and the nightly Graph calls for 1,000 of aml-steward's groups
 * when 1 % of them changed, against a first round that reads every group.
 *
 *   npx tsx bench/access.ts [--projects 84] [--changed 0.01]
 *
 * The emulator is seeded with the projects' resource groups, groups (4 roles x 3 environments
 * each: 84 projects give 1,008 groups) and matrix assignments, as promotions would leave them;
 * the estate is built from promotion records of the same shape (shared/access/estate.ts), kept
 * in memory, so the figures are the comparison's own. The policy says `access.drift: restore`.
 * Real SDKs against the emulator and Azurite, in a child process that trusts the emulator.
 * Prints figures; never passes or fails on time.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildResourceEvent } from "@aml-steward/azure-emulator";
import { contosoSeed, PEOPLE, STEWARD_APP } from "../local/seeds/contoso.js";
import type { EmulatorSeed, Principal } from "@aml-steward/azure-emulator";
import type { PromotionRecord } from "../shared/promotion/record.js";
import { DEFAULT_POLICY_PATH, loadPolicyFile } from "../shared/policy/index.js";
import type { EstatePolicy } from "../shared/policy/schema.js";
import { uuidV5 } from "../shared/ids.js";
import { runMain, startBenchStack } from "./lib.js";

const NS = "6f9d2c1e-3b4a-4c5d-8e7f-9a0b1c2d3e4f";

interface Layout {
  sub: string;
  scopes: Array<{ id: string; name: string; project: string; env: string }>;
  groups: Array<{ id: string; uniqueName: string; project: string; env: string; role: string }>;
  records: PromotionRecord[];
}

function layout(policy: EstatePolicy, projects: number): Layout {
  const sub = policy.projectSubscriptionId;
  const envs = policy.environments.map((e) => e.name);
  const scopes: Layout["scopes"] = [];
  const groups: Layout["groups"] = [];
  const records: PromotionRecord[] = [];
  for (let p = 0; p < projects; p++) {
    const project = `bench${p}`;
    const environments = envs.map((env) => {
      const name = `rg-aml-${project}-${env}`;
      const id = `/subscriptions/${sub}/resourceGroups/${name}`;
      scopes.push({ id, name, project, env });
      const envGroups = policy.roles.map((r) => {
        const uniqueName = `grp-aml-${project}-${env}-${r.name}`;
        const g = { id: uuidV5(uniqueName, NS), uniqueName, project, env, role: r.name };
        groups.push(g);
        return g;
      });
      return {
        env,
        subscriptionId: sub,
        resourceGroup: { id, name, location: policy.regions.default, tags: {} },
        groups: envGroups.map((g) => ({
          role: g.role,
          uniqueName: g.uniqueName,
          members: [PEOPLE.alice.objectId],
        })),
        roleAssignments: envGroups.flatMap((g) =>
          (policy.accessMatrix[g.role]?.[env] ?? []).map((r) => ({
            role: g.role,
            groupUniqueName: g.uniqueName,
            roleDefinitionGuid: r.id.toLowerCase(),
            roleName: r.name,
            principalId: g.id,
          })),
        ),
      };
    });
    records.push({
      requestId: `bench-${p}`,
      status: "succeeded",
      project,
      dryRun: false,
      acceptedAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z",
      attempts: 1,
      steps: [],
      resources: groups.filter((g) => g.project === project).map((g) => `group:${g.uniqueName}:${g.id}`),
      plan: { project, environments } as unknown as PromotionRecord["plan"],
    });
  }
  return { sub, scopes, groups, records };
}

// ====================================================================== parent

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: { projects: { type: "string", default: "84" }, changed: { type: "string", default: "0.01" } },
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), "steward-bench-access-"));
  const policyPath = path.join(dir, "policy.yaml");
  writeFileSync(policyPath, `${readFileSync(DEFAULT_POLICY_PATH, "utf8")}\naccess:\n  drift: restore\n`);
  const policy = loadPolicyFile(policyPath);
  const { sub, scopes, groups } = layout(policy, Number(values.projects));
  const base = contosoSeed(policy);
  const seed: EmulatorSeed = {
    ...base,
    resourceGroups: [
      ...(base.resourceGroups ?? []),
      ...scopes.map((s) => ({ subscriptionId: sub, name: s.name, location: policy.regions.default })),
    ],
    groups: [
      ...(base.groups ?? []),
      ...groups.map((g) => ({
        id: g.id,
        displayName: g.uniqueName,
        uniqueName: g.uniqueName,
        members: [PEOPLE.alice.objectId],
        owners: [STEWARD_APP.objectId],
      })),
    ],
    roleAssignments: [
      ...(base.roleAssignments ?? []),
      ...groups.flatMap((g) =>
        (policy.accessMatrix[g.role]?.[g.env] ?? []).map((r) => ({
          scope: scopes.find((s) => s.project === g.project && s.env === g.env)!.id,
          roleDefinitionId: r.id,
          principalId: g.id,
          principalType: "Group" as const,
        })),
      ),
    ],
  };
  const stack = await startBenchStack("steward-bench-access-", seed);
  try {
    const child = stack.forkChild(import.meta.url, ["--child", values.projects!, values.changed!], [], {
      STEWARD_POLICY_PATH: policyPath,
    });
    await new Promise<void>((resolve, reject) =>
      child.on("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`benchmark child exited with ${code}`)),
      ),
    );
  } finally {
    await stack.stop();
  }
}

// ====================================================================== child

async function child(projects: number, changedShare: number): Promise<void> {
  const { handleAccessEvent } = await import("../shared/access/event.js");
  const { accessDeps } = await import("../shared/access/runtime.js");
  const { estateFromRecords } = await import("../shared/access/estate.js");
  const { checkScope } = await import("../shared/access/check.js");
  const { checkGroupMembers, DeltaTokenStore } = await import("../shared/access/members.js");
  const { azure } = await import("../shared/azure/clients.js");
  const { countCalls } = await import("../shared/azure/callCounter.js");
  const { getPolicy } = await import("../shared/policy/index.js");
  const { TABLES } = await import("../shared/config/settings.js");
  const { silentLogger } = await import("../shared/log.js");
  const { AuthorizationManagementClient } = await import("@azure/arm-authorization");
  const { EmulatorPrincipalCredential } = await import("@aml-steward/azure-emulator");

  const policy = getPolicy();
  const { sub, scopes, groups, records } = layout(policy, projects);
  const estate = estateFromRecords(records);
  const deps = { ...accessDeps(silentLogger), estate: async () => estate };
  const endpoint = process.env.STEWARD_ARM_ENDPOINT!;
  const emulatorUrl = new URL(endpoint).origin;
  const erin = new AuthorizationManagementClient(
    new EmulatorPrincipalCredential(emulatorUrl, PEOPLE.erin),
    sub,
    { endpoint, credentialScopes: ["https://management.azure.com/.default"] },
  );
  const tenantId = process.env.STEWARD_TENANT_ID!;
  const person = (p: { objectId: string; displayName: string; userPrincipalName: string }): Principal => ({
    ...p,
    kind: "user",
    createdAt: 0,
  });
  const event = (resourceId: string, operationName: string) =>
    buildResourceEvent(
      {
        subscriptionId: sub,
        resourceId,
        operationName,
        caller: person(PEOPLE.erin),
        correlationId: crypto.randomUUID(),
        httpMethod: "PUT",
        url: `https://management.azure.com${resourceId}`,
      },
      tenantId,
      Date.now(),
    );
  const { parseResourceWriteEvent } = await import("../shared/events/resourceWrite.js");
  const parse = (raw: unknown) => {
    const p = parseResourceWriteEvent(raw);
    if (p.kind !== "resourceWrite") throw new Error(JSON.stringify(p));
    return p.event;
  };
  const rows: Array<Record<string, string | number>> = [];
  const phase = async (name: string, events: unknown[]) => {
    const t0 = performance.now();
    const { calls } = await countCalls(async () => {
      for (const e of events) await handleAccessEvent(parse(e), deps);
    });
    rows.push({
      phase: name,
      events: events.length,
      "ARM reads/event": (calls.armReads / events.length).toFixed(2),
      "ARM writes/event": (calls.armWrites / events.length).toFixed(2),
      "Graph calls/event": ((calls.graphReads + calls.graphWrites) / events.length).toFixed(2),
      "wall ms/event": ((performance.now() - t0) / events.length).toFixed(1),
    });
  };
  const n = Math.min(100, scopes.length);
  const assignmentId = (scope: string, name: string) =>
    `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;

  await phase("warm-up (not a figure)", [
    event(assignmentId(scopes[0]!.id, crypto.randomUUID()), "Microsoft.Authorization/roleAssignments/write"),
  ]);
  rows.length = 0;
  await phase(
    "matrix assignment written again (no drift)",
    scopes
      .slice(0, n)
      .map((s) =>
        event(assignmentId(s.id, crypto.randomUUID()), "Microsoft.Authorization/roleAssignments/write"),
      ),
  );
  const owners = scopes.slice(0, n).map((s) => ({ scope: s.id, name: crypto.randomUUID() }));
  for (const o of owners)
    await erin.roleAssignments.create(o.scope, o.name, {
      roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`,
      principalId: PEOPLE.bob.objectId,
      principalType: "User",
    });
  await phase(
    "hand-made Owner for a user (restore: removed)",
    owners.map((o) => event(assignmentId(o.scope, o.name), "Microsoft.Authorization/roleAssignments/write")),
  );
  await phase(
    "assignment on a scope aml-steward did not create",
    Array.from({ length: n }, (_, i) =>
      event(
        assignmentId(`/subscriptions/${sub}/resourceGroups/rg-other-${i}`, crypto.randomUUID()),
        "Microsoft.Authorization/roleAssignments/write",
      ),
    ),
  );
  console.log(
    `\naml-steward access drift: ${scopes.length} scopes, ${groups.length} groups, Node ${process.version}\n`,
  );
  console.table(rows);

  // Nightly: every scope compared, then the groups through Graph delta.
  const t0 = performance.now();
  const scopeRun = await countCalls(async () => {
    for (const m of estate.scopes.values()) await checkScope(m, deps, { correlationId: "bench-night" });
  });
  console.log(
    `\nNightly scope comparison: ${scopeRun.calls.armReads} ARM reads, ${scopeRun.calls.armWrites} ARM writes for ${estate.scopes.size} scopes (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const clients = azure();
  const memberDeps = {
    ...deps,
    graph: clients.graph(),
    tokens: new DeltaTokenStore(clients.table(TABLES.reconcileRuns)),
  };
  const first = await countCalls(() =>
    checkGroupMembers(estate, memberDeps, { correlationId: "bench-first" }),
  );
  const changed = groups.slice(0, Math.max(1, Math.round(groups.length * changedShare)));
  const token = await fetch(`${emulatorUrl}/_emulator/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ objectId: PEOPLE.erin.objectId, scope: "https://graph.microsoft.com/.default" }),
  }).then((r) => r.json() as Promise<{ access_token: string }>);
  for (const g of changed) {
    const r = await fetch(`${emulatorUrl}/v1.0/groups/${g.id}/members/$ref`, {
      method: "POST",
      headers: { authorization: `Bearer ${token.access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ "@odata.id": `${emulatorUrl}/v1.0/directoryObjects/${PEOPLE.dave.objectId}` }),
    });
    if (r.status !== 204) throw new Error(`adding a member answered ${r.status}`);
  }
  const second = await countCalls(() =>
    checkGroupMembers(estate, memberDeps, { correlationId: "bench-second" }),
  );
  const third = await countCalls(() =>
    checkGroupMembers(estate, memberDeps, { correlationId: "bench-third" }),
  );
  const graph = (c: { graphReads: number; graphWrites: number }) =>
    `${c.graphReads} reads + ${c.graphWrites} writes`;
  console.table([
    {
      round: "first (no delta token: every group)",
      "groups changed": first.result.changedGroups,
      "delta pages": first.result.deltaPages,
      "Graph calls": graph(first.calls),
    },
    {
      round: `next night, ${changed.length} of ${groups.length} groups got a member outside the flow`,
      "groups changed": second.result.changedGroups,
      "delta pages": second.result.deltaPages,
      "Graph calls": graph(second.calls),
      removed: second.result.checked.reduce((s, c) => s + c.removed.length, 0),
    },
    {
      round: "the night after (only the removals changed)",
      "groups changed": third.result.changedGroups,
      "delta pages": third.result.deltaPages,
      "Graph calls": graph(third.calls),
    },
  ]);
}

if (process.argv.includes("--child")) {
  const i = process.argv.indexOf("--child");
  runMain(child(Number(process.argv[i + 1]), Number(process.argv[i + 2])));
} else {
  runMain(parent());
}
