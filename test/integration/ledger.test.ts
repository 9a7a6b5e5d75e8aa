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

describe("violation log", () => {
  it("keeps one row per resource and kind, refreshing lastSeen", async () => {
    const log = new ViolationLog(table("viol"));
    const v = {
      resourceId: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1",
      subscriptionId: "s1",
      kind: "region" as const,
      detail: "eastus is not allowed",
    };
    expect(await log.upsert({ ...v, seenAt: "2026-01-01T00:00:00Z" })).toBe(true);
    expect(await log.upsert({ ...v, seenAt: "2026-01-03T00:00:00Z" })).toBe(false);
    const rows = await log.list({ subscriptionId: "s1" });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ firstSeen: "2026-01-01T00:00:00Z", lastSeen: "2026-01-03T00:00:00Z" });
  });
});
