/**
 * Access drift end to end: a real promotion builds fraud-detection's environments, then people
 * change role assignments by hand on them. The emulator's Event Grid delivers the role-assignment
 * events, exactly filtered as deployed, to the real onResourceWrite handler; the policy says
 * `access.drift: restore`. Real SDKs against the emulator (which enforces the app's ABAC
 * condition), ledgers in Azurite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE, STEWARD_APP } from "../../local/seeds/contoso.js";
import type { RequestLogEntry } from "@aml-steward/azure-emulator";
import { audit } from "../../cli/commands/audit.js";
import { checkScope } from "../../shared/access/check.js";
import { groupViolationId } from "../../shared/access/members.js";
import { reconcileAccessNow } from "../../shared/access/nightly.js";
import { accessDeps } from "../../shared/access/runtime.js";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { roleAssignmentName } from "../../shared/ids.js";
import { AuditLog } from "../../shared/ledger/audit.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { silentLogger } from "../../shared/log.js";
import { environmentNames } from "../../shared/policy/index.js";
import { ROLE_IDS } from "../../shared/setup/contract.js";
import { promotedWorldWithEvents, useEditedPolicy, type PromotionWorld } from "../helpers/promotion.js";
import type { WebhookHarness } from "./tagging-harness.js";

let w: PromotionWorld;
let hook: WebhookHarness;
let SUB: string;
let PROD: string;

beforeAll(async () => {
  useEditedPolicy((policy) => (policy.access = { drift: "restore" }));
  ({ w, hook, sub: SUB } = await promotedWorldWithEvents("access-drift"));
  PROD = `/subscriptions/${SUB}/resourceGroups/${environmentNames(w.stack.policy, "fraud-detection", "prod").resourceGroup}`;
}, 180_000);

afterAll(async () => {
  await hook?.close();
  await w?.stop();
});

const settle = () => w.stack.emulator.events.flush();
const erin = () => w.stack.authorizationAs(PEOPLE.erin.objectId, SUB);
const roleId = (guid: string) =>
  `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

async function assignmentsAt(scope: string) {
  const out: Array<{ id: string; principalId: string; principalType: string; role: string; scope: string }> =
    [];
  for await (const ra of erin().roleAssignments.listForScope(scope, { filter: "atScope()" }))
    out.push({
      id: ra.id!,
      principalType: ra.principalType!,
      principalId: ra.principalId!,
      role: ra.roleDefinitionId!.split("/").pop()!,
      scope: ra.scope!,
    });
  return out;
}

async function stewardCalls(since: number): Promise<RequestLogEntry[]> {
  return (await w.azureRequests(since)).filter((r) => r.caller === STEWARD_APP.objectId);
}

const accessRows = () =>
  new ViolationLog(azure().table(TABLES.violations)).list({
    resourceId: `${PROD}/providers/Microsoft.Authorization/roleAssignments`,
    includeResolved: true,
  });

describe("access drift on the scopes aml-steward created", () => {
  it("a hand-made Owner for a user on the prod resource group is flagged from its event, naming who, and removed", async () => {
    const since = Date.now();
    const name = "0b0b0b0b-0000-4000-8000-0000000000aa";
    await erin().roleAssignments.create(PROD, name, {
      roleDefinitionId: roleId(ROLE_IDS.owner),
      principalId: PEOPLE.bob.objectId,
      principalType: "User",
    });
    await settle();

    expect((await assignmentsAt(PROD)).find((a) => a.id.endsWith(name))).toBeUndefined();
    const rows = await accessRows();
    const row = rows.find((r) => r.detail.includes(PEOPLE.bob.objectId))!;
    expect(row.kind).toBe("access");
    expect(row.detail).toMatch(/extra: Owner to User .*privileged role.*change made by erin@contoso\.com/);
    // Restored, so resolved at once; the row stays as history.
    expect(row.resolvedAt).toBeDefined();
    const audit = await new AuditLog(azure().table(TABLES.audit)).byResource(
      `${PROD}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    );
    expect(audit.map((a) => a.action)).toEqual(["roleAssignment.delete"]);
    expect(audit[0]!.reason).toMatch(/made by erin@contoso\.com: removed/);
    // One list of the scope's assignments and one delete (ledger calls are Table Storage's),
    // plus, once per process, the workspace's identity; then the data-segregation check reads
    // the assignment (gone by then: restored).
    const calls = await stewardCalls(since);
    expect(
      calls.map((c) => `${c.method} ${/roleAssignments/i.test(c.path) ? "roleAssignments" : "workspace"}`),
    ).toEqual(["GET roleAssignments", "GET workspace", "DELETE roleAssignments", "GET roleAssignments"]);
  });

  it("a deleted matrix assignment is re-created under its deterministic name", async () => {
    const matrix = (await assignmentsAt(PROD)).filter((a) => a.scope.toLowerCase() === PROD.toLowerCase());
    const victim = matrix.find((a) => a.principalType === "Group")!;
    expect(victim).toBeDefined();
    await erin().roleAssignments.deleteById(victim.id);
    await settle();
    const after = await assignmentsAt(PROD);
    const back = after.find(
      (a) =>
        a.principalId === victim.principalId &&
        a.role === victim.role &&
        a.scope.toLowerCase() === PROD.toLowerCase(),
    );
    expect(back).toBeDefined();
    expect(back!.id.split("/").pop()).toBe(roleAssignmentName(PROD, victim.principalId, victim.role));
    const audit = await new AuditLog(azure().table(TABLES.audit)).byResource(back!.id);
    expect(audit.map((a) => a.action)).toContain("roleAssignment.create");
  });

  it("an assignment inherited from the subscription is reported but untouched", async () => {
    const name = "0b0b0b0b-0000-4000-8000-0000000000bb";
    const sub = `/subscriptions/${SUB}`;
    await erin().roleAssignments.create(sub, name, {
      roleDefinitionId: roleId(ROLE_IDS.reader),
      principalId: PEOPLE.bob.objectId,
      principalType: "User",
    });
    await settle();
    // The nightly comparison of the prod scope (the same code the event path runs).
    const deps = accessDeps(silentLogger);
    const managed = (await deps.estate()).scopes.get(PROD.toLowerCase())!;
    const check = await checkScope(managed, deps, { correlationId: "test-inherited" });
    expect(check.drift.inherited.map((a) => a.id.split("/").pop())).toContain(name);
    expect(check.drift.extra).toEqual([]);
    expect(check.restored).toEqual({ created: [], removed: [] });
    expect((await assignmentsAt(sub)).map((a) => a.id.split("/").pop())).toContain(name);
  });

  it("in audit mode the drift is recorded and nothing is changed", async () => {
    const name = "0b0b0b0b-0000-4000-8000-0000000000cc";
    const base = accessDeps(silentLogger);
    const deps = {
      ...base,
      policy: { ...base.policy, access: { ...base.policy.access, drift: "audit" as const } },
    };
    await erin().roleAssignments.create(PROD, name, {
      roleDefinitionId: roleId(ROLE_IDS.contributor),
      principalId: PEOPLE.carol.objectId,
      principalType: "User",
    });
    await settle(); // restore mode (the process's policy) removes it; make it again for audit
    await w.stack.control("DELETE", "/_emulator/eventSubscriptions/access-drift");
    await erin().roleAssignments.create(PROD, name, {
      roleDefinitionId: roleId(ROLE_IDS.contributor),
      principalId: PEOPLE.carol.objectId,
      principalType: "User",
    });
    const managed = (await deps.estate()).scopes.get(PROD.toLowerCase())!;
    const check = await checkScope(managed, deps, { correlationId: "test-audit" });
    expect(check.drift.extra.map((a) => a.principalId)).toEqual([PEOPLE.carol.objectId]);
    expect(check.restored).toEqual({ created: [], removed: [] });
    expect((await assignmentsAt(PROD)).find((a) => a.id.endsWith(name))).toBeDefined();
    const open = (await accessRows()).filter((r) => !r.resolvedAt);
    expect(open).toHaveLength(1);
    expect(open[0]!.detail).toMatch(/extra: Contributor to User/);
  });

  it("the nightly run restores what the audit-mode check left, with the same comparison", async () => {
    const r = await reconcileAccessNow(silentLogger, "night-1");
    expect(r.failedScopes).toEqual([]);
    const prod = r.scopes.find((s) => s.scope.toLowerCase() === PROD.toLowerCase())!;
    expect(prod.drift.extra.map((a) => a.principalId)).toEqual([PEOPLE.carol.objectId]);
    expect(prod.restored.removed).toHaveLength(1);
    // First delta round: every group read once (nothing to compare against yet).
    expect(r.members!.full).toBe(true);
    expect(r.members!.checked.every((g) => g.extra.length === 0)).toBe(true);
  });

  it("a member added to a prod group outside the request flow is flagged by the next delta round and removed, Graph calls proportional to changes", async () => {
    const estate = await accessDeps(silentLogger).estate();
    const group = [...estate.groups.values()].find((g) => g.env === "prod")!;
    const token = (
      await w.stack.control<{ access_token: string }>("POST", "/_emulator/tokens", {
        objectId: PEOPLE.erin.objectId,
        scope: "https://graph.microsoft.com/.default",
      })
    ).access_token;
    const added = await fetch(`${w.stack.url}/v1.0/groups/${group.objectId}/members/$ref`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ "@odata.id": `${w.stack.url}/v1.0/directoryObjects/${PEOPLE.dave.objectId}` }),
    });
    expect(added.status).toBe(204);

    const since = Date.now();
    const r = await reconcileAccessNow(silentLogger, "night-2");
    expect(r.members!.full).toBe(false);
    expect(r.members!.changedGroups).toBe(1);
    expect(r.members!.checked).toEqual([
      expect.objectContaining({
        objectId: group.objectId,
        extra: [PEOPLE.dave.objectId],
        removed: [PEOPLE.dave.objectId],
      }),
    ]);
    // One delta page, one read of the changed group's members, one removal: not one per group.
    const graph = (await stewardCalls(since)).filter((c) => c.kind === "graph");
    expect(graph.map((c) => c.method)).toEqual(["GET", "GET", "DELETE"]);
    expect(estate.groups.size).toBeGreaterThan(graph.length);
    const rows = await new ViolationLog(azure().table(TABLES.violations)).list({
      resourceId: groupViolationId(group.objectId),
      subscriptionId: SUB,
      includeResolved: true,
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.detail).toContain(PEOPLE.dave.objectId);
    expect(rows[0]!.resolvedAt).toBeDefined();

    // Nothing changed since: one delta page, nothing else.
    const quiet = Date.now();
    const again = await reconcileAccessNow(silentLogger, "night-3");
    expect(again.members!.changedGroups).toBe(1); // the removal itself is a change of the group
    expect(again.members!.checked[0]!.extra).toEqual([]);
    expect((await stewardCalls(quiet)).filter((c) => c.kind === "graph").map((c) => c.method)).toEqual([
      "GET",
      "GET",
    ]);
  });

  it("steward audit --project shows the project's access violations, open and resolved", async () => {
    const lines: string[] = [];
    const io = { stdout: (t: string) => lines.push(t), stderr: () => {} };
    await audit({ io, json: false, verbose: false }, [], { project: "fraud-detection" });
    const text = lines.join("\n");
    expect(text).toContain("access and data violations:");
    expect(text).toContain("resourceGroups/rg-aml-fraud-detection-prod");
    // One row per scope: its latest occurrence; every removal stays in the audit entries above it.
    expect(text).toContain("roleAssignment.delete");
    lines.length = 0;
    await audit({ io, json: true, verbose: false }, [], { project: "fraud-detection" });
    const json = JSON.parse(lines.join("")) as {
      violations: Array<{ kind: string; detail: string; resolvedAt?: string }>;
    };
    expect(json.violations).toHaveLength(2); // the prod scope and the prod group
    expect(
      json.violations.some((v) => /extra: \w+ to User .*change made by|extra: \w+ to User/.test(v.detail)),
    ).toBe(true);
    expect(json.violations.some((v) => /members added outside the request flow/.test(v.detail))).toBe(true);
    expect(json.violations.every((v) => v.kind === "access")).toBe(true);
    expect(json.violations.some((v) => !v.resolvedAt)).toBe(false);
  });
});
