/**
 * aml-steward holds exactly the role set generated from the policy (shared/setup/contract.ts,
 * appRoleSet), seeded into the emulator, which enforces it: the app's own clients are refused
 * anything outside it with Azure's 403, and a promotion that needs more than the set fails with
 * that 403 as the reason in its record.
 */
import type { RestError } from "@azure/core-rest-pipeline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explorationIds, PEOPLE, STEWARD_APP } from "../../local/seeds/contoso.js";
import { azure } from "../../shared/azure/clients.js";
import { roleAssignmentName } from "../../shared/ids.js";
import { abacCondition, accessMatrixRoles, appRoleSet, ROLE_IDS } from "../../shared/setup/contract.js";
import { startPromotionWorld, type PromotionWorld } from "../helpers/promotion.js";

let w: PromotionWorld;
beforeAll(async () => {
  w = await startPromotionWorld();
}, 60_000);
afterAll(async () => w?.stop());

async function restError(p: Promise<unknown>): Promise<RestError> {
  try {
    await p;
  } catch (e) {
    expect((e as Error).name).toBe("RestError");
    return e as RestError;
  }
  throw new Error("expected the call to fail");
}

describe("the app's role set", () => {
  it("is exactly what appRoleSet generates: no Owner, User Access Administrator or Contributor", () => {
    const set = appRoleSet(w.stack.policy);
    const held = [...w.stack.emulator.state.assignmentsInBucket("").values()]
      .concat(
        w.stack.policy.governedSubscriptions.flatMap((s) => [
          ...w.stack.emulator.state.assignmentsInBucket(s.id.toLowerCase()).values(),
        ]),
      )
      .filter((a) => a.principalId === STEWARD_APP.objectId)
      .map((a) => `${a.roleDefinitionGuid} ${a.scope.toLowerCase()}`)
      .sort();
    expect(held).toEqual(set.grants.map((g) => `${g.roleId} ${g.scope.toLowerCase()}`).sort());
    for (const id of [ROLE_IDS.owner, ROLE_IDS.userAccessAdministrator, ROLE_IDS.contributor])
      expect(held.some((h) => h.startsWith(id))).toBe(false);
  });

  it("refuses listKeys on storage (no secret-reading action is in the set)", async () => {
    const { rg } = explorationIds(w.stack.policy);
    const storage = `${rg}/providers/Microsoft.Storage/storageAccounts/stexploration01`;
    const token = await azure().credential.getToken("https://management.azure.com/.default");
    const res = await fetch(`${w.stack.url}${storage}/listKeys?api-version=2023-01-01`, {
      method: "POST",
      headers: { authorization: `Bearer ${token!.token}` },
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("AuthorizationFailed");
    expect(body.error.message).toContain(
      `does not have authorization to perform action 'Microsoft.Storage/storageAccounts/listKeys/action' over scope '${storage}'`,
    );
  });

  it("refuses deleting a resource group (the promotion role has no deletes)", async () => {
    const { subscriptionId } = explorationIds(w.stack.policy);
    const e = await restError(
      azure()
        .resources(subscriptionId)
        .resourceGroups.beginDeleteAndWait(w.stack.policy.exploration.resourceGroup),
    );
    expect(e.statusCode).toBe(403);
    expect(e.code).toBe("AuthorizationFailed");
  });

  it("refuses, through the ABAC condition, a role assignment for a role outside the matrix or to a user", async () => {
    const project = w.stack.policy.projectSubscriptionId;
    const scope = `/subscriptions/${project}`;
    const auth = azure().authorization(project);
    const group = "9f000000-0000-4000-8000-0000000000ff";
    for (const [role, principalId, principalType] of [
      [ROLE_IDS.contributor, group, "Group"],
      [ROLE_IDS.owner, group, "Group"],
      [ROLE_IDS.reader, PEOPLE.dave.objectId, "User"],
    ] as const) {
      const e = await restError(
        auth.roleAssignments.create(scope, roleAssignmentName(scope, principalId, role), {
          roleDefinitionId: `${scope}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
          principalId,
          principalType,
        }),
      );
      expect(e.statusCode).toBe(403);
      expect(e.code).toBe("AuthorizationFailed");
      expect(e.message).toContain("ABAC condition not fulfilled");
      expect(e.message).toContain("'Microsoft.Authorization/roleAssignments/write'");
    }
  });
});

describe("a promotion that needs a role outside the set", () => {
  it("fails with the emulator's 403 recorded as the reason", async () => {
    // The policy's matrix grants Reader, but the deployed condition predates it (infra not
    // re-provisioned): Erin, an Owner, replaces the app's RBAC Administrator assignment.
    const policy = w.stack.policy;
    const project = policy.projectSubscriptionId;
    const scope = `/subscriptions/${project}`;
    const current = [...w.stack.emulator.state.assignmentsInBucket(project.toLowerCase()).values()].find(
      (a) => a.principalId === STEWARD_APP.objectId && a.roleDefinitionGuid === ROLE_IDS.rbacAdministrator,
    )!;
    const erin = w.stack.authorizationAs(PEOPLE.erin.objectId, project);
    await erin.roleAssignments.delete(scope, current.name);
    const narrower = accessMatrixRoles(policy)
      .map((r) => r.id)
      .filter((id) => id !== ROLE_IDS.reader);
    await erin.roleAssignments.create(
      scope,
      roleAssignmentName(scope, STEWARD_APP.objectId, ROLE_IDS.rbacAdministrator),
      {
        roleDefinitionId: `${scope}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.rbacAdministrator}`,
        principalId: STEWARD_APP.objectId,
        principalType: "ServicePrincipal",
        condition: abacCondition(narrower),
        conditionVersion: "2.0",
      },
    );

    await w.startHost();
    const req = w.request();
    await w.promote(req);
    const rec = await w.waitForRecord(req.requestId, (r) => r.status === "failed", 90_000);
    expect(rec.lastError).toMatch(
      /^403 AuthorizationFailed: The client '5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a' with object id '5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a' does not have authorization or an ABAC condition not fulfilled to perform action 'Microsoft.Authorization\/roleAssignments\/write' over scope '\/subscriptions\/[^']+\/resourceGroups\/[^']+'/,
    );
    expect(rec.steps.some((s) => s.outcome === "failed" && /roleAssignments/i.test(s.name))).toBe(true);
  }, 120_000);
});
