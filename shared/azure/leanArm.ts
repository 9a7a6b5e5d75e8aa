/**
 * A minimal ARM client for the event path's two calls per new resource (a GET, and the Tags
 * API's PATCH), without the SDK's pipeline of ~15 policies, mapper serialisation and LRO
 * poller. The same requests on the wire as @azure/arm-resources 7.0.0: URLs, api-versions,
 * `Accept`/`Content-Type`, a bearer token for ARM's audience, `x-ms-client-request-id`; and the
 * same behaviour around them (restCall.ts: retries, Retry-After, pacing, deadline, counting).
 * Promotion and reconciliation keep the SDK clients.
 */
import type { AccessTokens } from "./accessTokens.js";
import { restCall, type RestResult } from "./restCall.js";
import { header, type RetryOptions } from "./retryRules.js";

export const ARM_SCOPE = "https://management.azure.com/.default";
/** @azure/arm-resources 7.0.0's api-version (resource groups, Tags API). */
export const RESOURCES_API_VERSION = "2025-04-01";
/** The SDK clients' ARM retry options (clients.ts ARM_RETRY). */
export const ARM_RETRY: RetryOptions = { maxRetries: 8, retryDelayInMs: 1000, maxRetryDelayInMs: 120_000 };
/** The SDK's LRO poller waits this long between polls when ARM does not say. */
const DEFAULT_POLL_MS = 2000;

export class LeanArmClient {
  private readonly origin: string;

  constructor(
    endpoint: string,
    private readonly tokens: AccessTokens,
  ) {
    this.origin = endpoint.replace(/\/+$/, "");
  }

  /** GET `path` (a resource id or a path under one); the parsed body. Throws AzureRestError (404 too). */
  async get(path: string, apiVersion: string): Promise<unknown> {
    return (await this.send("GET", this.url(path, apiVersion))).body;
  }

  /**
   * PATCH `path` with a JSON body. ARM may answer 202 and finish later (the Tags API's spec
   * allows it; Azure rarely does): then the operation is polled as the SDK's poller does, and the
   * final state read back with a GET of the same path.
   */
  async patch(path: string, apiVersion: string, body: unknown): Promise<unknown> {
    const url = this.url(path, apiVersion);
    const res = await this.send("PATCH", url, JSON.stringify(body));
    if (res.status !== 202) return res.body;
    await this.pollUntilDone(res);
    return (await this.send("GET", url)).body;
  }

  private url(path: string, apiVersion: string): URL {
    return new URL(`${this.origin}${path}?api-version=${encodeURIComponent(apiVersion)}`);
  }

  private send(method: string, url: URL, body?: string): Promise<RestResult> {
    return restCall({
      service: "arm",
      method,
      url,
      headers:
        body === undefined
          ? { accept: "application/json" }
          : { accept: "application/json", "content-type": "application/json" },
      body,
      authorize: () => this.tokens.authorization(ARM_SCOPE),
      retry: ARM_RETRY,
    });
  }

  /** Follows Azure-AsyncOperation (a status document) or Location (202 until done). */
  private async pollUntilDone(accepted: RestResult): Promise<void> {
    const monitor = header(accepted.headers, "azure-asyncoperation") ?? header(accepted.headers, "location");
    if (!monitor) return;
    let last = accepted;
    for (;;) {
      const seconds = Number(header(last.headers, "retry-after"));
      await new Promise((r) =>
        setTimeout(r, Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_POLL_MS),
      );
      last = await this.send("GET", new URL(monitor));
      if (last.status === 202) continue;
      const status = (last.body as { status?: string } | undefined)?.status?.toLowerCase();
      if (status === undefined || status === "succeeded") return;
      if (status === "failed" || status === "canceled" || status === "cancelled") {
        const err = (last.body as { error?: { code?: string; message?: string } }).error;
        throw Object.assign(new Error(err?.message ?? `the operation ${status}`), {
          code: err?.code ?? status,
        });
      }
    }
  }
}
