/**
 * The emulator's `/groups/delta`: a first round pages through every group with its members and
 * ends with a deltaLink; following it returns only what changed, members added and removed
 * (`@removed`), deleted groups; an expired token answers 410; the permission it needs.
 */
import { describe, expect, it } from "vitest";
import { Directory } from "../../emulator/directory.js";
import { GRAPH_SERVICE_PRINCIPAL_ID } from "../../emulator/graph/appRoles.js";
import { graphRouter } from "../../emulator/graph/router.js";
import type { EmuRequest, EmuResponse, FaultSettings } from "../../emulator/types.js";

const TENANT = "11111111-1111-4111-8111-111111111111";
const APP = "22222222-2222-4222-8222-222222222222";
const ALICE = "44444444-4444-4444-8444-444444444444";
const BOB = "55555555-5555-4555-8555-555555555555";
const BASE = "https://127.0.0.1:9999";

function world(permissions: string[] = ["GroupMember.Read.All"]) {
  const dir = new Directory({ tenantId: TENANT });
  dir.seed({
    users: [
      { objectId: ALICE, userPrincipalName: "alice@contoso.test", displayName: "Alice" },
      { objectId: BOB, userPrincipalName: "bob@contoso.test", displayName: "Bob" },
    ],
    servicePrincipals: [{ objectId: APP, appId: "33333333-3333-4333-8333-333333333333", displayName: "app" }],
    groups: Array.from({ length: 5 }, (_, i) => ({
      id: `9e0a0000-0000-4000-8000-00000000000${i}`,
      displayName: `g${i}`,
      members: [ALICE],
    })),
  });
  const graphSp = dir.getPrincipal(GRAPH_SERVICE_PRINCIPAL_ID)!;
  for (const value of permissions)
    dir.addAppRoleAssignment({
      principalId: APP,
      principalType: "ServicePrincipal",
      principalDisplayName: "app",
      resourceId: graphSp.objectId,
      resourceDisplayName: graphSp.displayName,
      appRoleId: graphSp.appRoles!.find((r) => r.value === value)!.id,
    });
  const faults: FaultSettings = {
    rules: [],
    latencyMs: 0,
    lroDurationMs: 0,
    graphReadAfterWriteDelayMs: 0,
    replicationDelayMs: 0,
  };
  const graph = graphRouter(dir, () => faults, { enforcePermissions: true });
  const token = dir.issueToken(dir.getPrincipal(APP)!, "https://graph.microsoft.com").accessToken;
  async function get(url: string, pageSize?: number): Promise<EmuResponse> {
    const u = new URL(url, BASE);
    const req: EmuRequest = {
      method: "GET",
      path: u.pathname,
      query: u.searchParams,
      headers: {
        authorization: `Bearer ${token}`,
        ...(pageSize ? { prefer: `odata.maxpagesize=${pageSize}` } : {}),
      },
      rawBody: "",
      body: undefined,
      baseUrl: BASE,
    };
    return (await graph(req))!;
  }
  return { dir, get };
}

type Page = {
  value: Array<{
    id: string;
    "members@delta"?: Array<{ id: string; "@removed"?: unknown }>;
    "@removed"?: unknown;
  }>;
  "@odata.nextLink"?: string;
  "@odata.deltaLink"?: string;
};

async function round(get: (url: string, n?: number) => Promise<EmuResponse>, url: string, pageSize = 2) {
  const items: Page["value"] = [];
  let pages = 0;
  for (;;) {
    const r = await get(url, pageSize);
    expect(r.status).toBe(200);
    const page = r.body as Page;
    pages++;
    items.push(...page.value);
    if (page["@odata.nextLink"]) url = page["@odata.nextLink"];
    else return { items, pages, deltaLink: page["@odata.deltaLink"]! };
  }
}

describe("emulated Graph /groups/delta", () => {
  it("pages a first round over every group with its members, then returns only the changes", async () => {
    const { dir, get } = world();
    const first = await round(get, "/v1.0/groups/delta?$select=displayName,members");
    expect(first.items).toHaveLength(5);
    expect(first.pages).toBe(3);
    expect(first.items[0]!["members@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.user", id: ALICE }]);
    expect(first.deltaLink).toMatch(
      /^https:\/\/127\.0\.0\.1:9999\/v1\.0\/groups\/delta\?\$select=displayName,members&\$deltatoken=/,
    );

    // Nothing changed: one page, empty.
    const quiet = await round(get, first.deltaLink);
    expect(quiet).toMatchObject({ items: [], pages: 1 });

    dir.addReference("9e0a0000-0000-4000-8000-000000000001", "members", BOB);
    dir.removeReference("9e0a0000-0000-4000-8000-000000000002", "members", ALICE);
    dir.deleteGroup("9e0a0000-0000-4000-8000-000000000003");
    const next = await round(get, quiet.deltaLink);
    expect(next.items).toEqual([
      {
        id: "9e0a0000-0000-4000-8000-000000000001",
        displayName: "g1",
        "members@delta": [{ "@odata.type": "#microsoft.graph.user", id: BOB }],
      },
      {
        id: "9e0a0000-0000-4000-8000-000000000002",
        displayName: "g2",
        "members@delta": [
          { "@odata.type": "#microsoft.graph.user", id: ALICE, "@removed": { reason: "deleted" } },
        ],
      },
      { id: "9e0a0000-0000-4000-8000-000000000003", "@removed": { reason: "changed" } },
    ]);
    // The earlier link still works (Graph keeps sync state for a while) and sees the same changes.
    expect((await round(get, quiet.deltaLink)).items).toHaveLength(3);
  });

  it("answers 410 for a token older than the log, and 403 without a group read permission", async () => {
    const { dir, get } = world();
    const first = await round(get, "/v1.0/groups/delta?$select=members");
    // History after the token was forgotten: the token cannot say what changed.
    dir.addReference("9e0a0000-0000-4000-8000-000000000001", "members", BOB);
    dir.groupChanges.reset();
    const r = await get(first.deltaLink);
    expect(r.status).toBe(410);
    expect((r.body as { error: { code: string } }).error.code).toBe("SyncStateNotFound");
    expect((await world(["Group.Create"]).get("/v1.0/groups/delta")).status).toBe(403);
  });
});
