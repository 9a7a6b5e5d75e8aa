/**
 * The setups of Microsoft's guidance as estate policies: every example in examples/policies
 * validates through `steward policy validate`, states its pattern and trade-offs, and plans
 * the environments it describes; per-solution access narrows the estate matrix and never
 * widens it.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../../cli/index.js";
import type { PolicyError } from "../../shared/policy/index.js";
import { getPolicy, loadPolicyFile, parsePolicy } from "../../shared/policy/index.js";
import { describeSetup, registryName, TEAM_ENV } from "../../shared/policy/setupRules.js";
import { policyRefusals } from "../../shared/promotion/admission.js";
import { planPromotion } from "../../shared/promotion/plan.js";
import { recordedProjectMatrix } from "../../shared/promotion/projectAccess.js";
import type { PromotionRequest } from "../../shared/promotion/request.js";
import YAML from "yaml";
import { EXAMPLE_PRINCIPALS, exampleRequest, PLAN_CONTEXT } from "../helpers/planInputs.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/policies/", import.meta.url));
const example = (name: string) => loadPolicyFile(path.join(EXAMPLES, `${name}.yaml`));
const NAMES = [
  "contoso",
  "per-project",
  "single-environment",
  "single-workspace",
  "team-workspaces",
  "two-environments",
  "multiple-environments",
  "regional-training",
  "regional-serving",
  "regional-fine-tuning",
];

function cli() {
  let out = "";
  return { io: { stdout: (t: string) => void (out += t), stderr: () => {} }, out: () => out };
}

const request = exampleRequest;
const principals = EXAMPLE_PRINCIPALS;
const ctx = PLAN_CONTEXT;

describe("example policies", () => {
  it("has one example per setup, each with a README paragraph", () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml"));
    expect(files.map((f) => f.replace(/\.yaml$/, "")).sort()).toEqual([...NAMES].sort());
    const readme = readFileSync(path.join(EXAMPLES, "README.md"), "utf8");
    for (const name of NAMES) expect(readme).toContain(`(${name}.yaml)`);
  });

  it.each(NAMES)("%s validates with `steward policy validate`", async (name) => {
    const c = cli();
    expect(await main(["policy", "validate", path.join(EXAMPLES, `${name}.yaml`)], c.io)).toBe(0);
    expect(c.out()).toMatch(/: valid\./);
    expect(c.out()).toMatch(/^trade-offs:/m);
  });

  it("`steward policy show` states the setup and its trade-offs", async () => {
    const previous = process.env.STEWARD_POLICY_PATH;
    process.env.STEWARD_POLICY_PATH = path.join(EXAMPLES, "single-environment.yaml");
    try {
      const c = cli();
      expect(await main(["policy", "show"], c.io)).toBe(0);
      expect(c.out()).toContain("setup: workspace per project; single environment (main: production data)");
      expect(c.out()).toContain("single environment: development and production work share RBAC");
    } finally {
      if (previous === undefined) delete process.env.STEWARD_POLICY_PATH;
      else process.env.STEWARD_POLICY_PATH = previous;
    }
  });

  it("the Contoso example is the bundled default", () => {
    expect(example("contoso")).toEqual(getPolicy());
  });

  it("states each pattern and the trade-offs the guidance names", () => {
    expect(describeSetup(getPolicy())).toMatchObject({
      workspaces: "per project",
      environments: "multiple environments",
    });
    const single = describeSetup(example("single-environment"));
    expect(single.environments).toBe("single environment");
    expect(single.tradeOffs.join("\n")).toContain(
      "single environment: development and production work share RBAC",
    );
    expect(describeSetup(example("two-environments"))).toMatchObject({ environments: "two environments" });
    expect(describeSetup(example("two-environments")).tradeOffs.join("\n")).toMatch(
      /dev \(limited data\) and prod \(production data\)/,
    );
    expect(describeSetup(example("multiple-environments")).environments).toBe("multiple environments");
    expect(describeSetup(example("single-workspace")).workspaces).toBe("single workspace only");
    expect(describeSetup(example("team-workspaces")).workspaces).toBe("per team and per project");
  });

  it("plans exactly the environments each setup names, with its own matrix column", () => {
    for (const [name, envs] of [
      ["single-environment", ["main"]],
      ["two-environments", ["dev", "prod"]],
      ["contoso", ["dev", "qa", "prod"]],
      ["multiple-environments", ["dev", "test", "preprod", "prod"]],
    ] as const) {
      const policy = example(name);
      const r = request({ environments: [...envs] });
      expect(policyRefusals(policy, r)).toEqual([]);
      const plan = planPromotion(
        policy,
        { request: r, environments: [...envs], region: "westeurope", principals },
        ctx,
      );
      expect(plan.environments.map((e) => e.env)).toEqual(envs);
      for (const e of plan.environments) {
        const expected = policy.roles.reduce(
          (n, role) => n + policy.accessMatrix[role.name]![e.env]!.length,
          0,
        );
        expect(e.roleAssignments).toHaveLength(expected);
        expect(e.workspace.publicNetworkAccess).toBe(
          policy.hardening.publicNetworkAccess[e.env] ?? (e.productionData ? "Disabled" : "Enabled"),
        );
        expect(Boolean(e.budget)).toBe(Boolean(policy.environments.find((x) => x.name === e.env)!.budget));
      }
    }
  });

  it("a single-workspace estate refuses every project request", () => {
    const reasons = policyRefusals(example("single-workspace"), request({ costCenter: "CC-2100-FRAUD" }));
    expect(reasons.map((r) => r.reason).join("\n")).toMatch(
      /no project workspaces \(policy projects: false\)/,
    );
  });
});

describe("setup rules", () => {
  const doc = () => YAML.parse(readFileSync(path.join(EXAMPLES, "team-workspaces.yaml"), "utf8"));

  it("refuses teams paid by an unfunded cost centre, duplicate or non-canonical names", () => {
    const d = doc();
    d.teams = [
      { name: "fraud", costCenter: "CC-9999-NONE" },
      { name: "fraud", costCenter: "CC-2100-FRAUD" },
      { name: "fraud-", costCenter: "CC-2100-FRAUD" },
    ];
    const problems = (() => {
      try {
        parsePolicy(d);
        return [];
      } catch (e) {
        return (e as PolicyError).problems;
      }
    })();
    expect(problems.map((p) => `${p.path}: ${p.rule}`)).toEqual(
      expect.arrayContaining([
        "teams[0].costCenter: is not one of fundedCostCenters",
        "teams[1].name: team names must be unique",
        expect.stringMatching(/^teams\[2\]\.name: .*not a canonical project name/),
      ]),
    );
  });

  it(`refuses an environment called "${TEAM_ENV}" beside teams, and a registry with one environment`, () => {
    const d = doc();
    d.environments[0].name = TEAM_ENV;
    for (const row of Object.values(d.accessMatrix) as Record<string, unknown>[]) {
      row[TEAM_ENV] = row.dev;
      delete row.dev;
    }
    expect(() => parsePolicy(d)).toThrow(/"team" names team workspaces/);
    const s = YAML.parse(readFileSync(path.join(EXAMPLES, "single-environment.yaml"), "utf8"));
    s.mlRegistry = "perProject";
    expect(() => parsePolicy(s)).toThrow(/mlRegistry = "perProject": a registry rolls assets out/);
  });

  it("the Contoso default keeps its behaviour: no teams, projects on, no registry", () => {
    const p = getPolicy();
    expect(p.teams).toEqual([]);
    expect(p.projects).toBe(true);
    expect(p.mlRegistry).toBe("none");
  });

  it("gives every project a valid, stable registry name", () => {
    const p = getPolicy();
    expect(registryName(p, "fraud-detection")).toBe("mlr-fraud-detection");
    const long = registryName(p, "a".repeat(40));
    expect(long).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{2,32}$/);
    expect(registryName(p, "a".repeat(40))).toBe(long);
  });
});

describe("per-solution access", () => {
  const policy = getPolicy();
  const plan = (r: PromotionRequest) =>
    planPromotion(
      policy,
      { request: r, environments: ["dev", "qa", "prod"], region: "westeurope", principals },
      ctx,
    );

  it("a project may narrow the estate matrix for itself; the plan records it", () => {
    const r = request({
      narrowAccess: {
        "data-scientist": { qa: ["Reader"], prod: [] },
        reader: { dev: ["acdd72a7-3385-48ef-bd42-f606fba81ae7"] },
      },
    });
    expect(policyRefusals(policy, r)).toEqual([]);
    const narrowed = plan(r);
    const estate = plan(request());
    const grants = (p: typeof narrowed, env: string, role: string) =>
      p.environments
        .find((e) => e.env === env)!
        .roleAssignments.filter((a) => a.role === role)
        .map((a) => a.roleName);
    expect(grants(narrowed, "qa", "data-scientist")).toEqual(["Reader"]);
    expect(grants(narrowed, "prod", "data-scientist")).toEqual([]);
    expect(grants(narrowed, "dev", "reader")).toEqual(["Reader"]);
    // Cells the request does not name keep the estate's grants.
    expect(grants(narrowed, "dev", "data-scientist")).toEqual(grants(estate, "dev", "data-scientist"));
    expect(narrowed.access).toEqual([
      {
        role: "data-scientist",
        env: "qa",
        granted: ["Reader"],
        dropped: ["AzureML Data Scientist", "Storage Blob Data Reader"],
      },
      { role: "data-scientist", env: "prod", granted: [], dropped: ["Reader"] },
      { role: "reader", env: "dev", granted: ["Reader"], dropped: ["Storage Blob Data Reader"] },
    ]);
    // Without narrowing the plan (and so its hash) is what it always was.
    expect(estate.access).toBeUndefined();
  });

  it("the recorded cells give reconciliation the project's matrix back", () => {
    const r = request({ narrowAccess: { "data-scientist": { qa: ["Reader"], prod: [] } } });
    const cells = plan(r).access;
    const m = recordedProjectMatrix(policy, cells);
    expect(m["data-scientist"]!.qa!.map((g) => g.name)).toEqual(["Reader"]);
    expect(m["data-scientist"]!.prod).toEqual([]);
    expect(m["data-scientist"]!.dev).toEqual(policy.accessMatrix["data-scientist"]!.dev);
    expect(recordedProjectMatrix(policy, undefined)).toBe(policy.accessMatrix);
  });

  it("refuses a widening, an unknown role and an unknown environment", () => {
    const r = request({
      narrowAccess: {
        "data-scientist": { prod: ["Reader", "AzureML Data Scientist"] },
        reader: { staging: ["Reader"] },
        admin: { dev: ["Reader"] },
      },
    });
    const reasons = policyRefusals(policy, r);
    expect(reasons).toEqual(
      expect.arrayContaining([
        {
          path: "narrowAccess.data-scientist.prod.1",
          reason: expect.stringMatching(/"AzureML Data Scientist" widens the estate access matrix/),
        },
        { path: "narrowAccess.reader.staging", reason: expect.stringMatching(/not an environment/) },
        { path: "narrowAccess.admin", reason: expect.stringMatching(/not a role/) },
      ]),
    );
    expect(reasons).toHaveLength(3);
  });
});
