/* eslint-disable @typescript-eslint/no-explicit-any -- the tests mutate raw policy documents freely */
/**
 * The access matrix feeds the RBAC Administrator's ABAC allow-list, so the policy refuses every
 * role that would make that grant privileged: roles that manage access, Contributor, custom
 * roles with `*` or access-managing actions, and custom roles whose actions it cannot see.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { DEFAULT_POLICY_PATH, parsePolicy, PolicyError } from "../../shared/policy/index.js";
import { accessMatrixRoles, InfraContractError, ROLE_IDS } from "../../shared/setup/contract.js";

const raw = (): Record<string, any> => YAML.parse(readFileSync(DEFAULT_POLICY_PATH, "utf8"));
const CUSTOM = "3c000000-0000-4000-8000-0000000000c1";

function problems(mutate: (p: Record<string, any>) => void): string[] {
  const doc = raw();
  mutate(doc);
  try {
    parsePolicy(doc, "test-policy.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return (e as PolicyError).problems.map((p) => `${p.path}: ${p.rule}`);
  }
  return [];
}

const grantInDev = (role: { id: string; name: string }) => (p: Record<string, any>) =>
  p.accessMatrix["data-scientist"].dev.push(role);

describe("privileged roles in the access matrix", () => {
  it.each([
    [ROLE_IDS.owner, "Owner", /may not grant roles that manage access/],
    [ROLE_IDS.userAccessAdministrator, "User Access Administrator", /may not grant roles that manage access/],
    [
      ROLE_IDS.rbacAdministrator,
      "Role Based Access Control Administrator",
      /may not grant roles that manage access/,
    ],
    [ROLE_IDS.contributor, "Contributor", /may not grant Contributor/],
  ])("refuses %s (%s)", (id, name, rule) => {
    const found = problems(grantInDev({ id, name }));
    expect(found.some((p) => p.startsWith("accessMatrix.data-scientist.dev[") && rule.test(p))).toBe(true);
  });

  it("the infra generator refuses them too (defence in depth)", () => {
    const policy = parsePolicy(raw());
    const bad = structuredClone(policy) as any;
    bad.accessMatrix["data-scientist"].dev.push({ id: ROLE_IDS.contributor, name: "Contributor" });
    expect(() => accessMatrixRoles(bad)).toThrow(InfraContractError);
  });

  it("refuses a custom role id the policy does not declare", () => {
    const found = problems(grantInDev({ id: CUSTOM, name: "mystery" }));
    expect(found).toContainEqual(
      expect.stringMatching(
        /^accessMatrix\.data-scientist\.dev\[\d+\]: is neither a built-in role nor declared in customRoles/,
      ),
    );
  });

  it("accepts a declared custom role with narrow actions", () => {
    const found = problems((p) => {
      p.customRoles = [
        { id: CUSTOM, name: "ml reader", actions: ["Microsoft.MachineLearningServices/workspaces/*/read"] },
      ];
      grantInDev({ id: CUSTOM, name: "ml reader" })(p);
    });
    expect(found).toEqual([]);
  });

  it.each([
    ["*"],
    ["Microsoft.Authorization/*/write"],
    ["Microsoft.Authorization/*"],
    ["*/write"],
    ["Microsoft.Authorization/roleAssignments/write"],
  ])("refuses a declared custom role with the action %s, whatever its notActions", (action) => {
    const found = problems((p) => {
      p.customRoles = [
        {
          id: CUSTOM,
          name: "wide",
          actions: ["Microsoft.Storage/storageAccounts/read", action],
          notActions: ["Microsoft.Authorization/*"],
        },
      ];
      grantInDev({ id: CUSTOM, name: "wide" })(p);
    });
    expect(found.some((p) => p.startsWith("customRoles[0].actions: may not include `*`"))).toBe(true);
  });

  it("refuses a custom role named differently in the matrix, or reusing a built-in id", () => {
    expect(
      problems((p) => {
        p.customRoles = [
          { id: CUSTOM, name: "ml reader", actions: ["Microsoft.MachineLearningServices/workspaces/read"] },
        ];
        grantInDev({ id: CUSTOM, name: "something else" })(p);
      }),
    ).toContainEqual(
      expect.stringMatching(/^accessMatrix\.data-scientist\.dev\[\d+\]\.name: custom role .* is "ml reader"/),
    );
    expect(
      problems((p) => {
        p.customRoles = [{ id: ROLE_IDS.reader, name: "reader again", actions: ["*/read"] }];
      }),
    ).toContainEqual(expect.stringMatching(/^customRoles\[0\]\.id: is a built-in role's id/));
  });
});
