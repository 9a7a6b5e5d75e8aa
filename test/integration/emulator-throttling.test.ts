/**
 * ARM throttling in the emulator, driven by the real @azure/arm-resources client: Azure's
 * token buckets per subscription x principal x operation type, the subscription-wide bucket,
 * the ratelimit headers, 429 + Retry-After, the counters, and the time scale.
 */
import { ResourceManagementClient } from "@azure/arm-resources";
import type { RestError } from "@azure/core-rest-pipeline";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { armClientOptions, emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";

const SUB = "41c2a3b4-5d6e-4f70-8a91-b2c3d4e5f607";
const OTHER_SUB = "52d3b4c5-6e7f-4081-9ba2-c3d4e5f60718";
const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const APPS = [0, 1, 2].map((i) => ({
  objectId: `6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9${i}`,
  appId: `7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0${i}`,
  secret: `throttle-secret-${i}`,
}));

const seed: EmulatorSeed = {
  subscriptions: [
    { subscriptionId: SUB, displayName: "Throttled" },
    { subscriptionId: OTHER_SUB, displayName: "Other" },
  ],
  resourceGroups: [{ subscriptionId: SUB, name: "rg-t", location: "westeurope" }],
  servicePrincipals: APPS.map((a, i) => ({ ...a, displayName: `throttle-${i}`, clientSecret: a.secret })),
  roleAssignments: APPS.flatMap((a) =>
    [SUB, OTHER_SUB].map((s) => ({
      scope: `/subscriptions/${s}`,
      roleDefinitionId: CONTRIBUTOR,
      principalId: a.objectId,
      principalType: "ServicePrincipal" as const,
    })),
  ),
};

let em: EmulatorHandle;

/** A client of app `i` in `sub`; no SDK retries unless asked, so a 429 surfaces. */
function client(i: number, sub = SUB, maxRetries = 0): ResourceManagementClient {
  const a = APPS[i]!;
  return new ResourceManagementClient(
    emulatorSecretCredential(em.url, em.tenantId, a.appId, a.secret),
    sub,
    armClientOptions(em.url, { maxRetries }),
  );
}

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${em.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Reads the named response header of one SDK call. */
async function headerOf(
  call: (onResponse: (r: { headers: { get(n: string): string | undefined } }) => void) => Promise<unknown>,
  name: string,
): Promise<string | undefined> {
  let value: string | undefined;
  await call((r) => {
    value = r.headers.get(name);
  });
  return value;
}

async function throttledError(p: Promise<unknown>): Promise<RestError> {
  try {
    await p;
  } catch (e) {
    return e as RestError;
  }
  throw new Error("expected a 429, but the call succeeded");
}

interface Counters {
  counters: { byStatus: Record<string, number> };
  throttling: {
    admitted: Record<string, number>;
    throttled: Record<string, number>;
    azureElapsedMs: number;
    timeScale: number;
    enabled: boolean;
  };
}

beforeAll(async () => {
  em = await startTestEmulator({ seed });
});
afterAll(async () => {
  await em?.stop();
});
beforeEach(() => {
  em.reset();
  em.requests.clear();
});

describe("ARM throttling", () => {
  it("is on by default with Azure's 2024 limits, and every ARM answer says what is left", async () => {
    const s = await control<{ throttling?: unknown }>("GET", "/_emulator/faults");
    expect(s.throttling).toEqual({
      enabled: true,
      reads: { burst: 250, perSecond: 25 },
      writes: { burst: 200, perSecond: 10 },
      deletes: { burst: 200, perSecond: 10 },
      subscriptionMultiplier: 15,
      timeScale: 1,
    });
    const arm = client(0);
    const reads = await headerOf(
      (onResponse) => arm.resourceGroups.get("rg-t", { onResponse }),
      "x-ms-ratelimit-remaining-subscription-reads",
    );
    // A fresh bucket of 250, one token taken (the identity's sign-in is not an ARM call).
    expect(reads).toBe("249");
    const writes = await headerOf(
      (onResponse) => arm.resourceGroups.createOrUpdate("rg-t2", { location: "westeurope" }, { onResponse }),
      "x-ms-ratelimit-remaining-subscription-writes",
    );
    expect(writes).toBe("199");
    const deletes = await headerOf(
      (onResponse) =>
        arm.resources.beginDeleteByIdAndWait(
          `/subscriptions/${SUB}/resourceGroups/rg-t/providers/Microsoft.Network/virtualNetworks/none`,
          "2025-04-01",
          { onResponse },
        ),
      "x-ms-ratelimit-remaining-subscription-deletes",
    );
    expect(deletes).toBe("199");
    // An error answer is metered and labelled too.
    const missing = await headerOf(
      (onResponse) => arm.resourceGroups.checkExistence("rg-none", { onResponse }),
      "x-ms-ratelimit-remaining-subscription-reads",
    );
    expect(missing).toBe("248");
    const log = await control<Counters>("GET", "/_emulator/requests");
    expect(log.throttling).toMatchObject({
      enabled: true,
      timeScale: 1,
      admitted: { reads: 2, writes: 1, deletes: 1 },
      throttled: { reads: 0, writes: 0, deletes: 0 },
    });
  });

  it("answers 429 with Retry-After when a principal's bucket for that operation type is empty, and only that one", async () => {
    await control("POST", "/_emulator/faults", {
      throttling: { reads: { burst: 3, perSecond: 0.01 }, writes: { burst: 2, perSecond: 0.01 } },
    });
    const arm = client(0);
    for (let i = 0; i < 3; i++) await arm.resourceGroups.get("rg-t");
    const e = await throttledError(arm.resourceGroups.get("rg-t"));
    expect(e.statusCode).toBe(429);
    expect(e.code).toBe("SubscriptionRequestsThrottled");
    // (1 token) / (0.01 per s) = 100 s, in Azure's whole seconds.
    expect(e.response?.headers.get("retry-after")).toBe("100");
    expect(e.response?.headers.get("x-ms-ratelimit-remaining-subscription-reads")).toBe("0");

    // Writes have their own bucket; another principal has its own; another subscription too.
    await arm.resourceGroups.createOrUpdate("rg-w", { location: "westeurope" });
    await client(1).resourceGroups.get("rg-t");
    await client(0, OTHER_SUB).resourceGroups.list().next();
    await arm.resourceGroups.createOrUpdate("rg-w", { location: "westeurope" });
    const w = await throttledError(arm.resourceGroups.createOrUpdate("rg-w", { location: "westeurope" }));
    expect(w.statusCode).toBe(429);
    expect(w.response?.headers.get("x-ms-ratelimit-remaining-subscription-writes")).toBe("0");

    const log = await control<Counters>("GET", "/_emulator/requests");
    expect(log.throttling.throttled).toEqual({ reads: 1, writes: 1, deletes: 0 });
    expect(log.counters.byStatus["429"]).toBe(2);
  });

  it("shares a subscription-wide bucket of subscriptionMultiplier x one principal's", async () => {
    await control("POST", "/_emulator/faults", {
      throttling: { reads: { burst: 2, perSecond: 0.01 }, subscriptionMultiplier: 2 },
    });
    // 2 principals drain the shared bucket of 4; the third, whose own bucket is full, is refused.
    for (const i of [0, 1]) for (let n = 0; n < 2; n++) await client(i).resourceGroups.get("rg-t");
    const e = await throttledError(client(2).resourceGroups.get("rg-t"));
    expect(e.statusCode).toBe(429);
    // The shared bucket refills 2 x faster: 1 / 0.02 = 50 s.
    expect(e.response?.headers.get("retry-after")).toBe("50");
    // Another subscription's shared bucket is untouched.
    await client(2, OTHER_SUB).resourceGroups.list().next();
  });

  it("runs an Azure schedule fast with a time scale, and the SDK's own retries honour the scaled Retry-After", async () => {
    // 40 writes at Azure's 10 per s after a burst of 10: at least (40 - 10) / 10 = 3 Azure seconds.
    await control("POST", "/_emulator/faults", {
      throttling: { writes: { burst: 10, perSecond: 10 }, timeScale: 40 },
    });
    await control("DELETE", "/_emulator/requests");
    const arm = client(0, SUB, 30);
    const rg = `/subscriptions/${SUB}/resourceGroups/rg-t`;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        arm.tagsOperations.beginUpdateAtScopeAndWait(rg, {
          operation: "Merge",
          properties: { tags: { [`n${i}`]: "x" } },
        }),
      ),
    );
    const log = await control<Counters>("GET", "/_emulator/requests");
    expect(log.throttling.admitted.writes).toBe(40);
    expect(log.throttling.timeScale).toBe(40);
    // Azure-equivalent time is the model's floor or more, whatever this machine's speed.
    expect(log.throttling.azureElapsedMs).toBeGreaterThanOrEqual(3000);
    const tags = await arm.tagsOperations.getAtScope(rg);
    expect(Object.keys(tags.properties.tags ?? {})).toHaveLength(40);
  });

  it("can be turned off (for tests about something else) and rejects bad settings", async () => {
    await control("POST", "/_emulator/faults", { throttling: { enabled: false } });
    const arm = client(0);
    const h = await headerOf(
      (onResponse) => arm.resourceGroups.get("rg-t", { onResponse }),
      "x-ms-ratelimit-remaining-subscription-reads",
    );
    expect(h).toBeUndefined();
    const res = await fetch(`${em.url}/_emulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ throttling: { writes: { perSecond: -1 } } }),
    });
    expect(res.status).toBe(400);
  });
});
