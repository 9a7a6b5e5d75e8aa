/**
 * Promotions under faults: a crash after each step in turn, Entra replication and Graph
 * read-after-write delays, throttling, and a failure that never clears (poison queue).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PEOPLE, STEWARD_APP } from "../../local/seeds/contoso.js";
import { requestHash } from "../../shared/promotion/process.js";
import { environmentNames } from "../../shared/policy/index.js";
import { stepNames } from "../../shared/promotion/execute.js";
import { planPromotion } from "../../shared/promotion/plan.js";
import { parsePromotionRequest } from "../../shared/promotion/request.js";
import type { ResolvedPrincipal } from "../../shared/promotion/admission.js";
import { FAST, startPromotionWorld, type PromotionWorld } from "../helpers/promotion.js";

let w: PromotionWorld;
const project = "fraud-detection";
const ENVS = ["dev", "qa", "prod"];

beforeAll(async () => {
  w = await startPromotionWorld();
}, 60_000);
afterAll(async () => w?.stop());

async function resetEmulator(faults: Record<string, unknown> = {}) {
  await w.stack.control("POST", "/_emulator/reset");
  await w.forgetProject(project);
  await w.stack.control("POST", "/_emulator/faults", {
    lroDurationMs: 150,
    lroRetryAfterSeconds: 0,
    ...faults,
  });
}

/** The converged state, checked for completeness, duplicates and orphans. */
async function expectConverged(requestId: string) {
  const policy = w.stack.policy;
  const dir = w.stack.emulator.directory;
  const sub = policy.projectSubscriptionId;
  const arm = w.stack.armAs(STEWARD_APP.objectId, sub);
  const auth = w.stack.authorizationAs(STEWARD_APP.objectId, sub);
  const ml = w.stack.mlAs(STEWARD_APP.objectId, sub);
  const acceptedAt = (await w.records.get(requestId))!.acceptedAt;
  // Created by the requester via aml-steward on the day the request was first accepted, whichever
  // delivery created it.
  const created = { createdBy: "alice@contoso.com via aml-steward", createdOn: acceptedAt.slice(0, 10) };
  // Exactly one group per role and environment: no orphan from a half-done attempt.
  const groups = dir.listGroups().filter((g) => g.uniqueName?.includes(project));
  expect(groups).toHaveLength(ENVS.length * policy.roles.length);
  for (const env of ENVS) {
    const n = environmentNames(policy, project, env);
    const resources: string[] = [];
    for await (const r of arm.resources.listByResourceGroup(n.resourceGroup)) {
      resources.push(r.name!);
      expect(r.tags, r.name).toMatchObject(created);
    }
    expect(resources).toHaveLength(6);
    expect((await arm.resourceGroups.get(n.resourceGroup)).tags).toMatchObject(created);
    const ws = await ml.workspaces.get(n.resourceGroup, n.workspace);
    expect(ws.provisioningState).toBe("Succeeded");
    const scope = `/subscriptions/${sub}/resourceGroups/${n.resourceGroup}`;
    const assignments: string[] = [];
    for await (const ra of auth.roleAssignments.listForScope(scope, { filter: "atScope()" })) {
      if (ra.principalType === "Group") assignments.push(`${ra.principalId}|${ra.roleDefinitionId}`);
    }
    const expected = policy.roles.reduce((sum, r) => sum + policy.accessMatrix[r.name]![env]!.length, 0);
    expect(assignments).toHaveLength(expected);
    expect(new Set(assignments).size).toBe(expected);
    for (const a of assignments) expect(groups.some((g) => a.startsWith(g.id))).toBe(true);
  }
  const dev = environmentNames(policy, project, "dev");
  const models = [];
  for await (const v of ml.modelVersions.list(dev.resourceGroup, dev.workspace, "fraud-classifier"))
    models.push(v.name);
  expect(models).toEqual(["3"]);
  const ex = w.stack.mlAs(STEWARD_APP.objectId, policy.exploration.subscriptionId);
  const src = await ex.dataVersions.get(
    policy.exploration.resourceGroup,
    policy.exploration.workspace,
    "card-transactions",
    "1",
  );
  expect(src.properties.isArchived).toBe(true);
  const rec = (await w.records.get(requestId))!;
  expect(rec.status).toBe("succeeded");
  return rec;
}

function allStepNames(): string[] {
  const parsed = parsePromotionRequest({ ...w.request() });
  if (!parsed.ok) throw new Error("example must parse");
  const anyone = new Proxy(new Map<string, ResolvedPrincipal>(), {
    get: (t, p) =>
      p === "get"
        ? () => ({ objectId: "00000000-0000-4000-8000-000000000000", kind: "user" })
        : Reflect.get(t, p),
  });
  const plan = planPromotion(
    w.stack.policy,
    {
      request: { ...parsed.request, requestedBy: parsed.request.requestedBy ?? "alice@contoso.com" },
      environments: ENVS,
      region: "westeurope",
      principals: anyone,
    },
    {
      tenantId: "t",
      stewardObjectId: STEWARD_APP.objectId,
      budgetStartDate: "2025-01-01",
      acceptedOn: "2025-01-01",
    },
  );
  return stepNames(plan);
}

describe("a crash after any step, then redelivery, converges without duplicates or orphans", () => {
  beforeEach(async () => resetEmulator());

  it("knows every step", () => {
    expect(allStepNames()).toHaveLength(ENVS.length * 7 + 2);
  });

  it.each(
    // vitest evaluates the table before beforeAll; the names are the policy's, fixed here.
    ENVS.flatMap((e) =>
      ["resourceGroup", "groups", "dependencies", "budget", "roleAssignments", "workspace", "dataAccess"].map(
        (s) => `${e}/${s}`,
      ),
    ).concat(["assets/copy", "assets/archive"]),
  )("crash after %s", async (crashStep) => {
    expect(allStepNames()).toContain(crashStep);
    let crashed = false;
    await w.startHost({
      ...FAST,
      afterStep: (step) => {
        if (step === crashStep && !crashed) {
          crashed = true;
          throw new Error(`injected crash after ${step}`);
        }
      },
    });
    const req = w.request();
    await w.promote(req);
    const rec = await w.waitForRecord(
      req.requestId,
      (r) => r.status === "succeeded" || r.status === "failed",
    );
    expect(crashed).toBe(true);
    expect(rec.attempts).toBe(2);
    await expectConverged(req.requestId);
  });
});

describe("a redelivery on a later day", () => {
  it("tags createdOn with the day the request was accepted, from its record, not the day of the run", async () => {
    await resetEmulator();
    await w.startHost(FAST);
    const req = w.request();
    // The first delivery was accepted late on 2 January and crashed before its first step.
    const body = parsePromotionRequest(req);
    if (!body.ok) throw new Error("example must parse");
    await w.records.save({
      requestId: req.requestId,
      requestHash: requestHash(body.request, PEOPLE.alice),
      requester: { objectId: PEOPLE.alice.objectId, userPrincipalName: PEOPLE.alice.userPrincipalName },
      status: "running",
      dryRun: false,
      acceptedAt: "2025-01-02T23:59:30.000Z",
      updatedAt: "2025-01-02T23:59:31.000Z",
      attempts: 1,
      lastDequeueCount: 1,
      steps: [],
      resources: [],
    });
    await w.promote(req);
    await w.waitForRecord(req.requestId, (r) => r.status === "succeeded" || r.status === "failed");
    const rec = await expectConverged(req.requestId);
    expect(rec.acceptedAt).toBe("2025-01-02T23:59:30.000Z");
    const rg = await w.stack
      .armAs(STEWARD_APP.objectId, w.stack.policy.projectSubscriptionId)
      .resourceGroups.get(environmentNames(w.stack.policy, project, "dev").resourceGroup);
    expect(rg.tags?.createdOn).toBe("2025-01-02");
  }, 90_000);
});

describe("Entra and Graph eventual consistency, and throttling", () => {
  it("survives replication delay, Graph read-after-write delay, a crash in between and 429s", async () => {
    await resetEmulator({
      replicationDelayMs: 2_000,
      graphReadAfterWriteDelayMs: 1_500,
      rules: [
        { method: "PUT", path: "roleAssignments", status: 429, retryAfterSeconds: 1, count: 6 },
        { method: "POST", path: "^/v1\\.0/groups$", status: 429, retryAfterSeconds: 1, count: 4 },
        { method: "GET", path: "resourcegroups/rg-aml-", status: 429, retryAfterSeconds: 1, count: 3 },
        { method: "PUT", path: "/models/", status: 503, retryAfterSeconds: 1, count: 2 },
      ],
    });
    let crashed = false;
    await w.startHost({
      ...FAST,
      // Crash right after the groups exist: the retry must find them though Graph cannot read them yet.
      afterStep: (step) => {
        if (step === "dev/groups" && !crashed) {
          crashed = true;
          throw new Error("injected crash");
        }
      },
    });
    const since = Date.now();
    const req = w.request();
    await w.promote(req);
    await w.waitForRecord(req.requestId, (r) => r.status === "succeeded" || r.status === "failed", 90_000);
    await expectConverged(req.requestId);
    const faulted = (await w.azureRequests(since)).filter((r) => r.faulted);
    expect(faulted.filter((r) => r.status === 429).length).toBe(13);
    expect(faulted.filter((r) => r.status === 503).length).toBe(2);
  }, 120_000);
});

describe("Entra replication seen by ARM even with principalType set", () => {
  it("retries 400 PrincipalNotFound on role assignment PUTs in-process and converges with the full access matrix", async () => {
    // Azure can still answer PrincipalNotFound for a group created moments ago; the rule makes
    // the first three role assignment PUTs fail that way whatever the body says.
    await resetEmulator({
      rules: [
        {
          method: "PUT",
          path: "/providers/Microsoft\\.Authorization/roleAssignments/",
          status: 400,
          code: "PrincipalNotFound",
          message:
            "Principal 0123456789abcdef0123456789abcdef does not exist in the directory 7a1f3c2e-5b8d-4e6f-9a0b-1c2d3e4f5a6b. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
          count: 3,
        },
      ],
    });
    await w.startHost(FAST);
    const since = Date.now();
    const req = w.request();
    await w.promote(req);
    await w.waitForRecord(req.requestId, (r) => r.status === "succeeded" || r.status === "failed", 90_000);
    const rec = await expectConverged(req.requestId);
    // Retried inside the one delivery (back-off), not by the queue.
    expect(rec.attempts).toBe(1);
    const log = await w.azureRequests(since);
    const faulted = log.filter((r) => r.faulted);
    expect(faulted).toHaveLength(3);
    for (const f of faulted) expect(f).toMatchObject({ method: "PUT", status: 400 });
    // Each refused PUT was sent again under the same deterministic name and then succeeded.
    const refused = new Set(faulted.map((f) => f.path.toLowerCase()));
    for (const path of refused) {
      const later = log.filter((r) => r.path.toLowerCase() === path && r.method === "PUT" && !r.faulted);
      expect(later.map((r) => r.status)).toEqual([201]);
    }
    for (const env of ENVS)
      expect(rec.steps.find((s) => s.name === `${env}/roleAssignments`)?.outcome).toBe("created");
  }, 120_000);
});

describe("poison handling", () => {
  it("a failure that never clears goes to the poison queue after maxDequeueCount, and the record says failed with the cause", async () => {
    await resetEmulator({
      rules: [{ method: "PUT", path: "resourcegroups/rg-aml-", status: 503, retryAfterSeconds: 0 }],
    });
    const host = await w.startHost(FAST);
    const req = w.request();
    const text = (m: string) => (m.includes(req.requestId) ? m : Buffer.from(m, "base64").toString("utf8"));
    const poisoned = host.waitForPoison((p) => text(p.messageText).includes(req.requestId), {
      timeoutMs: 60_000,
    });
    await w.promote(req);
    const p = await poisoned;
    expect(p.dequeueCount).toBe(5);
    const rec = await w.waitForRecord(req.requestId, (r) => r.status === "failed");
    expect(rec.attempts).toBe(5);
    expect(rec.lastDequeueCount).toBe(5);
    expect(rec.lastError).toMatch(/503/);
    expect(rec.steps.find((s) => s.name === "dev/resourceGroup")?.outcome).toBe("failed");
    const peek = await w.poison.peekMessages();
    expect(peek.peekedMessageItems.some((m) => text(m.messageText).includes(req.requestId))).toBe(true);
  }, 90_000);
});
