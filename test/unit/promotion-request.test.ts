import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { getPolicy } from "../../shared/policy/index.js";
import {
  admit,
  policyRefusals,
  type AdmissionLookups,
  type ResolvedPrincipal,
} from "../../shared/promotion/admission.js";
import { parsePromotionRequest, type PromotionRequest } from "../../shared/promotion/request.js";

const example = JSON.parse(
  readFileSync(new URL("../../docs/examples/promotion-request.json", import.meta.url), "utf8"),
) as Record<string, unknown>;
const policy = getPolicy();

function parse(over: Record<string, unknown> = {}) {
  return parsePromotionRequest({ ...example, ...over });
}
function request(over: Record<string, unknown> = {}): PromotionRequest {
  const r = parse(over);
  if (!r.ok) throw new Error(JSON.stringify(r.reasons));
  return { ...r.request, requestedBy: "erin@contoso.com" };
}

const everyoneKnown: AdmissionLookups = {
  async resolvePrincipals(refs) {
    return new Map(
      refs.map((r) => [
        r,
        {
          objectId: "00000000-0000-4000-8000-000000000001",
          kind: "user",
          userPrincipalName: r,
        } as ResolvedPrincipal,
      ]),
    );
  },
  async resourceGroupTags(ids) {
    return new Map(ids.map((id) => [id, undefined]));
  },
};

describe("promotion request schema", () => {
  it("accepts the documented example and fills defaults", () => {
    const r = request({ environments: undefined, region: undefined, dryRun: undefined, assets: undefined });
    expect(r.dryRun).toBe(false);
    expect(r.assets).toEqual({
      selector: { tagName: "useCase", kinds: ["model", "data", "environment", "component"] },
    });
  });

  it("accepts JSON text and Buffers as queue messages", () => {
    expect(parsePromotionRequest(JSON.stringify(example)).ok).toBe(true);
    expect(parsePromotionRequest(Buffer.from(JSON.stringify(example))).ok).toBe(true);
  });

  it("refuses malformed JSON, non-objects and every schema error at once", () => {
    expect(parsePromotionRequest("{not json")).toMatchObject({ ok: false, reasons: [{ path: "" }] });
    expect(parsePromotionRequest([1, 2])).toMatchObject({ ok: false });
    const r = parse({ requestId: "nope", owners: [], version: 2, dryRun: "yes" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reasons.map((x) => x.path).sort()).toEqual(["dryRun", "owners", "requestId", "version"]);
  });

  it("refuses unknown fields, naming each one", () => {
    const r = parse({ color: "blue", extra: 1 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reasons).toEqual(
      expect.arrayContaining([
        { path: "color", reason: "unknown field" },
        { path: "extra", reason: "unknown field" },
      ]),
    );
  });

  it("refuses any attempt to choose roles or scopes", () => {
    const r = parse({ roleAssignments: [{ role: "Owner" }], scope: "/subscriptions/x" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    for (const path of ["roleAssignments", "scope"]) {
      expect(r.reasons.find((x) => x.path === path)?.reason).toMatch(/come only from the estate policy/);
    }
    const refusals = policyRefusals(policy, request({ members: { Owner: ["alice@contoso.com"] } }));
    expect(refusals).toEqual([
      expect.objectContaining({
        path: "members.Owner",
        reason: expect.stringMatching(/not a role of the estate policy/),
      }),
    ]);
  });

  it("keeps the request id of a malformed message so its refusal is recorded under it", () => {
    const r = parse({ project: 42 });
    expect(r).toMatchObject({ ok: false, requestId: example.requestId });
  });

  it.each([
    ["project", "x' or 1 eq 1"],
    ["useCaseId", "x' or 1 eq 1"],
    ["costCenter", "CC' or 1 eq 1"],
    ["requestedBy", "x' or 1 eq 1@contoso.com"],
    ["owners", ["o'brien@contoso.com"]],
    ["members", { reader: ["x')/members/$ref"] }],
    ["assets", { versions: [{ kind: "model", name: "a' or 1 eq 1", version: "1" }] }],
  ])("refuses injection-bearing %s", (field, value) => {
    const r = parse({ [field]: value });
    if (r.ok) {
      // The schema may pass a project name through; the policy pattern must then refuse it.
      expect(
        policyRefusals(policy, { ...r.request, requestedBy: "erin@contoso.com" }).some(
          (x) => x.path === field,
        ),
      ).toBe(true);
    } else {
      expect(r.reasons.some((x) => x.path.startsWith(field))).toBe(true);
    }
  });
});

describe("promotion admission (policy checks)", () => {
  it("accepts the example", () => {
    expect(policyRefusals(policy, request())).toEqual([]);
  });

  it("refuses an unfunded cost centre, a region outside the policy and unknown environments, all at once", () => {
    const refusals = policyRefusals(
      policy,
      request({ costCenter: "CC-9999-NOPE", region: "eastus", environments: ["dev", "staging"] }),
    );
    expect(refusals.map((r) => r.path).sort()).toEqual(["costCenter", "environments", "region"]);
  });

  it("refuses project names the policy pattern refuses or that cannot yield valid names", () => {
    for (const project of ["Fraud Detection", "a", "-abc", "x".repeat(60), "ab_c"]) {
      expect(
        policyRefusals(policy, request({ project })).some((r) => r.path === "project"),
        project,
      ).toBe(true);
    }
  });

  it("refuses unknown principals and a project that exists under another cost centre", async () => {
    const lookups: AdmissionLookups = {
      async resolvePrincipals(refs) {
        const m = await everyoneKnown.resolvePrincipals(refs);
        m.set("alice@contoso.com", undefined);
        return m;
      },
      async resourceGroupTags(ids) {
        return new Map(
          ids.map((id, i) => [
            id,
            i === 0 ? { costCenter: "CC-2200-CHURN", project: "fraud-detection" } : undefined,
          ]),
        );
      },
    };
    const a = await admit(policy, request(), lookups);
    expect(a.ok).toBe(false);
    if (a.ok) return;
    expect(a.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: "members.data-scientist",
          reason: expect.stringMatching(/not a known/),
        }),
        expect.objectContaining({
          path: "costCenter",
          reason: expect.stringMatching(/already exists under cost centre "CC-2200-CHURN"/),
        }),
      ]),
    );
  });

  it("admits a project that already exists under the same cost centre (a retry or a re-request)", async () => {
    const lookups: AdmissionLookups = {
      ...everyoneKnown,
      async resourceGroupTags(ids) {
        return new Map(ids.map((id) => [id, { CostCenter: "CC-2100-FRAUD" }]));
      },
    };
    const a = await admit(policy, request({ environments: ["prod", "dev"] }), lookups);
    expect(a.ok && a.environments).toEqual(["dev", "prod"]);
  });
});
