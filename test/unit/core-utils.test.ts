import { describe, expect, it } from "vitest";
import { roleAssignmentName, uuidV5 } from "../../shared/ids.js";
import { odataEq, odataString } from "../../shared/odata.js";
import { idKey, parseResourceId, sameId } from "../../shared/azure/resourceId.js";
import { errorFacts, isTransient } from "../../shared/azure/errors.js";
import { tableKey } from "../../shared/ledger/tables.js";

describe("uuidV5", () => {
  it("matches RFC 4122's published example", () => {
    expect(uuidV5("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe(
      "2ed6657d-e927-568b-95e1-2665a8aea6a2",
    );
  });

  it("names a role assignment the same whatever the casing of its inputs", () => {
    const a = roleAssignmentName(
      "/subscriptions/S/resourceGroups/RG",
      "ABC",
      "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    );
    const b = roleAssignmentName(
      "/subscriptions/s/resourcegroups/rg",
      "abc",
      "ACDD72A7-3385-48EF-BD42-F606FBA81AE7",
    );
    expect(a).toBe(b);
    expect(a).not.toBe(
      roleAssignmentName("/subscriptions/s/resourcegroups/rg", "abd", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    );
  });
});

describe("OData literals", () => {
  it("doubles single quotes so input cannot leave the literal", () => {
    expect(odataString("O'Brien")).toBe("'O''Brien'");
    expect(odataEq("displayName", "x' or 1 eq 1 or displayName eq 'y")).toBe(
      "displayName eq 'x'' or 1 eq 1 or displayName eq ''y'",
    );
  });

  it("refuses a field name that is not one", () => {
    expect(() => odataEq("displayName eq 'a' or id", "x")).toThrow(/not an OData field name/);
  });
});

describe("resource ids", () => {
  it("parses resources, children, groups and subscriptions", () => {
    expect(
      parseResourceId("/subscriptions/s1/resourcegroups/rg1/providers/Microsoft.Storage/storageAccounts/st1"),
    ).toMatchObject({
      subscriptionId: "s1",
      resourceGroup: "rg1",
      type: "Microsoft.Storage/storageAccounts",
      name: "st1",
      isChild: false,
    });
    expect(
      parseResourceId(
        "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/st1/blobServices/default",
      ),
    ).toMatchObject({
      type: "Microsoft.Storage/storageAccounts/blobServices",
      isChild: true,
      parentId: "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/st1",
    });
    expect(parseResourceId("/subscriptions/s1/resourceGroups/rg1")).toMatchObject({
      type: "Microsoft.Resources/resourceGroups",
      name: "rg1",
    });
    expect(parseResourceId("/subscriptions/s1")).toMatchObject({ type: "Microsoft.Resources/subscriptions" });
    expect(parseResourceId("/providers/Microsoft.Management/managementGroups/mg")).toBeUndefined();
    expect(
      parseResourceId("/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts"),
    ).toBeUndefined();
  });

  it("compares ids case-insensitively and ignores trailing slashes", () => {
    expect(sameId("/subscriptions/S/resourceGroups/RG/", "/subscriptions/s/resourcegroups/rg")).toBe(true);
    expect(idKey("/Subscriptions/A")).toBe("/subscriptions/a");
  });
});

describe("errors", () => {
  it("classifies throttling, server errors and network failures as transient", () => {
    expect(isTransient({ statusCode: 429 })).toBe(true);
    expect(isTransient({ statusCode: 503 })).toBe(true);
    expect(isTransient({ code: "ECONNRESET" })).toBe(true);
    expect(isTransient({ statusCode: 400, code: "InvalidName" })).toBe(false);
    expect(isTransient({ statusCode: 404 })).toBe(false);
    expect(errorFacts({ statusCode: 409, code: "RoleAssignmentExists", message: "m" })).toEqual({
      status: 409,
      code: "RoleAssignmentExists",
      message: "m",
    });
  });
});

describe("table keys", () => {
  it("escapes the characters Table Storage forbids in keys", () => {
    const key = tableKey("/subscriptions/S/resourceGroups/R#1?x\\y");
    expect(key).not.toMatch(/[/\\#?]/);
    expect(key).toBe("%2fsubscriptions%2fs%2fresourcegroups%2fr%231%3fx%5cy");
  });
});

describe("Graph filters", () => {
  it("percent-encodes characters that would cut the query string", async () => {
    const { graphFilterEq } = await import("../../shared/odata.js");
    const f = graphFilterEq("userPrincipalName", "a&b#c+d%e'f@contoso.com");
    expect(f).not.toMatch(/[&#+ ]/);
    expect(decodeURIComponent(f)).toBe("userPrincipalName eq 'a&b#c+d%e''f@contoso.com'");
  });
});
