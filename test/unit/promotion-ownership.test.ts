/**
 * The ownership and quota rules of admission over stubbed look-ups: which existing objects are
 * ours, which principals may be members, when a quota refuses. The same rules run against the
 * emulator in test/integration/promotion-ownership.test.ts.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { environmentNames, getPolicy } from "../../shared/policy/index.js";
import {
  admit,
  quotaRefusals,
  type AdmissionLookups,
  type OwnershipLookups,
  type ResolvedPrincipal,
} from "../../shared/promotion/admission.js";
import { groupEntry, groupOwnershipProblem, ProjectOwnership } from "../../shared/promotion/ownership.js";
import { parsePromotionRequest, type PromotionRequest } from "../../shared/promotion/request.js";
import { resourceGroupId } from "../../shared/azure/resourceId.js";

const example = JSON.parse(
  readFileSync(new URL("../../docs/examples/promotion-request.json", import.meta.url), "utf8"),
) as Record<string, unknown>;
const policy = getPolicy();
const STEWARD = "5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a";
const SUB = policy.projectSubscriptionId;

function request(over: Record<string, unknown> = {}): PromotionRequest {
  const r = parsePromotionRequest({ ...example, ...over });
  if (!r.ok) throw new Error(JSON.stringify(r.reasons));
  return { ...r.request, requestedBy: r.request.requestedBy ?? "alice@contoso.com" };
}

const rgOf = (env: string, project = "fraud-detection") =>
  resourceGroupId(SUB, environmentNames(policy, project, env).resourceGroup);
const groupOf = (env: string, role: string) => environmentNames(policy, "fraud-detection", env).groups[role]!;
const marks = { managedBy: "aml-steward", project: "fraud-detection", costCenter: "CC-2100-FRAUD" };

function lookups(o: {
  kinds?: Record<string, ResolvedPrincipal["kind"]>;
  rgTags?: Record<string, Record<string, string>>;
  owned?: string[];
  groups?: Record<string, { id: string; owners: string[] }>;
  reported?: unknown[];
}): AdmissionLookups {
  const ownership: OwnershipLookups = {
    stewardObjectId: STEWARD,
    owned: async (project) => new ProjectOwnership(project, o.owned ?? []),
    groups: async (names) => new Map(names.map((n) => [n, o.groups?.[n]])),
    assetTags: async () => new Map(),
    report: async (findings) => void o.reported?.push(...findings),
  };
  return {
    async resolvePrincipals(refs) {
      return new Map(
        refs.map((r) => [r, { objectId: `id-${r}`, kind: o.kinds?.[r] ?? "user", displayName: r }]),
      );
    },
    async resourceGroupTags(ids) {
      return new Map(ids.map((id) => [id, o.rgTags?.[id]]));
    },
    ownership,
  };
}

describe("members and owners", () => {
  it("users and service principals are admitted; a group or another kind of object is refused", async () => {
    const id = "0a0a0a0a-0000-4000-8000-00000000000a";
    const ok = await admit(
      policy,
      request(),
      lookups({ kinds: { "f1f1f1f1-0000-4000-8000-00000000000f": "servicePrincipal" } }),
    );
    expect(ok.ok).toBe(true);
    const a = await admit(
      policy,
      request({
        members: { reader: [id] },
        owners: ["erin@contoso.com", "0b0b0b0b-0000-4000-8000-00000000000b"],
      }),
      lookups({ kinds: { [id]: "group", "0b0b0b0b-0000-4000-8000-00000000000b": "other" } }),
    );
    expect(!a.ok && a.reasons.map((r) => r.path).sort()).toEqual(["members.reader.0", "owners.1"]);
  });
});

describe("existing resource groups", () => {
  it("one this project's promotions created (marks and a record) is continued", async () => {
    const a = await admit(
      policy,
      request(),
      lookups({ rgTags: { [rgOf("dev")]: marks }, owned: [rgOf("dev").toUpperCase()] }),
    );
    expect(a.ok).toBe(true);
  });

  it("marks without a record, a record without marks, or neither: refused and reported", async () => {
    const reported: unknown[] = [];
    const a = await admit(
      policy,
      request(),
      lookups({
        rgTags: { [rgOf("dev")]: marks, [rgOf("qa")]: { project: "fraud-detection" }, [rgOf("prod")]: {} },
        owned: [rgOf("qa")],
        reported,
      }),
    );
    expect(a.ok).toBe(false);
    if (a.ok) return;
    expect(a.reasons.map((r) => r.reason)).toEqual([
      expect.stringMatching(/rg-aml-fraud-detection-dev .*\(no promotion record of the project lists it\)/),
      expect.stringMatching(/rg-aml-fraud-detection-qa .*\(no managedBy=aml-steward tag\)/),
      expect.stringMatching(
        /rg-aml-fraud-detection-prod .*no managedBy=aml-steward tag; project tag is null; no promotion record/,
      ),
    ]);
    expect(reported).toHaveLength(3);
  });
});

describe("existing Entra groups", () => {
  const name = groupOf("prod", "reader");
  const own = new ProjectOwnership("fraud-detection", [groupEntry(name, "g1")]);

  it("ours: listed in a record and aml-steward its sole owner", () => {
    expect(
      groupOwnershipProblem(own, name, { id: "g1", owners: [STEWARD.toUpperCase()] }, STEWARD),
    ).toBeUndefined();
  });
  it.each([
    ["another owner too", { id: "g1", owners: [STEWARD, "dave"] }, /owners other than aml-steward: dave/],
    ["no owner at all", { id: "g1", owners: [] }, /none, and aml-steward is not one/],
    ["not in any record", { id: "g2", owners: [STEWARD] }, /no promotion record of the project lists it/],
  ])("not ours: %s", (_, group, why) => {
    expect(groupOwnershipProblem(own, name, group, STEWARD)).toMatch(why);
  });

  it("a squatted group stops admission", async () => {
    const a = await admit(
      policy,
      request(),
      lookups({ groups: { [name]: { id: "g9", owners: ["dave", STEWARD] } } }),
    );
    expect(!a.ok && a.reasons).toEqual([
      { path: "project", reason: expect.stringMatching(/already exists and aml-steward did not create it/) },
    ]);
  });
});

describe("quotas", () => {
  const quotaPolicy = (q: Partial<typeof policy.quotas>) => ({
    ...policy,
    quotas: { ...policy.quotas, ...q },
  });
  const rgTags = new Map<string, Record<string, string> | undefined>();

  it("a cost centre's project cap counts other projects, not a re-request of its own", async () => {
    const projects = async () => new Map([["CC-2100-FRAUD", new Set(["fraud-detection", "fraud-ops"])]]);
    const lk = { projectsByCostCenter: projects, roleAssignmentCount: async () => 0 };
    const p = quotaPolicy({ maxProjectsPerCostCenter: 2 });
    expect(await quotaRefusals(p, request(), ["dev"], rgTags, lk)).toEqual([]);
    expect(await quotaRefusals(p, request({ project: "fraud-next" }), ["dev"], rgTags, lk)).toEqual([
      { path: "costCenter", reason: expect.stringMatching(/already has 2 project\(s\)/) },
    ]);
  });

  it("the role assignment budget counts the access matrix rows of environments not yet created", async () => {
    const rows = (env: string) =>
      policy.roles.reduce((n, r) => n + (policy.accessMatrix[r.name]?.[env]?.length ?? 0), 0);
    const all = rows("dev") + rows("qa") + rows("prod");
    const lk = (existing: number) => ({
      projectsByCostCenter: async () => new Map(),
      roleAssignmentCount: async () => existing,
    });
    const envs = ["dev", "qa", "prod"];
    expect(await quotaRefusals(policy, request(), envs, rgTags, lk(4000 - all))).toEqual([]);
    expect(await quotaRefusals(policy, request(), envs, rgTags, lk(4001 - all))).toEqual([
      { path: "environments", reason: expect.stringMatching(/over its limit of 4000/) },
    ]);
    // dev exists already: only qa and prod would add assignments.
    const devExists = new Map([[rgOf("dev"), marks]]);
    expect(await quotaRefusals(policy, request(), envs, devExists, lk(4000 - all + rows("dev")))).toEqual([]);
  });
});
