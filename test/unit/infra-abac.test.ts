/**
 * The RBAC administrator the templates grant aml-steward may hand out exactly the roles of the
 * policy's access matrix, only to groups; and nothing in infra/ grants Owner or User Access
 * Administrator.
 */
import { describe, expect, it } from "vitest";
import { getPolicy, parsePolicy } from "../../shared/policy/index.js";
import {
  abacCondition,
  accessDeleteSet,
  accessMatrixRoles,
  InfraContractError,
  parseAbacCondition,
  PROMOTION_ROLE_ACTIONS,
  PROMOTION_ROLE_NAME,
  promotionRoleId,
  ROLE_IDS,
} from "../../shared/setup/contract.js";
import { bicepCode, bicepStringVar, guids, infraFiles, read } from "./infra-helpers.js";

const policy = getPolicy();
const matrixIds = [
  ...new Set(
    Object.values(policy.accessMatrix).flatMap((envs) =>
      Object.values(envs)
        .flat()
        .map((r) => r.id.toLowerCase()),
    ),
  ),
].sort();

describe("the ABAC condition on Role Based Access Control Administrator", () => {
  const project = bicepCode("infra/modules/project-subscription.bicep");
  const generated = JSON.parse(read("infra/generated/access-matrix-roles.json")) as {
    roleDefinitionIds: string[];
    deleteRoleDefinitionIds: string[];
    deletePrincipalTypes: string[];
  };
  /** The Bicep text with its variables filled in as the generated file gives them. */
  const render = (template: string, g = generated) =>
    template
      .replace(/\$\{roleList\}/g, g.roleDefinitionIds.join(", "))
      .replace(/\$\{deleteRoleList\}/g, g.deleteRoleDefinitionIds.join(", "))
      .replace(/\$\{deleteTypeList\}/g, g.deletePrincipalTypes.map((t) => `'${t}'`).join(", "));

  it("the generated role list is exactly the access matrix's roles", () => {
    expect([...generated.roleDefinitionIds].sort()).toEqual(matrixIds);
    expect(accessMatrixRoles(policy).map((r) => r.id)).toEqual(matrixIds);
  });

  it("main.bicep feeds the generated list (not a typed copy) to the project subscription module", () => {
    const main = bicepCode("infra/main.bicep");
    expect(main).toMatch(/var matrix = loadJsonContent\('generated\/access-matrix-roles\.json'\)/);
    expect(main).toMatch(/accessMatrixRoleDefinitionIds: matrix\.roleDefinitionIds/);
    expect(project).toMatch(/var roleList = join\(accessMatrixRoleDefinitionIds, ', '\)/);
    // No role GUID of the matrix is typed into the module.
    for (const id of matrixIds) expect(guids(project)).not.toContain(id);
  });

  it("renders to the same condition as shared/setup (what setup verifies in Azure)", () => {
    const rendered = render(bicepStringVar(project, "abacCondition"));
    expect(rendered).not.toContain("${");
    expect(rendered).toBe(
      abacCondition(generated.roleDefinitionIds, {
        roles: generated.deleteRoleDefinitionIds,
        principalTypes: generated.deletePrincipalTypes,
      }),
    );
    expect(project).toMatch(/var deleteRoleList = join\(deleteRoleDefinitionIds, ', '\)/);
  });

  it("allows writes and deletes of the matrix roles only, to principal type Group only", () => {
    const rendered = render(bicepStringVar(project, "abacCondition"));
    const parsed = parseAbacCondition(rendered);
    expect(parsed).toEqual({
      writeRoles: matrixIds,
      deleteRoles: matrixIds,
      writePrincipalTypes: ["group"],
      deletePrincipalTypes: ["group"],
    });
    expect(rendered).toContain(
      "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {",
    );
    expect(rendered).toContain(
      "@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {",
    );
    expect(rendered).toContain("!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})");
    expect(rendered).toContain("!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})");
  });

  it("with access.drift: restore, may also delete privileged roles' assignments to users and service principals, never create them", () => {
    const restore = parsePolicy({ ...JSON.parse(JSON.stringify(policy)), access: { drift: "restore" } });
    const del = accessDeleteSet(restore);
    const wide = {
      roleDefinitionIds: matrixIds,
      deleteRoleDefinitionIds: [...del.roles],
      deletePrincipalTypes: [...del.principalTypes],
    };
    const parsed = parseAbacCondition(render(bicepStringVar(project, "abacCondition"), wide))!;
    expect(parsed.writeRoles).toEqual(matrixIds);
    expect(parsed.writePrincipalTypes).toEqual(["group"]);
    expect(parsed.deleteRoles).toEqual(
      expect.arrayContaining([ROLE_IDS.owner, ROLE_IDS.userAccessAdministrator]),
    );
    expect(parsed.deleteRoles).toEqual(expect.arrayContaining(matrixIds));
    expect(parsed.deletePrincipalTypes).toEqual(["group", "serviceprincipal", "user"]);
  });

  it("is attached, version 2.0, to the RBAC administrator assignment", () => {
    const block = /resource rbacAdministrator [^\n]*\{([\s\S]*?)\n\}/.exec(project)?.[1] ?? "";
    expect(block).toContain("rbacAdministratorRoleId");
    expect(block).toMatch(/condition: abacCondition/);
    expect(block).toMatch(/conditionVersion: '2\.0'/);
    expect(block).toMatch(/principalType: 'ServicePrincipal'/);
    expect(project).toMatch(/var rbacAdministratorRoleId = 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'/);
  });

  it("refuses a policy whose matrix would let aml-steward hand out access-granting roles", () => {
    for (const [id, name] of [
      [ROLE_IDS.owner, "Owner"],
      [ROLE_IDS.userAccessAdministrator, "User Access Administrator"],
      [ROLE_IDS.rbacAdministrator, "Role Based Access Control Administrator"],
    ]) {
      const bad = structuredClone(policy);
      bad.accessMatrix["reader"]!["dev"]!.push({ id: id!, name: name! });
      // The policy check refuses it, and the generator refuses it again (defence in depth).
      expect(() => parsePolicy(bad)).toThrow(/may not grant roles that manage access/);
      expect(() => accessMatrixRoles(bad)).toThrow(InfraContractError);
    }
  });
});

describe("roles granted by the templates", () => {
  const all = infraFiles().filter((f) => f.endsWith(".bicep"));
  const code = all.map((f) => bicepCode(f)).join("\n");

  it("never include Owner or User Access Administrator", () => {
    const text = infraFiles()
      .map((f) => read(f))
      .join("\n");
    expect(guids(text)).not.toContain(ROLE_IDS.owner);
    expect(guids(text)).not.toContain(ROLE_IDS.userAccessAdministrator);
    expect(code).not.toMatch(/'Owner'|'User Access Administrator'/);
  });

  it("are only the documented ones", () => {
    const allowed = new Set<string>([
      ROLE_IDS.reader,
      ROLE_IDS.tagContributor,
      ROLE_IDS.rbacAdministrator,
      ROLE_IDS.storageBlobDataOwner,
      ROLE_IDS.storageQueueDataContributor,
      ROLE_IDS.storageQueueDataMessageSender,
      ROLE_IDS.storageTableDataContributor,
      ROLE_IDS.storageBlobDataContributor,
      ROLE_IDS.monitoringMetricsPublisher,
    ]);
    expect(guids(code).filter((g) => !allowed.has(g))).toEqual([]);
  });

  it("let requesters and approvers send to the promotion queue only", () => {
    const contract = JSON.parse(read("infra/generated/app-contract.json")) as {
      promotionSenders: { queue: string; groupIds: string[] };
    };
    const groups = [
      ...policy.requests.requesters.map((r) => r.group.id),
      ...policy.fundedCostCenters.map((c) => c.approvers!.id),
    ];
    expect(contract.promotionSenders).toEqual({
      queue: "promotion-requests",
      groupIds: [...new Set(groups)].sort(),
    });
    const app = read("infra/modules/app.bicep");
    expect(app).toMatch(/roleAssignments: name == promotionSenders.queue\s*\?/);
    expect(app).toContain("roles.storageQueueDataMessageSender");
    expect(app).toContain("STEWARD_API_CLIENT_ID: apiClientId");
  });

  it("grant no Contributor: the project subscription gets the generated custom promotion role", () => {
    const text = infraFiles()
      .map((f) => read(f))
      .join("\n");
    expect(guids(text)).not.toContain(ROLE_IDS.contributor);
    const generated = JSON.parse(read("infra/generated/app-roles.json")) as {
      promotionRole: { id: string; roleName: string; actions: string[] };
    };
    expect(generated.promotionRole).toMatchObject({
      id: promotionRoleId(policy),
      roleName: PROMOTION_ROLE_NAME,
      actions: PROMOTION_ROLE_ACTIONS.map((a) => a.action),
    });
    for (const a of generated.promotionRole.actions) {
      expect(a).not.toContain("*");
      expect(a).not.toMatch(/\/delete$|listKeys|^Microsoft\.Authorization\//i);
    }
    expect(bicepCode("infra/main.bicep")).toMatch(
      /var appRoles = loadJsonContent\('generated\/app-roles\.json'\)/,
    );
    const project = bicepCode("infra/modules/project-subscription.bicep");
    expect(project).toMatch(/Microsoft\.Authorization\/roleDefinitions@/);
    expect(project).toMatch(/actions: promotionRole\.actions/);
  });

  it("docs/deploy.md lists every action of the promotion role with its why", () => {
    const doc = read("docs/deploy.md");
    for (const a of PROMOTION_ROLE_ACTIONS) expect(doc).toContain(`| \`${a.action}\` | ${a.why} |`);
  });

  it("give the governed subscriptions Reader and Tag Contributor at subscription scope", () => {
    const governed = bicepCode("infra/modules/governed-subscription.bicep");
    expect(governed).toMatch(/targetScope = 'subscription'/);
    expect(governed).toMatch(/var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'/);
    expect(governed).toMatch(/var tagContributorRoleId = '4a9ae827-6dc8-4573-8ac7-8239d42aa03f'/);
    expect(bicepCode("infra/main.bicep")).toMatch(/for subscriptionId in contract\.governedSubscriptionIds/);
  });

  it("assign every role to the identity as a ServicePrincipal (no principal type guessing)", () => {
    const assignments = code.split("Microsoft.Authorization/roleAssignments@").slice(1);
    expect(assignments.length).toBeGreaterThanOrEqual(5);
    for (const a of assignments) expect(a.slice(0, 800)).toMatch(/principalType: 'ServicePrincipal'/);
  });
});
