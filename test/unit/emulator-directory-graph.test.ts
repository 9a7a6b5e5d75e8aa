/**
 * The emulated directory, token endpoint and Graph, driven with hand-built requests (no HTTPS):
 * fast checks of parsing and edge cases. The real SDK clients are exercised in
 * test/integration/emulator-graph.test.ts and emulator-identity.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Directory } from "../../emulator/directory.js";
import { entraRouter } from "../../emulator/entra/router.js";
import { evaluate, parseFilter } from "../../emulator/graph/filter.js";
import { graphRouter } from "../../emulator/graph/router.js";
import type { EmuRequest, EmuResponse, FaultSettings } from "../../emulator/types.js";

const TENANT = "11111111-1111-4111-8111-111111111111";
const APP = {
  objectId: "22222222-2222-4222-8222-222222222222",
  appId: "33333333-3333-4333-8333-333333333333",
  secret: "s3cret",
};
const ALICE = "44444444-4444-4444-8444-444444444444";
const BASE = "https://127.0.0.1:9999";

function makeWorld(settings: Partial<FaultSettings> = {}) {
  let now = 1_700_000_000_000;
  const dir = new Directory({ tenantId: TENANT, now: () => now });
  dir.seed({
    users: [
      { objectId: ALICE, userPrincipalName: "alice@contoso.test", displayName: "Alice Analyst" },
      { userPrincipalName: "obrien@contoso.test", displayName: "Siobhan O'Brien" },
    ],
    servicePrincipals: [
      { objectId: APP.objectId, appId: APP.appId, displayName: "aml-steward", clientSecret: APP.secret },
    ],
  });
  const faults: FaultSettings = {
    rules: [],
    latencyMs: 0,
    lroDurationMs: 0,
    graphReadAfterWriteDelayMs: 0,
    replicationDelayMs: 0,
    ...settings,
  };
  const graph = graphRouter(dir, () => faults);
  const entra = entraRouter(dir, () => faults);
  const token = dir.issueToken(dir.getPrincipal(APP.objectId)!, "https://graph.microsoft.com").accessToken;
  async function call(
    method: string,
    pathAndQuery: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<EmuResponse> {
    const [path, qs] = pathAndQuery.split("?");
    const req: EmuRequest = {
      method,
      path: path!,
      query: new URLSearchParams(qs ?? ""),
      headers: { authorization: `Bearer ${token}`, ...headers },
      rawBody: body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body),
      body: typeof body === "string" ? undefined : body,
      baseUrl: BASE,
    };
    const res = (await graph(req)) ?? (await entra(req));
    if (!res) throw new Error(`no route for ${method} ${pathAndQuery}`);
    return res;
  }
  return { dir, faults, call, advance: (ms: number) => (now += ms) };
}

type Body = Record<string, unknown> & {
  value?: Array<Record<string, unknown>>;
  error?: { code: string; message: string };
};
const body = (r: EmuResponse): Body => r.body as Body;

const newGroup = (name: string, extra: Record<string, unknown> = {}) => ({
  displayName: name,
  mailEnabled: false,
  mailNickname: name.replace(/[^a-z0-9]/gi, ""),
  securityEnabled: true,
  ...extra,
});

describe("OData $filter parser", () => {
  it("unescapes doubled quotes and matches case-insensitively", () => {
    const tree = parseFilter("displayName eq 'siobhan o''brien'");
    expect(evaluate(tree, { displayName: "Siobhan O'Brien" })).toBe(true);
  });
  it("honours and/or precedence and parentheses", () => {
    const t = parseFilter("displayName eq 'a' or displayName eq 'b' and mailNickname eq 'x'");
    expect(evaluate(t, { displayName: "a", mailNickname: "y" })).toBe(true);
    expect(evaluate(t, { displayName: "b", mailNickname: "y" })).toBe(false);
    const u = parseFilter("(displayName eq 'a' or displayName eq 'b') and startswith(mailNickname,'x')");
    expect(evaluate(u, { displayName: "b", mailNickname: "xy" })).toBe(true);
  });
  it("rejects an unterminated literal", () => {
    expect(() => parseFilter("displayName eq 'O'Brien'")).toThrow(/unterminated string literal/);
  });
  it("supports in (...)", () => {
    expect(evaluate(parseFilter("id in ('a','b')"), { id: "B" })).toBe(true);
  });
});

describe("tokens", () => {
  it("issues client-credentials tokens that resolve to the service principal", async () => {
    const w = makeWorld();
    const res = await w.call(
      "POST",
      `/${TENANT}/oauth2/v2.0/token`,
      `grant_type=client_credentials&client_id=${APP.appId}&client_secret=${APP.secret}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default`,
    );
    expect(res.status).toBe(200);
    const token = body(res).access_token as string;
    expect(w.dir.principalForToken(token)?.objectId).toBe(APP.objectId);
    const claims = w.dir.verifyToken(token)!;
    expect(claims).toMatchObject({
      appid: APP.appId,
      idtyp: "app",
      oid: APP.objectId,
      tid: TENANT,
      name: "aml-steward",
      aud: "https://management.azure.com",
    });
  });
  it("refuses a forged or foreign token", () => {
    const w = makeWorld();
    const other = new Directory({ tenantId: TENANT });
    other.seed({
      servicePrincipals: [{ objectId: APP.objectId, appId: APP.appId, displayName: "x", clientSecret: "y" }],
    });
    const foreign = other.issueToken(
      other.getPrincipal(APP.objectId)!,
      "https://graph.microsoft.com",
    ).accessToken;
    expect(w.dir.principalForToken(foreign)).toBeUndefined();
    expect(w.dir.principalForToken("not.a.token")).toBeUndefined();
  });
  it("answers Entra-style errors", async () => {
    const w = makeWorld();
    const bad = await w.call(
      "POST",
      `/${TENANT}/oauth2/v2.0/token`,
      `grant_type=client_credentials&client_id=${APP.appId}&client_secret=nope&scope=https://graph.microsoft.com/.default`,
    );
    expect(bad.status).toBe(401);
    expect(body(bad)).toMatchObject({ error: "invalid_client", error_codes: [7000215] });
    expect(String(body(bad).error_description)).toMatch(/^AADSTS7000215: Invalid client secret provided/);
    const scope = await w.call(
      "POST",
      `/${TENANT}/oauth2/v2.0/token`,
      `grant_type=client_credentials&client_id=${APP.appId}&client_secret=${APP.secret}&scope=User.Read`,
    );
    expect(body(scope)).toMatchObject({ error: "invalid_scope", error_codes: [1002012] });
    const unknown = await w.call(
      "POST",
      `/${TENANT}/oauth2/v2.0/token`,
      `grant_type=client_credentials&client_id=99999999-9999-4999-8999-999999999999&client_secret=x&scope=https://graph.microsoft.com/.default`,
    );
    expect(unknown.status).toBe(400);
    expect(body(unknown)).toMatchObject({ error: "unauthorized_client", error_codes: [700016] });
    const tenant = await w.call(
      "GET",
      `/00000000-0000-4000-8000-000000000000/v2.0/.well-known/openid-configuration`,
    );
    expect(body(tenant)).toMatchObject({ error: "invalid_request", error_codes: [90002] });
  });
  it("mints user tokens through the test convenience", async () => {
    const w = makeWorld();
    const res = await w.call("POST", "/_emulator/tokens", {
      userPrincipalName: "alice@contoso.test",
      scope: "https://management.azure.com/.default",
    });
    expect(res.status).toBe(200);
    const claims = w.dir.verifyToken(body(res).access_token as string)!;
    expect(claims).toMatchObject({
      oid: ALICE,
      upn: "alice@contoso.test",
      name: "Alice Analyst",
      idtyp: "user",
    });
  });
});

describe("Graph groups", () => {
  it("validates required fields like Graph", async () => {
    const w = makeWorld();
    const missing = await w.call("POST", "/v1.0/groups", {
      displayName: "x",
      mailEnabled: false,
      securityEnabled: true,
    });
    expect(missing.status).toBe(400);
    expect(body(missing).error).toMatchObject({
      code: "Request_BadRequest",
      message: "Invalid value specified for property 'mailNickname' of resource 'Group'.",
    });
    const badNick = await w.call("POST", "/v1.0/groups", newGroup("x", { mailNickname: "a b" }));
    expect(badNick.status).toBe(400);
    const unknownProp = await w.call("POST", "/v1.0/groups", newGroup("x", { colour: "red" }));
    expect(body(unknownProp).error?.message).toMatch(
      /The property 'colour' does not exist on type 'microsoft.graph.group'/,
    );
    const tooMany = await w.call(
      "POST",
      "/v1.0/groups",
      newGroup("x", {
        "members@odata.bind": Array.from(
          { length: 21 },
          () => `https://graph.microsoft.com/v1.0/users/${ALICE}`,
        ),
      }),
    );
    expect(tooMany.status).toBe(400);
  });

  it("upserts by uniqueName: 201 then 204; 404 without Prefer", async () => {
    const w = makeWorld();
    const path = "/v1.0/groups(uniqueName='aml-proj-dev-ds')";
    const noPrefer = await w.call("PATCH", path, newGroup("AML proj dev DS"));
    expect(noPrefer.status).toBe(404);
    const created = await w.call(
      "PATCH",
      path,
      newGroup("AML proj dev DS", {
        "owners@odata.bind": [`https://graph.microsoft.com/v1.0/servicePrincipals/${APP.objectId}`],
      }),
      { prefer: "create-if-missing" },
    );
    expect(created.status).toBe(201);
    expect(body(created)).toMatchObject({
      uniqueName: "aml-proj-dev-ds",
      displayName: "AML proj dev DS",
      securityEnabled: true,
      mailEnabled: false,
    });
    const again = await w.call("PATCH", path, newGroup("AML proj dev DS"), { prefer: "create-if-missing" });
    expect(again.status).toBe(204);
    expect(again.body).toBeUndefined();
    // Docs' form with a slash works too.
    const slash = await w.call(
      "PATCH",
      "/v1.0/groups/(uniqueName='aml-proj-dev-ds')",
      { description: "d" },
      { prefer: "create-if-missing" },
    );
    expect(slash.status).toBe(204);
    const changeKey = await w.call("PATCH", `/v1.0/groups/${body(created).id as string}`, {
      uniqueName: "other",
    });
    expect(changeKey.status).toBe(400);
    expect(w.dir.getGroup(body(created).id as string)?.owners).toEqual([APP.objectId]);
    const repr = await w.call(
      "PATCH",
      path,
      { description: "e" },
      { prefer: "create-if-missing, return=representation" },
    );
    expect(repr.status).toBe(200);
    expect(body(repr)).toMatchObject({ description: "e", uniqueName: "aml-proj-dev-ds" });
    expect((await w.call("DELETE", path)).status).toBe(204);
    expect((await w.call("DELETE", path)).status).toBe(404);
  });

  it("hides new groups for the read-after-write delay except from the uniqueName upsert", async () => {
    const w = makeWorld({ graphReadAfterWriteDelayMs: 5_000 });
    const created = await w.call("POST", "/v1.0/groups", newGroup("Fresh"));
    const id = body(created).id as string;
    expect((await w.call("GET", `/v1.0/groups/${id}`)).status).toBe(404);
    expect(body(await w.call("GET", "/v1.0/groups?$filter=displayName eq 'Fresh'")).value).toEqual([]);
    const ref = await w.call("POST", `/v1.0/groups/${id}/members/$ref`, {
      "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${ALICE}`,
    });
    expect(ref.status).toBe(404);
    expect(body(ref).error?.code).toBe("Request_ResourceNotFound");
    const up = await w.call("PATCH", "/v1.0/groups(uniqueName='u1')", newGroup("U1"), {
      prefer: "create-if-missing",
    });
    expect(up.status).toBe(201);
    expect(
      (
        await w.call("PATCH", "/v1.0/groups(uniqueName='u1')", newGroup("U1"), {
          prefer: "create-if-missing",
        })
      ).status,
    ).toBe(204);
    w.advance(5_000);
    expect((await w.call("GET", `/v1.0/groups/${id}`)).status).toBe(200);
    expect(
      (
        await w.call("POST", `/v1.0/groups/${id}/members/$ref`, {
          "@odata.id": `https://x.example/v1.0/directoryObjects/${ALICE}`,
        })
      ).status,
    ).toBe(204);
  });

  it("manages members and owners by $ref", async () => {
    const w = makeWorld();
    const id = body(await w.call("POST", "/v1.0/groups", newGroup("Team"))).id as string;
    const ref = { "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${ALICE}` };
    expect((await w.call("POST", `/v1.0/groups/${id}/members/$ref`, ref)).status).toBe(204);
    const dup = await w.call("POST", `/v1.0/groups/${id}/members/$ref`, ref);
    expect(dup.status).toBe(400);
    expect(body(dup).error).toMatchObject({
      code: "Request_BadRequest",
      message:
        "One or more added object references already exist for the following modified properties: 'members'.",
    });
    const unknown = await w.call("POST", `/v1.0/groups/${id}/owners/$ref`, {
      "@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/99999999-9999-4999-8999-999999999999",
    });
    expect(unknown.status).toBe(404);
    const members = body(await w.call("GET", `/v1.0/groups/${id}/members`));
    expect(members.value).toEqual([
      expect.objectContaining({ "@odata.type": "#microsoft.graph.user", id: ALICE }),
    ]);
    expect((await w.call("DELETE", `/v1.0/groups/${id}/members/${ALICE}/$ref`)).status).toBe(204);
    expect((await w.call("DELETE", `/v1.0/groups/${id}/members/${ALICE}/$ref`)).status).toBe(404);
    expect((await w.call("DELETE", `/v1.0/groups/${id}`)).status).toBe(204);
    expect((await w.call("GET", `/v1.0/groups/${id}`)).status).toBe(404);
  });
});

describe("Graph users, service principals, queries", () => {
  it("gets users by id and by UPN, with $select", async () => {
    const w = makeWorld();
    const byUpn = await w.call("GET", "/v1.0/users/alice@contoso.test?$select=id,mailNickname");
    expect(body(byUpn)).toMatchObject({ id: ALICE, mailNickname: "alice" });
    expect(body(byUpn)).not.toHaveProperty("displayName");
    const bad = await w.call("GET", "/v1.0/users?$select=shoeSize");
    expect(bad.status).toBe(400);
  });
  it("filters with escaped quotes and rejects injections and unsupported properties", async () => {
    const w = makeWorld();
    const ok = body(await w.call("GET", "/v1.0/users?$filter=displayName eq 'Siobhan O''Brien'"));
    expect(ok.value).toHaveLength(1);
    const raw = await w.call("GET", "/v1.0/users?$filter=displayName eq 'Siobhan O'Brien'");
    expect(raw.status).toBe(400);
    expect(body(raw).error).toMatchObject({ code: "BadRequest" });
    expect(body(raw).error?.message).toMatch(/^Invalid filter clause/);
    const injection = await w.call("GET", "/v1.0/users?$filter=displayName eq 'x' or '1' eq '1'");
    expect(injection.status).toBe(400);
    const unsupported = await w.call("GET", "/v1.0/users?$filter=jobTitle eq 'x'");
    expect(body(unsupported).error).toMatchObject({ code: "Request_UnsupportedQuery" });
    const unknownProp = await w.call("GET", "/v1.0/users?$filter=shoeSize eq 'x'");
    expect(body(unknownProp).error?.message).toMatch(/Could not find a property named 'shoeSize'/);
    const sp = body(await w.call("GET", `/v1.0/servicePrincipals?$filter=appId eq '${APP.appId}'`));
    expect(sp.value).toEqual([
      expect.objectContaining({ id: APP.objectId, servicePrincipalType: "Application" }),
    ]);
    const starts = body(await w.call("GET", "/v1.0/users?$filter=startswith(userPrincipalName,'ALICE')"));
    expect(starts.value).toHaveLength(1);
  });
  it("pages with $top and @odata.nextLink", async () => {
    const w = makeWorld();
    for (let i = 0; i < 5; i++) await w.call("POST", "/v1.0/groups", newGroup(`G${i}`));
    const first = body(await w.call("GET", "/v1.0/groups?$top=2&$filter=startswith(displayName,'G')"));
    expect(first.value).toHaveLength(2);
    const next = String(first["@odata.nextLink"]);
    expect(next.startsWith(`${BASE}/v1.0/groups?`)).toBe(true);
    const all: unknown[] = [...(first.value ?? [])];
    let link: string | undefined = next;
    while (link) {
      const page = body(await w.call("GET", link.slice(BASE.length)));
      all.push(...(page.value ?? []));
      link = page["@odata.nextLink"] as string | undefined;
    }
    expect(all).toHaveLength(5);
    expect((await w.call("GET", "/v1.0/groups?$top=1000")).status).toBe(400);
  });
  it("demands a Graph token", async () => {
    const w = makeWorld();
    const none = await w.call("GET", "/v1.0/users", undefined, { authorization: "" });
    expect(none.status).toBe(401);
    const armToken = w.dir.issueToken(
      w.dir.getPrincipal(APP.objectId)!,
      "https://management.azure.com/",
    ).accessToken;
    const wrongAud = await w.call("GET", "/v1.0/users", undefined, { authorization: `Bearer ${armToken}` });
    expect(body(wrongAud).error).toMatchObject({
      code: "InvalidAuthenticationToken",
      message: "Access token validation failure. Invalid audience.",
    });
    expect(wrongAud.headers?.["request-id"]).toBeTruthy();
  });
});

describe("v1 token endpoint and advanced queries", () => {
  it("answers the v1 token shape with string numbers and resource", async () => {
    const w = makeWorld();
    const res = await w.call(
      "POST",
      `/${TENANT}/oauth2/token`,
      `grant_type=client_credentials&client_id=${APP.appId}&client_secret=${APP.secret}&resource=https%3A%2F%2Fmanagement.azure.com%2F`,
    );
    expect(body(res)).toMatchObject({
      token_type: "Bearer",
      expires_in: "3599",
      resource: "https://management.azure.com/",
    });
  });
  it("needs ConsistencyLevel: eventual and $count=true for ne, and refuses gt", async () => {
    const w = makeWorld();
    const plain = await w.call("GET", "/v1.0/users?$filter=displayName ne 'x'");
    expect(body(plain).error?.code).toBe("Request_UnsupportedQuery");
    const adv = await w.call("GET", "/v1.0/users?$filter=displayName ne 'x'&$count=true", undefined, {
      consistencylevel: "eventual",
    });
    expect(body(adv)["@odata.count"]).toBe(2);
    const gt = await w.call("GET", "/v1.0/groups?$filter=createdDateTime gt '2020-01-01T00:00:00Z'");
    expect(gt.status).toBe(400);
  });
});
