import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { roleAssignmentName } from "../../shared/ids.js";
import {
  azureNameProblem,
  effectivePrivileges,
  getPolicy,
  type NameKind,
} from "../../shared/policy/index.js";
import type { ResolvedPrincipal } from "../../shared/promotion/admission.js";
import {
  planPromotion,
  plannedResourceIds,
  withGroupIds,
  type PlanInput,
} from "../../shared/promotion/plan.js";
import { parsePromotionRequest } from "../../shared/promotion/request.js";
import { ensureBudget } from "../../shared/promotion/steps/budget.js";
import { ensureWorkspace, WORKSPACE_WAIT_MS } from "../../shared/promotion/steps/workspace.js";
import { keepFillOnlyTags, tagDifference, type StepContext } from "../../shared/promotion/steps/context.js";

const policy = getPolicy();
const example = JSON.parse(
  readFileSync(new URL("../../docs/examples/promotion-request.json", import.meta.url), "utf8"),
) as Record<string, unknown>;
const parsed = parsePromotionRequest(example);
if (!parsed.ok) throw new Error("example must parse");
const request = { ...parsed.request, requestedBy: "erin@contoso.com" };

const principals = new Map<string, ResolvedPrincipal>([
  [
    "erin@contoso.com",
    { objectId: "e2140000-0000-4000-8000-000000000005", kind: "user", userPrincipalName: "erin@contoso.com" },
  ],
  ["alice@contoso.com", { objectId: "a11ce000-0000-4000-8000-000000000001", kind: "user" }],
  ["bob@contoso.com", { objectId: "b0b00000-0000-4000-8000-000000000002", kind: "user" }],
  ["carol@contoso.com", { objectId: "ca201000-0000-4000-8000-000000000003", kind: "user" }],
  [
    "f1f1f1f1-0000-4000-8000-00000000000f",
    { objectId: "f1f1f1f1-0000-4000-8000-00000000000f", kind: "servicePrincipal" },
  ],
  ["dave@contoso.com", { objectId: "da7e0000-0000-4000-8000-000000000004", kind: "user" }],
]);
const input: PlanInput = { request, environments: ["dev", "qa", "prod"], region: "westeurope", principals };
const ctx = {
  tenantId: "72f988bf-0000-4e7a-9c3b-2d7cd011db47",
  stewardObjectId: "5A1E7C3D-9B2F-4E8A-8C6D-0F1E2D3C4B5A",
  budgetStartDate: "2025-06-01",
  acceptedOn: "2025-06-17",
};
const plan = planPromotion(policy, input, ctx);

describe("promotion planner", () => {
  it("is deterministic", () => {
    expect(planPromotion(policy, input, ctx)).toEqual(plan);
  });

  it("plans one resource group per environment, tagged by policy", () => {
    expect(plan.environments.map((e) => e.resourceGroup.name)).toEqual([
      "rg-aml-fraud-detection-dev",
      "rg-aml-fraud-detection-qa",
      "rg-aml-fraud-detection-prod",
    ]);
    for (const e of plan.environments) {
      expect(e.resourceGroup.tags).toEqual({
        costCenter: "CC-2100-FRAUD",
        project: "fraud-detection",
        environment: e.env,
        owner: "erin@contoso.com",
        managedBy: "aml-steward",
        createdBy: "erin@contoso.com via aml-steward",
        createdOn: "2025-06-17",
      });
      expect(e.workspace.tags).toEqual(e.resourceGroup.tags);
      expect(e.resourceGroup.id).toBe(
        `/subscriptions/${policy.projectSubscriptionId}/resourceGroups/${e.resourceGroup.name}`,
      );
    }
  });

  it("gives every environment a workspace with storage, key vault, App Insights on Log Analytics and a registry, all with valid names", () => {
    for (const e of plan.environments) {
      expect(e.dependencies.map((d) => d.kind).sort()).toEqual([
        "applicationInsights",
        "containerRegistry",
        "keyVault",
        "logAnalytics",
        "storageAccount",
      ]);
      for (const d of e.dependencies) {
        expect(azureNameProblem(d.kind as NameKind, d.name), d.name).toBeUndefined();
        expect(d.id.startsWith(e.resourceGroup.id + "/providers/")).toBe(true);
        expect(d.body.tags).toEqual(e.resourceGroup.tags);
      }
      expect(azureNameProblem("workspace", e.workspace.name)).toBeUndefined();
      expect(e.workspace.storageAccount).toBe(e.dependencies.find((d) => d.kind === "storageAccount")!.id);
      expect(e.workspace.containerRegistry).toBe(
        e.dependencies.find((d) => d.kind === "containerRegistry")!.id,
      );
      expect(e.workspace.dataAccess).toEqual({
        datastore: "workspaceblobstore",
        credentialsType: "None",
        serviceDataAccessAuthIdentity: "WorkspaceSystemAssignedIdentity",
      });
      const appi = e.dependencies.find((d) => d.kind === "applicationInsights")!;
      expect((appi.body.properties as { WorkspaceResourceId: string }).WorkspaceResourceId).toBe(
        e.dependencies.find((d) => d.kind === "logAnalytics")!.id,
      );
    }
    // Globally unique names differ between environments.
    const storage = plan.environments.map(
      (e) => e.dependencies.find((d) => d.kind === "storageAccount")!.name,
    );
    expect(new Set(storage).size).toBe(3);
  });

  it("plans one group per role and environment, owned by aml-steward, with the requested members", () => {
    for (const e of plan.environments) {
      expect(e.groups.map((g) => g.role)).toEqual(policy.roles.map((r) => r.name));
      for (const g of e.groups) {
        expect(azureNameProblem("group", g.uniqueName)).toBeUndefined();
        expect(g.mailNickname).toBe(g.uniqueName);
        expect(g.owners).toEqual(["5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a"]);
      }
      expect(e.groups.find((g) => g.role === "mlops")!.members).toEqual([
        "ca201000-0000-4000-8000-000000000003",
        "f1f1f1f1-0000-4000-8000-00000000000f",
      ]);
    }
  });

  it("plans role assignments equal to the access matrix, at the resource group, for groups only", () => {
    for (const e of plan.environments) {
      const expected = policy.roles.flatMap((r) =>
        (policy.accessMatrix[r.name]![e.env] ?? []).map((g) => `${r.name}|${g.id}`),
      );
      expect(e.roleAssignments.map((ra) => `${ra.role}|${ra.roleDefinitionGuid}`).sort()).toEqual(
        expected.sort(),
      );
      for (const ra of e.roleAssignments) {
        expect(ra.scope).toBe(e.resourceGroup.id);
        expect(ra.principalType).toBe("Group");
        expect(ra.roleDefinitionId).toBe(
          `/subscriptions/${policy.projectSubscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ra.roleDefinitionGuid}`,
        );
        expect(ra.name).toBeUndefined();
      }
    }
  });

  it("names role assignments deterministically once group ids are known", () => {
    const dev = plan.environments[0]!;
    const ids = new Map(dev.groups.map((g, i) => [g.uniqueName, `00000000-0000-4000-8000-00000000000${i}`]));
    const named = withGroupIds(dev, ids);
    for (const ra of named)
      expect(ra.name).toBe(
        roleAssignmentName(dev.resourceGroup.id, ids.get(ra.groupUniqueName)!, ra.roleDefinitionGuid),
      );
    expect(new Set(named.map((r) => r.name)).size).toBe(named.length);
    const viaCtx = planPromotion(policy, input, { ...ctx, groupIds: ids }).environments[0]!.roleAssignments;
    expect(viaCtx.map((r) => r.name)).toEqual(named.map((r) => r.name));
  });

  it("makes prod strictly more restrictive than dev for every role", () => {
    const byEnv = (env: string, role: string) =>
      plan.environments
        .find((e) => e.env === env)!
        .roleAssignments.filter((r) => r.role === role)
        .map((r) => r.roleDefinitionGuid);
    let strictlyLess = 0;
    for (const role of policy.roles.map((r) => r.name)) {
      const dev = effectivePrivileges(byEnv("dev", role));
      const prod = effectivePrivileges(byEnv("prod", role));
      for (const p of prod) expect(dev.has(p), `${role} in prod has ${p}, dev does not`).toBe(true);
      if (prod.size < dev.size) strictlyLess++;
    }
    expect(strictlyLess).toBeGreaterThan(0);
    const count = (env: string) => plan.environments.find((e) => e.env === env)!.roleAssignments.length;
    expect(count("prod")).toBeLessThan(count("dev"));
  });

  it("sends the assets to the first requested environment and knows where production data may go", () => {
    expect(plan.assets).toMatchObject({
      targetEnv: "dev",
      targetProductionData: false,
      useCaseId: "fraud-detection",
      sourceWorkspace: policy.exploration.workspace,
    });
    const prodOnly = planPromotion(policy, { ...input, environments: ["prod"] }, ctx);
    expect(prodOnly.assets).toMatchObject({ targetEnv: "prod", targetProductionData: true });
  });

  it("plans budgets only where the policy sets one", () => {
    expect(plan.environments.every((e) => e.budget === undefined)).toBe(true);
    const withBudget = {
      ...policy,
      environments: policy.environments.map((e) =>
        e.name === "prod" ? { ...e, budget: { monthlyAmount: 500, currency: "EUR" } } : e,
      ),
    };
    const p = planPromotion(withBudget, input, ctx);
    const b = p.environments.find((e) => e.env === "prod")!.budget!;
    expect(b.id).toBe(
      `${p.environments[2]!.resourceGroup.id}/providers/Microsoft.Consumption/budgets/${b.name}`,
    );
    expect(b.body).toMatchObject({
      properties: { amount: 500, timeGrain: "Monthly", timePeriod: { startDate: "2025-06-01T00:00:00Z" } },
    });
  });

  it("changes only the amount of an existing budget, keeping its alerts, filter and start", async () => {
    const withBudget = {
      ...policy,
      environments: policy.environments.map((e) =>
        e.name === "prod" ? { ...e, budget: { monthlyAmount: 500, currency: "EUR" } } : e,
      ),
    };
    const p = planPromotion(withBudget, input, ctx);
    const env = p.environments.find((e) => e.env === "prod")!;
    const theirs = {
      amount: 300,
      category: "Cost",
      timeGrain: "Monthly",
      timePeriod: { startDate: "2025-01-01T00:00:00Z" },
      notifications: {
        actual80: {
          enabled: true,
          operator: "GreaterThan",
          threshold: 80,
          contactEmails: ["finops@contoso.com"],
        },
      },
      filter: { tags: { name: "costCenter", operator: "In", values: ["CC-1234"] } },
    };
    const put = vi.fn(async () => ({}));
    const stepCtx = {
      clients: {
        resources: () => ({
          resources: {
            getById: async () => ({ id: env.budget!.id, properties: theirs }),
            beginCreateOrUpdateByIdAndWait: put,
          },
        }),
      },
      audit: { record: async () => undefined },
      plan: p,
      pollIntervalMs: 1,
    } as unknown as StepContext;

    expect(await ensureBudget(stepCtx, env)).toMatchObject({ outcome: "updated", writes: 1 });
    const body = (
      put.mock.calls[0] as unknown as [string, string, { properties: Record<string, unknown> }]
    )[2];
    expect(body.properties).toMatchObject({
      amount: 500,
      notifications: theirs.notifications,
      filter: theirs.filter,
      timePeriod: theirs.timePeriod,
    });
  });

  it("records the requester (resolved to a UPN or a service principal's name) and the acceptance day as creator", () => {
    const created = (requestedBy: string, p: Map<string, ResolvedPrincipal> = principals) => {
      const again = parsePromotionRequest({ ...example, requestedBy });
      if (!again.ok) throw new Error("must parse");
      const tags = planPromotion(
        policy,
        { ...input, request: { ...again.request, requestedBy }, principals: p },
        ctx,
      ).environments[0]!.resourceGroup.tags;
      return [tags.createdBy, tags.createdOn];
    };
    expect(plan.fillOnlyTags).toEqual(["createdBy", "createdOn"]);
    // An object id is resolved to the user's UPN by admission's lookup.
    const erinId = "e2140000-0000-4000-8000-000000000005";
    const byId = new Map(principals).set(erinId, principals.get("erin@contoso.com")!);
    expect(created(erinId.toUpperCase(), byId)).toEqual(["erin@contoso.com via aml-steward", "2025-06-17"]);
    // A service principal by its display name, as the event path names one.
    const sp = "f1f1f1f1-0000-4000-8000-00000000000f";
    const named = new Map(principals).set(sp, {
      objectId: sp,
      kind: "servicePrincipal",
      displayName: "mi-fraud-etl-pipeline",
    });
    expect(created(sp, named)).toEqual(["mi-fraud-etl-pipeline via aml-steward", "2025-06-17"]);
    // No name from the directory: the reference as written.
    expect(created(sp)).toEqual([`${sp} via aml-steward`, "2025-06-17"]);
    // A UPN without a UPN from Graph stays the UPN, not a display name.
    const noUpn = new Map(principals).set("alice@contoso.com", {
      objectId: "a11ce000-0000-4000-8000-000000000001",
      kind: "user",
      displayName: "Alice",
    });
    expect(created("alice@contoso.com", noUpn)).toEqual(["alice@contoso.com via aml-steward", "2025-06-17"]);
    // createdOn is the acceptance day from the record, never the clock: a retry next day plans the same.
    vi.useFakeTimers({ now: new Date("2025-06-18T00:00:01Z") });
    try {
      expect(planPromotion(policy, input, ctx)).toEqual(plan);
    } finally {
      vi.useRealTimers();
    }
    for (const e of plan.environments)
      for (const d of e.dependencies)
        expect(d.body.tags).toMatchObject({
          createdBy: "erin@contoso.com via aml-steward",
          createdOn: "2025-06-17",
        });
  });

  it("fills createdBy/createdOn when missing or blank and never corrects them", () => {
    const desired = plan.environments[0]!.resourceGroup.tags;
    const fill = plan.fillOnlyTags;
    expect(tagDifference(desired, {}, fill)).toEqual(desired);
    expect(
      tagDifference(desired, { ...desired, CreatedBy: "bob@contoso.com", createdOn: "2024-01-02" }, fill),
    ).toEqual({});
    const { createdOn: _, ...withoutDate } = desired;
    expect(tagDifference(desired, { ...withoutDate, createdBy: " " }, fill)).toEqual({
      createdBy: "erin@contoso.com via aml-steward",
      createdOn: "2025-06-17",
    });
    // Other tags are still corrected.
    expect(tagDifference(desired, { ...desired, owner: "bob@contoso.com" }, fill)).toEqual({
      owner: "erin@contoso.com",
    });
    // A workspace created again keeps what it carried.
    expect(
      keepFillOnlyTags(desired, { CreatedBy: "bob@contoso.com", other: "x", createdOn: "" }, fill),
    ).toEqual({
      ...Object.fromEntries(Object.entries(desired).filter(([k]) => k !== "createdBy")),
      CreatedBy: "bob@contoso.com",
    });
    expect(keepFillOnlyTags(desired, undefined, fill)).toEqual(desired);
  });

  it("lists every planned resource id", () => {
    expect(plannedResourceIds(plan)).toHaveLength(3 * (1 + 5 + 1));
  });
});

describe("a workspace found mid-creation", () => {
  afterEach(() => vi.useRealTimers());

  it("is waited for at most WORKSPACE_WAIT_MS, then the delivery fails for a retry, writing nothing", async () => {
    vi.useFakeTimers();
    const p = planPromotion(policy, input, ctx);
    const env = p.environments[0]!;
    const get = vi.fn(async () => ({ id: env.workspace.id, provisioningState: "Creating", tags: {} }));
    const create = vi.fn();
    const stepCtx = {
      clients: { machineLearning: () => ({ workspaces: { get, beginCreateOrUpdateAndWait: create } }) },
      audit: { record: async () => undefined },
      plan: p,
      pollIntervalMs: 2_000,
    } as unknown as StepContext;

    const run = ensureWorkspace(stepCtx, env);
    const outcome = expect(run).rejects.toMatchObject({ code: "WorkspaceBusy", statusCode: 503 });
    await vi.advanceTimersByTimeAsync(WORKSPACE_WAIT_MS + 5_000);
    await outcome;
    expect(create).not.toHaveBeenCalled();
    // One read per poll interval over the wait, not an unbounded loop.
    expect(get.mock.calls.length).toBeGreaterThan(WORKSPACE_WAIT_MS / 2_000 - 2);
    expect(get.mock.calls.length).toBeLessThanOrEqual(WORKSPACE_WAIT_MS / 2_000 + 2);
  });
});
