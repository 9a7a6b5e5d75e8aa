/**
 * The ABAC condition parser behind the emulator's enforcement and `steward setup --check`: it
 * reads Microsoft's "constrain roles and principal types" condition, evaluates it as Azure does,
 * and compares conditions as trees, so that a widened condition is never taken for the expected one.
 */
import { describe, expect, it } from "vitest";
import {
  actionPatternMatches,
  ConditionSyntaxError,
  evaluateCondition,
  parseCondition,
  sameCondition,
} from "../../shared/azure/abacCondition.js";
import { abacCondition, parseAbacCondition, ROLE_IDS } from "../../shared/setup/contract.js";

const RA = "Microsoft.Authorization/roleAssignments";
const roles = [ROLE_IDS.reader, ROLE_IDS.azureMlDataScientist];
const expected = abacCondition(roles);

const write = (roleId: string, principalType: string) => ({
  action: `${RA}/write`,
  attributes: { Request: { [`${RA}:RoleDefinitionId`]: [roleId], [`${RA}:PrincipalType`]: [principalType] } },
});
const del = (roleId: string, principalType: string) => ({
  action: `${RA}/delete`,
  attributes: {
    Resource: { [`${RA}:RoleDefinitionId`]: [roleId], [`${RA}:PrincipalType`]: [principalType] },
  },
});

describe("evaluating the access-matrix condition", () => {
  const tree = parseCondition(expected);

  it("allows writes and deletes of listed roles for groups", () => {
    expect(evaluateCondition(tree, write(ROLE_IDS.reader, "Group"))).toBe(true);
    expect(evaluateCondition(tree, write(ROLE_IDS.azureMlDataScientist.toUpperCase(), "group"))).toBe(true);
    expect(evaluateCondition(tree, del(ROLE_IDS.reader, "Group"))).toBe(true);
  });

  it("refuses other roles, other principal types and missing attributes", () => {
    expect(evaluateCondition(tree, write(ROLE_IDS.owner, "Group"))).toBe(false);
    expect(evaluateCondition(tree, write(ROLE_IDS.reader, "User"))).toBe(false);
    expect(evaluateCondition(tree, del(ROLE_IDS.contributor, "Group"))).toBe(false);
    expect(evaluateCondition(tree, { action: `${RA}/write`, attributes: {} })).toBe(false);
  });

  it("does not restrict actions it does not name", () => {
    expect(evaluateCondition(tree, { action: `${RA}/read`, attributes: {} })).toBe(true);
  });
});

describe("comparing conditions structurally", () => {
  it("ignores spacing, keyword and GUID case, set order", () => {
    const reordered = abacCondition([...roles].reverse().map((r) => r.toUpperCase()))
      .replace(/ AND /g, "  and ")
      .replace(/ OR /g, " || ");
    expect(sameCondition(reordered, expected)).toBe(true);
    expect(parseAbacCondition(reordered)).toEqual(parseAbacCondition(expected));
  });

  it("refuses a condition widened with OR, an extra role, another principal type, or garbage", () => {
    expect(
      sameCondition(`(${expected}) OR (@Request[${RA}:PrincipalType] StringEquals 'User')`, expected),
    ).toBe(false);
    expect(sameCondition(`${expected} OR ActionMatches{'${RA}/write'}`, expected)).toBe(false);
    expect(sameCondition(abacCondition([...roles, ROLE_IDS.contributor]), expected)).toBe(false);
    expect(sameCondition(expected.replace("{'Group'}", "{'Group', 'User'}"), expected)).toBe(false);
    expect(sameCondition("((", expected)).toBe(false);
    // The old regex reader found the right sets in a widened condition; the tree does not.
    expect(parseAbacCondition(`${expected} OR ActionMatches{'${RA}/write'}`)).toBeUndefined();
  });

  it("reports syntax errors", () => {
    expect(() => parseCondition("@Request[x] StringEquals")).toThrow(ConditionSyntaxError);
    expect(() => parseCondition("ActionMatches{'a'} AND")).toThrow(ConditionSyntaxError);
  });
});

describe("action wildcards", () => {
  it("match as Azure's role definitions do, ignoring case", () => {
    expect(actionPatternMatches("*", "Microsoft.Storage/storageAccounts/listKeys/action")).toBe(true);
    expect(actionPatternMatches("*/read", "Microsoft.Resources/subscriptions/read")).toBe(true);
    expect(actionPatternMatches("Microsoft.Authorization/*/Write", `${RA}/write`)).toBe(true);
    expect(actionPatternMatches("Microsoft.Storage/*", "Microsoft.StorageSync/x/read")).toBe(false);
    expect(
      actionPatternMatches(
        "Microsoft.MachineLearningServices/workspaces/*/read",
        "Microsoft.MachineLearningServices/workspaces/read",
      ),
    ).toBe(false);
  });
});
