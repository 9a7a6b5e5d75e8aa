/**
 * Region plans (policy `regionPlans`): the policy's cross-field rules, what promotion plans in
 * each region for each example, what a request may say about regions, the region rule (for a
 * project with a plan, and unchanged without one), and one-to-one names across regions.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import {
  canonicalProjectProblem,
  deriveName,
  environmentNames,
  getPolicy,
  loadPolicyFile,
  parsePolicy,
  type EstatePolicy,
  type PolicyError,
} from "../../shared/policy/index.js";
import { regionalNameKinds, regionSites } from "../../shared/policy/regionPlans.js";
import { policyRefusals } from "../../shared/promotion/admission.js";
import { plannedResourceIds, planPromotion } from "../../shared/promotion/plan.js";
import { homeRegion } from "../../shared/promotion/regionAdmission.js";
import { parsePromotionRequest, type PromotionRequest } from "../../shared/promotion/request.js";
import { stepNames } from "../../shared/promotion/execute.js";
import { appRoleSet } from "../../shared/setup/contract.js";
import { decideTags } from "../../shared/tagging/decideTags.js";
import { formatRecord } from "../../cli/commands/promotion.js";
import type { PromotionRecord } from "../../shared/promotion/record.js";
import { EXAMPLE_BODY, EXAMPLE_PRINCIPALS, exampleRequest, PLAN_CONTEXT } from "../helpers/planInputs.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/policies/", import.meta.url));
const example = (name: string) => loadPolicyFile(path.join(EXAMPLES, `${name}.yaml`));
const doc = (name: string) =>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a policy document edited freely, then validated
  YAML.parse(readFileSync(path.join(EXAMPLES, `${name}.yaml`), "utf8")) as Record<string, any>;

function problems(d: unknown): string[] {
  try {
    parsePolicy(d);
    return [];
  } catch (e) {
    return (e as PolicyError).problems.map((p) => `${p.path}: ${p.rule}`);
  }
}

const body = EXAMPLE_BODY;
const request = (over: Record<string, unknown> = {}) =>
  exampleRequest({ environments: ["dev", "prod"], region: undefined, ...over });
const principals = EXAMPLE_PRINCIPALS;
const ctx = PLAN_CONTEXT;
function plan(policy: EstatePolicy, r: PromotionRequest) {
  expect(policyRefusals(policy, r)).toEqual([]);
  return planPromotion(
    policy,
    { request: r, environments: ["dev", "prod"], region: homeRegion(policy, r), principals },
    ctx,
  );
}
/** region -> role tag of every workspace the plan builds, per environment. */
function workspaces(policy: EstatePolicy, p: ReturnType<typeof plan>) {
  return p.environments.map((e) => ({
    env: e.env,
    rg: e.resourceGroup.location,
    workspaces: [e.workspace, ...(e.regional ?? []).map((w) => w.workspace)].map((w) => [
      w.location,
      w.tags[policy.regionPlans.roleTag],
    ]),
  }));
}

describe("policy: region plans", () => {
  it("the Contoso default has none and plans exactly as before: one region, no role tag", () => {
    const policy = getPolicy();
    expect(policy.regionPlans).toEqual({ roleTag: "regionRole", plans: {}, projects: {} });
    const p = plan(policy, request({ environments: ["dev", "qa", "prod"] }));
    expect(p.regions).toBeUndefined();
    for (const e of p.environments) {
      expect(e.regional).toBeUndefined();
      expect(e.workspace.location).toBe("westeurope");
      expect(Object.keys(e.workspace.tags)).not.toContain("regionRole");
    }
    expect(stepNames(p).filter((s) => s.split("/").length > 2)).toEqual([]);
  });

  it("refuses plans that break the cross-field rules, each with its reason", () => {
    const d = doc("regional-training");
    d.regionPlans.plans.bad = {
      training: ["westeurope", "northeurope", "westeurope"],
      serving: [{ region: "eastus", servedFrom: "australiaeast" }],
      fineTuning: [{ base: "westeurope", target: "westeurope" }],
    };
    d.regionPlans.projects["churn--model"] = "nope";
    expect(problems(d)).toEqual(
      expect.arrayContaining([
        "regionPlans.plans.bad.training[1]: must be one of regions.allowed (westeurope, eastus)",
        "regionPlans.plans.bad.training: each region may be named once",
        "regionPlans.plans.bad.serving[0].servedFrom: must be one of the plan's training regions (westeurope, northeurope, westeurope)",
        "regionPlans.plans.bad.fineTuning[0]: base and target must differ: fine-tuning moves a model to another region",
        expect.stringMatching(/^regionPlans\.projects\.churn--model: .*not a canonical project name/),
        "regionPlans.projects.churn--model: is not a plan of regionPlans.plans (eu-us-training, bad)",
      ]),
    );
  });

  it("needs {region} in every workspace kind's template once a plan has several workspaces per environment", () => {
    const d = doc("regional-training");
    d.naming.workspace = "mlw-{project}-{env}";
    d.naming.storageAccount = "st{project}{env}{hash}";
    expect(problems(d)).toEqual([
      "naming.workspace: must contain {region}: region plan eu-us-training puts several workspaces in each environment",
      "naming.storageAccount: must contain {region}: region plan eu-us-training puts several workspaces in each environment",
    ]);
    // One region per environment: no {region} needed.
    d.regionPlans.plans["eu-us-training"].training = ["eastus"];
    expect(problems(d)).toEqual([]);
  });

  it("every workspace kind must derive in every planned region for the longest project names", () => {
    const d = doc("regional-serving");
    d.naming.keyVault = "kv-{project}-{env}-{region}-{hash}";
    expect(problems(d)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^naming\.keyVault: cannot derive a valid keyVault name .* leaves no room for the project \(region australiaeast\)$/,
        ),
      ]),
    );
  });

  it("fine-tuning needs the project's registry", () => {
    const d = doc("regional-fine-tuning");
    d.mlRegistry = "none";
    expect(problems(d)).toEqual([
      expect.stringMatching(
        /^regionPlans\.plans\.eu-base-us-tune\.fineTuning: fine-tuning carries the base model through the project's registry/,
      ),
    ]);
  });

  it("or a registry the policy names, in the project subscription, for a plan that fine-tunes", () => {
    const d = doc("regional-fine-tuning");
    const rg = (sub: string) =>
      `/subscriptions/${sub}/resourceGroups/rg-ml-platform/providers/Microsoft.MachineLearningServices/registries/mlr-platform`;
    d.mlRegistry = "none";
    d.regionPlans.plans["eu-base-us-tune"].fineTuningRegistry = rg(d.projectSubscriptionId);
    expect(problems(d)).toEqual([]);
    // The promotion role, which adds the replicas, is assigned on the project subscription only.
    d.regionPlans.plans["eu-base-us-tune"].fineTuningRegistry = rg(d.exploration.subscriptionId);
    expect(problems(d)).toEqual([
      expect.stringMatching(/fineTuningRegistry: must be in the project subscription/),
    ]);
    d.regionPlans.plans["eu-base-us-tune"].fineTuningRegistry =
      `${rg(d.projectSubscriptionId)}/../../workspaces/x`;
    expect(problems(d)).toEqual([
      expect.stringMatching(/fineTuningRegistry: must be the ARM id of an Azure ML registry/),
    ]);
    d.regionPlans.plans["eu-base-us-tune"].fineTuningRegistry = rg(d.projectSubscriptionId);
    d.regionPlans.plans["eu-base-us-tune"].fineTuning = [];
    expect(problems(d)).toEqual([
      expect.stringMatching(
        /fineTuningRegistry: names a registry for fine-tuning, but the plan has no fineTuning stage/,
      ),
    ]);
  });

  it("a named fine-tuning registry is replicated by its own step; the project's registry stays at home", () => {
    const d = doc("regional-fine-tuning");
    const id = `/subscriptions/${d.projectSubscriptionId}/resourceGroups/rg-ml-platform/providers/Microsoft.MachineLearningServices/registries/mlr-platform`;
    d.regionPlans.plans["eu-base-us-tune"].fineTuningRegistry = id;
    const policy = parsePolicy(d);
    const p = plan(policy, request());
    expect(p.regions?.fineTuningRegistry).toEqual({ id, replicas: ["westeurope", "eastus"] });
    expect(p.regions?.registryReplicas).toEqual(["westeurope"]);
    expect(stepNames(p)).toContain("registry/fineTuning");
    // The app's role can write registries even without per-project ones.
    d.mlRegistry = "none";
    expect(appRoleSet(parsePolicy(d)).customRoles[0]!.actions.map((a) => a.action)).toContain(
      "Microsoft.MachineLearningServices/registries/write",
    );
  });
});

describe("promotion plans what the region plan says, per environment", () => {
  it("regional training: a workspace with its own dependencies per data region", () => {
    const policy = example("regional-training");
    const p = plan(policy, request());
    expect(p.regions).toMatchObject({
      plan: "eu-us-training",
      home: "westeurope",
      registryReplicas: ["westeurope"],
    });
    expect(workspaces(policy, p)).toEqual(
      ["dev", "prod"].map((env) => ({
        env,
        rg: "westeurope",
        workspaces: [
          ["westeurope", "training"],
          ["eastus", "training"],
        ],
      })),
    );
    const dev = p.environments[0]!;
    const east = dev.regional![0]!;
    expect(east.dependencies.every((d) => d.body.location === "eastus")).toBe(true);
    expect(east.workspace.name).toBe(environmentNames(policy, "fraud-detection", "dev", "eastus").workspace);
    expect(east.workspace.name).not.toBe(dev.workspace.name);
    expect(east.workspace.storageAccount).toContain("eastus");
    // Everything in the environment's one resource group; one set of groups and role assignments.
    expect(east.workspace.resourceGroup).toBe(dev.resourceGroup.name);
    expect(dev.groups).toHaveLength(policy.roles.length);
    expect(stepNames(p)).toEqual(
      expect.arrayContaining(["dev/eastus/dependencies", "dev/eastus/workspace", "prod/eastus/dataAccess"]),
    );
    const ids = plannedResourceIds(p);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(east.workspace.id);
  });

  it("a request may choose its home among the plan's training regions", () => {
    const policy = example("regional-training");
    const p = plan(policy, request({ region: "eastus" }));
    expect(p.environments[0]!.resourceGroup.location).toBe("eastus");
    expect(workspaces(policy, p)[0]!.workspaces).toEqual([
      ["eastus", "training"],
      ["westeurope", "training"],
    ]);
  });

  it("regional serving: a serving workspace in the serving region, served from the training region", () => {
    const policy = example("regional-serving");
    const p = plan(policy, request());
    expect(workspaces(policy, p)[1]).toEqual({
      env: "prod",
      rg: "westeurope",
      workspaces: [
        ["westeurope", "training"],
        ["australiaeast", "serving"],
      ],
    });
    expect(p.environments[1]!.regional![0]).toMatchObject({
      region: "australiaeast",
      servedFrom: "westeurope",
    });
    expect(p.environments[1]!.regional![0]!.workspace.description).toContain(
      "serves models trained in westeurope",
    );
    // `steward status` says what was built where.
    const shown = formatRecord({
      requestId: p.requestId,
      status: "succeeded",
      steps: [],
      resources: [],
      attempts: 1,
      acceptedAt: "2026-12-05T10:00:00Z",
      updatedAt: "2026-12-05T10:05:00Z",
      plan: p,
    } as unknown as PromotionRecord);
    expect(shown).toContain("region plan eu-train-au-serve: home westeurope; registry in westeurope\n");
    expect(shown).toContain("  workspace per environment in australiaeast: serving (served from westeurope)");
  });

  it("regional fine-tuning: a fine-tuning workspace, the registry replicated to both regions", () => {
    const policy = example("regional-fine-tuning");
    const p = plan(policy, request());
    expect(workspaces(policy, p)[0]!.workspaces).toEqual([
      ["westeurope", "training"],
      ["eastus", "fine-tuning"],
    ]);
    const body = p.registry!.resource.body as {
      location: string;
      properties: { regionDetails: { location: string }[] };
    };
    expect(body.location).toBe("westeurope");
    expect(body.properties.regionDetails.map((r) => r.location)).toEqual(["westeurope", "eastus"]);
  });

  it("a region playing several roles is one workspace with all of them", () => {
    const policy = example("regional-training");
    const sites = regionSites({
      training: ["westeurope", "eastus"],
      serving: [{ region: "eastus", servedFrom: "westeurope", workspace: true }],
      fineTuning: [{ base: "westeurope", target: "eastus" }],
    });
    expect(sites).toEqual([
      { region: "westeurope", roles: ["training"] },
      { region: "eastus", roles: ["training", "serving", "fine-tuning"], servedFrom: "westeurope" },
    ]);
    expect(policy.regionPlans.roleTag).toBe("regionRole");
  });
});

describe("a request can never choose a region outside the plan or the allowed list", () => {
  const policy = example("regional-training");
  const reasons = (over: Record<string, unknown>) =>
    policyRefusals(policy, request(over)).map((r) => `${r.path}: ${r.reason}`);

  it("refuses a region outside regions.allowed", () => {
    expect(reasons({ region: "australiaeast" })).toEqual([
      'region: "australiaeast" is not an allowed region (westeurope, eastus)',
    ]);
  });

  it("refuses an allowed region outside the project's plan", () => {
    const serving = example("regional-serving");
    expect(policyRefusals(serving, request({ region: "australiaeast" })).map((r) => r.reason)).toEqual([
      `"australiaeast" is not a training region of project "fraud-detection"'s region plan "eu-train-au-serve" (training: westeurope); the project's resource groups live in one of them`,
    ]);
  });

  it("refuses another plan, or a plan for a project that has none", () => {
    const d = doc("regional-training");
    d.regionPlans.plans.other = { training: ["eastus"] };
    const p = parsePolicy(d);
    expect(policyRefusals(p, request({ regionPlan: "other" })).map((r) => r.reason)).toEqual([
      `project "fraud-detection" has region plan "eu-us-training" (policy regionPlans.projects); a request cannot choose "other"`,
    ]);
    expect(policyRefusals(p, request({ regionPlan: "eu-us-training" }))).toEqual([]);
    expect(
      policyRefusals(p, request({ project: "churn-model", useCaseId: "churn", regionPlan: "other" })).map(
        (r) => r.reason,
      ),
    ).toEqual([
      `project "churn-model" has no region plan in the estate policy; a request cannot choose one ("other")`,
    ]);
  });

  it("refuses a request that tries to add a region, saying regions come from the policy", () => {
    for (const field of ["regions", "serving", "fineTuning", "training", "location"]) {
      const parsed = parsePromotionRequest({ ...body, [field]: ["australiaeast"] });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok)
        expect(parsed.reasons).toEqual([
          {
            path: field,
            reason:
              "regions come only from the estate policy's region plans; a request may name its home `region` and its project's `regionPlan`, never add a region",
          },
        ]);
    }
  });
});

describe("the region rule knows plans and roles", () => {
  const policy = example("regional-serving");
  const sub = policy.projectSubscriptionId;
  const rg = environmentNames(policy, "fraud-detection", "prod").resourceGroup;
  const rgTags = {
    costCenter: "CC-2100-FRAUD",
    project: "fraud-detection",
    environment: "prod",
    owner: "erin@contoso.com",
  };
  /** The region violations of an AKS cluster (or, with isGroup, a resource group) placed so. */
  const region = (over: {
    location: string;
    tags?: Record<string, string>;
    group?: string;
    isGroup?: boolean;
    policy?: EstatePolicy;
    groupTags?: Record<string, string>;
  }) => {
    const group = over.group ?? rg;
    const d = decideTags({
      policy: over.policy ?? policy,
      resource: over.isGroup
        ? {
            id: `/subscriptions/${sub}/resourceGroups/${group}`,
            type: "Microsoft.Resources/resourceGroups",
            name: group,
            location: over.location,
            tags: { ...rgTags, ...over.tags },
          }
        : {
            id: `/subscriptions/${sub}/resourceGroups/${group}/providers/Microsoft.ContainerService/managedClusters/aks1`,
            type: "Microsoft.ContainerService/managedClusters",
            name: "aks1",
            location: over.location,
            tags: over.tags ?? {},
          },
      resourceGroupTags: over.isGroup ? undefined : (over.groupTags ?? rgTags),
    });
    return d.violations.filter((v) => v.kind === "region").map((v) => v.detail);
  };

  it("a serving resource in the serving region and a training one at home pass", () => {
    expect(region({ location: "australiaeast", tags: { regionRole: "serving" } })).toEqual([]);
    expect(region({ location: "westeurope", tags: { regionRole: "training" } })).toEqual([]);
    expect(region({ location: "Australia East" })).toEqual([]);
  });

  it("a training resource in the serving region is flagged, naming the plan", () => {
    expect(region({ location: "australiaeast", tags: { regionRole: "training" } })).toEqual([
      `location australiaeast is outside project fraud-detection's region plan "eu-train-au-serve" for role training (training: westeurope)`,
    ]);
  });

  it("a serving region without a workspace still holds serving resources (an AKS cluster attached elsewhere)", () => {
    const d = doc("regional-serving");
    d.regionPlans.plans["eu-train-au-serve"].serving[0].workspace = false;
    const p = parsePolicy(d);
    const r = exampleRequest({ environments: ["dev", "prod"], region: undefined });
    const planned = planPromotion(
      p,
      { request: r, environments: ["dev", "prod"], region: "westeurope", principals },
      ctx,
    );
    expect(planned.environments.every((e) => e.regional?.length === 0)).toBe(true);
    expect(region({ policy: p, location: "australiaeast", tags: { regionRole: "serving" } })).toEqual([]);
  });

  it("outside regions.allowed stays the estate rule's violation", () => {
    expect(region({ location: "eastus" })).toEqual([
      "location eastus is not allowed (allowed: westeurope, australiaeast)",
    ]);
  });

  it("a resource group tagged to look like the project's serving resource gains nothing", () => {
    expect(
      region({
        isGroup: true,
        group: "rg-serving-cache",
        location: "australiaeast",
        tags: { regionRole: "serving" },
      }),
    ).toEqual([
      expect.stringMatching(
        /^resource group location australiaeast breaks the region plan: it is tagged as project fraud-detection but sits outside the project's resource groups \(rg-aml-fraud-detection-dev, rg-aml-fraud-detection-prod\)/,
      ),
    ]);
    // ... and what is in it neither, whatever its own role tag says.
    expect(
      region({ group: "rg-serving-cache", location: "australiaeast", tags: { regionRole: "serving" } }),
    ).toHaveLength(1);
    // The project's own resource group belongs in a training region.
    expect(region({ isGroup: true, location: "australiaeast" })).toEqual([
      expect.stringMatching(/keeps its resource groups in its training regions \(training: westeurope\)$/),
    ]);
  });

  it("a project tag naming another project does not take a resource out of its resource group's plan", () => {
    const d = doc("regional-serving");
    d.regions.allowed.push("northeurope");
    const p = parsePolicy(d);
    const other = { ...rgTags, project: "churn-model" };
    expect(
      region({ policy: p, location: "northeurope", tags: { project: "churn-model" }, groupTags: other }),
    ).toEqual([
      `location northeurope is outside project fraud-detection's region plan "eu-train-au-serve" (westeurope, australiaeast)`,
    ]);
  });

  it("a project without a plan keeps today's rule", () => {
    const other = { ...rgTags, project: "churn-model" };
    expect(
      region({
        group: "rg-aml-churn-model-prod",
        location: "australiaeast",
        tags: { regionRole: "training" },
        groupTags: other,
      }),
    ).toEqual([]);
  });
});

describe("names stay one-to-one across regions", () => {
  it.each(["regional-training", "regional-serving", "regional-fine-tuning"])("%s", (name) => {
    const policy = example(name);
    const regions = policy.regions.allowed;
    const projects = [
      "fraud-detection",
      "frauddetection",
      "fraud-detect-ion",
      "a".repeat(42),
      `${"a".repeat(40)}-b`,
      "ab1",
      "ab-1",
      "a-b1",
    ];
    for (const p of projects) expect(canonicalProjectProblem(p)).toBeUndefined();
    for (const kind of regionalNameKinds(policy)) {
      const seen = new Map<string, string>();
      for (const project of projects)
        for (const env of policy.environments.map((e) => e.name))
          for (const region of regions) {
            const n = deriveName(policy, kind, { project, env, region });
            const key = `${project}/${env}/${region}`;
            expect(seen.get(n), `${kind} ${n}: ${seen.get(n)} and ${key}`).toBeUndefined();
            seen.set(n, key);
          }
    }
  });
});
