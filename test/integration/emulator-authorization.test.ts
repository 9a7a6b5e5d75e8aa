/**
 * The emulator authorises every ARM request as Azure Resource Manager does, against the role
 * assignments in its state: allowed, denied (403 AuthorizationFailed in Azure's words),
 * inherited from subscription to group to resource, through nested group membership, custom
 * roles created with PUT roleDefinitions, and the RBAC Administrator's ABAC condition on
 * role-assignment writes and deletes. Requests go over HTTPS with tokens the emulator issued.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { abacCondition, ROLE_IDS } from "../../shared/setup/contract.js";
import { startTestEmulator } from "../helpers/emulator.js";

const SUB = "c0c0c0c0-0000-4000-8000-000000000001";
const RG = `/subscriptions/${SUB}/resourceGroups/rg-a`;
const STORAGE = `${RG}/providers/Microsoft.Storage/storageAccounts/sta01`;
const OWNER = "0e000000-0000-4000-8000-000000000001";
const ALICE = "a0000000-0000-4000-8000-000000000002";
const BOB = "b0000000-0000-4000-8000-000000000003";
const CAROL = "c0000000-0000-4000-8000-000000000004";
const APP = "d0000000-0000-4000-8000-000000000005";
const OUTER = "9a000000-0000-4000-8000-000000000006";
const INNER = "9b000000-0000-4000-8000-000000000007";
const TEAM = "9c000000-0000-4000-8000-000000000008";
const CUSTOM_ROLE = "7c000000-0000-4000-8000-000000000009";

const seed: EmulatorSeed = {
  subscriptions: [{ subscriptionId: SUB, displayName: "Authorisation" }],
  resourceGroups: [{ subscriptionId: SUB, name: "rg-a", location: "westeurope" }],
  resources: [{ id: STORAGE, location: "westeurope", kind: "StorageV2" }],
  users: [
    { objectId: OWNER, userPrincipalName: "owner@contoso.test", displayName: "Owner" },
    { objectId: ALICE, userPrincipalName: "alice@contoso.test", displayName: "Alice" },
    { objectId: BOB, userPrincipalName: "bob@contoso.test", displayName: "Bob" },
    { objectId: CAROL, userPrincipalName: "carol@contoso.test", displayName: "Carol" },
  ],
  servicePrincipals: [{ objectId: APP, displayName: "app" }],
  // Bob is in INNER, INNER is in OUTER: OUTER's role reaches Bob.
  groups: [
    { id: OUTER, displayName: "outer", members: [INNER] },
    { id: INNER, displayName: "inner", members: [BOB] },
    { id: TEAM, displayName: "team" },
  ],
  roleAssignments: [
    { scope: `/subscriptions/${SUB}`, roleDefinitionId: ROLE_IDS.owner, principalId: OWNER },
    { scope: RG, roleDefinitionId: ROLE_IDS.contributor, principalId: ALICE },
    {
      scope: `/subscriptions/${SUB}`,
      roleDefinitionId: ROLE_IDS.reader,
      principalId: OUTER,
      principalType: "Group",
    },
    {
      scope: `/subscriptions/${SUB}`,
      roleDefinitionId: ROLE_IDS.rbacAdministrator,
      principalId: APP,
      principalType: "ServicePrincipal",
      condition: abacCondition([ROLE_IDS.reader]),
    },
  ],
};

let em: EmulatorHandle;
const tokens = new Map<string, string>();

async function token(objectId: string): Promise<string> {
  const hit = tokens.get(objectId);
  if (hit) return hit;
  const res = await fetch(`${em.url}/_emulator/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ objectId, scope: "https://management.azure.com/.default" }),
  });
  const t = ((await res.json()) as { access_token: string }).access_token;
  tokens.set(objectId, t);
  return t;
}

async function arm(
  as: string,
  method: string,
  path: string,
  body?: unknown,
  apiVersion = "2025-04-01",
): Promise<{
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}> {
  const res = await fetch(`${em.url}${path}?api-version=${apiVersion}`, {
    method,
    headers: {
      authorization: `Bearer ${await token(as)}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

const denial = (oid: string, action: string, scope: string, abac = false) =>
  `The client '${oid}' with object id '${oid}' does not have authorization${abac ? " or an ABAC condition not fulfilled" : ""} to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`;

const assignment = (roleId: string, principalId: string, principalType: string) => ({
  properties: {
    roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`,
    principalId,
    principalType,
  },
});
const raPath = (scope: string, name: string) =>
  `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;

beforeAll(async () => {
  em = await startTestEmulator({ seed });
});
afterAll(async () => em?.stop());

describe("ARM authorisation", () => {
  it("allows an action the caller's role grants at the scope (Contributor on the group writes in it)", async () => {
    const r = await arm(
      ALICE,
      "PUT",
      `${RG}/providers/Microsoft.Storage/storageAccounts/sta02`,
      {
        location: "westeurope",
        kind: "StorageV2",
        sku: { name: "Standard_LRS" },
      },
      "2023-01-01",
    );
    expect([200, 201, 202]).toContain(r.status);
  });

  it("denies outside the assignment's scope with 403 AuthorizationFailed in Azure's words", async () => {
    const scope = `/subscriptions/${SUB}/resourceGroups/rg-b`;
    const r = await arm(ALICE, "PUT", scope, { location: "westeurope" });
    expect(r.status).toBe(403);
    expect(r.body.error).toEqual({
      code: "AuthorizationFailed",
      message: denial(ALICE, "Microsoft.Resources/subscriptions/resourceGroups/write", scope),
    });
    // Authorisation comes before existence, as in Azure: no hint whether rg-b exists.
    expect((await arm(ALICE, "GET", scope)).status).toBe(403);
  });

  it("inherits from subscription to group to resource", async () => {
    expect((await arm(ALICE, "GET", STORAGE, undefined, "2023-01-01")).status).toBe(200);
    expect((await arm(OWNER, "GET", STORAGE, undefined, "2023-01-01")).status).toBe(200);
    expect(
      (
        await arm(
          OWNER,
          "DELETE",
          `${RG}/providers/Microsoft.Storage/storageAccounts/sta02`,
          undefined,
          "2023-01-01",
        )
      ).status,
    ).toBeLessThan(300);
  });

  it("follows nested group membership, and a group's Reader still cannot write", async () => {
    expect((await arm(BOB, "GET", RG)).status).toBe(200);
    expect((await arm(BOB, "GET", `/subscriptions/${SUB}/resources`)).status).toBe(200);
    const r = await arm(BOB, "PATCH", `${STORAGE}/providers/Microsoft.Resources/tags/default`, {
      operation: "Merge",
      properties: { tags: { a: "b" } },
    });
    expect(r.status).toBe(403);
    expect(r.body.error!.message).toBe(denial(BOB, "Microsoft.Resources/tags/write", STORAGE));
  });

  it("maps POST actions: listKeys is an action that Reader lacks and Contributor has", async () => {
    const r = await arm(BOB, "POST", `${STORAGE}/listKeys`, undefined, "2023-01-01");
    expect(r.status).toBe(403);
    expect(r.body.error!.message).toBe(
      denial(BOB, "Microsoft.Storage/storageAccounts/listKeys/action", STORAGE),
    );
    // Alice may; the emulator does not serve listKeys, so she gets its 404, not a 403.
    expect((await arm(ALICE, "POST", `${STORAGE}/listKeys`, undefined, "2023-01-01")).status).toBe(404);
  });

  it("denies a principal with no assignment at all, even to read", async () => {
    const r = await arm(CAROL, "GET", `/subscriptions/${SUB}`, undefined, "2022-12-01");
    expect(r.status).toBe(403);
    expect(r.body.error!.message).toBe(
      denial(CAROL, "Microsoft.Resources/subscriptions/read", `/subscriptions/${SUB}`),
    );
  });

  it("evaluates custom roles created with PUT roleDefinitions, actions and notActions", async () => {
    const def = await arm(
      OWNER,
      "PUT",
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${CUSTOM_ROLE}`,
      {
        properties: {
          roleName: "storage reader, not keys",
          type: "CustomRole",
          permissions: [
            {
              actions: [
                "Microsoft.Storage/storageAccounts/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
              ],
              notActions: [
                "Microsoft.Storage/storageAccounts/listKeys/action",
                "Microsoft.Storage/storageAccounts/write",
              ],
            },
          ],
          assignableScopes: [`/subscriptions/${SUB}`],
        },
      },
      "2022-04-01",
    );
    expect(def.status).toBe(201);
    expect(
      (
        await arm(
          OWNER,
          "PUT",
          raPath(RG, "7c000000-0000-4000-8000-0000000000aa"),
          assignment(CUSTOM_ROLE, CAROL, "User"),
          "2022-04-01",
        )
      ).status,
    ).toBe(201);
    expect((await arm(CAROL, "GET", STORAGE, undefined, "2023-01-01")).status).toBe(200);
    expect((await arm(CAROL, "POST", `${STORAGE}/listKeys`, undefined, "2023-01-01")).status).toBe(403);
    expect((await arm(CAROL, "PATCH", STORAGE, { tags: {} }, "2023-01-01")).status).toBe(403);
    // The assignment is at the group: the subscription stays out of reach.
    expect((await arm(CAROL, "GET", `/subscriptions/${SUB}/resourcegroups`)).status).toBe(403);
  });

  it("holds the RBAC Administrator to its ABAC condition: listed roles, groups only, on write and delete", async () => {
    const ok = raPath(RG, "ab000000-0000-4000-8000-000000000001");
    expect((await arm(APP, "PUT", ok, assignment(ROLE_IDS.reader, TEAM, "Group"), "2022-04-01")).status).toBe(
      201,
    );

    const otherRole = await arm(
      APP,
      "PUT",
      raPath(RG, "ab000000-0000-4000-8000-000000000002"),
      assignment(ROLE_IDS.contributor, TEAM, "Group"),
      "2022-04-01",
    );
    expect(otherRole.status).toBe(403);
    expect(otherRole.body.error).toEqual({
      code: "AuthorizationFailed",
      message: denial(APP, "Microsoft.Authorization/roleAssignments/write", RG, true),
    });
    const toUser = await arm(
      APP,
      "PUT",
      raPath(RG, "ab000000-0000-4000-8000-000000000003"),
      assignment(ROLE_IDS.reader, ALICE, "User"),
      "2022-04-01",
    );
    expect(toUser.status).toBe(403);
    // Without principalType the condition sees the principal's actual type.
    const untyped = await arm(
      APP,
      "PUT",
      raPath(RG, "ab000000-0000-4000-8000-000000000004"),
      {
        properties: {
          roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.reader}`,
          principalId: ALICE,
        },
      },
      "2022-04-01",
    );
    expect(untyped.status).toBe(403);

    // Delete reads the existing assignment (@Resource): Alice's Contributor is out of reach.
    const alices = [...em.state.assignmentsInBucket(SUB.toLowerCase()).values()].find(
      (a) => a.principalId === ALICE && a.roleDefinitionGuid === ROLE_IDS.contributor,
    )!;
    const del = await arm(APP, "DELETE", raPath(RG, alices.name), undefined, "2022-04-01");
    expect(del.status).toBe(403);
    expect(del.body.error!.message).toBe(
      denial(APP, "Microsoft.Authorization/roleAssignments/delete", RG, true),
    );
    expect((await arm(APP, "DELETE", ok, undefined, "2022-04-01")).status).toBe(200);
    // The condition does not touch reads.
    expect(
      (
        await arm(
          APP,
          "GET",
          `${RG}/providers/Microsoft.Authorization/roleAssignments`,
          undefined,
          "2022-04-01",
        )
      ).status,
    ).toBe(200);
  });

  it("the request log names what was denied", async () => {
    await arm(CAROL, "DELETE", RG);
    const log = (await (await fetch(`${em.url}/_emulator/requests`)).json()) as {
      requests: Array<{ method: string; path: string; status: number; denied?: string }>;
    };
    const hit = log.requests.filter((r) => r.status === 403 && r.method === "DELETE" && r.path === RG).at(-1);
    expect(hit?.denied).toMatch(
      /^AuthorizationFailed: .*'Microsoft\.Resources\/subscriptions\/resourceGroups\/delete'/,
    );
  });
});

describe("enforcement can be switched off per emulator start", () => {
  it("enforceRbac: false lets any authenticated principal through", async () => {
    const open = await startTestEmulator({ seed: { ...seed, roleAssignments: [] }, enforceRbac: false });
    try {
      const t = await fetch(`${open.url}/_emulator/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ objectId: CAROL, scope: "https://management.azure.com/.default" }),
      });
      const { access_token } = (await t.json()) as { access_token: string };
      const res = await fetch(`${open.url}${RG}?api-version=2025-04-01`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});
