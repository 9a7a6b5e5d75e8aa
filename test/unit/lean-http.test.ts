/**
 * The pure parts of the event path's lean HTTP clients: the SDK's retry rules, the token
 * cache's refresh rule, and the Table target and signature from the storage settings.
 */
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AccessTokens } from "../../shared/azure/accessTokens.js";
import { sharedKeyLite, tableTarget } from "../../shared/azure/leanTable.js";
import { retryAfterMs, retryDelay, type RetryOptions } from "../../shared/azure/retryRules.js";

const ARM: RetryOptions = { maxRetries: 8, retryDelayInMs: 1000, maxRetryDelayInMs: 120_000 };
const low = () => 0;
const high = () => 0.999999;

describe("retry rules (as core-rest-pipeline's default retry policy)", () => {
  it("waits exactly what a 429 or 503 asks, in any of the three headers, however long", () => {
    expect(retryDelay({ status: 429, headers: { "retry-after": "120" } }, 0, ARM)).toBe(120_000);
    expect(retryDelay({ status: 503, headers: { "retry-after-ms": "250" } }, 3, ARM)).toBe(250);
    expect(retryDelay({ status: 429, headers: { "x-ms-retry-after-ms": "40" } }, 0, ARM)).toBe(40);
    expect(retryDelay({ status: 429, headers: { "retry-after": "0" } }, 0, ARM)).toBe(0);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(
      retryAfterMs({ status: 429, headers: { "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" } }, now),
    ).toBe(5_000);
    expect(
      retryAfterMs({ status: 429, headers: { "retry-after": "Wed, 31 Dec 2025 23:00:00 GMT" } }, now),
    ).toBe(0);
  });

  it("backs off exponentially with jitter in the upper half on 5xx, 408 and network errors", () => {
    expect(retryDelay({ status: 500 }, 0, ARM, low)).toBe(500);
    expect(retryDelay({ status: 500 }, 0, ARM, high)).toBe(1000);
    expect(retryDelay({ status: 502 }, 2, ARM, low)).toBe(2000);
    expect(retryDelay({ status: 408 }, 1, ARM, high)).toBe(2000);
    expect(retryDelay({ status: 503 }, 10, { ...ARM, maxRetries: 20 }, high)).toBe(120_000);
    expect(retryDelay({ errorCode: "ECONNRESET" }, 0, ARM, low)).toBe(500);
    expect(retryDelay({ errorCode: "ENOTFOUND" }, 0, ARM, low)).toBe(500);
  });

  it("does not retry a success, a refusal, 501, 505, an unknown failure, a 429 without Retry-After, or past maxRetries", () => {
    for (const status of [200, 204, 400, 401, 403, 404, 409, 412, 501, 505])
      expect(retryDelay({ status }, 0, ARM), String(status)).toBeUndefined();
    expect(retryDelay({ errorCode: "ERR_SOMETHING" }, 0, ARM)).toBeUndefined();
    expect(retryDelay({ status: 429 }, 0, ARM)).toBeUndefined();
    expect(retryDelay({ status: 503, headers: { "retry-after": "1" } }, 8, ARM)).toBeUndefined();
    expect(retryDelay({ status: 500 }, 8, ARM)).toBeUndefined();
  });
});

class FakeCredential implements TokenCredential {
  calls = 0;
  fail = false;
  constructor(
    private readonly clock: { now: number },
    private readonly lifetimeMs: number,
    private readonly refreshAfterMs?: number,
  ) {}
  async getToken(): Promise<AccessToken> {
    this.calls++;
    await Promise.resolve();
    if (this.fail) throw new Error("identity endpoint down");
    return {
      token: `t${this.calls}`,
      expiresOnTimestamp: this.clock.now + this.lifetimeMs,
      ...(this.refreshAfterMs === undefined
        ? {}
        : { refreshAfterTimestamp: this.clock.now + this.refreshAfterMs }),
    };
  }
}

describe("access tokens", () => {
  const SCOPE = "https://management.azure.com/.default";

  it("asks once for concurrent and later calls while the token is fresh, then again two minutes before expiry", async () => {
    const clock = { now: 0 };
    const cred = new FakeCredential(clock, 60 * 60_000);
    const tokens = new AccessTokens(cred, () => clock.now);
    expect(await Promise.all([1, 2, 3].map(() => tokens.authorization(SCOPE)))).toEqual([
      "Bearer t1",
      "Bearer t1",
      "Bearer t1",
    ]);
    clock.now = 57 * 60_000;
    expect(await tokens.authorization(SCOPE)).toBe("Bearer t1");
    expect(cred.calls).toBe(1);
    clock.now = 58 * 60_000 + 1;
    expect(await tokens.authorization(SCOPE)).toBe("Bearer t2");
    expect(cred.calls).toBe(2);
  });

  it("follows refreshAfterTimestamp when the credential gives one, and keeps scopes apart", async () => {
    const clock = { now: 0 };
    const cred = new FakeCredential(clock, 24 * 60 * 60_000, 60 * 60_000);
    const tokens = new AccessTokens(cred, () => clock.now);
    await tokens.authorization(SCOPE);
    await tokens.authorization("https://storage.azure.com/.default");
    expect(cred.calls).toBe(2);
    clock.now = 60 * 60_000;
    expect(await tokens.authorization(SCOPE)).toBe("Bearer t3");
  });

  it("uses the old token while the refresh fails and it still has 30 s, then throws the failure", async () => {
    const clock = { now: 0 };
    const cred = new FakeCredential(clock, 10 * 60_000);
    const tokens = new AccessTokens(cred, () => clock.now);
    await tokens.authorization(SCOPE);
    cred.fail = true;
    clock.now = 9 * 60_000;
    expect(await tokens.authorization(SCOPE)).toBe("Bearer t1");
    clock.now = 10 * 60_000 - 10_000;
    await expect(tokens.authorization(SCOPE)).rejects.toThrow(/identity endpoint down/);
  });
});

describe("Table target and signature", () => {
  const key = Buffer.from("a very secret key").toString("base64");

  it("reads an account-key connection string (Azurite's path-style endpoint, or the public one)", () => {
    const azurite = tableTarget({
      AzureWebJobsStorage: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};TableEndpoint=http://127.0.0.1:10002/devstoreaccount1/`,
    });
    expect(azurite).toMatchObject({
      endpoint: "http://127.0.0.1:10002/devstoreaccount1",
      auth: { kind: "sharedKey", account: "devstoreaccount1" },
    });
    expect(
      tableTarget({
        AzureWebJobsStorage: `DefaultEndpointsProtocol=https;AccountName=stx;AccountKey=${key};EndpointSuffix=core.windows.net`,
      })?.endpoint,
    ).toBe("https://stx.table.core.windows.net");
  });

  it("uses the identity for an account name, and leaves SAS and development storage to the SDK", () => {
    expect(tableTarget({ AzureWebJobsStorage__accountName: "ststeward" })).toEqual({
      endpoint: "https://ststeward.table.core.windows.net",
      auth: { kind: "bearer" },
    });
    expect(tableTarget({ AzureWebJobsStorage: "UseDevelopmentStorage=true" })).toBeUndefined();
    expect(
      tableTarget({
        AzureWebJobsStorage: "TableEndpoint=https://x.table.core.windows.net;SharedAccessSignature=sv=1",
      }),
    ).toBeUndefined();
    expect(tableTarget({})).toBeUndefined();
  });

  it("signs SharedKeyLite over the date and /account/path, without the query", () => {
    const auth = { kind: "sharedKey" as const, account: "devstoreaccount1", key: Buffer.from(key, "base64") };
    const date = "Sat, 05 Dec 2026 18:00:00 GMT";
    const expected = createHmac("sha256", Buffer.from(key, "base64"))
      .update(`${date}\n/devstoreaccount1/devstoreaccount1/stewardAudit`)
      .digest("base64");
    expect(
      sharedKeyLite(auth, date, new URL("http://127.0.0.1:10002/devstoreaccount1/stewardAudit?$format=x")),
    ).toBe(`SharedKeyLite devstoreaccount1:${expected}`);
  });
});
