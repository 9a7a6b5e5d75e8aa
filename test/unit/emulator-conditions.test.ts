/**
 * The emulator's own reading of role-assignment conditions (emulator/arm/authorization/conditions.ts):
 * the condition the app writes (shared/setup/contract.ts) must mean the same to it as to the
 * app's parser, for the same requests, and the language's other forms must behave as Azure's.
 */
import { describe, expect, it } from "vitest";
import { compileCondition, ConditionError } from "../../emulator/arm/authorization/conditions.js";
import { evaluateCondition, parseCondition } from "../../shared/azure/abacCondition.js";
import { abacCondition, ROLE_IDS } from "../../shared/setup/contract.js";

const RA = "Microsoft.Authorization/roleAssignments";
const request = (action: string, source: string, roleId: string, principalType: string) => ({
  action: `${RA}/${action}`,
  attributes: {
    [source]: { [`${RA}:RoleDefinitionId`]: [roleId], [`${RA}:PrincipalType`]: [principalType] },
  },
});

describe("the app's access-matrix condition, read by the emulator", () => {
  const text = abacCondition([ROLE_IDS.reader, ROLE_IDS.azureMlDataScientist], {
    roles: [ROLE_IDS.reader, ROLE_IDS.owner],
    principalTypes: ["Group", "User"],
  });
  const emulator = compileCondition(text);
  const app = parseCondition(text);
  const cases = [
    request("write", "Request", ROLE_IDS.reader, "Group"),
    request("write", "Request", ROLE_IDS.azureMlDataScientist.toUpperCase(), "group"),
    request("write", "Request", ROLE_IDS.owner, "Group"),
    request("write", "Request", ROLE_IDS.reader, "User"),
    request("delete", "Resource", ROLE_IDS.owner, "User"),
    request("delete", "Resource", ROLE_IDS.contributor, "Group"),
    request("delete", "Resource", ROLE_IDS.reader, "ServicePrincipal"),
    request("delete", "Request", ROLE_IDS.reader, "Group"),
    { action: `${RA}/write`, attributes: {} },
    { action: `${RA}/read`, attributes: {} },
  ];

  it.each(cases.map((c, i) => [i, c] as const))("case %i: same decision as the app's evaluator", (_, c) => {
    expect(emulator(c)).toBe(evaluateCondition(app, c));
  });

  it("allows the listed roles for groups, refuses the rest", () => {
    expect(emulator(cases[0]!)).toBe(true);
    expect(emulator(cases[2]!)).toBe(false);
    expect(emulator(cases[3]!)).toBe(false);
    expect(emulator(cases[4]!)).toBe(true);
    expect(emulator(cases[9]!)).toBe(true);
  });
});

describe("the condition language", () => {
  const tags = (values: string[]) => ({
    action: "Microsoft.Resources/tags/write",
    attributes: { request: { "Microsoft.Resources/tags:costCenter": values } },
  });

  it("reads &&, ||, ! and AND before OR", () => {
    const c = compileCondition(
      "!(ActionMatches{'Microsoft.Resources/*'}) || ActionMatches{'*/tags/write'} && @Request[Microsoft.Resources/tags:costCenter] StringLike 'cc-*'",
    );
    expect(c(tags(["cc-42"]))).toBe(true);
    expect(c(tags(["other"]))).toBe(false);
    expect(c({ action: "Microsoft.Storage/x/read", attributes: {} })).toBe(true);
  });

  it("applies the quantifiers and negated operators", () => {
    const any = compileCondition(
      "@Request[Microsoft.Resources/tags:costCenter] ForAnyOfAnyValues:StringEquals {'a', 'b'}",
    );
    const all = compileCondition(
      "@Request[Microsoft.Resources/tags:costCenter] ForAllOfAnyValues:StringEquals {'a', 'b'}",
    );
    const not = compileCondition("@Request[Microsoft.Resources/tags:costCenter] StringNotEquals 'a'");
    expect(any(tags(["a", "z"]))).toBe(true);
    expect(all(tags(["a", "z"]))).toBe(false);
    expect(all(tags(["b", "a"]))).toBe(true);
    expect(any(tags(["A"]))).toBe(false);
    expect(not(tags(["b"]))).toBe(true);
    expect(not(tags(["a"]))).toBe(false);
    // An attribute the request does not carry never satisfies a comparison.
    expect(not({ action: "x", attributes: {} })).toBe(false);
  });

  it("refuses what it cannot read", () => {
    for (const bad of [
      "ActionMatches{'x'",
      "@Request[a] Frobnicates 'x'",
      "(ActionMatches{'x'}",
      "AND",
      "'x'",
    ])
      expect(() => compileCondition(bad), bad).toThrow(ConditionError);
  });
});
