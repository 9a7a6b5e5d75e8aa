/**
 * Per-project region plans (policy `regionPlans`): which regions a project spans and what each
 * region does for it. Microsoft's guidance describes three reasons to span regions:
 *
 * - regional training: a workspace (with its own storage) in every region that holds data, so
 *   training runs where the data is and only metadata leaves it;
 * - regional serving: inference close to its users, fed by a training region (batch endpoints
 *   may need a workspace in the serving region; an AKS cluster attached elsewhere may not);
 * - regional fine-tuning: a base model trained in region A, fine-tuned in region B on data that
 *   may not leave B, carried through the project's registry replicated to both.
 *
 * Pure: the planner (what to build where), admission (what a request may ask), the region rule
 * (what may sit where) and `policy show` all read plans through these functions only.
 */
import { parseResourceId } from "../azure/resourceId.js";
import type { PolicyProblem } from "./problem.js";
import {
  canonicalProjectProblem,
  deriveName,
  LONG_SAMPLE_PROJECT,
  NamingError,
  type NameKind,
} from "./naming.js";
import { REGION_ROLES, type EstatePolicy, type RegionPlan, type RegionRole } from "./schema.js";

export interface NamedRegionPlan {
  name: string;
  plan: RegionPlan;
}

/** One region of a plan that gets a workspace of its own, with the roles it plays. */
export interface RegionSite {
  region: string;
  roles: RegionRole[];
  /** Serving sites: the training region whose models they serve. */
  servedFrom?: string;
}

/** The project's region plan, when the policy assigns it one. */
export function projectRegionPlan(policy: EstatePolicy, project: string): NamedRegionPlan | undefined {
  const name = policy.regionPlans.projects[project];
  const plan = name === undefined ? undefined : policy.regionPlans.plans[name];
  return name !== undefined && plan ? { name, plan } : undefined;
}

/**
 * The regions that get a workspace, home first: every training region, every serving region
 * that asks for a workspace, every fine-tuning target. A region playing several roles is one
 * site (one workspace) with all of them.
 */
export function regionSites(plan: RegionPlan, home: string = plan.training[0]!): RegionSite[] {
  const sites = new Map<string, RegionSite>();
  const add = (region: string, role: RegionRole, servedFrom?: string) => {
    const site = sites.get(region) ?? { region, roles: [] };
    if (!site.roles.includes(role)) site.roles.push(role);
    if (servedFrom && !site.servedFrom) site.servedFrom = servedFrom;
    sites.set(region, site);
  };
  add(home, "training");
  plan.training.forEach((r) => add(r, "training"));
  plan.serving.filter((s) => s.workspace).forEach((s) => add(s.region, "serving", s.servedFrom));
  plan.fineTuning.forEach((f) => add(f.target, "fine-tuning"));
  return [...sites.values()];
}

/** Which regions may hold a resource of each role (serving regions without a workspace included). */
export function regionsByRole(plan: RegionPlan): Record<RegionRole, string[]> {
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    training: uniq(plan.training),
    serving: uniq(plan.serving.map((s) => s.region)),
    "fine-tuning": uniq(plan.fineTuning.map((f) => f.target)),
  };
}

/** Every region of the plan. */
export function plannedRegions(plan: RegionPlan): string[] {
  return [...new Set(Object.values(regionsByRole(plan)).flat())];
}

/**
 * Where the project's registry must be replicated: home, then every fine-tuning base and
 * target. With a registry the policy names for fine-tuning, the project's stays at home: the
 * named one carries the base model (fineTuningReplicas).
 */
export function replicationRegions(plan: RegionPlan, home: string): string[] {
  return plan.fineTuningRegistry ? [home] : [...new Set([home, ...fineTuningReplicas(plan)])];
}

/** The regions the fine-tuning stages need a registry replica in: every base and target. */
export function fineTuningReplicas(plan: RegionPlan): string[] {
  return [...new Set(plan.fineTuning.flatMap((f) => [f.base, f.target]))];
}

/** The value of the role tag on a site's resources: its roles, comma-separated, in the schema's order. */
export function roleTagValue(roles: readonly RegionRole[]): string {
  return REGION_ROLES.filter((r) => roles.includes(r)).join(",");
}

/** The roles a role tag names (unknown words dropped). */
export function parseRoleTag(value: string | undefined): RegionRole[] {
  const known = new Set<string>(REGION_ROLES);
  return (value ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s): s is RegionRole => known.has(s));
}

/** Name kinds of a workspace and its dependencies: one of each per site, so each needs `{region}`. */
export function regionalNameKinds(policy: EstatePolicy): NameKind[] {
  return [
    "workspace",
    "storageAccount",
    "keyVault",
    "applicationInsights",
    "logAnalytics",
    ...(policy.containerRegistry === "perEnvironment" ? (["containerRegistry"] as const) : []),
  ];
}

/** Cross-field rules of `regionPlans` (load.ts reports them with every other problem). */
export function regionPlanProblems(p: EstatePolicy): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  const add = (path: string, value: unknown, rule: string) => out.push({ path, value, rule });
  const allowed = p.regions.allowed;
  const mustBeAllowed = (path: string, region: string) => {
    if (!allowed.includes(region))
      add(path, region, `must be one of regions.allowed (${allowed.join(", ")})`);
  };
  let multiSite: string | undefined;
  // Every plan's site regions (read for the name checks below).
  const regions = new Set<string>();
  for (const [name, plan] of Object.entries(p.regionPlans.plans)) {
    const at = `regionPlans.plans.${name}`;
    plan.training.forEach((r, i) => mustBeAllowed(`${at}.training[${i}]`, r));
    if (new Set(plan.training).size !== plan.training.length)
      add(`${at}.training`, plan.training, "each region may be named once");
    const mustBeTraining = (path: string, region: string, why = "") => {
      if (!plan.training.includes(region))
        add(path, region, `must be one of the plan's training regions (${plan.training.join(", ")})${why}`);
    };
    const serving = new Set<string>();
    plan.serving.forEach((s, i) => {
      mustBeAllowed(`${at}.serving[${i}].region`, s.region);
      mustBeTraining(`${at}.serving[${i}].servedFrom`, s.servedFrom);
      if (serving.has(s.region)) add(`${at}.serving[${i}].region`, s.region, "each region may be named once");
      serving.add(s.region);
    });
    plan.fineTuning.forEach((f, i) => {
      mustBeAllowed(`${at}.fineTuning[${i}].target`, f.target);
      mustBeTraining(`${at}.fineTuning[${i}].base`, f.base, ": the base model is trained there");
      if (f.base === f.target)
        add(
          `${at}.fineTuning[${i}]`,
          f,
          "base and target must differ: fine-tuning moves a model to another region",
        );
    });
    const named = plan.fineTuningRegistry;
    if (named !== undefined) {
      if (plan.fineTuning.length === 0)
        add(
          `${at}.fineTuningRegistry`,
          named,
          "names a registry for fine-tuning, but the plan has no fineTuning stage",
        );
      // The app's promotion role (registry read and write) is assigned on the project
      // subscription only (shared/setup/contract.ts): a registry elsewhere could not be replicated.
      if (parseResourceId(named)?.subscriptionId.toLowerCase() !== p.projectSubscriptionId.toLowerCase())
        add(
          `${at}.fineTuningRegistry`,
          named,
          `must be in the project subscription (${p.projectSubscriptionId}), where aml-steward's promotion role lets it add replicas`,
        );
    } else if (plan.fineTuning.length > 0 && (p.mlRegistry !== "perProject" || p.environments.length < 2))
      add(
        `${at}.fineTuning`,
        plan.fineTuning,
        "fine-tuning carries the base model through the project's registry: needs mlRegistry: perProject (and two environments or more), or a fineTuningRegistry the policy names",
      );
    const sites = regionSites(plan);
    if (sites.length > 1) multiSite ??= name;
    for (const site of sites) regions.add(site.region);
  }
  // Every site's names must derive, in its region, for the longest projects the pattern admits.
  for (const region of regions)
    for (const kind of regionalNameKinds(p))
      for (const env of p.environments)
        try {
          deriveName(p, kind, { project: LONG_SAMPLE_PROJECT, env: env.name, region });
        } catch (e) {
          if (e instanceof NamingError)
            add(`naming.${kind}`, p.naming[kind], `${e.message} (region ${region})`);
          else throw e;
        }
  // Names must stay one-to-one: two workspaces of one environment differ only by their region.
  if (multiSite) {
    for (const kind of regionalNameKinds(p))
      if (!p.naming[kind].includes("{region}"))
        add(
          `naming.${kind}`,
          p.naming[kind],
          `must contain {region}: region plan ${multiSite} puts several workspaces in each environment`,
        );
  }
  for (const [project, name] of Object.entries(p.regionPlans.projects)) {
    const canonical = canonicalProjectProblem(project);
    if (canonical) add(`regionPlans.projects.${project}`, project, canonical);
    if (!p.regionPlans.plans[name])
      add(
        `regionPlans.projects.${project}`,
        name,
        `is not a plan of regionPlans.plans (${Object.keys(p.regionPlans.plans).join(", ") || "none"})`,
      );
  }
  return out;
}

/** The trade-offs of the policy's region plans, in the guidance's terms (`policy show`). */
export function regionTradeOffs(p: EstatePolicy): string[] {
  const out: string[] = [];
  for (const [project, name] of Object.entries(p.regionPlans.projects)) {
    const plan = p.regionPlans.plans[name];
    if (!plan) continue;
    const by = regionsByRole(plan);
    if (by.training.length > 1)
      out.push(
        `regional training (${project}, plan ${name}): a workspace per data region (${by.training.join(", ")}); training runs where the data is and its metadata stays there; more workspaces to run and to keep in step`,
      );
    if (by.serving.length > 0)
      out.push(
        `regional serving (${project}, plan ${name}): inference in ${by.serving.join(", ")}, close to its users; data its endpoints collect must flow back to the training region for retraining`,
      );
    if (plan.fineTuning.length > 0)
      out.push(
        `regional fine-tuning (${project}, plan ${name}): ${plan.fineTuning.map((f) => `${f.base} -> ${f.target}`).join(", ")} through ${plan.fineTuningRegistry ? `the registry the policy names (${plan.fineTuningRegistry})` : "the project's registry"} replicated to both; the fine-tuning data never leaves its region`,
      );
  }
  return out;
}

/** `policy show`: one line per plan, with the projects it applies to. */
export function regionPlanLines(p: EstatePolicy): string[] {
  const plans = Object.entries(p.regionPlans.plans);
  if (plans.length === 0) return ["region plans: none (every project in one region)"];
  return [
    `region plans (role tag ${p.regionPlans.roleTag}):`,
    ...plans.map(([name, plan]) => {
      const projects = Object.entries(p.regionPlans.projects)
        .filter(([, n]) => n === name)
        .map(([project]) => project);
      const serving = plan.serving.map(
        (s) => `${s.region} from ${s.servedFrom}${s.workspace ? " (workspace)" : ""}`,
      );
      const tuning = plan.fineTuning.map((f) => `${f.base} -> ${f.target}`);
      return `  ${name}: training ${plan.training.join(", ")}${serving.length ? `; serving ${serving.join(", ")}` : ""}${tuning.length ? `; fine-tuning ${tuning.join(", ")}` : ""}; projects: ${projects.join(", ") || "none"}`;
    }),
  ];
}
