/**
 * The emulator under concurrent writes, through the real SDKs: no update may be lost, and
 * "exactly one wins" operations (role assignment uniqueness, group upsert by uniqueName) must
 * hold when the requests race.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STEWARD_APP } from "../../local/seeds/contoso.js";
import { azure } from "../../shared/azure/clients.js";
import { roleAssignmentName } from "../../shared/ids.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

let stack: TestStack;
let sub: string;
let rgId: string;
beforeAll(async () => {
  stack = await startTestStack();
  sub = stack.policy.projectSubscriptionId;
  await azure()
    .resources(sub)
    .resourceGroups.createOrUpdate("rg-race", { location: stack.policy.regions.default });
  rgId = `/subscriptions/${sub}/resourceGroups/rg-race`;
});
afterAll(async () => stack?.stop());

describe("concurrent writes to the emulator", () => {
  it("loses no tag when 40 Merge writes race on one resource", async () => {
    const tags = azure().resources(sub).tagsOperations;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        tags.beginUpdateAtScopeAndWait(rgId, {
          operation: "Merge",
          properties: { tags: { [`k${i}`]: `v${i}` } },
        }),
      ),
    );
    const final = await tags.getAtScope(rgId);
    expect(Object.keys(final.properties?.tags ?? {}).sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => `k${i}`).sort(),
    );
  });

  it("lets exactly one of 10 racing role assignments for the same principal, role and scope succeed", async () => {
    const auth = azure().authorization(sub);
    // A group and a matrix role: what the app's conditioned RBAC Administrator grant allows.
    const principalId = "9e000000-0000-4000-8000-00000000009e";
    const reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        auth.roleAssignments.create(rgId, roleAssignmentName(rgId, principalId, `${reader}-${i}`), {
          roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${reader}`,
          principalId,
          principalType: "Group",
        }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const codes = results.flatMap((r) =>
      r.status === "rejected" ? [(r.reason as { code?: string }).code] : [],
    );
    expect(codes).toEqual(Array(9).fill("RoleAssignmentExists"));
  });

  it("creates one group when 10 uniqueName upserts race", async () => {
    const graph = azure().graph();
    const body = {
      displayName: "grp-race",
      mailEnabled: false,
      mailNickname: "grp-race",
      securityEnabled: true,
      // The app holds Group.Create only: it manages the groups it owns, as the promotion does.
      "owners@odata.bind": [`https://graph.microsoft.com/v1.0/directoryObjects/${STEWARD_APP.objectId}`],
    };
    const statuses = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await graph
          .api("/groups(uniqueName='grp-race')")
          .header("Prefer", "create-if-missing")
          .responseType("raw" as never)
          .patch(body);
        return (res as Response).status;
      }),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    // The others update the group that won: its owner bind is already there, which Graph answers
    // with 400 "One or more added object references already exist" (the promotion expects it).
    expect(statuses.filter((s) => s === 400)).toHaveLength(9);
    // Listing groups needs Group.Read.All, which the app does not hold: count in the directory.
    expect(stack.emulator.directory.listGroups().filter((g) => g.mailNickname === "grp-race")).toHaveLength(
      1,
    );
  });
});
