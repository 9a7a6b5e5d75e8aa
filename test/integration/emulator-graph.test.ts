/**
 * The emulated Microsoft Graph through the real @microsoft/microsoft-graph-client 3.0.7 with a
 * ClientSecretCredential from the emulated Entra: groups upsert by uniqueName, members/owners
 * by $ref, $filter with OData literal rules, paging, read-after-write delay, GraphError fields.
 */
import { Client, GraphError } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GRAPH_SERVICE_PRINCIPAL_ID } from "@aml-steward/azure-emulator";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";

const TENANT = "6d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a";
const APP = {
  objectId: "a1000000-0000-4000-8000-00000000000a",
  appId: "b1000000-0000-4000-8000-00000000000b",
  clientSecret: "graph-secret",
};
const ALICE = {
  objectId: "e1000000-0000-4000-8000-00000000000e",
  userPrincipalName: "alice@contoso.test",
  displayName: "Alice Analyst",
};
const SIOBHAN = {
  objectId: "e2000000-0000-4000-8000-00000000000e",
  userPrincipalName: "siobhan@contoso.test",
  displayName: "Siobhan O'Brien",
};
const BOB = {
  objectId: "e3000000-0000-4000-8000-00000000000e",
  userPrincipalName: "bob@contoso.test",
  displayName: "Bob Builder",
};

const seed: EmulatorSeed = {
  tenantId: TENANT,
  users: [ALICE, SIOBHAN, BOB],
  servicePrincipals: [{ ...APP, displayName: "aml-steward" }],
};

let emu: EmulatorHandle;
let graph: Client;

async function faults(settings: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${emu.url}/_emulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(settings),
  });
  expect(res.status).toBe(200);
}

async function graphError(p: Promise<unknown>): Promise<GraphError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(GraphError);
  return e as GraphError;
}

const securityGroup = (displayName: string, mailNickname: string, extra: Record<string, unknown> = {}) => ({
  displayName,
  mailEnabled: false,
  mailNickname,
  securityEnabled: true,
  ...extra,
});

beforeAll(async () => {
  // Graph mechanics only; application permissions have their own tests (emulator-graph-permissions.test.ts).
  emu = await startTestEmulator({ seed, enforceRbac: false });
  const cred = emulatorSecretCredential(emu.url, TENANT, APP.appId, APP.clientSecret);
  graph = Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(cred, {
      scopes: ["https://graph.microsoft.com/.default"],
    }),
    baseUrl: emu.url,
    // Host names only (no port): the client compares the URL's host name with this set.
    customHosts: new Set([new URL(emu.url).hostname]),
  });
});
afterAll(async () => {
  await emu?.stop();
});
beforeEach(async () => {
  await faults({ graphReadAfterWriteDelayMs: 0 });
});

describe("groups", () => {
  it("upserts by uniqueName: 201 with the group, then 204", async () => {
    const path = "/groups(uniqueName='aml-fraud-dev-datascientists')";
    const body = securityGroup("AML fraud-detection dev Data Scientists", "aml-fraud-dev-ds", {
      description: "Managed by aml-steward",
      "owners@odata.bind": [`https://graph.microsoft.com/v1.0/servicePrincipals/${APP.objectId}`],
      "members@odata.bind": [`https://graph.microsoft.com/v1.0/directoryObjects/${ALICE.objectId}`],
    });
    const created = (await graph.api(path).header("Prefer", "create-if-missing").patch(body)) as Record<
      string,
      unknown
    >;
    expect(created).toMatchObject({
      "@odata.context": expect.stringContaining("$metadata#groups/$entity"),
      uniqueName: "aml-fraud-dev-datascientists",
      displayName: "AML fraud-detection dev Data Scientists",
      securityEnabled: true,
      mailEnabled: false,
      createdByAppId: APP.appId,
    });
    const again = await graph
      .api(path)
      .header("Prefer", "create-if-missing")
      .patch({ ...body, "owners@odata.bind": undefined, "members@odata.bind": undefined });
    expect(again).toBeUndefined();
    const owners = (await graph.api(`/groups/${created.id as string}/owners`).get()) as {
      value: Array<Record<string, unknown>>;
    };
    expect(owners.value).toEqual([
      expect.objectContaining({ "@odata.type": "#microsoft.graph.servicePrincipal", id: APP.objectId }),
    ]);

    const withoutPrefer = await graphError(
      graph.api("/groups(uniqueName='never-created')").patch(securityGroup("x", "x")),
    );
    expect(withoutPrefer.statusCode).toBe(404);
    expect(withoutPrefer.code).toBe("Request_ResourceNotFound");
  });

  it("validates a create like Graph", async () => {
    const e = await graphError(
      graph.api("/groups").post({ displayName: "No nickname", mailEnabled: false, securityEnabled: true }),
    );
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe("Request_BadRequest");
    expect(e.message).toBe("Invalid value specified for property 'mailNickname' of resource 'Group'.");
    expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.date).toBeInstanceOf(Date);
  });

  it("adds members by $ref: 204, 400 for a duplicate, 404 for an unknown object", async () => {
    const g = (await graph.api("/groups").post(securityGroup("Reviewers", "reviewers"))) as { id: string };
    const ref = { "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${BOB.objectId}` };
    expect(await graph.api(`/groups/${g.id}/members/$ref`).post(ref)).toBeUndefined();
    const dup = await graphError(graph.api(`/groups/${g.id}/members/$ref`).post(ref));
    expect(dup.statusCode).toBe(400);
    expect(dup.code).toBe("Request_BadRequest");
    expect(dup.message).toBe(
      "One or more added object references already exist for the following modified properties: 'members'.",
    );
    const unknown = await graphError(
      graph.api(`/groups/${g.id}/members/$ref`).post({
        "@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/00000000-1111-4222-8333-444444444444",
      }),
    );
    expect(unknown.statusCode).toBe(404);
    expect(unknown.code).toBe("Request_ResourceNotFound");
    await graph
      .api(`/groups/${g.id}/owners/$ref`)
      .post({ "@odata.id": `https://graph.microsoft.com/v1.0/users/${ALICE.objectId}` });
    const members = (await graph.api(`/groups/${g.id}/members`).select("id,displayName").get()) as {
      value: Array<Record<string, unknown>>;
    };
    expect(members.value).toEqual([
      { "@odata.type": "#microsoft.graph.user", id: BOB.objectId, displayName: "Bob Builder" },
    ]);
    await graph.api(`/groups/${g.id}/members/${BOB.objectId}/$ref`).delete();
    expect(((await graph.api(`/groups/${g.id}/members`).get()) as { value: unknown[] }).value).toEqual([]);
  });

  it("hides a new group from reads, $filter and $ref for the read-after-write delay, but not from the uniqueName upsert", async () => {
    await faults({ graphReadAfterWriteDelayMs: 400 });
    const path = "/groups(uniqueName='aml-fraud-qa-readers')";
    const created = (await graph
      .api(path)
      .header("Prefer", "create-if-missing")
      .patch(securityGroup("AML fraud QA Readers", "aml-fraud-qa-readers"))) as { id: string };
    const read = await graphError(graph.api(`/groups/${created.id}`).get());
    expect(read.statusCode).toBe(404);
    const listed = (await graph.api("/groups").filter("displayName eq 'AML fraud QA Readers'").get()) as {
      value: unknown[];
    };
    expect(listed.value).toEqual([]);
    const ref = await graphError(
      graph
        .api(`/groups/${created.id}/members/$ref`)
        .post({ "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${ALICE.objectId}` }),
    );
    expect(ref.statusCode).toBe(404);
    // The idempotent upsert still finds it: 204, no duplicate.
    expect(
      await graph
        .api(path)
        .header("Prefer", "create-if-missing")
        .patch(securityGroup("AML fraud QA Readers", "aml-fraud-qa-readers")),
    ).toBeUndefined();
    await new Promise((r) => setTimeout(r, 450));
    expect(((await graph.api(`/groups/${created.id}`).get()) as { id: string }).id).toBe(created.id);
    expect(
      (
        (await graph.api("/groups").filter("displayName eq 'AML fraud QA Readers'").get()) as {
          value: unknown[];
        }
      ).value,
    ).toHaveLength(1);
  });
});

describe("users, service principals and queries", () => {
  it("finds a name with an apostrophe when the literal is escaped, and refuses it raw", async () => {
    const escaped = "Siobhan O'Brien".replace(/'/g, "''");
    const hit = (await graph.api("/users").filter(`displayName eq '${escaped}'`).get()) as {
      value: Array<{ id: string }>;
    };
    expect(hit.value.map((u) => u.id)).toEqual([SIOBHAN.objectId]);
    const raw = await graphError(graph.api("/users").filter("displayName eq 'Siobhan O'Brien'").get());
    expect(raw.statusCode).toBe(400);
    expect(raw.code).toBe("BadRequest");
    expect(raw.message).toMatch(/^Invalid filter clause/);
  });

  it("keeps an injection attempt inside the literal when escaped, and rejects it when pasted raw", async () => {
    const attack = "x' or startswith(displayName,'";
    const safe = (await graph
      .api("/users")
      .filter(`displayName eq '${attack.replace(/'/g, "''")}'`)
      .get()) as { value: unknown[] };
    expect(safe.value).toEqual([]);
    const pasted = await graphError(graph.api("/users").filter(`displayName eq '${attack}'`).get());
    expect(pasted.statusCode).toBe(400);
    const tautology = await graphError(graph.api("/users").filter("displayName eq 'x' or '1' eq '1'").get());
    expect(tautology.statusCode).toBe(400);
  });

  it("gets users by UPN and service principals by appId", async () => {
    const u = (await graph.api(`/users/${ALICE.userPrincipalName}`).get()) as Record<string, unknown>;
    expect(u).toMatchObject({
      id: ALICE.objectId,
      displayName: ALICE.displayName,
      userPrincipalName: ALICE.userPrincipalName,
    });
    const sps = (await graph.api("/servicePrincipals").filter(`appId eq '${APP.appId}'`).get()) as {
      value: Array<Record<string, unknown>>;
    };
    expect(sps.value).toEqual([
      expect.objectContaining({ id: APP.objectId, appId: APP.appId, displayName: "aml-steward" }),
    ]);
    const byIds = (await graph
      .api("/directoryObjects/getByIds")
      .post({ ids: [ALICE.objectId, APP.objectId], types: ["user"] })) as {
      value: Array<Record<string, unknown>>;
    };
    expect(byIds.value).toEqual([
      expect.objectContaining({ "@odata.type": "#microsoft.graph.user", id: ALICE.objectId }),
    ]);
    const missing = await graphError(graph.api("/users/nobody@contoso.test").get());
    expect(missing.statusCode).toBe(404);
  });

  it("serves fault rules with Graph's error shape, code and message", async () => {
    await faults({
      rules: [
        {
          method: "GET",
          path: "^/v1\\.0/users/",
          status: 403,
          code: "Authorization_RequestDenied",
          message: "Insufficient privileges to complete the operation.",
          count: 1,
        },
      ],
    });
    try {
      const e = await graphError(graph.api(`/users/${ALICE.userPrincipalName}`).get());
      expect(e.statusCode).toBe(403);
      expect(e.code).toBe("Authorization_RequestDenied");
      expect(e.message).toBe("Insufficient privileges to complete the operation.");
      expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
      // The client keeps the body's `error` object as JSON text.
      const error = JSON.parse(e.body as string) as { innerError: Record<string, string> };
      expect(Object.keys(error.innerError).sort()).toEqual(["client-request-id", "date", "request-id"]);
      expect(e.date).toBeInstanceOf(Date);
      // count: 1, so the next read goes through.
      expect(((await graph.api(`/users/${ALICE.userPrincipalName}`).get()) as { id: string }).id).toBe(
        ALICE.objectId,
      );
    } finally {
      await faults({ rules: [] });
    }
  });

  it("pages with $top and @odata.nextLink", async () => {
    for (let i = 0; i < 5; i++) await graph.api("/groups").post(securityGroup(`Paged ${i}`, `paged${i}`));
    const ids: string[] = [];
    let page = (await graph.api("/groups").filter("startswith(displayName,'Paged')").top(2).get()) as {
      value: Array<{ id: string }>;
      "@odata.nextLink"?: string;
    };
    let pages = 1;
    ids.push(...page.value.map((g) => g.id));
    while (page["@odata.nextLink"]) {
      page = (await graph.api(page["@odata.nextLink"]).get()) as typeof page;
      ids.push(...page.value.map((g) => g.id));
      pages++;
    }
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(5);
  });
});

describe("Microsoft Graph's service principal and app role assignments", () => {
  const GRAPH_APP = "00000003-0000-0000-c000-000000000000";
  const GROUP_CREATE = "bf7b1a76-6e77-406b-b258-bf5c7720e98f";
  const USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214";
  const grant = (appRoleId: string, principalId = APP.objectId) =>
    graph
      .api(`/servicePrincipals/${GRAPH_SERVICE_PRINCIPAL_ID}/appRoleAssignedTo`)
      .post({ principalId, resourceId: GRAPH_SERVICE_PRINCIPAL_ID, appRoleId });

  it("is always there, with Microsoft Graph's real app role ids, found by appId with $select", async () => {
    const sp = (await graph
      .api(`/servicePrincipals(appId='${GRAPH_APP}')`)
      .select(["id", "appId", "appRoles"])
      .get()) as {
      id: string;
      appId: string;
      appRoles: Array<Record<string, unknown>>;
      displayName?: string;
    };
    expect(sp.id).toBe(GRAPH_SERVICE_PRINCIPAL_ID);
    expect(sp.appId).toBe(GRAPH_APP);
    expect(sp.displayName).toBeUndefined();
    const byValue = new Map(sp.appRoles.map((r) => [r.value as string, r]));
    expect(byValue.get("Group.Create")).toMatchObject({
      id: GROUP_CREATE,
      displayName: "Create groups",
      allowedMemberTypes: ["Application"],
      isEnabled: true,
    });
    expect(
      Object.fromEntries(
        [
          "Group.ReadWrite.All",
          "User.Read.All",
          "User.ReadBasic.All",
          "Application.Read.All",
          "Directory.ReadWrite.All",
          "GroupMember.ReadWrite.All",
        ].map((v) => [v, byValue.get(v)?.id]),
      ),
    ).toEqual({
      "Group.ReadWrite.All": "62a82d76-70ea-41e2-9197-370581804d09",
      "User.Read.All": USER_READ_ALL,
      "User.ReadBasic.All": "97235f07-e226-4f63-ace3-39588e11d3a1",
      "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
      "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
      "GroupMember.ReadWrite.All": "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    });
    const full = (await graph.api(`/servicePrincipals/${GRAPH_SERVICE_PRINCIPAL_ID}`).get()) as Record<
      string,
      unknown
    >;
    expect(full).toMatchObject({ displayName: "Microsoft Graph", servicePrincipalType: "Application" });
    // It survives a reset, like the built-in roles of ARM.
    emu.reset();
    await faults({ graphReadAfterWriteDelayMs: 0 });
    expect(emu.directory.getServicePrincipalByAppId(GRAPH_APP)?.objectId).toBe(GRAPH_SERVICE_PRINCIPAL_ID);
  });

  it("grants (201), refuses a duplicate (400), lists both ways, puts roles in new Graph tokens and revokes", async () => {
    const created = (await grant(GROUP_CREATE)) as Record<string, unknown>;
    expect(created).toMatchObject({
      "@odata.context": expect.stringContaining(
        `$metadata#servicePrincipals('${GRAPH_SERVICE_PRINCIPAL_ID}')/appRoleAssignedTo/$entity`,
      ),
      appRoleId: GROUP_CREATE,
      principalId: APP.objectId,
      principalType: "ServicePrincipal",
      principalDisplayName: "aml-steward",
      resourceId: GRAPH_SERVICE_PRINCIPAL_ID,
      resourceDisplayName: "Microsoft Graph",
      deletedDateTime: null,
    });
    expect(created.id).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const dup = await graphError(grant(GROUP_CREATE));
    expect({ status: dup.statusCode, code: dup.code, message: dup.message }).toEqual({
      status: 400,
      code: "Request_BadRequest",
      message: "Permission being assigned already exists on the object",
    });
    const unknownPrincipal = await graphError(grant(GROUP_CREATE, "0f000000-0000-4000-8000-0000000000f0"));
    expect([unknownPrincipal.statusCode, unknownPrincipal.code]).toEqual([404, "Request_ResourceNotFound"]);
    const unknownRole = await graphError(grant("0f000000-0000-4000-8000-0000000000f1"));
    expect([unknownRole.statusCode, unknownRole.code]).toEqual([400, "Request_BadRequest"]);
    expect(unknownRole.message).toMatch(/^Permission being assigned was not found on application/);
    // Application permissions are for applications: a user cannot hold one.
    const toUser = await graphError(grant(USER_READ_ALL, ALICE.objectId));
    expect(toUser.statusCode).toBe(400);
    const bad = await graphError(
      graph
        .api(`/servicePrincipals/${GRAPH_SERVICE_PRINCIPAL_ID}/appRoleAssignedTo`)
        .post({ principalId: APP.objectId, appRoleId: GROUP_CREATE }),
    );
    expect([bad.statusCode, bad.code]).toEqual([400, "Request_BadRequest"]);

    const mine = (await graph.api(`/servicePrincipals/${APP.objectId}/appRoleAssignments`).get()) as {
      value: Array<{ id: string; appRoleId: string; resourceId: string }>;
    };
    expect(mine.value).toEqual([
      expect.objectContaining({
        id: created.id,
        appRoleId: GROUP_CREATE,
        resourceId: GRAPH_SERVICE_PRINCIPAL_ID,
      }),
    ]);
    const onGraph = (await graph
      .api(`/servicePrincipals/${GRAPH_SERVICE_PRINCIPAL_ID}/appRoleAssignedTo`)
      .filter(`principalId eq '${APP.objectId}'`)
      .select(["id", "appRoleId"])
      .get()) as { value: Array<Record<string, unknown>> };
    expect(onGraph.value).toEqual([{ id: created.id, appRoleId: GROUP_CREATE }]);

    // A token issued after the grant carries it, as Entra's app-only tokens do.
    const fresh = emulatorSecretCredential(emu.url, TENANT, APP.appId, APP.clientSecret);
    const token = await fresh.getToken("https://graph.microsoft.com/.default");
    const claims = JSON.parse(Buffer.from(token!.token.split(".")[1]!, "base64url").toString("utf8")) as {
      roles?: string[];
    };
    expect(claims.roles).toEqual(["Group.Create"]);

    await graph
      .api(`/servicePrincipals/${GRAPH_SERVICE_PRINCIPAL_ID}/appRoleAssignedTo/${created.id as string}`)
      .delete();
    const gone = await graphError(
      graph
        .api(`/servicePrincipals/${GRAPH_SERVICE_PRINCIPAL_ID}/appRoleAssignedTo/${created.id as string}`)
        .delete(),
    );
    expect([gone.statusCode, gone.code]).toEqual([404, "Request_ResourceNotFound"]);
    const none = (await graph.api(`/servicePrincipals/${APP.objectId}/appRoleAssignments`).get()) as {
      value: unknown[];
    };
    expect(none.value).toEqual([]);
  });
});
