/**
 * The app's entry point outside the Functions host: it imports cleanly (checking settings and
 * policy), lists every function with a callable handler, and handlers that need no Azure answer
 * directly when called from a test.
 */
import { HttpRequest, InvocationContext } from "@azure/functions";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("functions/index.ts", () => {
  it("imports outside the host and exposes every function", async () => {
    const mod = await import("../../functions/index.js");
    const names = mod.allDefinitions.map((d) => d.name);
    expect(names).toEqual([
      "onResourceWrite",
      "processPromotion",
      "submitPromotion",
      "promotionStatus",
      "decidePromotion",
      "reconcileCostTags",
      "reconcileSubscription",
      "approveReconcileRun",
      "reconcileAccess",
    ]);
    expect(new Set(names).size).toBe(names.length);
    for (const def of mod.allDefinitions) expect(typeof def.options.handler, def.name).toBe("function");
  });

  it("binds the queues and schedule the rest of the app uses", async () => {
    const { allDefinitions } = await import("../../functions/all.js");
    const byName = Object.fromEntries(allDefinitions.map((d) => [d.name, d]));
    expect(byName.processPromotion).toMatchObject({
      trigger: "storageQueue",
      options: { queueName: "promotion-requests", connection: "AzureWebJobsStorage" },
    });
    expect(byName.reconcileSubscription).toMatchObject({
      trigger: "storageQueue",
      options: { queueName: "reconcile-subscriptions" },
    });
    expect(byName.reconcileCostTags).toMatchObject({
      trigger: "timer",
      options: { schedule: "%STEWARD_RECONCILE_SCHEDULE%" },
    });
    // Bearer tokens, not function keys: every decision depends on who calls.
    for (const [name, route] of [
      ["submitPromotion", "promotions"],
      ["promotionStatus", "promotions/{id}"],
      ["decidePromotion", "promotions/{id}/approvals"],
      ["approveReconcileRun", "reconcile/runs/{runId}/approvals"],
    ])
      expect(byName[name!]).toMatchObject({ trigger: "http", options: { authLevel: "anonymous", route } });
  });

  it("lets a test call the Event Grid handler: a malformed event is logged and dropped", async () => {
    const { onResourceWrite } = await import("../../functions/onResourceWrite.js");
    const logs: string[] = [];
    const context = new InvocationContext({
      functionName: "onResourceWrite",
      logHandler: (_level, ...args) => logs.push(args.join(" ")),
    });
    await expect(
      onResourceWrite({ eventType: "Microsoft.Resources.ResourceWriteSuccess", data: 42 }, context),
    ).resolves.toBeUndefined();
    expect(logs.join("\n")).toMatch(/malformed event dropped/);
  });

  it("lets a test call the HTTP handler: no token is a 401 with a challenge", async () => {
    const { promotionStatus } = await import("../../functions/promotionApi.js");
    const request = new HttpRequest({
      method: "GET",
      url: "http://localhost/api/promotions/nope",
      params: { id: "nope" },
    });
    const res = await promotionStatus(request, new InvocationContext({ functionName: "promotionStatus" }));
    expect(res.status).toBe(401);
    expect((res.headers as Record<string, string>)["WWW-Authenticate"]).toMatch(
      /^Bearer realm="aml-steward"/,
    );
  });
});

describe("host.json", () => {
  const host = JSON.parse(readFileSync(new URL("../../host.json", import.meta.url), "utf8"));
  it("uses extension bundle v4 and never samples away failures", () => {
    expect(host.extensionBundle.version).toBe("[4.*, 5.0.0)");
    expect(host.logging.applicationInsights.samplingSettings.excludedTypes.split(";")).toEqual(
      expect.arrayContaining(["Exception", "Request"]),
    );
    expect(host.extensions.queues.maxDequeueCount).toBeGreaterThan(1);
  });
});
