/** The pure comparison of a scope's assignments with its recorded matrix, and the estate read from records. */
import { describe, expect, it } from "vitest";
import {
  compareAccess,
  describeDrift,
  isPrivileged,
  type ActualAssignment,
} from "../../shared/access/compare.js";
import { estateFromRecords, scopeOfAssignment } from "../../shared/access/estate.js";
import type { PromotionRecord } from "../../shared/promotion/record.js";
import { ESCALATING_ROLE_IDS, ROLE_IDS } from "../../shared/setup/contract.js";

const SUB = "/subscriptions/0b7e3f5c-2a9d-4e6b-8c1f-5d3a9e7b2c02";
const RG = `${SUB}/resourceGroups/rg-aml-p-prod`;
const GROUP = "9e0a1000-0000-4000-8000-0000000000b1";
const WS_IDENTITY = "7d1e0000-0000-4000-8000-000000000001";
const managed = {
  scope: RG,
  subscriptionId: SUB.split("/")[2]!,
  project: "p",
  env: "prod",
  requestId: "r",
  expected: [
    {
      principalId: GROUP,
      roleDefinitionGuid: ROLE_IDS.reader,
      roleName: "Reader",
      group: "grp-p-prod-reader",
    },
  ],
};
const ra = (over: Partial<ActualAssignment>): ActualAssignment => ({
  id: `${over.scope ?? RG}/providers/Microsoft.Authorization/roleAssignments/${Math.random()}`,
  scope: RG,
  principalId: GROUP,
  principalType: "Group",
  roleDefinitionGuid: ROLE_IDS.reader,
  ...over,
});

describe("compareAccess", () => {
  it("knows the same privileged roles the policy refuses", () => {
    for (const id of ESCALATING_ROLE_IDS) expect(isPrivileged(id)).toBe(true);
    expect(isPrivileged(ROLE_IDS.reader)).toBe(false);
  });

  it("finds extra (on the scope), missing, and inherited (above it) apart; ignores below and Azure's own grant", () => {
    const owner = ra({
      principalId: "b0b00000-0000-4000-8000-000000000002",
      principalType: "User",
      roleDefinitionGuid: ROLE_IDS.owner,
    });
    const inherited = ra({
      scope: SUB,
      principalId: "e2140000-0000-4000-8000-000000000005",
      principalType: "User",
      roleDefinitionGuid: ROLE_IDS.owner,
    });
    const below = ra({
      scope: `${RG}/providers/Microsoft.Storage/storageAccounts/st`,
      principalType: "ServicePrincipal",
      principalId: WS_IDENTITY,
    });
    const azure = ra({
      principalType: "ServicePrincipal",
      principalId: WS_IDENTITY,
      roleDefinitionGuid: "b78c5d69-af96-48a3-bf8d-a8b4d589de94",
    });
    const d = compareAccess(managed, [owner, inherited, below, azure], [WS_IDENTITY]);
    expect(d.extra.map((x) => [x.principalId, x.why])).toEqual([
      [
        owner.principalId,
        ["not given by the access matrix", "assigned to a user directly", "privileged role"],
      ],
    ]);
    expect(d.missing).toEqual(managed.expected);
    expect(d.inherited.map((x) => x.scope)).toEqual([SUB]);
    expect(describeDrift(d, "erin@contoso.com", () => "Owner")).toMatch(
      /^extra: Owner to User b0b00000.*; missing: Reader to group grp-p-prod-reader .*; change made by erin@contoso\.com$/,
    );
    // Azure's grant made privileged is drift like any other.
    expect(
      compareAccess(managed, [ra({}), { ...azure, roleDefinitionGuid: ROLE_IDS.owner }], [WS_IDENTITY]).extra,
    ).toHaveLength(1);
    expect(compareAccess(managed, [ra({ scope: RG.toUpperCase() })])).toEqual({
      extra: [],
      missing: [],
      inherited: [],
    });
  });
});

describe("estateFromRecords", () => {
  const record = (over: Partial<PromotionRecord>, members: string[]): PromotionRecord =>
    ({
      requestId: "r1",
      status: "succeeded",
      dryRun: false,
      acceptedAt: "",
      updatedAt: "2026-01-01",
      attempts: 1,
      steps: [],
      resources: [`group:grp-p-prod-reader:${GROUP}`],
      plan: {
        project: "p",
        environments: [
          {
            env: "prod",
            subscriptionId: managed.subscriptionId,
            resourceGroup: { id: RG },
            workspace: { id: `${RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw` },
            groups: [{ role: "reader", uniqueName: "grp-p-prod-reader", members }],
            roleAssignments: [
              {
                groupUniqueName: "grp-p-prod-reader",
                roleDefinitionGuid: ROLE_IDS.reader,
                roleName: "Reader",
              },
            ],
          },
        ],
      },
      ...over,
    }) as unknown as PromotionRecord;

  it("takes scopes, matrix and group ids from succeeded records only, members as the union", () => {
    const e = estateFromRecords([
      record({}, ["A11CE000-0000-4000-8000-000000000001"]),
      record({ requestId: "r2", updatedAt: "2026-02-01" }, ["b0b00000-0000-4000-8000-000000000002"]),
      record({ requestId: "dry", dryRun: true }, ["ca201000-0000-4000-8000-000000000003"]),
      record({ requestId: "failed", status: "failed" }, ["da7e0000-0000-4000-8000-000000000004"]),
    ]);
    expect([...e.scopes.keys()]).toEqual([RG.toLowerCase()]);
    expect(e.scopes.get(RG.toLowerCase())).toMatchObject({
      requestId: "r2",
      expected: [{ principalId: GROUP }],
    });
    expect(e.groups.get(GROUP)!.members.sort()).toEqual([
      "a11ce000-0000-4000-8000-000000000001",
      "b0b00000-0000-4000-8000-000000000002",
    ]);
    expect(scopeOfAssignment(`${RG}/providers/Microsoft.Authorization/roleAssignments/x`)).toBe(RG);
    expect(scopeOfAssignment(RG)).toBeUndefined();
  });
});
