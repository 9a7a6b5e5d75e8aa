/**
 * The event path's shell with in-memory gateways: caches, ordering and failure rules that the
 * integration tests cannot provoke deterministically. (The SDK-facing behaviour is covered
 * against the emulator in test/integration/tagging-*.)
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import type { Client as GraphClient } from "@microsoft/microsoft-graph-client";
import { beforeEach, describe, expect, it } from "vitest";
import { clearPrincipalNameCache, principalName } from "../../shared/azure/principalNames.js";
import { parseResourceWriteEvent, type ResourceWriteEvent } from "../../shared/events/resourceWrite.js";
import { silentLogger } from "../../shared/log.js";
import { getPolicy } from "../../shared/policy/index.js";
import { TaggingCaches } from "../../shared/tagging/caches.js";
import { handleResourceWrite, type TaggingDeps } from "../../shared/tagging/handleResourceWrite.js";
import { TtlLru } from "../../shared/lru.js";
import type { TagPatchRequest } from "../../shared/tagging/tagWriter.js";
import { isRetryable } from "../../functions/onResourceWrite.js";

const policy = getPolicy();
const SUB = policy.projectSubscriptionId;
const RG = `/subscriptions/${SUB}/resourceGroups/rg-aml-fraud-dev`;
const SA = `${RG}/providers/Microsoft.Storage/storageAccounts/stfrauddevabcde`;
const GROUP = {
  costCenter: "CC-2100-FRAUD",
  project: "fraud",
  environment: "dev",
  owner: "erin@contoso.com",
};

class FakeArm {
  tags = new Map<string, Record<string, string>>([
    [SA.toLowerCase(), {}],
    [RG.toLowerCase(), { ...GROUP }],
  ]);
  calls: string[] = [];
  fail?: { status: number };
  client(): ResourceManagementClient {
    const read = (id: string) => {
      this.calls.push(`GET ${id}`);
      if (this.fail) throw Object.assign(new Error("fault"), { statusCode: this.fail.status });
      const t = this.tags.get(id.toLowerCase());
      if (!t) throw Object.assign(new Error("not found"), { statusCode: 404 });
      return { ...t };
    };
    return {
      resourceGroups: {
        get: async (name: string) => ({
          tags: read(`/subscriptions/${SUB}/resourceGroups/${name}`),
          location: "westeurope",
        }),
      },
      resources: { getById: async (id: string) => ({ tags: read(id), location: "westeurope" }) },
      tagsOperations: { getAtScope: async (id: string) => ({ properties: { tags: read(id) } }) },
    } as unknown as ResourceManagementClient;
  }
}

let arm: FakeArm;
let writes: TagPatchRequest[];
let caches: TaggingCaches;
let graphLookups: number;
let graphFailure: { statusCode: number } | undefined;
let clock: number;

function deps(over: Partial<TaggingDeps> = {}): TaggingDeps {
  return {
    policy,
    self: {
      objectId: "5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a",
      clientId: "9d3c2b1a-7e6f-4a5b-9c8d-1e2f3a4b5c6d",
    },
    resources: () => arm.client(),
    principalName: async () => {
      graphLookups++;
      if (graphFailure) throw Object.assign(new Error("graph"), graphFailure);
      return "mi-fraud-etl-pipeline";
    },
    violations: {
      openChildKinds: async () => [],
      syncFor: async (_id, _sub, current) => ({
        opened: current.map((v) => v.kind),
        refreshed: [],
        resolved: [],
        open: current.map((v) => v.kind),
        tableCalls: 1 + current.length,
      }),
      openResourceKeys: async () => new Set<string>(),
    },
    writeTags: async (req) => {
      writes.push(req);
      const cur = arm.tags.get(req.resourceId.toLowerCase());
      if (!cur) return { status: "gone" };
      Object.assign(cur, req.patch);
      return { status: "written", after: { ...cur } };
    },
    caches,
    log: silentLogger,
    now: () => clock,
    ...over,
  };
}

function ev(
  over: { id?: string; time?: number; claims?: Record<string, unknown>; op?: string; subject?: string } = {},
): ResourceWriteEvent {
  const r = parseResourceWriteEvent({
    id: over.id ?? "e1",
    subject: over.subject ?? SA,
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: new Date(over.time ?? clock).toISOString(),
    data: {
      operationName: over.op ?? "Microsoft.Storage/storageAccounts/write",
      claims: over.claims ?? { upn: "alice@contoso.com", oid: "u1", idtyp: "user" },
    },
  });
  if (r.kind !== "resourceWrite") throw new Error(JSON.stringify(r));
  return r.event;
}

beforeEach(() => {
  arm = new FakeArm();
  writes = [];
  caches = new TaggingCaches();
  graphLookups = 0;
  graphFailure = undefined;
  clock = Date.parse("2025-03-04T12:00:00Z");
});

describe("handleResourceWrite", () => {
  it("reads the resource and its group once, writes the difference once", async () => {
    const out = await handleResourceWrite(ev(), deps());
    expect(out.result).toBe("tagged");
    expect(arm.calls).toEqual([`GET ${SA}`, `GET ${RG}`]);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.patch).toEqual({ ...GROUP, createdBy: "alice@contoso.com", createdOn: "2025-03-04" });
    expect(writes[0]!.reason).toMatch(
      /^Microsoft.Storage\/storageAccounts\/write by alice@contoso.com \(event e1\): costCenter: inherited/,
    );
  });

  it("a redelivered event costs nothing; concurrent copies are serialised", async () => {
    await Promise.all([
      handleResourceWrite(ev(), deps()),
      handleResourceWrite(ev(), deps()),
      handleResourceWrite(ev(), deps()),
    ]);
    expect(writes).toHaveLength(1);
    arm.calls = [];
    expect(await handleResourceWrite(ev(), deps())).toEqual({ result: "duplicate" });
    expect(arm.calls).toEqual([]);
  });

  it("an older event than our last observation uses it: zero calls", async () => {
    await handleResourceWrite(ev({ id: "new" }), deps());
    arm.calls = [];
    clock += 60_000;
    const out = await handleResourceWrite(ev({ id: "old", time: clock - 120_000 }), deps());
    expect(out).toMatchObject({ result: "compliant", fromCache: true });
    expect(arm.calls).toEqual([]);
  });

  it("a newer event always reads again: a PUT may have replaced the tags", async () => {
    await handleResourceWrite(ev({ id: "a" }), deps());
    arm.tags.set(SA.toLowerCase(), {}); // someone redeployed the account without tags
    clock += 60_000;
    arm.calls = [];
    const out = await handleResourceWrite(ev({ id: "b", time: clock }), deps());
    expect(out.result).toBe("tagged");
    expect(arm.calls).toEqual([`GET ${SA}`]); // the group's tags came from the cache
    // createdOn comes from this event now that the old one is gone: it only fills a gap.
    expect(writes[1]!.patch.createdBy).toBe("alice@contoso.com");
  });

  it("when remembered tags call for a write, re-reads before writing", async () => {
    await handleResourceWrite(ev({ id: "a" }), deps());
    caches.groups.set(RG.toLowerCase(), { tags: { ...GROUP, costCenter: "CC-NEW" } });
    clock += 60_000;
    arm.calls = [];
    const out = await handleResourceWrite(ev({ id: "old", time: clock - 120_000 }), deps());
    expect(out.result).toBe("tagged");
    expect(arm.calls).toEqual([`GET ${SA}`]);
    expect(writes[1]!.patch).toEqual({ costCenter: "CC-NEW" });
  });

  it("a group's own write event drops its cached tags", async () => {
    await handleResourceWrite(ev({ id: "sa" }), deps());
    arm.tags.set(RG.toLowerCase(), { ...GROUP, costCenter: "CC-B" });
    await handleResourceWrite(
      ev({ id: "rg", subject: RG, op: "Microsoft.Resources/subscriptions/resourceGroups/write" }),
      deps(),
    );
    expect(caches.groups.get(RG.toLowerCase())?.tags.costCenter).toBe("CC-B");
  });

  it("a transient Graph failure throws instead of writing the app id forever", async () => {
    graphFailure = { statusCode: 503 };
    const claims = { appid: "0a0a0a0a-1111-4222-8333-444444444444", oid: "f1", idtyp: "app" };
    await expect(handleResourceWrite(ev({ claims }), deps())).rejects.toThrow("graph");
    expect(writes).toHaveLength(0);
    graphFailure = undefined;
    await handleResourceWrite(ev({ claims }), deps());
    expect(writes[0]!.patch.createdBy).toBe("mi-fraud-etl-pipeline");
  });

  it("does not look the creator up when createdBy is already set", async () => {
    arm.tags.set(SA.toLowerCase(), { createdBy: "someone" });
    await handleResourceWrite(ev({ claims: { appid: "x", idtyp: "app" } }), deps());
    expect(graphLookups).toBe(0);
  });

  it("a missing resource or group ends quietly", async () => {
    arm.tags.delete(SA.toLowerCase());
    expect(await handleResourceWrite(ev({ id: "x" }), deps())).toEqual({ result: "gone" });
    arm.tags.set(SA.toLowerCase(), {});
    arm.tags.delete(RG.toLowerCase());
    expect(await handleResourceWrite(ev({ id: "y" }), deps())).toEqual({ result: "gone" });
    expect(writes).toHaveLength(0);
  });

  it("a failed read is not remembered as handled: the redelivery works", async () => {
    arm.fail = { status: 503 };
    await expect(handleResourceWrite(ev(), deps())).rejects.toThrow();
    arm.fail = undefined;
    expect((await handleResourceWrite(ev(), deps())).result).toBe("tagged");
  });

  it("guards and skips before any call", async () => {
    expect(
      await handleResourceWrite(ev({ claims: { oid: "5a1e7c3d9b2f4e8a8c6d0f1e2d3c4b5a" } }), deps()),
    ).toEqual({
      result: "guarded",
      reason: "ownWrite",
    });
    expect(await handleResourceWrite(ev({ subject: `${SA}/blobServices/default` }), deps())).toEqual({
      result: "skipped",
      reason: "childResource",
    });
    expect(arm.calls).toEqual([]);
  });
});

describe("TtlLru", () => {
  it("evicts the least recently used entry and expires entries", () => {
    let now = 0;
    const lru = new TtlLru<string, number>(2, 100, () => now);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.get("a");
    lru.set("c", 3);
    expect([lru.get("a"), lru.get("b"), lru.get("c")]).toEqual([1, undefined, 3]);
    now = 100;
    expect(lru.get("a")).toBeUndefined();
    lru.set("d", 4, 1000);
    now = 500;
    expect(lru.get("d")).toBe(4);
  });
});

describe("TaggingCaches.covers", () => {
  it("covers only events older than the observation by more than the clock skew", () => {
    const c = new TaggingCaches();
    const at = Date.parse("2025-01-01T00:00:10Z");
    expect(c.covers({ tags: {}, at }, "2025-01-01T00:00:04Z")).toBe(true);
    expect(c.covers({ tags: {}, at }, "2025-01-01T00:00:06Z")).toBe(false);
    expect(c.covers(undefined, "2025-01-01T00:00:00Z")).toBe(false);
  });
});

describe("principalName", () => {
  beforeEach(() => clearPrincipalNameCache());
  /** A Graph client stand-in that records each request as "path?filter". */
  const graph = (answer: () => unknown, seen: string[]) =>
    ({
      api: (path: string) => {
        let filter = "";
        const req = {
          filter: (f: string) => ((filter = f), req),
          select: () => req,
          get: async () => {
            seen.push(`${path}?${filter}`);
            return answer();
          },
        };
        return req;
      },
    }) as unknown as GraphClient;

  it("looks a service principal up by appId once (safely quoted) and caches it", async () => {
    const seen: string[] = [];
    const g = graph(() => ({ value: [{ displayName: "mi-x" }] }), seen);
    const [a, b] = await Promise.all([
      principalName({ kind: "servicePrincipal", appId: "o'brien" }, () => g),
      principalName({ kind: "servicePrincipal", appId: "O'BRIEN" }, () => g),
    ]);
    expect([a, b]).toEqual(["mi-x", "mi-x"]);
    // Quoted for OData and percent-encoded for the URL (the Graph client sends .filter() as is).
    expect(seen).toEqual(["/servicePrincipals?appId%20eq%20'o''brien'"]);
    expect(decodeURIComponent(seen[0]!)).toBe("/servicePrincipals?appId eq 'o''brien'");
  });

  it("answers undefined for a principal Graph does not know, and throws on throttling", async () => {
    const notFound = graph(() => {
      throw Object.assign(new Error("nf"), { statusCode: 404 });
    }, []);
    expect(await principalName({ kind: "user", objectId: "u" }, () => notFound)).toBeUndefined();
    const throttled = graph(() => {
      throw Object.assign(new Error("429"), { statusCode: 429 });
    }, []);
    await expect(principalName({ kind: "user", objectId: "v" }, () => throttled)).rejects.toThrow("429");
    // Not cached: the next try asks again.
    expect(
      await principalName({ kind: "user", objectId: "v" }, () =>
        graph(() => ({ userPrincipalName: "v@x" }), []),
      ),
    ).toBe("v@x");
  });
});

describe("isRetryable", () => {
  it("retries throttling, 5xx, 409 conflicts and unknown failures; not 403, 400 or read-only locks", () => {
    expect(isRetryable({ statusCode: 429 })).toBe(true);
    expect(isRetryable({ statusCode: 503 })).toBe(true);
    expect(isRetryable({ statusCode: 409, code: "Conflict" })).toBe(true);
    expect(isRetryable({ statusCode: 409, code: "ScopeLocked" })).toBe(false);
    expect(isRetryable({ statusCode: 403 })).toBe(false);
    expect(isRetryable({ statusCode: 400 })).toBe(false);
    expect(isRetryable(new TypeError("bug"))).toBe(true);
  });
});
