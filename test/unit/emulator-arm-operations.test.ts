/**
 * Which operation, over which scope, the emulator authorises each ARM request as: the strings
 * role definitions name, so that a role grants in the emulator exactly what it grants in Azure.
 */
import { describe, expect, it } from "vitest";
import { operationOf } from "../../emulator/arm/authorization/operations.js";
import { roleAllows } from "../../emulator/arm/authorization/permissions.js";
import { builtInByGuid } from "../../emulator/arm/builtInRoles.js";
import { ROLE_IDS } from "../../shared/setup/contract.js";

const S = "/subscriptions/s1";
const RG = `${S}/resourceGroups/rg1`;
const ST = `${RG}/providers/Microsoft.Storage/storageAccounts/st1`;
const WS = `${RG}/providers/Microsoft.MachineLearningServices/workspaces/w1`;

describe("operationOf", () => {
  it.each([
    ["GET", S, "Microsoft.Resources/subscriptions/read", S],
    ["GET", `${S}/resourcegroups`, "Microsoft.Resources/subscriptions/resourceGroups/read", S],
    ["PUT", RG, "Microsoft.Resources/subscriptions/resourceGroups/write", RG],
    ["HEAD", RG, "Microsoft.Resources/subscriptions/resourceGroups/read", RG],
    ["DELETE", RG, "Microsoft.Resources/subscriptions/resourceGroups/delete", RG],
    ["GET", `${S}/resources`, "Microsoft.Resources/subscriptions/resources/read", S],
    ["GET", `${RG}/resources`, "Microsoft.Resources/subscriptions/resourceGroups/resources/read", RG],
    ["GET", `${S}/providers/Microsoft.Storage/storageAccounts`, "Microsoft.Storage/storageAccounts/read", S],
    [
      "GET",
      `${RG}/providers/Microsoft.Storage/storageAccounts`,
      "Microsoft.Storage/storageAccounts/read",
      RG,
    ],
    ["PUT", ST, "Microsoft.Storage/storageAccounts/write", ST],
    ["PATCH", ST, "Microsoft.Storage/storageAccounts/write", ST],
    ["POST", `${ST}/listKeys`, "Microsoft.Storage/storageAccounts/listKeys/action", ST],
    ["GET", `${WS}/models`, "Microsoft.MachineLearningServices/workspaces/models/read", WS],
    [
      "PUT",
      `${WS}/models/m/versions/1`,
      "Microsoft.MachineLearningServices/workspaces/models/versions/write",
      `${WS}/models/m/versions/1`,
    ],
    [
      "PUT",
      `${WS}/datastores/d1`,
      "Microsoft.MachineLearningServices/workspaces/datastores/write",
      `${WS}/datastores/d1`,
    ],
    ["GET", `${WS}/datastores`, "Microsoft.MachineLearningServices/workspaces/datastores/read", WS],
    [
      "DELETE",
      `${WS}/datastores/d1`,
      "Microsoft.MachineLearningServices/workspaces/datastores/delete",
      `${WS}/datastores/d1`,
    ],
    [
      "PUT",
      `${WS}/connections/c1`,
      "Microsoft.MachineLearningServices/workspaces/connections/write",
      `${WS}/connections/c1`,
    ],
    [
      "GET",
      `${WS}/connections/c1`,
      "Microsoft.MachineLearningServices/workspaces/connections/read",
      `${WS}/connections/c1`,
    ],
    ["PATCH", `${ST}/providers/Microsoft.Resources/tags/default`, "Microsoft.Resources/tags/write", ST],
    ["GET", `${S}/providers/Microsoft.Resources/tags/default`, "Microsoft.Resources/tags/read", S],
    [
      "PUT",
      `${RG}/providers/Microsoft.Authorization/roleAssignments/a1`,
      "Microsoft.Authorization/roleAssignments/write",
      RG,
    ],
    [
      "DELETE",
      `${S}/providers/Microsoft.Authorization/roleAssignments/a1`,
      "Microsoft.Authorization/roleAssignments/delete",
      S,
    ],
    [
      "GET",
      "/providers/Microsoft.Authorization/roleDefinitions",
      "Microsoft.Authorization/roleDefinitions/read",
      "/",
    ],
    [
      "PUT",
      `${RG}/providers/Microsoft.Consumption/budgets/b1`,
      "Microsoft.Consumption/budgets/write",
      `${RG}/providers/Microsoft.Consumption/budgets/b1`,
    ],
  ])("%s %s is %s over %s", (method, path, action, scope) => {
    expect(operationOf(method, path)).toEqual({ action, scope });
  });

  it("leaves subscription lists and LRO polls to other rules", () => {
    expect(operationOf("GET", "/subscriptions")).toBeUndefined();
    expect(
      operationOf("GET", `${S}/providers/Microsoft.Storage/locations/westeurope/asyncoperations/op1`),
    ).toBeUndefined();
  });
});

describe("built-in roles against those operations", () => {
  const role = (id: string) => builtInByGuid.get(id)!;

  it("Contributor may do everything but access management; Reader only reads; Tag Contributor only tags", () => {
    expect(roleAllows(role(ROLE_IDS.contributor), "Microsoft.Storage/storageAccounts/listKeys/action")).toBe(
      true,
    );
    expect(roleAllows(role(ROLE_IDS.contributor), "Microsoft.Authorization/roleAssignments/write")).toBe(
      false,
    );
    expect(roleAllows(role(ROLE_IDS.reader), "Microsoft.Storage/storageAccounts/read")).toBe(true);
    expect(roleAllows(role(ROLE_IDS.reader), "Microsoft.Storage/storageAccounts/listKeys/action")).toBe(
      false,
    );
    expect(roleAllows(role(ROLE_IDS.tagContributor), "Microsoft.Resources/tags/write")).toBe(true);
    expect(roleAllows(role(ROLE_IDS.tagContributor), "Microsoft.Storage/storageAccounts/write")).toBe(false);
  });

  it("AzureML Data Scientist writes assets but not the workspace; Storage Blob Data Reader reads blobs as a data action", () => {
    const ds = role(ROLE_IDS.azureMlDataScientist);
    expect(roleAllows(ds, "Microsoft.MachineLearningServices/workspaces/models/versions/write")).toBe(true);
    expect(roleAllows(ds, "Microsoft.MachineLearningServices/workspaces/write")).toBe(false);
    expect(roleAllows(ds, "Microsoft.MachineLearningServices/workspaces/listKeys/action")).toBe(false);
    // Datastores and connections: a data scientist registers them, a Reader (aml-steward's
    // role on governed subscriptions) reads them, and neither reaches listSecrets through read.
    for (const child of ["datastores", "connections"]) {
      const ml = `Microsoft.MachineLearningServices/workspaces/${child}`;
      expect(roleAllows(ds, `${ml}/write`)).toBe(true);
      expect(roleAllows(ds, `${ml}/delete`)).toBe(true);
      expect(roleAllows(role(ROLE_IDS.reader), `${ml}/read`)).toBe(true);
      expect(roleAllows(role(ROLE_IDS.reader), `${ml}/write`)).toBe(false);
    }
    expect(
      roleAllows(
        role(ROLE_IDS.reader),
        "Microsoft.MachineLearningServices/workspaces/datastores/listSecrets/action",
      ),
    ).toBe(false);
    const blobReader = role("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1");
    const blobRead = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read";
    expect(roleAllows(blobReader, blobRead, true)).toBe(true);
    expect(roleAllows(blobReader, blobRead)).toBe(false);
  });
});
