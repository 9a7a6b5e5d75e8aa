/**
 * The attacks a sender with nothing but queue-send rights (or a tenant account) would try, each
 * through the real queue, tokens from the emulator's Entra and Graph group membership: every
 * one is refused with a recorded reason, and nothing is created or changed in Azure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { callerTokens } from "../../shared/auth/callerToken.js";
import { memberGroups } from "../../shared/auth/membership.js";
import { azure } from "../../shared/azure/clients.js";
import { getSettings, TABLES } from "../../shared/config/settings.js";
import { STEWARD_NAMESPACE, uuidV5 } from "../../shared/ids.js";
import { silentLogger } from "../../shared/log.js";
import { envelopeFor } from "../../shared/promotion/envelope.js";
import { defaultProcessDeps, processPromotionMessage } from "../../shared/promotion/process.js";
import type { PromotionRecord } from "../../shared/promotion/record.js";
import { FAST, isWrite, startPromotionWorld, type PromotionWorld } from "../helpers/promotion.js";

let w: PromotionWorld;
beforeAll(async () => {
  w = await startPromotionWorld();
  await w.startHost();
}, 60_000);
afterAll(async () => w?.stop());

const settled = (r: PromotionRecord) => !["accepted", "running", "approved"].includes(r.status);
const { alice, bob, dave, erin } = PEOPLE;
const token = (p: { objectId: string }) => w.stack.apiToken(p.objectId);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const anonymousId = (message: unknown) =>
  uuidV5(`promotion-message|${JSON.stringify(message)}`, STEWARD_NAMESPACE);

/** A request for a project nobody has built yet in this file. */
function newProject(over: Record<string, unknown> = {}) {
  const n = Math.random().toString(36).slice(2, 8);
  return w.request({ project: `proj-${n}`, useCaseId: `uc-${n}`, requestedBy: undefined, ...over });
}

/** Sends `message`, waits for the record `recordId`, and checks nothing was written to Azure. */
async function refusedWithoutWrites(message: unknown, recordId: string): Promise<PromotionRecord> {
  const since = Date.now();
  await w.send(message);
  const rec = await w.waitForRecord(recordId, settled);
  expect(rec.status).toBe("rejected");
  expect((await w.azureRequests(since)).filter(isWrite)).toEqual([]);
  return rec;
}

describe("who sent it: only a validated token says", () => {
  it("a bare request (no envelope) is refused under its own id and does not occupy the id it names", async () => {
    const req = newProject();
    const rec = await refusedWithoutWrites(req, anonymousId(req));
    expect(rec.claimedRequestId).toBe(req.requestId);
    expect(rec.reasons![0]!.reason).toMatch(/envelope/);
    expect(await w.records.get(req.requestId)).toBeUndefined();
  });

  it("requestedBy naming someone else is refused: attribution cannot be forged", async () => {
    const req = newProject({ requestedBy: erin.userPrincipalName });
    const rec = await refusedWithoutWrites(envelopeFor(await token(alice), { request: req }), req.requestId);
    expect(rec.reasons).toEqual([
      expect.objectContaining({
        path: "requestedBy",
        reason: expect.stringMatching(/sent by alice@contoso.com/),
      }),
    ]);
    expect(rec.requester?.objectId).toBe(alice.objectId);
  });

  const forgeries: [string, () => Promise<string>, RegExp][] = [
    [
      "an ARM token (wrong audience)",
      async () =>
        (
          await new EmulatorPrincipalCredential(w.stack.url, alice).getToken(
            "https://management.azure.com/.default",
          )
        ).token,
      /not for aml-steward's API/,
    ],
    [
      "alg none",
      async () => {
        const [, payload] = (await token(alice)).split(".");
        return `${b64({ alg: "none", typ: "JWT" })}.${payload}.`;
      },
      /not signed with RS256/,
    ],
    [
      "an edited payload (Alice's token made to say Erin)",
      async () => {
        const [h, p, s] = (await token(alice)).split(".");
        const claims = JSON.parse(Buffer.from(p!, "base64url").toString("utf8"));
        return `${h}.${b64({ ...claims, oid: erin.objectId })}.${s}`;
      },
      /signature does not verify/,
    ],
    ["garbage", async () => "eyJ.not.a-token", /not a well-formed|not a signed/],
  ];
  for (const [name, make, reason] of forgeries) {
    it(`a request with ${name} is refused and creates nothing`, async () => {
      const req = newProject();
      const message = envelopeFor(await make(), { request: req });
      const rec = await refusedWithoutWrites(message, anonymousId(message));
      expect(rec.reasons).toEqual([
        expect.objectContaining({ path: "token", reason: expect.stringMatching(reason) }),
      ]);
      expect(await w.records.get(req.requestId)).toBeUndefined();
    });
  }
});

describe("who may ask", () => {
  it("someone outside the requester groups cannot ask for a new project", async () => {
    const req = newProject();
    const rec = await refusedWithoutWrites(envelopeFor(await token(dave), { request: req }), req.requestId);
    expect(rec.reasons![0]!.reason).toMatch(/dave@contoso.com is not a member of a group that may ask/);
  });

  it("a change to an existing project from someone who is not its owner is refused", async () => {
    const first = newProject();
    await w.promote(first);
    await w.waitForRecord(first.requestId, (r) => r.status === "succeeded", 90_000);
    // Bob knows the project's name and cost centre (both are tags) and asks to join prod.
    const attack = w.request({
      project: first.project,
      useCaseId: first.useCaseId,
      requestedBy: undefined,
      owners: [bob.userPrincipalName],
      members: { mlops: [bob.userPrincipalName] },
    });
    const rec = await refusedWithoutWrites(
      envelopeFor(await token(bob), { request: attack }),
      attack.requestId,
    );
    expect(rec.reasons![0]!.reason).toMatch(/only its owners may change it/);
  }, 120_000);
});

describe("who may approve", () => {
  it("a new project waits for approval and nothing is created until then", async () => {
    const since = Date.now();
    const req = newProject();
    await w.submit(req);
    const rec = await w.waitForRecord(req.requestId, settled);
    expect(rec).toMatchObject({
      status: "awaitingApproval",
      kind: "newProject",
      requester: { objectId: alice.objectId },
      approval: { group: { name: "grp-budget-fraud-analytics" } },
    });
    expect(rec.planHash).toMatch(/^[0-9a-f]{64}$/);
    expect(rec.plan!.environments).toHaveLength(3);
    expect((await w.azureRequests(since)).filter(isWrite)).toEqual([]);
  });

  const refusedApprovals: [
    string,
    { objectId: string },
    { objectId: string },
    () => Record<string, unknown>,
    RegExp,
  ][] = [
    ["self-approval by a budget owner", erin, erin, () => ({}), /may not decide on their own request/],
    [
      "approval by someone outside the approvers group",
      alice,
      bob,
      () => ({}),
      /bob@contoso.com is not a member of grp-budget-fraud-analytics/,
    ],
    [
      "approval of a different plan",
      alice,
      erin,
      () => ({ planHash: "0".repeat(64) }),
      /approval is for plan 000000000000/,
    ],
  ];
  for (const [name, requester, approver, over, reason] of refusedApprovals) {
    it(`${name} is refused, recorded, and builds nothing`, async () => {
      const req = newProject();
      await w.submit(req, requester);
      await w.waitForRecord(req.requestId, (r) => r.status === "awaitingApproval");
      const since = Date.now();
      await w.decide(req.requestId, approver, over());
      const rec = await w.waitForRecord(req.requestId, (r) => (r.decisions ?? []).length > 0);
      expect(rec.status).toBe("awaitingApproval");
      expect(rec.decisions).toEqual([
        expect.objectContaining({
          by: expect.objectContaining({ objectId: approver.objectId }),
          outcome: "refused",
          reason: expect.stringMatching(reason),
        }),
      ]);
      expect((await w.azureRequests(since)).filter(isWrite)).toEqual([]);
    });
  }

  it("a rejection closes the request with who rejected it and why", async () => {
    const req = newProject();
    await w.submit(req);
    await w.waitForRecord(req.requestId, (r) => r.status === "awaitingApproval");
    await w.decide(req.requestId, erin, { decision: "reject", comment: "no budget this quarter" });
    const rec = await w.waitForRecord(req.requestId, (r) => (r.decisions ?? []).length > 0);
    expect(rec.status).toBe("rejected");
    expect(rec.reasons![0]!.reason).toBe("rejected by erin@contoso.com: no budget this quarter");
    // A late approval cannot reopen it.
    await w.decide(req.requestId, erin);
    const after = await w.waitForRecord(req.requestId, (r) => r.decisions!.length === 2);
    expect(after.status).toBe("rejected");
    expect(after.decisions![1]).toMatchObject({
      outcome: "refused",
      reason: expect.stringMatching(/rejected, not awaiting/),
    });
  });
});

describe("one request id, one request, one execution", () => {
  const deps = () =>
    defaultProcessDeps(
      azure(),
      w.stack.policy,
      silentLogger,
      { promotions: TABLES.promotions, audit: TABLES.audit },
      callerTokens(getSettings()),
      (oid, groups) => memberGroups(azure(), oid, groups),
    );
  const deliver = (message: unknown, messageId: string) =>
    processPromotionMessage(JSON.stringify(message), deps(), {
      ...FAST,
      dequeueCount: 1,
      maxDequeueCount: 5,
      messageId,
    });

  it("two different requests under one id at the same moment: the first owns it, the other is refused", async () => {
    const a = newProject();
    const b = { ...newProject(), requestId: a.requestId };
    const [ra, rb] = await Promise.all([
      deliver(envelopeFor(await token(alice), { request: a }), "m-a"),
      deliver(envelopeFor(await token(bob), { request: b }), "m-b"),
    ]);
    const kinds = [ra.kind, rb.kind].sort();
    expect(kinds).toEqual(["awaitingApproval", "rejected"]);
    const loser = ra.kind === "rejected" ? ra : rb;
    expect(loser.kind === "rejected" && loser.reasons[0]!.reason).toMatch(
      /already belongs to another request/,
    );
    const rec = (await w.records.get(a.requestId))!;
    expect(rec.status).toBe("awaitingApproval");
    expect([a.project, (b as { project?: string }).project]).toContain(rec.project);
  });

  it("concurrent deliveries of an approved request execute it once, and the record shows each attempt", async () => {
    const req = newProject({ environments: ["dev"] });
    const submitted = envelopeFor(await token(alice), { request: req });
    expect((await deliver(submitted, "m-request")).kind).toBe("awaitingApproval");
    const approve = envelopeFor(await token(erin), {
      approval: { requestId: req.requestId, decision: "approve" },
    });
    const results = await Promise.allSettled([
      deliver(approve, "m-approve-1"),
      deliver(approve, "m-approve-2"),
      deliver(submitted, "m-request-again"),
    ]);
    const rec = (await w.records.get(req.requestId))!;
    const executing = rec.attemptLog!.filter((a) => a.outcome === "executing");
    expect(executing).toHaveLength(1);
    expect(rec.status).toBe("succeeded");
    expect(rec.attempts).toBe(1);
    // The others found it decided, held by the executing delivery, or already done.
    const others = results.filter((r) => !(r.status === "fulfilled" && r.value.kind === "succeeded"));
    expect(others).toHaveLength(2);
    // Every delivery left a trace: an attempt entry or a (refused) decision.
    expect(rec.attemptLog!.length + rec.decisions!.length).toBeGreaterThanOrEqual(5);
  }, 120_000);
});
