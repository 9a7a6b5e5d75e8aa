/**
 * `steward setup` against the emulator (real ARM, ML, authorization and Graph SDKs over HTTPS)
 * and Azurite: --check changes nothing, apply creates what is missing, a second apply changes
 * nothing (asserted with the emulator's request log), and the checks recognise the roles and
 * Event Grid wiring that infra/ deploys. The Microsoft Graph application permissions go through
 * the emulated Graph's app role assignments on Microsoft Graph's service principal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE, STEWARD_APP } from "../../local/seeds/contoso.js";
import { roleAssignmentName } from "../../shared/ids.js";
import { getPolicy } from "../../shared/policy/index.js";
import { GRAPH_SERVICE_PRINCIPAL_ID } from "@aml-steward/azure-emulator";
import {
  appRoleSet,
  formatSetupReport,
  GRAPH_PERMISSIONS,
  INFRA_NAMES,
  PROMOTION_ROLE_NAME,
  ROLE_IDS,
  runSetup,
  SETUP_CREATED_BY,
  type SetupItem,
  type SetupReport,
} from "../../shared/setup/index.js";
import {
  assignStewardRole,
  deployLikeAzd,
  installerClients,
  startSetupStack,
  writesSince as writes,
} from "../helpers/setup.js";
import type { TestStack } from "../helpers/stack.js";

const policy = getPolicy();
const ex = policy.exploration;

let stack: TestStack;

const writesSince = (since: string) => writes(stack, since);

function item(r: SetupReport, area: SetupItem["area"], name: string | RegExp): SetupItem {
  const found = r.items.find(
    (i) => i.area === area && (typeof name === "string" ? i.name === name : name.test(i.name)),
  );
  if (!found) throw new Error(`no ${area} item ${String(name)} in:\n${formatSetupReport(r)}`);
  return found;
}

/** Setup's clock: the first apply "today", every later run a day after. */
const FIRST_DAY = new Date("2025-03-04T10:00:00Z");
let clock = FIRST_DAY;
// As the installer (Erin), not as the app: the emulator enforces RBAC.
const run = (check: boolean) =>
  runSetup({ check, pollIntervalMs: 20, now: () => clock, clients: installerClients(stack) });

beforeAll(async () => {
  // The Contoso estate without its exploration resource group: setup has to create it.
  stack = await startSetupStack(policy);
});

afterAll(async () => {
  await stack?.stop();
});

describe("steward setup against the emulator", () => {
  let checkReport: SetupReport;

  it("--check reports what is missing and writes nothing", async () => {
    const since = new Date().toISOString();
    checkReport = await run(true);
    expect(checkReport.mode).toBe("check");
    expect(checkReport.changes).toBe(0);
    expect(checkReport.ok).toBe(false);
    expect(item(checkReport, "identity", `service principal ${STEWARD_APP.objectId}`).status).toBe("ok");
    for (const s of policy.governedSubscriptions) {
      expect(item(checkReport, "subscriptions", new RegExp(`^${s.id} `)).status).toBe("ok");
      expect(item(checkReport, "roles", `Reader on /subscriptions/${s.id}`).status).toBe("missing");
      expect(item(checkReport, "events", new RegExp(`^system topic in ${s.id}`)).status).toBe("missing");
    }
    expect(item(checkReport, "exploration", `resource group ${ex.resourceGroup}`).status).toBe("missing");
    expect(item(checkReport, "exploration", `workspace ${ex.workspace}`).status).toBe("missing");
    for (const p of GRAPH_PERMISSIONS) {
      const i = item(checkReport, "graph", p.value);
      expect(i.status).toBe("missing");
      expect(i.fix).toMatch(/Entra administrator/);
    }
    expect(await writesSince(since)).toEqual([]);

    const text = formatSetupReport(checkReport);
    expect(text).toContain("MISSING");
    expect(text).toContain("fix: ");
    expect(text).toMatch(/Nothing was changed\.$/);
  });

  it("apply creates the exploration resource group, workspace, its dependencies and the identity's role there", async () => {
    const since = new Date().toISOString();
    const r = await run(false);
    expect(r.mode).toBe("apply");
    expect(item(r, "exploration", `resource group ${ex.resourceGroup}`).status).toBe("created");
    expect(item(r, "exploration", `workspace ${ex.workspace}`).status).toBe("created");
    for (const kind of ["storageAccount", "keyVault", "logAnalytics", "applicationInsights"]) {
      expect(item(r, "exploration", new RegExp(`^${kind} `)).status).toBe("created");
    }
    expect(item(r, "exploration", `AzureML Data Scientist on workspace ${ex.workspace}`).status).toBe(
      "created",
    );
    for (const p of GRAPH_PERMISSIONS) expect(item(r, "graph", p.value).status).toBe("created");
    expect(r.changes).toBeGreaterThanOrEqual(7 + GRAPH_PERMISSIONS.length);
    const writes = await writesSince(since);
    expect(writes.length).toBeGreaterThanOrEqual(7 + GRAPH_PERMISSIONS.length);
    expect(
      writes
        .filter(
          (w) =>
            w.kind === "graph" &&
            w.method === "POST" &&
            w.path === `/v1.0/servicePrincipals/${GRAPH_SERVICE_PRINCIPAL_ID}/appRoleAssignedTo`,
        )
        .map((w) => w.status),
    ).toEqual(GRAPH_PERMISSIONS.map(() => 201));

    // The identity now holds exactly the Graph permissions of the contract, on Microsoft Graph.
    const granted = stack.emulator.directory.listAppRoleAssignments({ principalId: STEWARD_APP.objectId });
    expect(granted.map((a) => a.appRoleId).sort()).toEqual(GRAPH_PERMISSIONS.map((p) => p.id).sort());
    for (const a of granted) {
      expect(a).toMatchObject({ resourceId: GRAPH_SERVICE_PRINCIPAL_ID, principalType: "ServicePrincipal" });
    }

    // What it made is really there, tagged for cost, and with who made it and when.
    const created = { [policy.tags.createdBy]: SETUP_CREATED_BY, [policy.tags.createdOn]: "2025-03-04" };
    expect(SETUP_CREATED_BY).toBe("aml-steward setup");
    const ws = await stack
      .mlAs(PEOPLE.erin.objectId, ex.subscriptionId)
      .workspaces.get(ex.resourceGroup, ex.workspace);
    expect(ws.tags?.[policy.tags.costCenter]).toBe(ex.costCenter);
    expect(ws.tags).toMatchObject(created);
    expect(ws.storageAccount).toMatch(/Microsoft\.Storage\/storageAccounts\//);
    const arm = stack.armAs(PEOPLE.erin.objectId, ex.subscriptionId);
    const rg = await arm.resourceGroups.get(ex.resourceGroup);
    expect(rg.tags?.[policy.tags.costCenter]).toBe(ex.costCenter);
    expect(rg.tags).toMatchObject(created);
    const deps: string[] = [];
    for await (const r of arm.resources.listByResourceGroup(ex.resourceGroup)) {
      expect(r.tags, r.name).toMatchObject(created);
      deps.push(r.type!.toLowerCase());
    }
    expect(deps).toHaveLength(5);
    const scope = ws.id!;
    const ra = await stack
      .authorizationAs(PEOPLE.erin.objectId, ex.subscriptionId)
      .roleAssignments.get(
        scope,
        roleAssignmentName(scope, STEWARD_APP.objectId, ROLE_IDS.azureMlDataScientist),
      );
    expect(ra.principalType).toBe("ServicePrincipal");

    // Storage the app needs is in place (Azurite).
    for (const i of r.items.filter((x) => x.area === "storage"))
      expect(["ok", "created"]).toContain(i.status);
  });

  it("a second apply changes nothing: no ARM or Graph write reaches the emulator", async () => {
    const since = new Date().toISOString();
    // A day later: createdOn stays the day of creation.
    clock = new Date(FIRST_DAY.getTime() + 24 * 3600_000);
    const r = await run(false);
    expect(r.changes).toBe(0);
    expect(r.items.filter((i) => i.status === "created")).toEqual([]);
    expect(item(r, "exploration", `workspace ${ex.workspace}`).status).toBe("ok");
    for (const i of r.items.filter((x) => x.area === "storage")) expect(i.status).toBe("ok");
    for (const p of GRAPH_PERMISSIONS) expect(item(r, "graph", p.value).status).toBe("ok");
    expect(await writesSince(since)).toEqual([]);
    const rg = await stack
      .armAs(PEOPLE.erin.objectId, ex.subscriptionId)
      .resourceGroups.get(ex.resourceGroup);
    expect(rg.tags).toMatchObject({
      [policy.tags.createdBy]: SETUP_CREATED_BY,
      [policy.tags.createdOn]: "2025-03-04",
    });
  });

  it("reports exactly the contract's Graph permissions, and a broad one as wrong", async () => {
    const names = (r: SetupReport) =>
      r.items
        .filter((i) => i.area === "graph")
        .map((i) => i.name)
        .sort();
    expect(names(checkReport)).toEqual(GRAPH_PERMISSIONS.map((p) => p.value).sort());
    expect(names(checkReport)).toEqual([
      "Application.Read.All",
      "Group.Create",
      "GroupMember.Read.All",
      "User.Read.All",
    ]);
    // Someone granted Directory.ReadWrite.All as well: --check flags it, and names the assignment.
    const broad = stack.emulator.directory.addAppRoleAssignment({
      principalId: STEWARD_APP.objectId,
      principalType: "ServicePrincipal",
      principalDisplayName: "aml-steward",
      resourceId: GRAPH_SERVICE_PRINCIPAL_ID,
      resourceDisplayName: "Microsoft Graph",
      appRoleId: "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    });
    if (broad === "exists") throw new Error("Directory.ReadWrite.All was already granted");
    try {
      const r = await run(true);
      const wrong = item(r, "graph", "Directory.ReadWrite.All");
      expect(wrong.status).toBe("wrong");
      expect(wrong.fix).toContain(broad.id);
      expect(r.ok).toBe(false);
      for (const p of GRAPH_PERMISSIONS) expect(item(r, "graph", p.value).status).toBe("ok");
    } finally {
      stack.emulator.directory.removeAppRoleAssignment(broad.id);
    }
  });
});

describe("steward setup recognises what infra/ deploys", () => {
  beforeAll(async () => {
    await deployLikeAzd(stack, policy);
  });

  it("--check finds the roles (RBAC administrator with the access-matrix condition) and the event subscriptions", async () => {
    const since = new Date().toISOString();
    const r = await run(true);
    for (const s of policy.governedSubscriptions) {
      expect(item(r, "roles", `Reader on /subscriptions/${s.id}`).status).toBe("ok");
      expect(item(r, "roles", `Tag Contributor on /subscriptions/${s.id}`).status).toBe("ok");
      expect(
        item(r, "events", new RegExp(`^system topic ${INFRA_NAMES.systemTopic} in ${s.id}`)).status,
      ).toBe("ok");
      expect(item(r, "events", `event subscription ${INFRA_NAMES.eventSubscription} in ${s.id}`).status).toBe(
        "ok",
      );
    }
    const project = `/subscriptions/${policy.projectSubscriptionId}`;
    expect(item(r, "roles", `${PROMOTION_ROLE_NAME} on ${project}`).status).toBe("ok");
    expect(item(r, "roles", `role definition ${PROMOTION_ROLE_NAME}`).status).toBe("ok");
    expect(item(r, "roles", `Role Based Access Control Administrator on ${project}`).status).toBe("ok");
    const problems = r.items.filter((i) => ["missing", "wrong", "error"].includes(i.status));
    expect(problems, formatSetupReport(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(await writesSince(since)).toEqual([]);
  });

  it("finds Owner or User Access Administrator below the subscription and through a group", async () => {
    const sub = ex.subscriptionId;
    const rgScope = `/subscriptions/${sub}/resourceGroups/${ex.resourceGroup}`;
    const group = "6a000000-0000-4000-8000-0000000000a6";
    const outer = "6b000000-0000-4000-8000-0000000000b6";
    // The identity is in a group that is in another group; the outer group holds UAA.
    await stack.control("POST", "/_emulator/seed", {
      groups: [
        { id: group, displayName: "platform automation", members: [STEWARD_APP.objectId] },
        { id: outer, displayName: "platform admins", members: [group] },
      ],
    });
    const erin = stack.authorizationAs(PEOPLE.erin.objectId, sub);
    const grant = (
      scope: string,
      principalId: string,
      role: string,
      principalType: "Group" | "ServicePrincipal",
    ) =>
      erin.roleAssignments.create(scope, roleAssignmentName(scope, principalId, role), {
        roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
        principalId,
        principalType,
      });
    await grant(rgScope, STEWARD_APP.objectId, ROLE_IDS.owner, "ServicePrincipal");
    await grant(rgScope, outer, ROLE_IDS.userAccessAdministrator, "Group");
    const r = await run(true);
    expect(item(r, "roles", `Owner on ${rgScope}`).status).toBe("wrong");
    expect(item(r, "roles", `User Access Administrator on ${rgScope} through group ${outer}`).status).toBe(
      "wrong",
    );
    expect(r.ok).toBe(false);
    await erin.roleAssignments.delete(
      rgScope,
      roleAssignmentName(rgScope, STEWARD_APP.objectId, ROLE_IDS.owner),
    );
    await erin.roleAssignments.delete(
      rgScope,
      roleAssignmentName(rgScope, outer, ROLE_IDS.userAccessAdministrator),
    );
    expect((await run(true)).ok).toBe(true);
  });

  it("flags an ABAC condition widened with OR, though it holds every expected role and type", async () => {
    const project = policy.projectSubscriptionId;
    const scope = `/subscriptions/${project}`;
    const name = roleAssignmentName(scope, STEWARD_APP.objectId, ROLE_IDS.rbacAdministrator);
    const erin = stack.authorizationAs(PEOPLE.erin.objectId, project);
    const expected = appRoleSet(policy).grants.find(
      (g) => g.roleId === ROLE_IDS.rbacAdministrator,
    )!.condition!;
    const put = (condition: string) =>
      erin.roleAssignments.create(scope, name, {
        roleDefinitionId: `${scope}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.rbacAdministrator}`,
        principalId: STEWARD_APP.objectId,
        principalType: "ServicePrincipal",
        condition,
        conditionVersion: "2.0",
      });
    await erin.roleAssignments.delete(scope, name);
    await put(
      `(${expected}) OR (@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringEqualsIgnoreCase 'User')`,
    );
    const r = await run(true);
    expect(item(r, "roles", `Role Based Access Control Administrator on ${scope}`)).toMatchObject({
      status: "wrong",
      detail: expect.stringMatching(/not exactly the access-matrix condition/),
    });
    await erin.roleAssignments.delete(scope, name);
    await put(expected);
    expect((await run(true)).ok).toBe(true);
  });

  it("flags a role broader than needed", async () => {
    const sub = policy.governedSubscriptions[0]!.id;
    await assignStewardRole(stack, sub, ROLE_IDS.owner);
    const r = await run(true);
    expect(item(r, "roles", `Owner on /subscriptions/${sub}`).status).toBe("wrong");
    expect(r.ok).toBe(false);
    const scope = `/subscriptions/${sub}`;
    await stack
      .authorizationAs(PEOPLE.erin.objectId, sub)
      .roleAssignments.delete(scope, roleAssignmentName(scope, STEWARD_APP.objectId, ROLE_IDS.owner));
  });
});
