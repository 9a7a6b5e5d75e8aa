/**
 * The emulator under concurrent writes, through the real SDKs: no update may be lost, and
 * "exactly one wins" operations (role assignment uniqueness, group upsert by uniqueName) must
 * hold when the requests race.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { azure } from "../../shared/azure/clients.js";
import { roleAssignmentName } from "../../shared/ids.js";
import { graphFilterEq } from "../../shared/odata.js";
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
    const principalId = "da7e0000-0000-4000-8000-000000000004";
    const reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        auth.roleAssignments.create(rgId, roleAssignmentName(rgId, principalId, `${reader}-${i}`), {
          roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${reader}`,
          principalId,
          principalType: "User",
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
    expect(statuses.filter((s) => s === 204)).toHaveLength(9);
    const found = (await graph.api("/groups").filter(graphFilterEq("mailNickname", "grp-race")).get()) as {
      value: unknown[];
    };
    expect(found.value).toHaveLength(1);
  });
});
