/**
 * Contract tests: the emulator against the official REST specs.
 *  1. Every response the emulator gives for the operations this project uses validates against
 *     that operation's response schema for the status code (errors: the `default` schema).
 *  2. Every x-ms-example of those operations is replayed: seed what it needs, send its request,
 *     expect one of its status codes and the fields its response shows. Ids, GUIDs, timestamps
 *     and the "string" placeholders of the ML examples may differ.
 * Deliberately skipped examples are listed in SKIPPED with the reason.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "../../emulator/index.js";
import type { EmulatorSeed } from "../../emulator/types.js";
import { emulatorSecretCredential, startTestEmulator } from "../helpers/emulator.js";
import { SPEC_FILES, SpecSet, specsDir, type SpecOperation } from "./specs.js";

/** The operations docs INDEX.md lists under "Operation -> example coverage". */
const OPERATIONS = [
  "ResourceGroups_CreateOrUpdate",
  "ResourceGroups_Get",
  "ResourceGroups_List",
  "ResourceGroups_Update",
  "ResourceGroups_Delete",
  "ResourceGroups_CheckExistence",
  "Resources_List",
  "Resources_ListByResourceGroup",
  "Tags_GetAtScope",
  "Tags_CreateOrUpdateAtScope",
  "Tags_UpdateAtScope",
  "Tags_DeleteAtScope",
  "RoleAssignments_Create",
  "RoleAssignments_CreateById",
  "RoleAssignments_Get",
  "RoleAssignments_GetById",
  "RoleAssignments_Delete",
  "RoleAssignments_DeleteById",
  "RoleAssignments_ListForScope",
  "RoleAssignments_ListForResourceGroup",
  "RoleAssignments_ListForSubscription",
  "RoleAssignments_ListForResource",
  "RoleDefinitions_List",
  "RoleDefinitions_Get",
  "RoleDefinitions_GetById",
  "Workspaces_CreateOrUpdate",
  "Workspaces_Get",
  "Workspaces_Update",
  "Workspaces_Delete",
  "Workspaces_ListBySubscription",
  "Workspaces_ListByResourceGroup",
  ...["Model", "Data", "Environment", "Component"].flatMap((a) => [
    `${a}Containers_CreateOrUpdate`,
    `${a}Containers_Get`,
    `${a}Containers_List`,
    `${a}Containers_Delete`,
    `${a}Versions_CreateOrUpdate`,
    `${a}Versions_Get`,
    `${a}Versions_List`,
    `${a}Versions_Delete`,
  ]),
];

/** Examples not replayed, and why. */
const SKIPPED: Record<string, string> = {
  "GetRoleDefinitionById.json":
    "its parameters are placeholders (roleId 'roleDefinitionId'), not a role definition id; RoleDefinitions_GetById is exercised with a real built-in id instead",
  "GetRoleDefinitionByName.json":
    "its parameters are placeholders (scope 'scope', id 'roleDefinitionId'); RoleDefinitions_Get is exercised with a real built-in id instead",
};

/** Fields an example shows that the emulator deliberately answers differently, per example file. */
const EXPECTED_DIFFERENCES: Record<string, Record<string, string>> = {
  "Workspace/create.json": {
    "final.properties.discoveryUrl": "server-generated; the example shows a placeholder URL",
    "final.properties.publicNetworkAccess":
      "the example workspace was made private; a new workspace defaults to Enabled",
  },
  "EnvironmentVersion/createOrUpdate.json": {
    "body.properties.environmentType":
      "read-only: an environment a user creates is UserCreated; the example shows a Curated one",
  },
};

const specsPresent = existsSync(path.join(specsDir, SPEC_FILES.resources));
if (!specsPresent && process.env.CI) {
  throw new Error(
    `Contract tests need the REST specs at ${specsDir} (set STEWARD_SPECS_DIR). They are missing and CI is set, so this is a failure, not a skip.`,
  );
}

const SP = {
  objectId: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
  appId: "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
  secret: "contract-secret",
};
const BASE_SEED: EmulatorSeed = {
  servicePrincipals: [{ ...SP, displayName: "contract", clientSecret: SP.secret }],
};
const DEFAULT_SUB = "00000000-0000-0000-0000-000000000000";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- example files are untyped JSON walked freely
type Json = Record<string, any>;
interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by schema, then read freely
  body: any;
  headers: Headers;
}

const suite = specsPresent ? describe : describe.skip;
suite(
  specsPresent
    ? "ARM emulator contract (official REST specs)"
    : `ARM emulator contract: SKIPPED, no specs at ${specsDir} (set STEWARD_SPECS_DIR)`,
  () => {
    const specs = specsPresent ? new SpecSet(specsDir) : (undefined as unknown as SpecSet);
    let em: EmulatorHandle;
    let token = "";

    beforeAll(async () => {
      // Response shapes against the specs, in subscriptions each example names: authorisation is
      // not what is replayed here (emulator-authorization.test.ts covers it).
      em = await startTestEmulator({ seed: BASE_SEED, enforceRbac: false });
      const cred = emulatorSecretCredential(em.url, em.tenantId, SP.appId, SP.secret);
      token = (await cred.getToken("https://management.azure.com/.default")).token;
    });
    afterAll(async () => {
      await em?.stop();
    });

    function fresh(seed: EmulatorSeed): void {
      em.reset();
      em.faults.update({ lroDurationMs: 1, lroRetryAfterSeconds: 0 });
      em.seed(seed);
    }

    function buildPath(op: SpecOperation, params: Json): string {
      return op.pathTemplate.replace(/\{([^}]+)\}/g, (_, name: string) => {
        const v = params[name];
        if (v === undefined) throw new Error(`${op.operationId}: no value for {${name}}`);
        return op.rawParams.has(name) ? String(v) : encodeURIComponent(String(v));
      });
    }

    async function send(method: string, pathAndQuery: string, body?: unknown): Promise<Reply> {
      const res = await fetch(`${em.url}${pathAndQuery}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    }

    /** Calls an operation and checks the reply against the spec's schema for its status code. */
    async function call(
      operationId: string,
      params: Json,
      body?: unknown,
      query: Record<string, string> = {},
    ): Promise<Reply> {
      const op = specs.op(operationId);
      const q = new URLSearchParams({ "api-version": op.apiVersion, ...query });
      const reply = await send(
        op.method,
        `${buildPath(op, params)}?${q.toString().replace(/\+/g, "%20")}`,
        body,
      );
      checkSchema(op, reply);
      return reply;
    }

    function checkSchema(op: SpecOperation, reply: Reply): void {
      const v = specs.validator(op, reply.status);
      expect(
        v,
        `${op.operationId}: status ${reply.status} is not declared by the spec (body ${JSON.stringify(reply.body)})`,
      ).not.toBe("undeclared");
      if (v && v !== "undeclared") {
        const ok = v(reply.body);
        expect(
          ok ? [] : v.errors,
          `${op.operationId} ${reply.status} body does not match the spec: ${JSON.stringify(reply.body)}`,
        ).toEqual([]);
      }
    }

    // ------------------------------------------------------------------ example comparison

    const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
    const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T/;
    const IGNORED_KEYS = new Set([
      "nextLink",
      "systemData",
      "createdOn",
      "updatedOn",
      "createdBy",
      "updatedBy",
      "etag",
    ]);
    const isPlaceholder = (v: unknown): boolean =>
      typeof v === "string" && (v === "string" || UUID.test(v) || TIMESTAMP.test(v));
    const normId = (s: string): string => s.replace(/^\/+/, "").toLowerCase();

    function compare(expected: unknown, actual: unknown, at: string, out: string[]): void {
      if (isPlaceholder(expected)) return;
      if (Array.isArray(expected)) {
        if (!Array.isArray(actual) || actual.length !== expected.length) {
          out.push(`${at}: expected an array of ${expected.length}, got ${JSON.stringify(actual)}`);
          return;
        }
        expected.forEach((e, i) => compare(e, actual[i], `${at}[${i}]`, out));
        return;
      }
      if (expected && typeof expected === "object") {
        if (!actual || typeof actual !== "object") {
          out.push(`${at}: expected an object, got ${JSON.stringify(actual)}`);
          return;
        }
        for (const [k, e] of Object.entries(expected)) {
          if (IGNORED_KEYS.has(k) || UUID.test(k)) continue;
          const a = (actual as Json)[k];
          if (k === "id" && typeof e === "string" && typeof a === "string") {
            // Example ids sometimes omit the leading "/" or the tags wrapper's suffix.
            const ok =
              normId(a) === normId(e) ||
              normId(a) === `${normId(e)}/providers/microsoft.resources/tags/default`;
            if (!ok && e !== "string") out.push(`${at}.id: expected ${e}, got ${a}`);
            continue;
          }
          if (k === "roleDefinitionId" && typeof e === "string" && typeof a === "string") {
            // Azure answers with the subscription-qualified id; examples show either form.
            if (e.split("/").pop()!.toLowerCase() !== a.split("/").pop()!.toLowerCase())
              out.push(`${at}.roleDefinitionId: expected ${e}, got ${a}`);
            continue;
          }
          if (k === "type" && e === "string") continue;
          compare(e, a, `${at}.${k}`, out);
        }
        return;
      }
      if (expected !== actual)
        out.push(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }

    // ------------------------------------------------------------------ seeding for examples

    function scopeParts(scope: string): { sub?: string; rg?: string; resourceId?: string } {
      const s = scope.replace(/^\/+/, "");
      const m = /^subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+)(\/providers\/.+)?)?/i.exec(s);
      if (!m) return {};
      return {
        sub: m[1],
        rg: m[2],
        resourceId: m[3] ? `/${s.split("/providers/Microsoft.Authorization")[0]}` : undefined,
      };
    }

    function roleGuids(node: unknown, out: Set<string>): void {
      if (Array.isArray(node)) node.forEach((n) => roleGuids(n, out));
      else if (node && typeof node === "object")
        for (const [k, v] of Object.entries(node)) {
          if (k === "roleDefinitionId" && typeof v === "string") out.add(v.split("/").pop()!);
          else roleGuids(v, out);
        }
    }

    function itemsOf(body: Json | undefined): Json[] {
      if (!body) return [];
      return Array.isArray(body.value) ? body.value : [body];
    }

    async function waitForLros(): Promise<void> {
      await new Promise((r) => setTimeout(r, 10));
    }

    /** Seeds the state an example presumes and replays prerequisite writes through the API. */
    async function prepare(op: SpecOperation, ex: Json): Promise<void> {
      const P = ex.parameters as Json;
      const scope = String(P.scope ?? P.roleAssignmentId ?? "");
      const fromScope = scopeParts(scope);
      const sub = String(P.subscriptionId ?? fromScope.sub ?? DEFAULT_SUB);
      const seed: EmulatorSeed = {
        subscriptions: [{ subscriptionId: sub, displayName: "Example" }],
        resourceGroups: [],
        resources: [],
      };
      const rg = P.resourceGroupName ?? fromScope.rg;
      if (rg && op.operationId !== "ResourceGroups_CreateOrUpdate")
        seed.resourceGroups!.push({ subscriptionId: sub, name: String(rg), location: "eastus" });
      if (fromScope.resourceId && !/roleAssignments\/[^/]+$/i.test(fromScope.resourceId))
        seed.resources!.push({ id: fromScope.resourceId, location: "eastus" });
      if (P.workspaceName && !op.operationId.startsWith("Workspaces_"))
        seed.resources!.push({
          id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/workspaces/${P.workspaceName}`,
          location: "eastus",
        });
      const guids = new Set<string>();
      roleGuids(ex, guids);
      seed.roleDefinitions = [...guids]
        .filter((g) => UUID.test(g))
        .map((g) => ({ name: g, roleName: `Example role ${g.slice(0, 8)}` }));
      const okBodies = Object.entries(ex.responses as Json)
        .filter(([s, r]) => Number(s) < 300 && (r as Json).body)
        .map(([, r]) => (r as Json).body);
      // Role assignments shown in GET/DELETE/LIST answers must exist first (their scopes too).
      if (op.operationId.startsWith("RoleAssignments_") && op.method !== "PUT") {
        for (const item of itemsOf(okBodies[0])) {
          const p = scopeParts(item.properties.scope);
          if (p.rg && !seed.resourceGroups!.some((g) => g.name === p.rg))
            seed.resourceGroups!.push({ subscriptionId: p.sub!, name: p.rg, location: "eastus" });
        }
      }
      fresh(seed);
      if (op.operationId.startsWith("RoleAssignments_") && op.method !== "PUT") {
        for (const item of itemsOf(okBodies[0])) {
          const r = await send(
            "PUT",
            `${item.properties.scope}/providers/Microsoft.Authorization/roleAssignments/${item.name}?api-version=2022-04-01`,
            {
              properties: {
                roleDefinitionId: item.properties.roleDefinitionId,
                principalId: item.properties.principalId,
                principalType: item.properties.principalType,
              },
            },
          );
          expect(r.status, JSON.stringify(r.body)).toBe(201);
        }
        if (okBodies.length === 0) {
          const r = await send(
            "PUT",
            `/${scope.replace(/^\/+/, "")}${P.roleAssignmentName ? `/providers/Microsoft.Authorization/roleAssignments/${P.roleAssignmentName}` : ""}?api-version=2022-04-01`,
            {
              properties: {
                roleDefinitionId:
                  "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
                principalId: SP.objectId,
                principalType: "ServicePrincipal",
              },
            },
          );
          expect(r.status).toBe(201);
        }
      }
      if (op.operationId === "Tags_GetAtScope" || op.operationId === "Tags_DeleteAtScope") {
        const tags = okBodies[0]?.properties?.tags ?? { existing: "tag" };
        const r = await send(
          "PUT",
          `/${scope.replace(/^\/+/, "")}/providers/Microsoft.Resources/tags/default?api-version=2025-04-01`,
          { properties: { tags } },
        );
        expect(r.status).toBe(200);
      }
      if (op.operationId.startsWith("Workspaces_") && op.method !== "PUT") {
        const items = itemsOf(okBodies[0]);
        if (items.length === 0)
          items.push({
            id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/workspaces/${P.workspaceName}`,
            location: "eastus",
            properties: {},
          });
        for (const item of items) {
          const m =
            /resourceGroups\/([^/]+)\/providers\/Microsoft.MachineLearningServices\/workspaces\/([^/]+)/i.exec(
              item.id,
            )!;
          em.seed({ resourceGroups: [{ subscriptionId: sub, name: m[1]!, location: item.location }] });
          const identity = item.identity
            ? {
                type: item.identity.type,
                ...(item.identity.userAssignedIdentities
                  ? {
                      userAssignedIdentities: Object.fromEntries(
                        Object.keys(item.identity.userAssignedIdentities).map((k) => [k, {}]),
                      ),
                    }
                  : {}),
              }
            : undefined;
          const r = await send("PUT", `${item.id}?api-version=2022-10-01`, {
            location: item.location,
            identity,
            tags: item.tags,
            properties: item.properties,
          });
          expect([200, 201, 202]).toContain(r.status);
        }
        await waitForLros();
      }
      const ml = /^(Model|Data|Environment|Component)(Containers|Versions)_/.exec(op.operationId);
      if (ml && op.method !== "PUT") {
        const asset = { Model: "models", Data: "data", Environment: "environments", Component: "components" }[
          ml[1] as "Model"
        ];
        const wsPath = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/workspaces/${P.workspaceName}/${asset}`;
        const items = itemsOf(okBodies[0]);
        if (items.length === 0)
          items.push({
            name: ml[2] === "Versions" ? P.version : P.name,
            properties:
              ml[1] === "Data" && ml[2] === "Versions"
                ? { dataType: "uri_file", dataUri: "azureml://x" }
                : {},
          });
        for (const item of items) {
          const name =
            ml[2] === "Versions"
              ? P.name
              : (P.name && op.operationId.endsWith("_Get")) || op.operationId.endsWith("_Delete")
                ? P.name
                : item.name;
          const target =
            ml[2] === "Versions"
              ? `${wsPath}/${name}/versions/${op.operationId.endsWith("_List") ? item.name : P.version}`
              : `${wsPath}/${name}`;
          const r = await send("PUT", `${target}?api-version=2022-10-01`, { properties: item.properties });
          expect([200, 201]).toContain(r.status);
        }
      }
    }

    // ------------------------------------------------------------------ example replay

    const replays: Array<{ op: SpecOperation; title: string; file?: string }> = [];
    if (specsPresent) {
      for (const id of OPERATIONS) {
        const op = specs.operations.get(id);
        if (!op) continue;
        for (const [title, ref] of Object.entries(op.examples))
          replays.push({ op, title, file: specs.exampleFile(ref) });
      }
    }

    it("finds every operation of INDEX.md in the specs", () => {
      const missing = OPERATIONS.filter((id) => !specs.operations.has(id));
      expect(missing).toEqual([]);
      expect(replays.length).toBeGreaterThan(40);
    });

    for (const { op, title, file } of replays) {
      const base = file ? path.basename(file) : undefined;
      const reason = !file ? "the example file was not collected (INDEX.md: missing)" : SKIPPED[base!];
      const test = reason ? it.skip : it;
      test(`${op.operationId} replays "${title}"${reason ? ` (skipped: ${reason})` : ""}`, async () => {
        const ex = JSON.parse(readFileSync(file!, "utf8")) as Json;
        await prepare(op, ex);
        const P = ex.parameters as Json;
        const body = P.parameters ?? P.body;
        const query: Record<string, string> = {};
        for (const [k, v] of Object.entries(P))
          if (k.startsWith("$") || k === "forceDeletionTypes") query[k] = String(v);
        const reply = await call(op.operationId, P, body, query);
        const statuses = Object.keys(ex.responses as Json).map(Number);
        expect(statuses, `status ${reply.status}: ${JSON.stringify(reply.body)}`).toContain(reply.status);
        const expected = (ex.responses as Json)[String(reply.status)] as Json;
        const mismatches: string[] = [];
        if (expected.body) compare(expected.body, reply.body, "body", mismatches);
        for (const h of Object.keys(expected.headers ?? {}))
          if (!reply.headers.get(h)) mismatches.push(`header ${h} missing`);
        // A 202 create: once the operation is done, the resource must look like the example's 200/201 body.
        if (reply.status === 202 && op.method === "PUT") {
          await waitForLros();
          const done = (ex.responses as Json)["200"]?.body ?? (ex.responses as Json)["201"]?.body;
          const get = await call(op.operationId.replace(/_CreateOrUpdate$/, "_Get"), P);
          expect(get.status).toBe(200);
          if (done) compare(done, get.body, "final", mismatches);
        }
        const allowed = EXPECTED_DIFFERENCES[`${path.basename(path.dirname(file!))}/${base}`] ?? {};
        expect(mismatches.filter((m) => !Object.keys(allowed).some((k) => m.startsWith(`${k}:`)))).toEqual(
          [],
        );
      });
    }

    // ------------------------------------------------------------------ operations without examples

    it("providers, tag names and the Activity Log validate against the spec", async () => {
      const sub = "11111111-2222-4333-8444-555555555556";
      fresh({
        subscriptions: [{ subscriptionId: sub, displayName: "S" }],
        resourceGroups: [{ subscriptionId: sub, name: "rg1", location: "eastus", tags: { a: "b" } }],
      });
      expect((await call("Providers_List", { subscriptionId: sub })).status).toBe(200);
      const storage = await call("Providers_Get", {
        subscriptionId: sub,
        resourceProviderNamespace: "Microsoft.Storage",
      });
      expect(storage.status).toBe(200);
      expect((await call("Tags_List", { subscriptionId: sub })).body.value[0].tagName).toBe("a");
      await call(
        "ResourceGroups_CreateOrUpdate",
        { subscriptionId: sub, resourceGroupName: "rg2" },
        { location: "eastus" },
      );
      const since = new Date(Date.now() - 3600_000).toISOString();
      const log = await call("ActivityLogs_List", { subscriptionId: sub }, undefined, {
        $filter: `eventTimestamp ge '${since}' and resourceGroupName eq 'rg2'`,
      });
      expect(log.status).toBe(200);
      expect(log.body.value).toHaveLength(1);
    });

    it("ResourceGroups, Resources lists and errors validate against the spec", async () => {
      const sub = "11111111-2222-4333-8444-555555555555";
      fresh({ subscriptions: [{ subscriptionId: sub, displayName: "S" }] });
      expect(
        (
          await call(
            "ResourceGroups_CreateOrUpdate",
            { subscriptionId: sub, resourceGroupName: "rg1" },
            { location: "eastus", tags: { a: "b" } },
          )
        ).status,
      ).toBe(201);
      expect(
        (await call("ResourceGroups_Get", { subscriptionId: sub, resourceGroupName: "rg1" })).status,
      ).toBe(200);
      expect(
        (await call("ResourceGroups_Get", { subscriptionId: sub, resourceGroupName: "nope" })).status,
      ).toBe(404);
      expect(
        (
          await call(
            "ResourceGroups_Update",
            { subscriptionId: sub, resourceGroupName: "rg1" },
            { tags: { c: "d" } },
          )
        ).status,
      ).toBe(200);
      expect(
        (await call("ResourceGroups_List", { subscriptionId: sub }, undefined, { $filter: "tagName eq 'c'" }))
          .body.value,
      ).toHaveLength(1);
      expect(
        (await call("ResourceGroups_CheckExistence", { subscriptionId: sub, resourceGroupName: "rg1" }))
          .status,
      ).toBe(204);
      expect(
        (
          await call(
            "ResourceGroups_CreateOrUpdate",
            { subscriptionId: sub, resourceGroupName: "bad?name" },
            { location: "eastus" },
          )
        ).status,
      ).toBe(400);
      await send(
        "PUT",
        `/subscriptions/${sub}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/stg1?api-version=2023-01-01`,
        { location: "eastus", sku: { name: "Standard_LRS" }, kind: "StorageV2" },
      );
      await send(
        "PUT",
        `/subscriptions/${sub}/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv-1?api-version=2023-07-01`,
        { location: "eastus", properties: {} },
      );
      await waitForLros();
      const all = await call("Resources_List", { subscriptionId: sub }, undefined, {
        $expand: "createdTime,changedTime,provisioningState",
      });
      expect(all.body.value).toHaveLength(2);
      const inRg = await call(
        "Resources_ListByResourceGroup",
        { subscriptionId: sub, resourceGroupName: "rg1" },
        undefined,
        { $top: "1" },
      );
      expect(inRg.body.value).toHaveLength(1);
      expect(inRg.body.nextLink).toContain("$skiptoken=");
      expect(
        (await call("Resources_ListByResourceGroup", { subscriptionId: sub, resourceGroupName: "missing" }))
          .status,
      ).toBe(404);
      expect(
        (await call("ResourceGroups_Delete", { subscriptionId: sub, resourceGroupName: "rg1" })).status,
      ).toBe(202);
    });

    it("role definitions and role assignments validate against the spec", async () => {
      const sub = "22222222-3333-4444-8555-666666666666";
      fresh({
        subscriptions: [{ subscriptionId: sub, displayName: "S" }],
        resources: [
          {
            id: `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stg1`,
            location: "eastus",
          },
        ],
      });
      const list = await call("RoleDefinitions_List", { scope: `subscriptions/${sub}` }, undefined, {
        $filter: "roleName eq 'Contributor'",
      });
      expect(list.body.value).toHaveLength(1);
      expect(
        (
          await call("RoleDefinitions_Get", {
            scope: `subscriptions/${sub}`,
            roleDefinitionId: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
          })
        ).status,
      ).toBe(200);
      expect(
        (
          await call("RoleDefinitions_GetById", {
            roleId: "providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
          })
        ).status,
      ).toBe(200);
      expect(
        (
          await call("RoleDefinitions_Get", {
            scope: `subscriptions/${sub}`,
            roleDefinitionId: "00000000-0000-0000-0000-000000000000",
          })
        ).status,
      ).toBe(404);
      const props = {
        roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`,
        principalId: SP.objectId,
        principalType: "ServicePrincipal",
      };
      const resourceScope = {
        subscriptionId: sub,
        resourceGroupName: "rg",
        resourceProviderNamespace: "Microsoft.Storage",
        resourceType: "storageAccounts",
        resourceName: "stg1",
      };
      expect(
        (
          await call(
            "RoleAssignments_Create",
            {
              scope: `subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stg1`,
              roleAssignmentName: "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
            },
            { properties: props },
          )
        ).status,
      ).toBe(201);
      expect(
        (
          await call(
            "RoleAssignments_Create",
            {
              scope: `subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stg1`,
              roleAssignmentName: "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a",
            },
            { properties: props },
          )
        ).status,
      ).toBe(409);
      expect(
        (
          await call(
            "RoleAssignments_Create",
            { scope: `subscriptions/${sub}`, roleAssignmentName: "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b" },
            {
              properties: {
                ...props,
                principalType: undefined,
                principalId: "99999999-9999-4999-8999-999999999999",
              },
            },
          )
        ).status,
      ).toBe(400);
      const forResource = await call("RoleAssignments_ListForResource", resourceScope);
      expect(forResource.body.value).toHaveLength(1);
      expect(
        (
          await call("RoleAssignments_ListForSubscription", { subscriptionId: sub }, undefined, {
            $filter: "atScope()",
          })
        ).body.value,
      ).toHaveLength(0);
      expect(
        (
          await call("RoleAssignments_Get", {
            scope: `subscriptions/${sub}`,
            roleAssignmentName: "6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b9c",
          })
        ).status,
      ).toBe(404);
    });

    it("ML workspaces and assets without examples validate against the spec", async () => {
      const sub = "33333333-4444-4555-8666-777777777777";
      fresh({
        subscriptions: [{ subscriptionId: sub, displayName: "S" }],
        resourceGroups: [{ subscriptionId: sub, name: "rg", location: "eastus" }],
      });
      const ws = { subscriptionId: sub, resourceGroupName: "rg", workspaceName: "ws1" };
      expect(
        (
          await call("Workspaces_CreateOrUpdate", ws, {
            location: "eastus",
            identity: { type: "SystemAssigned" },
            properties: { friendlyName: "ws" },
          })
        ).status,
      ).toBe(202);
      await waitForLros();
      expect(
        (await call("Workspaces_Update", ws, { tags: { a: "b" }, properties: { description: "d" } })).status,
      ).toBe(202);
      await waitForLros();
      expect((await call("Workspaces_Get", ws)).body.tags).toEqual({ a: "b" });
      expect((await call("Workspaces_Get", { ...ws, workspaceName: "missing" })).status).toBe(404);
      expect(
        (await call("Workspaces_CreateOrUpdate", { ...ws, workspaceName: "-bad" }, { location: "eastus" }))
          .status,
      ).toBe(400);
      for (const [asset, versionProps] of [
        ["Model", { modelUri: "azureml://m", modelType: "custom_model" }],
        ["Data", { dataType: "uri_file", dataUri: "azureml://d" }],
        ["Environment", { image: "mcr.microsoft.com/azureml/base" }],
        ["Component", { componentSpec: { name: "c" } }],
      ] as const) {
        expect(
          (
            await call(
              `${asset}Versions_CreateOrUpdate`,
              { ...ws, name: "a1", version: "1" },
              { properties: { ...versionProps, tags: { t: "1" } } },
            )
          ).status,
        ).toBe(201);
        expect((await call(`${asset}Versions_Get`, { ...ws, name: "a1", version: "1" })).status).toBe(200);
        expect((await call(`${asset}Versions_List`, { ...ws, name: "a1" })).body.value).toHaveLength(1);
        expect((await call(`${asset}Containers_Get`, { ...ws, name: "a1" })).status).toBe(200);
        expect((await call(`${asset}Containers_List`, ws)).body.value).toHaveLength(1);
        expect((await call(`${asset}Versions_Get`, { ...ws, name: "a1", version: "9" })).status).toBe(404);
        expect((await call(`${asset}Versions_Delete`, { ...ws, name: "a1", version: "1" })).status).toBe(200);
        expect((await call(`${asset}Containers_Delete`, { ...ws, name: "a1" })).status).toBe(200);
        expect((await call(`${asset}Containers_Delete`, { ...ws, name: "a1" })).status).toBe(204);
      }
      expect((await call("Workspaces_Delete", ws)).status).toBe(202);
    });
  },
);
