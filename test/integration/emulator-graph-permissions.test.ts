/**
 * The emulated Microsoft Graph authorises app-only calls by the caller's application
 * permissions (app role assignments on Microsoft Graph's service principal), as Graph does:
 * Group.Create creates groups and changes only the groups the app owns; Group.ReadWrite.All
 * changes any group; User.Read.All and Application.Read.All read users and service principals;
 * anything else is 403 Authorization_RequestDenied. Delegated (user) calls are not checked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "@aml-steward/azure-emulator";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { startTestEmulator } from "../helpers/emulator.js";

const CREATOR = "c1000000-0000-4000-8000-000000000001";
const BROAD = "c2000000-0000-4000-8000-000000000002";
const READER = "c3000000-0000-4000-8000-000000000003";
const NONE = "c4000000-0000-4000-8000-000000000004";
const USER = "c5000000-0000-4000-8000-000000000005";
const FOREIGN = "c6000000-0000-4000-8000-000000000006";
const OWNED = "c7000000-0000-4000-8000-000000000007";

const seed: EmulatorSeed = {
  users: [{ objectId: USER, userPrincipalName: "user@contoso.test", displayName: "User" }],
  servicePrincipals: [
    { objectId: CREATOR, displayName: "creator" },
    { objectId: BROAD, displayName: "broad" },
    { objectId: READER, displayName: "reader" },
    { objectId: NONE, displayName: "none" },
  ],
  groups: [
    { id: FOREIGN, displayName: "someone else's" },
    { id: OWNED, displayName: "the creator's", owners: [CREATOR] },
  ],
  graphPermissions: [
    { principalId: CREATOR, permissions: ["Group.Create"] },
    { principalId: BROAD, permissions: ["Group.ReadWrite.All"] },
    { principalId: READER, permissions: ["User.Read.All", "Application.Read.All"] },
  ],
};

let em: EmulatorHandle;

async function graph(
  as: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const t = await fetch(`${em.url}/_emulator/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ objectId: as, scope: "https://graph.microsoft.com/.default" }),
  });
  const { access_token } = (await t.json()) as { access_token: string };
  const res = await fetch(`${em.url}/v1.0${path}`, {
    method,
    headers: {
      authorization: `Bearer ${access_token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const groupBody = (nick: string, owners: string[] = []) => ({
  displayName: nick,
  mailEnabled: false,
  mailNickname: nick,
  securityEnabled: true,
  ...(owners.length
    ? { "owners@odata.bind": owners.map((o) => `https://graph.microsoft.com/v1.0/directoryObjects/${o}`) }
    : {}),
});
const ref = (id: string) => ({ "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });

function expectDenied(r: { status: number; body: Record<string, unknown> }): void {
  expect(r.status).toBe(403);
  expect(r.body.error as { code: string; message: string }).toMatchObject({
    code: "Authorization_RequestDenied",
    message: "Insufficient privileges to complete the operation.",
  });
}

beforeAll(async () => {
  em = await startTestEmulator({ seed });
  // No read-after-write delay: these tests are about permissions.
  await fetch(`${em.url}/_emulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ graphReadAfterWriteDelayMs: 0 }),
  });
});
afterAll(async () => em?.stop());

describe("Graph application permissions", () => {
  it("User.Read.All and Application.Read.All read users and service principals; no permission reads nothing", async () => {
    expect((await graph(READER, "GET", `/users/${USER}`)).status).toBe(200);
    expect((await graph(READER, "GET", `/servicePrincipals/${CREATOR}`)).status).toBe(200);
    expect((await graph(READER, "GET", `/directoryObjects/${USER}`)).status).toBe(200);
    expectDenied(await graph(NONE, "GET", `/users/${USER}`));
    expectDenied(await graph(NONE, "GET", `/servicePrincipals/${CREATOR}`));
    expectDenied(await graph(CREATOR, "GET", `/users/${USER}`));
    expectDenied(await graph(READER, "POST", "/groups", groupBody("nope")));
  });

  it("Group.Create creates groups and manages the ones it owns", async () => {
    const created = await graph(
      CREATOR,
      "PATCH",
      "/groups(uniqueName='perm-owned')",
      groupBody("perm-owned", [CREATOR]),
      { prefer: "create-if-missing" },
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await graph(CREATOR, "GET", `/groups/${id}`)).status).toBe(200);
    expect((await graph(CREATOR, "PATCH", `/groups/${id}`, { description: "mine" })).status).toBe(204);
    expect((await graph(CREATOR, "POST", `/groups/${id}/members/$ref`, ref(USER))).status).toBe(204);
    expect((await graph(CREATOR, "GET", `/groups/${id}/members`)).status).toBe(200);
    expect((await graph(CREATOR, "POST", `/groups/${OWNED}/members/$ref`, ref(USER))).status).toBe(204);
    // Upserting its own group again is an update of a group it owns.
    expect(
      (await graph(CREATOR, "PATCH", "/groups(uniqueName='perm-owned')", { description: "again" })).status,
    ).toBe(204);
  });

  it("Group.Create cannot read, change or list groups it does not own", async () => {
    expectDenied(await graph(CREATOR, "GET", `/groups/${FOREIGN}`));
    expectDenied(await graph(CREATOR, "PATCH", `/groups/${FOREIGN}`, { description: "x" }));
    expectDenied(await graph(CREATOR, "POST", `/groups/${FOREIGN}/members/$ref`, ref(USER)));
    expectDenied(await graph(CREATOR, "DELETE", `/groups/${FOREIGN}`));
    expectDenied(await graph(CREATOR, "GET", "/groups"));
  });

  it("a group created without binding the app as owner is out of its reach afterwards", async () => {
    const created = await graph(CREATOR, "POST", "/groups", groupBody("perm-orphan"));
    expect(created.status).toBe(201);
    expectDenied(await graph(CREATOR, "PATCH", `/groups/${created.body.id as string}`, { description: "x" }));
  });

  it("Group.ReadWrite.All changes any group", async () => {
    expect((await graph(BROAD, "PATCH", `/groups/${FOREIGN}`, { description: "x" })).status).toBe(204);
    expect((await graph(BROAD, "GET", "/groups")).status).toBe(200);
  });

  it("does not check delegated (user) calls", async () => {
    expect((await graph(USER, "GET", `/groups/${FOREIGN}`)).status).toBe(200);
  });
});
