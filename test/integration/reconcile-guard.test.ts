/**
 * The blast-radius guard: a broken resource-group tag would change most of a subscription; the
 * run writes nothing, records the would-be changes, raises an error-level alert and can be
 * approved by a member of the platform approvers group (from a validated token); an approval
 * applies once, and only to the exact change set that was approved.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { callerTokens } from "../../shared/auth/callerToken.js";
import { memberGroups } from "../../shared/auth/membership.js";
import { getSettings } from "../../shared/config/settings.js";
import { approveBlockedRun } from "../../shared/reconcile/approve.js";
import { approveRun, defaultDeps, getRun, listDrift, runReconcile } from "../../shared/reconcile/index.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import { governanceGroups } from "../../local/seeds/contoso.js";
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
  stack = await startTestStack({
    seed: { ...estate.seed, users: Object.values(PEOPLE), groups: governanceGroups(policy) },
    policy,
  });
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

/** Records `who`'s approval of a blocked run, as the HTTP front and the CLI do: from their token. */
async function approveAs(who: { objectId: string }, runId: string) {
  const check = await callerTokens(getSettings()).validate(await stack.apiToken(who.objectId));
  if (!check.ok) throw new Error(check.reason);
  return approveBlockedRun(
    { policy, runs: defaultDeps().runs, memberGroups: (oid, g) => memberGroups(azure(), oid, g) },
    check.caller,
    runId,
  );
}

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

  it("naming a blocked run is no approval: nobody approved it, so nothing is written", async () => {
    await clearRequests(stack);
    const r = await approveRun(blockedRunId, { policy, logger: memoryLogger() });
    expect(r.status).toBe("failed");
    expect(r.error).toMatch(/approval refused: .*no recorded approval/);
    expect((await tagWrites(stack)).size).toBe(0);
  });

  it("only a member of the platform approvers group may approve, and who approved is on the run", async () => {
    const refused = await approveAs(PEOPLE.bob, blockedRunId);
    expect(refused).toMatchObject({
      ok: false,
      status: 403,
      reason: expect.stringMatching(/bob@contoso.com is not a member of grp-aml-platform/),
    });
    expect((await getRun(blockedRunId))?.approval?.approvedBy).toBeUndefined();
    expect(await approveAs(PEOPLE.erin, blockedRunId)).toMatchObject({ ok: true });
    expect((await getRun(blockedRunId))?.approval?.approvedBy).toMatchObject({
      objectId: PEOPLE.erin.objectId,
    });
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

  it("an approval covers the exact change set it was shown, not another of the same size", async () => {
    breakGroupTag(FRAUD_TAGS.costCenter); // fixed back: all of the group drifts again
    const [blocked] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
    expect(blocked!.status).toBe("blocked");
    // More drift appears before the operator approves.
    const extra = `/subscriptions/${estate.sub}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/stlate${estate.sub.slice(0, 4)}`;
    await stack.control("POST", "/_emulator/seed", {
      resources: [{ id: extra, location: "westeurope", tags: {} }],
    });
    // ... and one of the shown changes disappears, so the count is what was approved.
    const gone = inRg()[0]!;
    stack.emulator.state.getResource(gone)!.tags = { ...FRAUD_TAGS };
    await clearRequests(stack);
    expect(await approveAs(PEOPLE.erin, blocked!.runId)).toMatchObject({ ok: true });
    const r = await approveRun(blocked!.runId, { policy, logger: memoryLogger() });
    expect(r.status).toBe("blocked");
    expect(r.counts.drifted).toBe(blocked!.counts.drifted);
    expect(r.guard!.reason).toMatch(
      new RegExp(
        `approval of run ${blocked!.runId} covers its exact change set \\(${blocked!.changeSetHash}\\)`,
      ),
    );
    expect((await tagWrites(stack)).size).toBe(0);
    // The new blocked run can itself be approved.
    expect(await approveAs(PEOPLE.erin, r.runId)).toMatchObject({ ok: true });
    const ok = await approveRun(r.runId, { policy, logger: memoryLogger() });
    expect(ok.status).toBe("completed");
    expect(ok.counts.fixed).toBe(inRg().length);
  });

  it("refuses to approve an unknown run", async () => {
    await expect(approveRun("no-such-run", { policy, logger: memoryLogger() })).rejects.toThrow(
      /no reconcile run no-such-run/,
    );
  });
});
