/**
 * The blast-radius guard: a broken resource-group tag would change most of a subscription; the
 * run writes nothing, records the would-be changes, raises an error-level alert and can be
 * approved; an approval applies once, and never to more drift than was approved.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { approveRun, getRun, listDrift, runReconcile } from "../../shared/reconcile/index.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import {
  clearRequests,
  FRAUD_TAGS,
  memoryLogger,
  seedEstate,
  tagWrites,
  tagsOf,
  testPolicy,
  type Estate,
} from "./reconcile-harness.js";

const policy = testPolicy({ maxChangeShare: 0.3, maxChangeCount: 100 });
const RG = "rg-aml-fraud-dev";
let stack: TestStack;
let estate: Estate;

beforeAll(async () => {
  estate = seedEstate(policy, { compliantCount: 12 });
  stack = await startTestStack({ seed: estate.seed, policy });
  // The promotion that created the resource group recorded its cost centre.
  const promotions = azure().table(TABLES.promotions);
  await promotions.createTable().catch(() => undefined);
  await promotions.createEntity({
    partitionKey: "promotion",
    rowKey: randomUUID(),
    requestId: randomUUID(),
    status: "succeeded",
    project: "fraud",
    costCenter: FRAUD_TAGS.costCenter,
    dryRun: false,
    resourcesParts: 1,
    resources_0: JSON.stringify([`/subscriptions/${estate.sub}/resourceGroups/${RG}`]),
  });
  // A first run fixes the ordinary drift (4 of 20, within the limits).
  const [r] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
  expect(r!.status).toBe("completed");
});
afterAll(async () => stack?.stop());

const inRg = () => [...estate.compliant, ...estate.drifted];
const breakGroupTag = (value: string) =>
  (stack.emulator.state.getGroup(estate.sub, RG)!.tags = { ...FRAUD_TAGS, costCenter: value });

describe("reconcile: blast-radius guard", () => {
  let blockedRunId = "";

  it("a broken resource-group tag stops the run: nothing written, changes recorded, alert logged", async () => {
    breakGroupTag("CC-2100-FRUAD");
    await clearRequests(stack);
    const log = memoryLogger();
    const [r] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: log });
    blockedRunId = r!.runId;
    expect(r!.status).toBe("blocked");
    expect(r!.counts).toMatchObject({ drifted: inRg().length, blocked: inRg().length, fixed: 0 });
    expect(r!.guard).toMatchObject({ allowed: false, maxChangeShare: 0.3 });
    expect(r!.guard!.reason).toMatch(/more than maxChangeShare 30%/);
    expect((await tagWrites(stack)).size).toBe(0);
    expect(r!.calls.armWrites).toBe(0);

    const alert = log.lines.find((l) => l.level === "error");
    expect(alert?.message).toMatch(/RECONCILE BLOCKED by the blast-radius guard/);
    expect(alert?.message).toContain(`steward reconcile --approve ${r!.runId}`);
    expect(alert?.fields).toMatchObject({ alert: "reconcileBlocked", drifted: inRg().length });

    expect(r!.costCenterMismatches).toEqual([
      { resourceGroup: RG, tagged: "CC-2100-FRUAD", recorded: FRAUD_TAGS.costCenter, project: "fraud" },
    ]);
    const drift = [];
    for await (const d of listDrift(r!.runId)) drift.push(d);
    expect(drift).toHaveLength(inRg().length);
    expect(drift.every((d) => Object.values(d.patch).includes("CC-2100-FRUAD"))).toBe(true);
    expect((await getRun(r!.runId))?.approval?.validUntil).toBeTruthy();
  });

  it("an approved run applies the recorded change once", async () => {
    await clearRequests(stack);
    const r = await approveRun(blockedRunId, { policy, logger: memoryLogger() });
    expect(r.status).toBe("completed");
    expect(r.guard).toMatchObject({ allowed: true, approvedRunId: blockedRunId });
    expect(r.counts.fixed).toBe(inRg().length);
    expect((await tagWrites(stack)).size).toBe(inRg().length);
    expect(tagsOf(stack, estate.compliant[0]!)).toMatchObject({ costCenter: "CC-2100-FRUAD" });
    expect((await getRun(blockedRunId))?.approval?.usedByRunId).toBe(r.runId);

    const again = await approveRun(blockedRunId, { policy, logger: memoryLogger() });
    expect(again.status).toBe("failed");
    expect(again.error).toMatch(/approval refused: .*already applied by run/);
  });

  it("an approval never covers more drift than it was shown", async () => {
    breakGroupTag(FRAUD_TAGS.costCenter); // fixed back: all of the group drifts again
    const [blocked] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
    expect(blocked!.status).toBe("blocked");
    // More drift appears before the operator approves.
    const extra = `/subscriptions/${estate.sub}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/stlate${estate.sub.slice(0, 4)}`;
    await stack.control("POST", "/_emulator/seed", {
      resources: [{ id: extra, location: "westeurope", tags: {} }],
    });
    await clearRequests(stack);
    const r = await approveRun(blocked!.runId, { policy, logger: memoryLogger() });
    expect(r.status).toBe("blocked");
    expect(r.guard!.reason).toMatch(
      new RegExp(
        `approval of run ${blocked!.runId} covers at most ${inRg().length} changes, this run has ${inRg().length + 1}`,
      ),
    );
    expect((await tagWrites(stack)).size).toBe(0);
    // The new blocked run can itself be approved.
    const ok = await approveRun(r.runId, { policy, logger: memoryLogger() });
    expect(ok.status).toBe("completed");
    expect(ok.counts.fixed).toBe(inRg().length + 1);
  });

  it("refuses to approve an unknown run", async () => {
    await expect(approveRun("no-such-run", { policy, logger: memoryLogger() })).rejects.toThrow(
      /no reconcile run no-such-run/,
    );
  });
});
