import { TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AuditLog } from "../../shared/ledger/audit.js";
import { ViolationLog } from "../../shared/ledger/violations.js";

const conn = process.env.STEWARD_TEST_STORAGE_CONNECTION!;
const table = (prefix: string) =>
  TableClient.fromConnectionString(conn, `${prefix}${randomUUID().replace(/-/g, "").slice(0, 12)}`, {
    allowInsecureConnection: true,
  });

describe("audit log on Table Storage (Azurite)", () => {
  it("finds a write by resource (any casing) and by project, oldest first", async () => {
    const log = new AuditLog(table("audit"));
    const id = "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/st1";
    await log.record({
      actor: "onResourceWrite",
      action: "tags.merge",
      target: id,
      project: "fraud",
      before: { a: "1" },
      after: { a: "1", b: "2" },
      reason: "inherit",
      correlationId: "c1",
      at: "2026-01-01T00:00:00.000Z",
    });
    await log.record({
      actor: "reconcile",
      action: "tags.merge",
      target: id,
      reason: "drift",
      at: "2026-01-02T00:00:00.000Z",
    });
    await log.record({
      actor: "promotion",
      action: "resourceGroup.createOrUpdate",
      target: "/subscriptions/s1/resourceGroups/other",
      project: "fraud",
      reason: "promotion",
    });

    const byResource = await log.byResource(id.toLowerCase());
    expect(byResource.map((e) => e.actor)).toEqual(["onResourceWrite", "reconcile"]);
    expect(byResource[0]).toMatchObject({
      before: { a: "1" },
      after: { a: "1", b: "2" },
      correlationId: "c1",
    });
    expect((await log.byProject("fraud")).map((e) => e.action)).toEqual([
      "tags.merge",
      "resourceGroup.createOrUpdate",
    ]);
    expect(await log.byResource(id, { since: "2026-01-02" })).toHaveLength(1);
  });
});

describe("audit log rows", () => {
  it("writes one row per entry, found by resource and by project in any casing", async () => {
    const t = table("audit");
    const log = new AuditLog(t);
    const id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st2";
    await log.record({
      actor: "onResourceWrite",
      action: "tags.merge",
      target: id,
      project: "Fraud",
      reason: "r",
    });
    const rows = [];
    for await (const e of t.listEntities()) rows.push(e);
    expect(rows).toHaveLength(1);
    expect((await log.byProject("fraud")).map((e) => e.target)).toEqual([id]);
    expect(await log.byResource(id)).toHaveLength(1);
  });

  it("still reads project entries written as two rows before, once each", async () => {
    const t = table("audit");
    const log = new AuditLog(t);
    const base = {
      rowKey: "2026-01-01T00:00:00.000Z_0000aaaa",
      at: "2026-01-01T00:00:00.000Z",
      actor: "promotion",
      action: "group.upsert",
      target: "group:g1",
      project: "fraud",
      reason: "old",
    };
    await t.createTable();
    await t.createEntity({ ...base, partitionKey: "r|group:g1" });
    await t.createEntity({ ...base, partitionKey: "p|fraud" });
    await log.record({
      actor: "promotion",
      action: "group.update",
      target: "group:g1",
      project: "fraud",
      reason: "new",
    });
    expect((await log.byProject("fraud")).map((e) => e.action)).toEqual(["group.upsert", "group.update"]);
  });
});

describe("violation log", () => {
  const S = "s1";
  const rid = (name: string) =>
    `/subscriptions/${S}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/${name}`;

  it("keeps one row per resource and kind, refreshing lastSeen (never backwards)", async () => {
    const log = new ViolationLog(table("viol"));
    const v = {
      resourceId: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1",
      subscriptionId: "s1",
      kind: "region" as const,
      detail: "eastus is not allowed",
    };
    expect(await log.upsert({ ...v, seenAt: "2026-01-01T00:00:00Z" })).toBe(true);
    expect(await log.upsert({ ...v, seenAt: "2026-01-03T00:00:00Z" })).toBe(false);
    expect(await log.upsert({ ...v, seenAt: "2026-01-02T00:00:00Z" })).toBe(false);
    const rows = await log.list({ subscriptionId: "s1" });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      firstSeen: "2026-01-01T00:00:00.000Z",
      lastSeen: "2026-01-03T00:00:00.000Z",
    });
    expect(rows[0]!.resolvedAt).toBeUndefined();
  });

  it("resolves a violation, keeps it as history, and reopens it as a new occurrence", async () => {
    const log = new ViolationLog(table("viol"));
    const id = rid("st1");
    await log.upsert({
      resourceId: id,
      subscriptionId: S,
      kind: "naming",
      detail: "bad",
      seenAt: "2026-01-01",
    });
    expect(await log.resolve(id, S, "naming", { at: "2026-01-05T00:00:00Z", correlationId: "run-1" })).toBe(
      true,
    );
    expect(await log.resolve(id, S, "naming")).toBe(false); // already resolved
    expect(await log.resolve(id, S, "region")).toBe(false); // never recorded
    expect(await log.list({ resourceId: id })).toEqual([]);
    expect(await log.list({ resourceId: id, includeResolved: true })).toMatchObject([
      {
        kind: "naming",
        firstSeen: "2026-01-01T00:00:00.000Z",
        resolvedAt: "2026-01-05T00:00:00.000Z",
        resolvedBy: "run-1",
      },
    ]);
    // The violation comes back: the same row is open again, from its new first sighting.
    expect(
      await log.upsert({
        resourceId: id,
        subscriptionId: S,
        kind: "naming",
        detail: "bad",
        seenAt: "2026-02-01",
      }),
    ).toBe(true);
    const [row] = await log.list({ resourceId: id, includeResolved: true });
    expect(row).toMatchObject({
      firstSeen: "2026-02-01T00:00:00.000Z",
      lastSeen: "2026-02-01T00:00:00.000Z",
    });
    expect(row!.resolvedAt).toBeUndefined();
  });

  it("syncFor records the current set and resolves the rest, for one resource only", async () => {
    const log = new ViolationLog(table("viol"));
    const id = rid("st1");
    const neighbour = rid("st10"); // shares the prefix "…/st1"
    await log.upsert({ resourceId: neighbour, subscriptionId: S, kind: "missingTags", detail: "owner" });

    const first = await log.syncFor(
      id,
      S,
      [
        { kind: "missingTags", detail: "lacks owner" },
        { kind: "region", detail: "eastus" },
      ],
      { correlationId: "e1", project: "fraud", seenAt: "2026-01-01" },
    );
    expect(first).toMatchObject({ opened: ["missingTags", "region"], resolved: [], tableCalls: 3 });

    // The owner tag arrives: missingTags no longer applies; region still does.
    const second = await log.syncFor(id, S, [{ kind: "region", detail: "eastus" }], {
      correlationId: "e2",
      seenAt: "2026-01-02",
    });
    expect(second).toMatchObject({
      refreshed: ["region"],
      resolved: ["missingTags"],
      open: ["region"],
      tableCalls: 3,
    });
    // Unchanged and not refreshed: only the query.
    expect(
      await log.syncFor(id, S, [{ kind: "region", detail: "eastus" }], { refresh: false }),
    ).toMatchObject({ opened: [], refreshed: [], resolved: [], tableCalls: 1 });

    expect((await log.list({ resourceId: id })).map((v) => v.kind)).toEqual(["region"]);
    const all = await log.list({ subscriptionId: S, resourceId: id, includeResolved: true });
    expect(all.find((v) => v.kind === "missingTags")).toMatchObject({
      firstSeen: "2026-01-01T00:00:00.000Z",
      resolvedAt: "2026-01-02T00:00:00.000Z",
      resolvedBy: "e2",
      project: "fraud",
    });

    // Nothing applies any more: everything open is resolved; the neighbour is untouched.
    expect(await log.syncFor(id, S, [])).toMatchObject({ resolved: ["region"], open: [], tableCalls: 2 });
    expect(await log.list({ resourceId: id })).toEqual([]);
    expect((await log.list({ resourceId: neighbour })).map((v) => v.kind)).toEqual(["missingTags"]);
    expect(await log.syncFor(id, S, [])).toMatchObject({ resolved: [], tableCalls: 1 });
  });

  it("lists the resources with open violations of a subscription, or none past a bound", async () => {
    const log = new ViolationLog(table("viol"));
    await log.syncFor(rid("a"), S, [{ kind: "naming", detail: "x" }]);
    await log.syncFor(rid("b"), S, [
      { kind: "naming", detail: "x" },
      { kind: "region", detail: "y" },
    ]);
    await log.syncFor(rid("c"), S, [{ kind: "naming", detail: "x" }]);
    await log.syncFor(rid("c"), S, []);
    await log.syncFor("/subscriptions/s2/resourceGroups/rg", "s2", [{ kind: "missingTags", detail: "z" }]);
    const keys = await log.openResourceKeys(S);
    expect([...keys!].sort()).toEqual([rid("a"), rid("b")].map(ViolationLog.resourceKey).sort());
    expect(await log.openResourceKeys(S, { max: 2 })).toBeUndefined(); // 3 open rows
    expect((await log.openResourceKeys("s3"))!.size).toBe(0);
  });

  it("resolveUnseen resolves the open rows last seen before a scan, and only those", async () => {
    const log = new ViolationLog(table("viol"));
    await log.upsert({
      resourceId: rid("old"),
      subscriptionId: S,
      kind: "naming",
      detail: "x",
      seenAt: "2026-01-01",
    });
    await log.upsert({
      resourceId: rid("gone"),
      subscriptionId: S,
      kind: "region",
      detail: "y",
      seenAt: "2026-01-01",
    });
    await log.upsert({
      resourceId: rid("kept"),
      subscriptionId: S,
      kind: "naming",
      detail: "x",
      seenAt: "2026-01-01",
    });
    // The scan starts on the 2nd and sees "kept" again.
    await log.upsert({
      resourceId: rid("kept"),
      subscriptionId: S,
      kind: "naming",
      detail: "x",
      seenAt: "2026-01-02T00:05:00Z",
    });
    await log.upsert({
      resourceId: "/subscriptions/s2/x",
      subscriptionId: "s2",
      kind: "naming",
      detail: "x",
      seenAt: "2026-01-01",
    });
    const n = await log.resolveUnseen(S, "2026-01-02T00:00:00Z", {
      correlationId: "run-2",
      at: "2026-01-02T00:10:00Z",
    });
    expect(n).toBe(2);
    expect((await log.list({ subscriptionId: S })).map((v) => v.resourceId)).toEqual([rid("kept")]);
    expect(await log.list({ resourceId: rid("gone"), includeResolved: true })).toMatchObject([
      { resolvedBy: "run-2", resolvedAt: "2026-01-02T00:10:00.000Z" },
    ]);
    expect(await log.list({ subscriptionId: "s2" })).toHaveLength(1);
    expect(await log.resolveUnseen(S, "2026-01-02T00:00:00Z")).toBe(0);
  });
});
