/**
 * The event path's lean HTTP clients (shared/azure/leanArm.ts, leanTable.ts, restCall.ts) over
 * real HTTPS against the emulator and real HTTP against Azurite, nothing of ours mocked: the
 * same requests on the wire as the SDK calls they replace, Retry-After honoured, 5xx retried
 * then surfaced with the cause, 404 read as before, one token for many calls, Merge keeping a
 * concurrent tag, and the event's budget.
 */
import diagnostics from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { ClientRequest } from "node:http";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { AccessTokens } from "../../shared/azure/accessTokens.js";
import { countCalls } from "../../shared/azure/callCounter.js";
import { azure } from "../../shared/azure/clients.js";
import { DeadlineExceeded, withDeadline } from "../../shared/azure/deadline.js";
import { isNotFound, isTransient } from "../../shared/azure/errors.js";
import { ARM_SCOPE, LeanArmClient } from "../../shared/azure/leanArm.js";
import { leanClients } from "../../shared/azure/leanClients.js";
import { LeanTableClient, tableTarget } from "../../shared/azure/leanTable.js";
import { AzureRestError, restCall } from "../../shared/azure/restCall.js";
import { AuditLog } from "../../shared/ledger/audit.js";
import { leanAuditRecorder } from "../../shared/tagging/auditRecorder.js";
import { leanTagArm, sdkTagArm } from "../../shared/tagging/tagArm.js";
import { readTagTarget } from "../../shared/tagging/tagReader.js";
import { applyTagPatch } from "../../shared/tagging/tagWriter.js";
import { resetSettings } from "../../shared/config/settings.js";
import { silentLogger } from "../../shared/log.js";
import { taggingDeps } from "../../shared/tagging/runtime.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

const STORAGE_API = "2023-05-01";

let stack: TestStack;
let SUB: string;
let REGION: string;
let seq = 0;

beforeAll(async () => {
  stack = await startTestStack();
  SUB = stack.policy.projectSubscriptionId;
  REGION = stack.policy.regions.default;
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await stack.control("DELETE", "/_emulator/faults");
  await stack.control("POST", "/_emulator/faults", { lroDurationMs: 0, lroRetryAfterSeconds: 0 });
});

/** A new storage account in a new group, created by alice. */
async function newAccount(): Promise<string> {
  const n = ++seq;
  const rg = `rg-aml-lean${n}-dev`;
  const alice = stack.armAs(PEOPLE.alice.objectId, SUB);
  await alice.resourceGroups.createOrUpdate(rg, { location: REGION, tags: { costCenter: "CC-1" } });
  const id = `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/stlean${n}dev`;
  await alice.resources.beginCreateOrUpdateByIdAndWait(
    id,
    STORAGE_API,
    { location: REGION, kind: "StorageV2", sku: { name: "Standard_LRS" } },
    { updateIntervalInMs: 10 },
  );
  return id;
}

/** The requests Node's HTTP client starts while `fn` runs: method, URL and headers. */
async function onTheWire(fn: () => Promise<unknown>) {
  const seen: Array<{ method: string; url: string; headers: Record<string, unknown> }> = [];
  const listener = (message: unknown) => {
    const req = (message as { request: ClientRequest }).request;
    seen.push({
      method: req.method,
      url: `${req.protocol}//${String(req.getHeader("host"))}${req.path}`,
      headers: Object.fromEntries(Object.entries(req.getHeaders()).map(([k, v]) => [k.toLowerCase(), v])),
    });
  };
  diagnostics.subscribe("http.client.request.start", listener);
  try {
    await fn();
  } finally {
    diagnostics.unsubscribe("http.client.request.start", listener);
  }
  return seen;
}

/** What must match between the SDK's request and ours (user-agent, ids and dates differ). */
function comparable(r: { method: string; url: string; headers: Record<string, unknown> }) {
  const h = r.headers;
  return {
    method: r.method,
    url: r.url.replace(/\/\/+(?=subscriptions)/, "/"),
    accept: h.accept,
    contentType: h["content-type"],
    authScheme: String(h.authorization).split(" ")[0],
    hasClientRequestId: typeof h["x-ms-client-request-id"] === "string",
    xMsVersion: h["x-ms-version"],
    dataServiceVersion: h.dataserviceversion,
    prefer: h.prefer,
  };
}

/** The app's credential, counting what it is asked for. */
class CountingCredential implements TokenCredential {
  requests = 0;
  constructor(private readonly inner: TokenCredential) {}
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.requests++;
    return this.inner.getToken(scopes, options);
  }
}

describe("the lean ARM client", () => {
  it("sends the SDK's requests: same method, URL, api-version, Accept, Content-Type and bearer token", async () => {
    const id = await newAccount();
    const sdk = sdkTagArm((s) => azure().resources(s));
    const lean = leanTagArm(leanClients(azure()).arm);
    for (const [name, call] of [
      ["GET of a pinned type", (arm: typeof lean) => readTagTarget(arm, id)],
      ["GET of a resource group", (arm: typeof lean) => readTagTarget(arm, id.split("/providers/")[0]!)],
      ["Tags API GET", (arm: typeof lean) => arm.getTags(id)],
      ["Tags API PATCH Merge", (arm: typeof lean) => arm.mergeTags(id, { wire: "1" })],
    ] as const) {
      const viaSdk = (await onTheWire(() => call(sdk))).filter((r) => !r.url.includes("/oauth2/"));
      const viaLean = (await onTheWire(() => call(lean))).filter((r) => !r.url.includes("/oauth2/"));
      expect(viaLean.length, name).toBeGreaterThan(0);
      expect(viaLean.map(comparable), name).toEqual(viaSdk.map(comparable));
    }
  });

  it("reads what the SDK reads (tags, location, systemData's creator), and a 404 as gone", async () => {
    const id = await newAccount();
    const lean = leanTagArm(leanClients(azure()).arm);
    const viaLean = await readTagTarget(lean, id);
    expect(viaLean).toEqual(await readTagTarget((s) => azure().resources(s), id));
    expect(viaLean?.creator?.createdByType).toBe("User");

    const missing = id.replace(/stlean\d+dev$/, "stnothere0dev");
    expect(await readTagTarget(lean, missing)).toBeUndefined();
    const refused = await lean.mergeTags(missing, { a: "b" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AzureRestError);
    expect(isNotFound(refused)).toBe(true);
    expect((refused as AzureRestError).code).toBe("ResourceNotFound");
  });

  it("honours Retry-After on 429 (the read waits, then succeeds), counting both attempts and the 429", async () => {
    const id = await newAccount();
    await stack.control("POST", "/_emulator/faults", {
      rules: [{ method: "GET", path: "storageAccounts/stlean", status: 429, retryAfterSeconds: 1, count: 1 }],
    });
    const lean = leanTagArm(leanClients(azure()).arm);
    const started = Date.now();
    const { result, calls } = await countCalls(() => readTagTarget(lean, id));
    expect(result?.tags).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(calls).toMatchObject({ armReads: 2, throttled: 1 });
  });

  it("retries a 5xx and succeeds; a 5xx that outlasts the budget surfaces with its status, code and why", async () => {
    const id = await newAccount();
    const lean = leanTagArm(leanClients(azure()).arm);
    await stack.control("POST", "/_emulator/faults", {
      rules: [{ method: "PATCH", path: "tags/default", status: 500, count: 1 }],
    });
    const { result, calls } = await countCalls(() => lean.mergeTags(id, { retried: "yes" }));
    expect(result?.retried).toBe("yes");
    expect(calls.armWrites).toBe(2);

    await stack.control("POST", "/_emulator/faults", {
      rules: [{ method: "PATCH", path: "tags/default", status: 503 }],
    });
    const started = Date.now();
    const e = (await withDeadline(3_000, () => lean.mergeTags(id, { never: "x" })).catch(
      (x: unknown) => x,
    )) as AzureRestError;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(e).toBeInstanceOf(AzureRestError);
    expect(e.statusCode).toBe(503);
    expect(e.code).toBe("ServiceUnavailable");
    expect(e.message).toMatch(/budget/);
    expect(isTransient(e)).toBe(true);
  });

  it("gives up on retries after maxRetries and throws the last answer", async () => {
    await stack.control("POST", "/_emulator/faults", {
      rules: [{ method: "GET", path: "resourcegroups/rg-aml-lean", status: 502 }],
    });
    const tokens = new AccessTokens(azure().credential);
    const url = new URL(
      `${stack.url}/subscriptions/${SUB}/resourcegroups/rg-aml-lean1-dev?api-version=2025-04-01`,
    );
    const { calls, result } = await countCalls(() =>
      restCall({
        service: "arm",
        method: "GET",
        url,
        headers: { accept: "application/json" },
        authorize: () => tokens.authorization(ARM_SCOPE),
        retry: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 20 },
      }).catch((e: unknown) => e),
    );
    expect(calls.armReads).toBe(3);
    expect(result).toMatchObject({ statusCode: 502, code: "BadGateway", name: "RestError" });
  });

  it("asks the credential once for many calls", async () => {
    const id = await newAccount();
    const credential = new CountingCredential(azure().credential);
    const arm = leanTagArm(new LeanArmClient(stack.url, new AccessTokens(credential)));
    await Promise.all(Array.from({ length: 20 }, () => readTagTarget(arm, id)));
    for (let i = 0; i < 10; i++) await arm.mergeTags(id, { n: String(i) });
    expect(credential.requests).toBe(1);
  });

  it("keeps a tag someone else wrote between the read and the Merge", async () => {
    const id = await newAccount();
    const lean = leanTagArm(leanClients(azure()).arm);
    const before = await readTagTarget(lean, id);
    await stack.armAs(PEOPLE.bob.objectId, SUB).tagsOperations.beginUpdateAtScopeAndWait(id, {
      operation: "Merge",
      properties: { tags: { bobs: "tag" } },
    });
    const audit = new AuditLog(azure().table("stewardAudit"));
    const res = await applyTagPatch(
      { resourceId: id, patch: { ours: "1" }, before: before!.tags, actor: "test", reason: "merge" },
      { resources: lean, audit },
    );
    expect(res).toMatchObject({ status: "written", after: { bobs: "tag", ours: "1" } });
  });

  it("does not start a call after the deadline, and aborts one in flight when it passes", async () => {
    const id = await newAccount();
    const lean = leanTagArm(leanClients(azure()).arm);
    await readTagTarget(lean, id); // a token and a connection, so only the deadline is timed
    const late = await countCalls(() =>
      withDeadline(50, async () => {
        await new Promise((r) => setTimeout(r, 80));
        return readTagTarget(lean, id);
      }).catch((e: unknown) => e),
    );
    expect(late.result).toBeInstanceOf(DeadlineExceeded);
    await new Promise((r) => setTimeout(r, 50));
    expect(late.calls.armReads).toBe(0);

    await stack.control("POST", "/_emulator/faults", { latencyMs: 2_000 });
    const started = Date.now();
    const slow = await withDeadline(300, () => readTagTarget(lean, id)).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe("a Tags API PATCH answered 202", () => {
  it("is followed through Location until done, and the tags read back, as the SDK's poller does", async () => {
    // ARM may answer the Tags API's PATCH with 202 (the emulator never does): a stand-in server
    // with the test certificate plays that ARM.
    const seen: string[] = [];
    let polls = 0;
    const server = createHttpsServer(
      {
        cert: readFileSync(process.env.STEWARD_TEST_CERT_PATH!),
        key: readFileSync(process.env.STEWARD_TEST_KEY_PATH!),
      },
      (req, res) => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
        const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
        if (req.method === "PATCH") {
          res.writeHead(202, { location: `${origin}/operations/1`, "retry-after": "0" }).end();
        } else if (req.url === "/operations/1") {
          res.writeHead(++polls < 2 ? 202 : 200, { "retry-after": "0" }).end();
        } else {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ properties: { tags: { a: "1", merged: "yes" } } }));
        }
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const credential: TokenCredential = {
        getToken: async () => ({ token: "t", expiresOnTimestamp: Date.now() + 3_600_000 }),
      };
      const arm = new LeanArmClient(
        `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
        new AccessTokens(credential),
      );
      const tags = await leanTagArm(arm).mergeTags(`/subscriptions/${SUB}/resourceGroups/rg-x`, {
        merged: "yes",
      });
      expect(tags).toEqual({ a: "1", merged: "yes" });
      const tagsPath = `/subscriptions/${SUB}/resourceGroups/rg-x/providers/Microsoft.Resources/tags/default?api-version=2025-04-01`;
      expect(seen).toEqual([
        `PATCH ${tagsPath} Bearer t`,
        "GET /operations/1 Bearer t",
        "GET /operations/1 Bearer t",
        `GET ${tagsPath} Bearer t`,
      ]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("the event path's wiring", () => {
  it("writes tags and the audit row through the lean clients, or through the SDKs with STEWARD_TAGGING_HTTP=sdk", async () => {
    const id = await newAccount();
    const agents = async () => {
      const deps = taggingDeps(silentLogger);
      const wire = await onTheWire(() =>
        deps.writeTags({
          resourceId: id,
          patch: { via: String(++seq) },
          before: {},
          actor: "test",
          reason: "wiring",
        }),
      );
      return wire
        .filter((r) => !r.url.includes("/oauth2/") && !r.url.includes("/Tables"))
        .map((r) => String(r.headers["user-agent"]).split("/")[0]);
    };
    expect(await agents()).toEqual(["aml-steward (lean; Node", "aml-steward (lean; Node"]);
    process.env.STEWARD_TAGGING_HTTP = "sdk";
    resetSettings();
    try {
      expect(await agents()).toEqual(["azsdk-js-arm-resources", "azsdk-js-data-tables"]);
    } finally {
      delete process.env.STEWARD_TAGGING_HTTP;
      resetSettings();
    }
  });
});

describe("the lean Table client", () => {
  it("inserts the audit row the SDK inserts, with the same request, signed with SharedKeyLite", async () => {
    const target = `/subscriptions/${SUB}/resourceGroups/rg-wire/providers/Microsoft.Storage/storageAccounts/stwire${++seq}`;
    const table = `wire${seq}`;
    const sdk = new AuditLog(azure().table(table));
    const lean = leanAuditRecorder(leanClients(azure()).table!, table);
    const entry = {
      actor: "test",
      action: "tags.merge",
      target,
      subscriptionId: SUB,
      project: "Fraud",
      before: {},
      after: { a: "b" },
      reason: "wire",
    };
    // Each creates the table first; compare the inserts.
    const viaSdk = await onTheWire(() => sdk.record({ ...entry, at: "2026-01-01T00:00:00.000Z" }));
    const viaLean = await onTheWire(() => lean.record({ ...entry, at: "2026-01-01T00:00:01.000Z" }));
    const insert = (rs: typeof viaSdk) => rs.filter((r) => r.method === "POST" && !r.url.endsWith("/Tables"));
    expect(insert(viaLean)).toHaveLength(1);
    expect(insert(viaLean).map(comparable)).toEqual(insert(viaSdk).map(comparable));
    expect(comparable(insert(viaLean)[0]!)).toMatchObject({
      authScheme: "SharedKeyLite",
      xMsVersion: "2019-02-02",
      prefer: "return-no-content",
    });

    const rows = await sdk.byResource(target);
    expect(rows.map(({ at, ...rest }) => ({ at, rest }))).toEqual([
      { at: "2026-01-01T00:00:00.000Z", rest: entry },
      { at: "2026-01-01T00:00:01.000Z", rest: entry },
    ]);
    expect(await sdk.byProject("fraud")).toHaveLength(2);
  });

  it("surfaces a refused signature as a RestError-shaped 403, not retried", async () => {
    const good = tableTarget({ AzureWebJobsStorage: stack.storageConnection })!;
    const bad = new LeanTableClient(
      { ...good, auth: { kind: "sharedKey", account: "devstoreaccount1", key: Buffer.from("not the key") } },
      new AccessTokens(azure().credential),
    );
    const wire = await onTheWire(async () => {
      const e = (await bad
        .createEntity("badkey", { partitionKey: "p", rowKey: "r" })
        .catch((x: unknown) => x)) as AzureRestError;
      expect(e).toBeInstanceOf(AzureRestError);
      expect(e.statusCode).toBe(403);
      expect(isTransient(e)).toBe(false);
    });
    expect(wire).toHaveLength(1);
  });
});
