/**
 * Which roles reach storage data (shared/segregation/roleGrants.ts), against the built-in role
 * definitions the emulator serves (Microsoft's actions and dataActions).
 */
import { describe, expect, it } from "vitest";
import { BUILT_IN_ROLES } from "../../emulator/arm/builtInRoles.js";
import { reachesStorageData } from "../../shared/segregation/roleGrants.js";

const role = (name: string) => {
  const r = BUILT_IN_ROLES.find((x) => x.roleName === name)!;
  return [{ actions: r.actions, dataActions: r.dataActions }];
};

describe("reachesStorageData", () => {
  it.each([
    ["Storage Blob Data Reader", true],
    ["Storage Blob Data Contributor", true],
    ["Owner", true],
    ["Contributor", true],
    ["Reader", false],
    ["Tag Contributor", false],
    ["AzureML Data Scientist", false],
    ["AzureML Registry User", false],
  ])("%s: %s", (name, want) => expect(reachesStorageData(role(name))).toBe(want));

  it("reads custom roles' data actions on files and wildcards, and listKeys", () => {
    expect(
      reachesStorageData([
        { dataActions: ["Microsoft.Storage/storageAccounts/fileServices/fileshares/files/read"] },
      ]),
    ).toBe(true);
    expect(
      reachesStorageData([
        { dataActions: ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"] },
      ]),
    ).toBe(true);
    expect(reachesStorageData([{ actions: ["Microsoft.Storage/storageAccounts/listKeys/action"] }])).toBe(
      true,
    );
    expect(reachesStorageData([{ actions: ["Microsoft.Storage/storageAccounts/read"] }])).toBe(false);
    expect(
      reachesStorageData([
        { dataActions: ["Microsoft.Storage/storageAccounts/queueServices/queues/messages/read"] },
      ]),
    ).toBe(false);
  });
});
