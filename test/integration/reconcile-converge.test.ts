/**
 * A seeded subscription with drifted, compliant, untaggable and orphaned resources: the dry
 * run lists the drift and writes nothing; the real run makes exactly one Merge per drifted
 * resource and none for the rest; the estate ends compliant; a second run writes nothing; a
 * resource deleted mid-run is counted as gone; the report lands in Table Storage and a blob.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TABLES } from "../../shared/config/settings.js";
import { azure } from "../../shared/azure/clients.js";
import { getRun, listDrift, formatReport, runReconcile } from "../../shared/reconcile/index.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import {
  clearRequests,
  FRAUD_TAGS,
  memoryLogger,
  seedEstate,
  tagsOf,
  tagWrites,
  testPolicy,
  armRequests,
  type Estate,
} from "./reconcile-harness.js";

const policy = testPolicy({ maxChangeShare: 0.5 });
let stack: TestStack;
let estate: Estate;

beforeAll(async () => {
  estate = seedEstate(policy);
  stack = await startTestStack({ seed: estate.seed, policy, pageSize: 5 });
});
afterAll(async () => stack?.stop());

const lower = (ids: string[]) => ids.map((i) => i.toLowerCase()).sort();

describe("reconcile: convergence", () => {
  it("dry run: lists the full drift and writes nothing", async () => {
    await clearRequests(stack);
    const [r] = await runReconcile({
      subscriptionIds: [estate.sub],
      dryRun: true,
      policy,
      logger: memoryLogger(),
    });
    expect(r!.status).toBe("dryRun");
    expect(r!.counts).toMatchObject({
      scanned: estate.all.length,
      drifted: estate.drifted.length,
      fixed: 0,
      untaggable: estate.untaggable.length,
      unattributed: estate.orphaned.length,
    });
    expect((await tagWrites(stack)).size).toBe(0);
    const drift = [];
    for await (const d of listDrift(r!.runId)) drift.push(d);
    expect(lower(drift.map((d) => d.id))).toEqual(lower(estate.drifted));
    const wrongCc = drift.find((d) => d.before.costCenter === "CC-9999-WRONG");
    expect(wrongCc?.patch).toEqual({ costCenter: FRAUD_TAGS.costCenter });
  });

  it("writes exactly once per drifted resource, none for the rest, and ends compliant", async () => {
    await clearRequests(stack);
    const progress: number[] = [];
    const [r] = await runReconcile({
      subscriptionIds: [estate.sub],
      policy,
      logger: memoryLogger(),
      onProgress: (p) => progress.push(p.written),
    });
    expect(r!.status).toBe("completed");
    expect(r!.counts).toMatchObject({
      scanned: estate.all.length,
      compliant: estate.compliant.length,
      drifted: estate.drifted.length,
      fixed: estate.drifted.length,
      failed: 0,
      untaggable: estate.untaggable.length,
      incomplete: estate.orphaned.length,
      unattributed: estate.orphaned.length,
      pending: 0,
    });
    const writes = await tagWrites(stack);
    expect([...writes.keys()].sort()).toEqual(lower(estate.drifted));
    expect([...writes.values()].every((n) => n === 1)).toBe(true);
    expect(Math.max(...progress)).toBe(estate.drifted.length);

    for (const id of [...estate.drifted, ...estate.compliant]) {
      const tags = tagsOf(stack, id)!;
      const view = Object.fromEntries(Object.entries(tags).map(([k, v]) => [k.toLowerCase(), v]));
      expect(view).toMatchObject({ costcenter: FRAUD_TAGS.costCenter, project: "fraud", environment: "dev" });
      expect(view.owner).toBeTruthy();
    }
    // Merge kept the existing spelling and the other tags.
    const cased = tagsOf(stack, estate.drifted[3]!)!;
    expect(cased).toEqual({
      COSTCENTER: FRAUD_TAGS.costCenter,
      project: "fraud",
      environment: "dev",
      owner: "someone@contoso.com",
    });
    for (const id of [...estate.untaggable, ...estate.orphaned]) expect(tagsOf(stack, id) ?? {}).toEqual({});

    // ARM reads: the list pages (resource groups + resources), plus one fresh tag read just
    // before writing each patch that fills a `fill`-mode gap (owner), so that a value someone set
    // since the scan is never overwritten; and the createdBy backfill's own, which the report
    // counts (a bounded number of systemData reads, and the Activity Log's pages).
    const reads = (await armRequests(stack)).filter((q) => q.method === "GET");
    const tagReads = reads.filter((q) => /\/providers\/Microsoft\.Resources\/tags\/default$/i.test(q.path));
    const backfill = (r!.creators?.reads ?? 0) + (r!.creators?.activityLogPages ?? 0);
    expect(reads.length - tagReads.length).toBe(r!.pages.resources + r!.pages.resourceGroups + backfill);
    const fills = [];
    for await (const d of listDrift(r!.runId))
      if (Object.keys(d.patch).some((k) => k.toLowerCase() === "owner")) fills.push(d.id);
    expect(fills.length).toBeGreaterThan(0);
    expect(
      lower(
        tagReads.map((q) =>
          q.path.replace(/\/providers\/Microsoft\.Resources\/tags\/default$/i, "").replace(/^\/+/, "/"),
        ),
      ),
    ).toEqual(lower(fills).sort());
    expect(r!.pages.resources).toBe(Math.ceil(estate.all.length / 5));
    expect(r!.calls.armWrites).toBe(estate.drifted.length);
  });

  it("a second run writes nothing", async () => {
    await clearRequests(stack);
    const [r] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
    expect(r!.status).toBe("completed");
    expect(r!.counts).toMatchObject({
      drifted: 0,
      fixed: 0,
      compliant: estate.compliant.length + estate.drifted.length,
    });
    expect((await tagWrites(stack)).size).toBe(0);
    expect(r!.calls.armWrites).toBe(0);
  });

  it("reports unattributed resources by resource group, and stores the report in a table row and a blob", async () => {
    const [r] = await runReconcile({ subscriptionIds: [estate.sub], policy, logger: memoryLogger() });
    expect(r!.unattributed).toEqual([
      {
        subscriptionId: estate.sub,
        resourceGroup: "rg-orphan",
        count: 2,
        sample: expect.arrayContaining(
          estate.orphaned.map((id) => expect.stringMatching(new RegExp(id.split("/").pop()!, "i"))),
        ),
      },
    ]);
    const stored = await getRun(r!.runId);
    expect(stored).toMatchObject({
      runId: r!.runId,
      status: "completed",
      counts: r!.counts,
      unattributed: r!.unattributed,
    });
    const row = await azure().table(TABLES.reconcileRuns).getEntity<Record<string, unknown>>("run", r!.runId);
    expect(row).toMatchObject({
      subscriptionId: estate.sub,
      status: "completed",
      scanned: estate.all.length,
      unattributed: 2,
    });
    const text = formatReport(stored!);
    expect(text).toContain("Test Projects");
    expect(text).toMatch(/rg-orphan\s+2/);
  });

  it("counts a resource that disappears mid-run as gone, not failed", async () => {
    // Make one resource drift again, then delete it after the scan has seen it.
    const victim = estate.compliant[0]!;
    const rec = stack.emulator.state.getResource(victim)!;
    rec.tags = { project: "fraud" };
    const [r] = await runReconcile({
      subscriptionIds: [estate.sub],
      policy,
      logger: memoryLogger(),
      onProgress: (p) => {
        if (p.written === 0 && p.scanned === estate.all.length) stack.emulator.state.removeResource(rec.key);
      },
    });
    expect(r!.status).toBe("completed");
    expect(r!.counts).toMatchObject({ drifted: 1, disappeared: 1, fixed: 0, failed: 0 });
  });
});
