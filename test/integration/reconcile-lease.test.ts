/** The subscription lease against real Table Storage (Azurite): exclusion, expiry, take-over, fencing. */
import { randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { TABLES } from "../../shared/config/settings.js";
import { Lease } from "../../shared/reconcile/lease.js";

const table = () =>
  TableClient.fromConnectionString(process.env.STEWARD_TEST_STORAGE_CONNECTION!, TABLES.leases, {
    allowInsecureConnection: true,
  });

describe("reconcile lease (Table entity + ETag + expiry)", () => {
  it("admits one holder; a second is told who holds it and until when", async () => {
    const name = `test|${randomUUID()}`;
    const a = await Lease.acquire(table(), name, "run-a", { ttlMs: 60_000, autoRenew: false });
    const b = await Lease.acquire(table(), name, "run-b", { ttlMs: 60_000, autoRenew: false });
    expect(a.ok).toBe(true);
    expect(b).toMatchObject({ ok: false, heldBy: { holder: "run-a" } });
    if (a.ok) await a.lease.release();
    const c = await Lease.acquire(table(), name, "run-c", { ttlMs: 60_000, autoRenew: false });
    expect(c.ok).toBe(true);
    if (c.ok) await c.lease.release();
  });

  it("of many concurrent takers exactly one wins", async () => {
    const name = `test|${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        Lease.acquire(table(), name, `run-${i}`, { ttlMs: 60_000, autoRenew: false }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it("an expired lease is taken over; the old holder's renewal fails and it stops (fencing)", async () => {
    const name = `test|${randomUUID()}`;
    let now = Date.now();
    const clock = () => now;
    const a = await Lease.acquire(table(), name, "run-a", { ttlMs: 10_000, autoRenew: false, now: clock });
    if (!a.ok) throw new Error("expected the lease");
    expect(a.lease.held()).toBe(true);
    now += 9_000; // inside the expiry but within the safety margin: stop writing already
    expect(a.lease.held()).toBe(false);
    now += 2_000; // expired
    const b = await Lease.acquire(table(), name, "run-b", { ttlMs: 10_000, autoRenew: false, now: clock });
    expect(b.ok).toBe(true);
    expect(await a.lease.renew()).toBe(false);
    expect(a.lease.held()).toBe(false);
    await a.lease.release(); // must not delete run-b's lease
    const c = await Lease.acquire(table(), name, "run-c", { ttlMs: 10_000, autoRenew: false, now: clock });
    expect(c).toMatchObject({ ok: false, heldBy: { holder: "run-b" } });
  });

  it("renewal pushes the expiry forward", async () => {
    const name = `test|${randomUUID()}`;
    let now = Date.now();
    const a = await Lease.acquire(table(), name, "run-a", {
      ttlMs: 10_000,
      autoRenew: false,
      now: () => now,
    });
    if (!a.ok) throw new Error("expected the lease");
    now += 5_000;
    expect(await a.lease.renew()).toBe(true);
    now += 6_000;
    expect(a.lease.held()).toBe(true);
    await a.lease.release();
  });
});
