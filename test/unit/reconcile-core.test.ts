import type { TableClient } from "@azure/data-tables";
import type { ResourceManagementClient } from "@azure/arm-resources";
import type { ContainerClient } from "@azure/storage-blob";
import { describe, expect, it, vi } from "vitest";
import { getPolicy, type EstatePolicy } from "../../shared/policy/index.js";
import { assess, resourceGroupOf, ScanTally, UnattributedTally } from "../../shared/reconcile/drift.js";
import { ChangeSetHash } from "../../shared/reconcile/changeSet.js";
import { APPROVAL_VALIDITY_MS, blastRadius, checkApproval } from "../../shared/reconcile/guard.js";
import { encodeMessage, parseMessage } from "../../shared/reconcile/messages.js";
import { formatReport } from "../../shared/reconcile/format.js";
import { fillModeNames, patchStillNeeded } from "../../shared/reconcile/freshFills.js";
import { RunStore } from "../../shared/reconcile/runStore.js";
import { emptyCounts, type ReconcileReport } from "../../shared/reconcile/types.js";

const policy: EstatePolicy = getPolicy();
const sub = policy.projectSubscriptionId;
const rgTags = {
  costCenter: "CC-2100-FRAUD",
  project: "fraud",
  environment: "dev",
  owner: "erin@contoso.com",
};
const id = (rg: string, name: string, type = "Microsoft.Storage/storageAccounts") =>
  `/subscriptions/${sub}/resourceGroups/${rg}/providers/${type}/${name}`;

describe("assess (drift of one listed resource)", () => {
  it("finds a resource compliant when it carries the resource group's tags", () => {
    const a = assess(
      policy,
      {
        id: id("rg-aml-fraud-dev", "stfrauddev1"),
        type: "Microsoft.Storage/storageAccounts",
        name: "stfrauddev1",
        location: "westeurope",
        tags: { ...rgTags },
      },
      rgTags,
    );
    expect(a.drift).toBeUndefined();
    expect(a.unattributed).toBe(false);
    expect(a.resourceGroup).toBe("rg-aml-fraud-dev");
  });

  it("lists the patch, the old values and the reasons of a drifted resource, in the resource's own spelling", () => {
    const a = assess(
      policy,
      {
        id: id("rg-aml-fraud-dev", "stfrauddev1"),
        type: "Microsoft.Storage/storageAccounts",
        name: "stfrauddev1",
        location: "westeurope",
        tags: { CostCenter: "CC-OLD", project: "fraud", environment: "dev" },
      },
      rgTags,
    );
    expect(a.drift?.patch).toEqual({ CostCenter: "CC-2100-FRAUD", owner: "erin@contoso.com" });
    expect(a.drift?.before).toEqual({ CostCenter: "CC-OLD", owner: "" });
    expect(Object.keys(a.drift!.reasons).sort()).toEqual(["CostCenter", "owner"]);
    expect(a.drift?.project).toBe("fraud");
  });

  it("skips untaggable types without drift and without counting them as unattributed", () => {
    const a = assess(
      policy,
      {
        id: id("rg-x", "dep1", "Microsoft.Resources/deployments"),
        type: "Microsoft.Resources/deployments",
        name: "dep1",
        tags: {},
      },
      {},
    );
    expect(a.decision.skip).toBe("untaggableType");
    expect(a.drift).toBeUndefined();
    expect(a.unattributed).toBe(false);
  });

  it("calls a resource unattributed only when neither it nor its resource group names a cost centre", () => {
    const r = {
      id: id("rg-orphan", "storphan"),
      type: "Microsoft.Storage/storageAccounts",
      name: "storphan",
      tags: {},
    };
    expect(assess(policy, r, {}).unattributed).toBe(true);
    expect(assess(policy, r, undefined).unattributed).toBe(true);
    expect(assess(policy, r, { costCenter: "  " }).unattributed).toBe(true);
    expect(assess(policy, { ...r, tags: { COSTCENTER: "CC-1" } }, {}).unattributed).toBe(false);
    expect(assess(policy, r, { costcenter: "CC-1" }).unattributed).toBe(false);
  });

  it("reads the resource group out of an id in any casing", () => {
    expect(resourceGroupOf(`/subscriptions/${sub}/resourcegroups/RG-A/providers/X/y/z`)).toBe("RG-A");
    expect(resourceGroupOf(`/subscriptions/${sub}`)).toBe("");
  });
});

describe("ScanTally and UnattributedTally", () => {
  it("counts every outcome once and groups unattributed resources by resource group, largest first", () => {
    const tally = new ScanTally(sub, 2);
    const add = (
      rg: string,
      name: string,
      tags: Record<string, string>,
      groupTags?: Record<string, string>,
      type?: string,
    ) =>
      tally.add(
        assess(
          policy,
          {
            id: id(rg, name, type),
            type: type ?? "Microsoft.Storage/storageAccounts",
            name,
            location: "westeurope",
            tags,
          },
          groupTags,
        ),
      );
    add("rg-aml-fraud-dev", "a", { ...rgTags }, rgTags); // compliant
    add("rg-aml-fraud-dev", "b", {}, rgTags); // drifted
    add("rg-aml-fraud-dev", "c", { costCenter: "X" }, rgTags); // drifted
    add("rg-aml-fraud-dev", "d", {}, rgTags); // drifted (beyond the sample of 2)
    add("rg-x", "dep", {}, {}, "Microsoft.Resources/deployments"); // untaggable
    add("rg-orphan", "o1", {}, {});
    add("rg-orphan", "o2", {}, {});
    add("rg-other", "o3", {}, undefined);
    const c = tally.counts;
    expect(c).toMatchObject({
      scanned: 8,
      compliant: 1,
      incomplete: 3,
      drifted: 3,
      untaggable: 1,
      unattributed: 3,
    });
    expect(c.compliant + c.incomplete + c.drifted + c.untaggable + c.skipped).toBe(c.scanned);
    expect(tally.driftSample.map((d) => d.id.split("/").pop())).toEqual(["b", "c"]);
    expect(tally.violations.missingTags).toBe(3);
    expect(tally.unattributed.result()).toEqual([
      {
        subscriptionId: sub,
        resourceGroup: "rg-orphan",
        count: 2,
        sample: [id("rg-orphan", "o1"), id("rg-orphan", "o2")],
      },
      { subscriptionId: sub, resourceGroup: "rg-other", count: 1, sample: [id("rg-other", "o3")] },
    ]);
  });

  it("keeps a bounded sample per group and merges groups case-insensitively", () => {
    const t = new UnattributedTally(sub, 3);
    for (let i = 0; i < 10; i++) t.add(i % 2 ? "RG-A" : "rg-a", `r${i}`);
    const [g] = t.result();
    expect(g).toMatchObject({ resourceGroup: "rg-a", count: 10, sample: ["r0", "r1", "r2"] });
  });
});

describe("blast-radius guard", () => {
  const limits = { maxChangeShare: 0.2, maxChangeCount: 500, concurrency: 8 };

  it("allows drift within both limits, including none", () => {
    expect(blastRadius(limits, 1000, 200).allowed).toBe(true);
    expect(blastRadius(limits, 0, 0)).toMatchObject({ allowed: true, share: 0 });
    expect(blastRadius(limits, 5, 0).allowed).toBe(true);
  });

  it("blocks above the share or the count, saying which", () => {
    const share = blastRadius(limits, 1000, 201);
    expect(share.allowed).toBe(false);
    expect(share.reason).toMatch(
      /20\.1% of 1000 scanned resources would change, more than maxChangeShare 20%/,
    );
    const count = blastRadius(limits, 10_000, 501);
    expect(count.allowed).toBe(false);
    expect(count.reason).toMatch(/501 resources would change, more than maxChangeCount 500/);
    expect(blastRadius(limits, 100, 600).reason).toContain(";");
  });

  it("lets an approval through only for the exact change set it approved", () => {
    const approved = { runId: "r1", changeSetHash: "90:abc" };
    expect(blastRadius(limits, 100, 90, approved, "90:abc")).toMatchObject({
      allowed: true,
      approvedRunId: "r1",
    });
    // The same number of changes, but not the same changes: a new approval is needed.
    const other = blastRadius(limits, 100, 90, approved, "90:def");
    expect(other.allowed).toBe(false);
    expect(other.reason).toMatch(
      /approval of run r1 covers its exact change set \(90:abc\); this run's is 90:def/,
    );
    expect(blastRadius(limits, 100, 90, approved, undefined).allowed).toBe(false);
  });
});

describe("ChangeSetHash", () => {
  const hash = (changes: { id: string; patch: Record<string, string> }[]) => {
    const h = new ChangeSetHash();
    changes.forEach((c) => h.add(c));
    return h.digest();
  };
  const a = {
    id: "/subscriptions/s/resourceGroups/rg/providers/X/y/a",
    patch: { costCenter: "CC-1", project: "p" },
  };
  const b = { id: "/subscriptions/s/resourceGroups/rg/providers/X/y/b", patch: { costCenter: "CC-1" } };
  it("does not depend on the order the scan met the changes, nor on id or tag-name case", () => {
    expect(hash([a, b])).toBe(hash([b, a]));
    expect(hash([a])).toBe(hash([{ id: a.id.toUpperCase(), patch: { project: "p", COSTCENTER: "CC-1" } }]));
  });
  it("changes when any change is added, dropped, or writes another value", () => {
    const base = hash([a, b]);
    expect(hash([a])).not.toBe(base);
    expect(hash([a, b, { ...b, id: `${b.id}2` }])).not.toBe(base);
    expect(hash([a, { ...b, patch: { costCenter: "CC-2" } }])).not.toBe(base);
    expect(hash([])).toBe(`0:${"0".repeat(64)}`);
  });
});

function report(over: Partial<ReconcileReport> = {}): ReconcileReport {
  return {
    runId: "r1",
    subscriptionId: sub,
    status: "blocked",
    dryRun: false,
    startedAt: "2025-01-01T02:00:00.000Z",
    finishedAt: "2025-01-01T02:01:00.000Z",
    durationMs: 60_000,
    counts: { ...emptyCounts(), scanned: 100, drifted: 90, blocked: 90 },
    violations: {},
    unattributed: [],
    costCenterMismatches: [],
    calls: { armReads: 2, armWrites: 0, graphReads: 0, graphWrites: 0, throttled: 0 },
    pages: { resources: 1, resourceGroups: 1 },
    driftSample: [],
    failures: [],
    changeSetHash: "90:abc",
    approval: {
      validUntil: new Date(Date.parse("2025-01-01T02:01:00.000Z") + APPROVAL_VALIDITY_MS).toISOString(),
      approvedBy: { objectId: "e2140000-0000-4000-8000-000000000005" },
    },
    ...over,
  };
}

describe("checkApproval", () => {
  const t = Date.parse("2025-01-01T12:00:00.000Z");
  it("accepts a blocked run of the same subscription within its window", () => {
    expect(checkApproval(report(), "r1", sub.toUpperCase(), t)).toEqual({
      ok: true,
      changeSetHash: "90:abc",
    });
  });
  it("refuses a run nobody approved: a message naming it is not an approval", () => {
    const unapproved = report({ approval: { validUntil: "2099-01-01T00:00:00.000Z" } });
    expect(checkApproval(unapproved, "r1", sub, t)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("no recorded approval"),
    });
  });
  it("refuses unknown, unblocked, foreign, used and expired runs", () => {
    expect(checkApproval(undefined, "r9", sub, t)).toMatchObject({ ok: false, reason: "run r9 not found" });
    expect(checkApproval(report({ status: "completed" }), "r1", sub, t)).toMatchObject({ ok: false });
    expect(checkApproval(report(), "r1", policy.exploration.subscriptionId, t)).toMatchObject({ ok: false });
    const used = report({ approval: { validUntil: "2099-01-01T00:00:00.000Z", usedByRunId: "r2" } });
    expect(checkApproval(used, "r1", sub, t)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("r2"),
    });
    expect(checkApproval(report(), "r1", sub, t + APPROVAL_VALIDITY_MS)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("approval window"),
    });
  });
});

describe("RunStore.get with a run id from outside", () => {
  it("finds no run under an id that cannot be a Table key, without asking Table Storage", async () => {
    // Table Storage answers 400 to a key holding '/', '\\', '#', '?' or a control character;
    // thrown, that would fail the run and the queue would retry a message that can never pass.
    const getEntity = vi.fn(async () => {
      throw Object.assign(new Error("OutOfRangeInput"), { statusCode: 400 });
    });
    const table = { createTable: async () => ({}), getEntity } as unknown as TableClient;
    const store = new RunStore(table, {} as ContainerClient);
    for (const id of ["a/b", "..\\x", "r#1", "r?x=1", "r\n1", ""]) {
      expect(await store.get(id)).toBeUndefined();
    }
    expect(getEntity).not.toHaveBeenCalled();
    expect(checkApproval(await store.get("x/y"), "x/y", sub, Date.now())).toMatchObject({
      ok: false,
      reason: "run x/y not found",
    });
  });
});

describe("queue messages", () => {
  it("round-trips through base64, and takes parsed objects and plain JSON too", () => {
    const m = { v: 1 as const, subscriptionId: sub, batchId: "b1" };
    expect(parseMessage(encodeMessage(m))).toEqual({ ok: true, message: m });
    expect(parseMessage(m)).toEqual({ ok: true, message: m });
    expect(parseMessage(JSON.stringify(m))).toEqual({ ok: true, message: m });
  });
  it("refuses garbage and unknown fields with a reason", () => {
    expect(parseMessage("%%%")).toMatchObject({ ok: false });
    expect(parseMessage({ v: 1, subscriptionId: "nope" })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("subscriptionId"),
    });
    expect(parseMessage({ v: 1, subscriptionId: sub, scope: "/" })).toMatchObject({ ok: false });
  });
});

describe("formatReport", () => {
  it("prints a summary table, the guard's verdict with the approval command, and unattributed groups", () => {
    const text = formatReport([
      report({
        subscriptionName: "Contoso ML Projects",
        guard: {
          allowed: false,
          drifted: 90,
          scanned: 100,
          share: 0.9,
          maxChangeShare: 0.2,
          maxChangeCount: 500,
          reason: "90% of 100 scanned resources would change",
        },
        unattributed: [
          { subscriptionId: sub, resourceGroup: "rg-orphan", count: 2, sample: [id("rg-orphan", "o1")] },
        ],
        driftSample: [
          {
            id: id("rg-a", "st1"),
            resourceGroup: "rg-a",
            type: "t",
            patch: { costCenter: "CC-2" },
            before: { costCenter: "CC-1" },
            reasons: {},
          },
        ],
      }),
    ]);
    expect(text).toMatch(/subscription\s+status\s+scanned/);
    expect(text).toMatch(/Contoso ML Projects\s+blocked\s+100/);
    expect(text).toContain("guard: BLOCKED");
    expect(text).toContain("steward reconcile --approve r1");
    expect(text).toMatch(/rg-orphan\s+2/);
    expect(text).toContain("rg-a/storageAccounts/st1  costCenter  CC-1 -> CC-2");
  });
});

describe("fill-mode tags are re-checked just before the write", () => {
  const policy = getPolicy();
  const fillNames = fillModeNames(policy);
  const entry = {
    id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
    resourceGroup: "rg",
    type: "Microsoft.Storage/storageAccounts",
    patch: { costCenter: "CC-2100-FRAUD", owner: "rg-owner@contoso.com" },
    before: { costCenter: "CC-0000-MISC", owner: "" },
    reasons: {},
  };
  const clientWith = (getAtScope: () => Promise<unknown>) =>
    (() => ({ tagsOperations: { getAtScope } })) as unknown as (s: string) => ResourceManagementClient;

  it("drops a fill that someone made since the scan, keeps the corrections", async () => {
    const get = vi.fn(async () => ({
      properties: { tags: { OWNER: "alice@contoso.com", costCenter: "CC-0000-MISC" } },
    }));
    expect(await patchStillNeeded(entry, fillNames, clientWith(get), "s")).toEqual({
      costCenter: "CC-2100-FRAUD",
    });
    expect(get).toHaveBeenCalledTimes(1);
  });

  it("keeps a fill that is still a gap (absent or blank)", async () => {
    const get = async () => ({ properties: { tags: { owner: " " } } });
    expect(await patchStillNeeded(entry, fillNames, clientWith(get), "s")).toEqual(entry.patch);
  });

  it("reports a resource deleted since the scan as gone", async () => {
    const get = async () => Promise.reject(Object.assign(new Error("gone"), { statusCode: 404 }));
    expect(await patchStillNeeded(entry, fillNames, clientWith(get), "s")).toBe("gone");
  });

  it("makes no read for a patch without fill-mode tags", async () => {
    const get = vi.fn();
    const onlyCorrect = { ...entry, patch: { costCenter: "CC-2100-FRAUD" } };
    expect(await patchStillNeeded(onlyCorrect, fillNames, clientWith(get), "s")).toEqual(onlyCorrect.patch);
    expect(get).not.toHaveBeenCalled();
  });
});
