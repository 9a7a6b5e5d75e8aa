/**
 * A `security` violation (a promotion refused to touch someone else's object) stays open until
 * an operator resolves it: no scan can tell that it stopped applying, so neither the event
 * path's sync nor the nightly run's sweep closes it.
 */
import { TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ViolationLog } from "../../shared/ledger/violations.js";

const conn = process.env.STEWARD_TEST_STORAGE_CONNECTION!;

describe("security violations", () => {
  it("survive syncFor and resolveUnseen; resolve() closes them", async () => {
    const log = new ViolationLog(
      TableClient.fromConnectionString(conn, `sec${randomUUID().replace(/-/g, "").slice(0, 12)}`, {
        allowInsecureConnection: true,
      }),
    );
    const id = "/subscriptions/s1/resourceGroups/rg-aml-x-prod";
    await log.upsert({
      resourceId: id,
      subscriptionId: "s1",
      kind: "security",
      detail: "not ours",
      project: "x",
    });
    await log.upsert({ resourceId: id, subscriptionId: "s1", kind: "missingTags", detail: "no owner" });

    const synced = await log.syncFor(id, "s1", []);
    expect(synced.resolved).toEqual(["missingTags"]);
    expect(await log.resolveUnseen("s1", new Date(Date.now() + 60_000).toISOString())).toBe(0);
    expect((await log.list({ resourceId: id })).map((v) => v.kind)).toEqual(["security"]);

    expect(await log.resolve(id, "s1", "security", { correlationId: "operator" })).toBe(true);
    expect(await log.list({ resourceId: id })).toEqual([]);
  });
});
