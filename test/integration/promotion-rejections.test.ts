/**
 * Requests that must be refused, through the real queue: each refusal is recorded with every
 * reason, makes no write to ARM or Graph, does not throw (no retry, no poison), and stays
 * refused on redelivery. A dry run returns the plan and writes nothing but its record.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STEWARD_NAMESPACE, uuidV5 } from "../../shared/ids.js";
import type { PromotionRecord } from "../../shared/promotion/record.js";
import { isWrite, startPromotionWorld, type PromotionWorld } from "../helpers/promotion.js";

let w: PromotionWorld;
beforeAll(async () => {
  w = await startPromotionWorld();
  await w.startHost();
}, 60_000);
afterAll(async () => w?.stop());

const finished = (r: PromotionRecord) => r.status !== "accepted" && r.status !== "running";

/** Sends `message`: a request body in an envelope with Alice's token, anything else as it is. */
async function refused(message: unknown, requestId: string): Promise<PromotionRecord> {
  const since = Date.now();
  if (message && typeof message === "object") await w.submit(message as Record<string, unknown>);
  else await w.send(message);
  const rec = await w.waitForRecord(requestId, finished);
  expect(rec.status).toBe("rejected");
  expect((await w.azureRequests(since)).filter(isWrite)).toEqual([]);
  return rec;
}

describe("refused promotion requests", () => {
  it("a message that is not JSON is recorded under an id derived from its text", async () => {
    const text = `not json ${Date.now()}`;
    const rec = await refused(text, uuidV5(`promotion-message|${text}`, STEWARD_NAMESPACE));
    expect(rec.reasons).toEqual([
      expect.objectContaining({ path: "", reason: expect.stringMatching(/not JSON/) }),
    ]);
  });

  it("unknown fields and attempts to choose roles or scopes, all reasons at once", async () => {
    const req = w.request({ color: "blue", roleAssignments: [{ role: "Owner", scope: "/" }], owners: [] });
    const rec = await refused(req, req.requestId);
    expect(rec.reasons!.map((r) => r.path).sort()).toEqual(["color", "owners", "roleAssignments"]);
    expect(rec.reasons!.find((r) => r.path === "roleAssignments")!.reason).toMatch(
      /only from the estate policy/,
    );
  });

  it("an unfunded cost centre and a region outside the policy", async () => {
    const req = w.request({ costCenter: "CC-0000-NOFUND", region: "eastus" });
    const rec = await refused(req, req.requestId);
    expect(rec.reasons!.map((r) => r.path).sort()).toEqual(["costCenter", "region"]);
  });

  it("injection-bearing names and UPNs never reach Azure", async () => {
    const since = Date.now();
    const req = w.request({
      project: "x' or 1 eq 1",
      members: { reader: ["x' or 1 eq 1@contoso.com"] },
      useCaseId: "a' or 'a' eq 'a",
    });
    const rec = await refused(req, req.requestId);
    expect(rec.reasons!.map((r) => r.path).sort()).toEqual(["members.reader.0", "useCaseId"]);
    expect(await w.azureRequests(since)).toEqual([]);
    // A well-formed request whose only problem is the project pattern is refused after no write.
    const req2 = w.request({ project: "Fraud Detection" });
    const rec2 = await refused(req2, req2.requestId);
    expect(rec2.reasons).toEqual([expect.objectContaining({ path: "project" })]);
  });

  it("an unknown principal", async () => {
    const req = w.request({
      members: { reader: ["mallory@contoso.com", "0badc0de-0000-4000-8000-000000000000"] },
    });
    const rec = await refused(req, req.requestId);
    expect(rec.reasons!.map((r) => r.reason).sort()).toEqual([
      expect.stringMatching(/"0badc0de-0000-4000-8000-000000000000" is not a known/),
      expect.stringMatching(/"mallory@contoso.com" is not a known/),
    ]);
  });

  it("a project that already exists under another cost centre", async () => {
    const sub = w.stack.policy.projectSubscriptionId;
    await w.stack.control("POST", "/_emulator/seed", {
      resourceGroups: [
        {
          subscriptionId: sub,
          name: "rg-aml-churn-risk-qa",
          location: "westeurope",
          tags: { costCenter: "CC-2200-CHURN", project: "churn-risk" },
        },
      ],
    });
    const req = w.request({ project: "churn-risk", useCaseId: "customer-churn" });
    const rec = await refused(req, req.requestId);
    expect(rec.reasons).toEqual([
      expect.objectContaining({
        path: "costCenter",
        reason: expect.stringMatching(/already exists under cost centre "CC-2200-CHURN"/),
      }),
      // No promotion record says aml-steward made it: never adopted (promotion-ownership.test.ts).
      expect.objectContaining({
        path: "project",
        reason: expect.stringMatching(
          /rg-aml-churn-risk-qa already exists and aml-steward did not create it/,
        ),
      }),
    ]);
  });

  it("a refused request stays refused on redelivery, without a call to Azure", async () => {
    const req = w.request({ costCenter: "CC-0000-NOFUND" });
    const first = await refused(req, req.requestId);
    const since = Date.now();
    const next = w.host!.waitForInvocation((i) => i.functionName === "processPromotion");
    await w.submit({ ...req, costCenter: "CC-2100-FRAUD" });
    expect((await next).ok).toBe(true);
    expect(await w.azureRequests(since)).toEqual([]);
    expect((await w.records.get(req.requestId))!.updatedAt).toBe(first.updatedAt);
    expect(w.host!.poisoned).toEqual([]);
  });

  it("a dry run records the full plan and writes nothing", async () => {
    const since = Date.now();
    const req = w.request({ dryRun: true, project: "demand-forecast", costCenter: "CC-2300-FORECAST" });
    await w.submit(req);
    const rec = await w.waitForRecord(req.requestId, finished);
    expect(rec.status).toBe("succeeded");
    expect(rec.dryRun).toBe(true);
    expect((await w.azureRequests(since)).filter(isWrite)).toEqual([]);
    const plan = rec.plan!;
    expect(plan.environments.map((e) => e.resourceGroup.name)).toEqual([
      "rg-aml-demand-forecast-dev",
      "rg-aml-demand-forecast-qa",
      "rg-aml-demand-forecast-prod",
    ]);
    expect(plan.environments.flatMap((e) => e.groups)).toHaveLength(12);
    expect(plan.environments[0]!.roleAssignments.length).toBeGreaterThan(0);
    expect(plan.environments[0]!.workspace.containerRegistry).toMatch(/Microsoft.ContainerRegistry/);
    // The plan shows the creator tags a real run would write.
    const created = {
      createdBy: "alice@contoso.com via aml-steward",
      createdOn: rec.acceptedAt.slice(0, 10),
    };
    expect(plan.fillOnlyTags).toEqual(["createdBy", "createdOn"]);
    for (const e of plan.environments) {
      expect(e.resourceGroup.tags).toMatchObject(created);
      expect(e.workspace.tags).toMatchObject(created);
      for (const d of e.dependencies) expect(d.body.tags).toMatchObject(created);
    }
  });
});
