/**
 * Which of Microsoft's workspace and environment setups a policy describes, and the rules that
 * keep the setup fields (teams, mlRegistry) consistent with the rest of the policy. Kept apart
 * from load.ts so the setup vocabulary lives in one place: `policy show`, the docs and the
 * examples all speak it.
 */
import { canonicalProjectProblem, environmentNames, NamingError, stableHash } from "./naming.js";
import { regionTradeOffs } from "./regionPlans.js";
import type { EstatePolicy } from "./schema.js";

/**
 * The `{env}` token of a team workspace's names. A team has one workspace, not environments;
 * a fixed token keeps its names in the policy's conventions and apart from any project's,
 * since no environment may be called that (checked below).
 */
export const TEAM_ENV = "team";

export type WorkspacePattern =
  "single workspace only" | "per project" | "per team" | "per team and per project";
export type EnvironmentPattern = "single environment" | "two environments" | "multiple environments";

export interface SetupDescription {
  /** Where experimentation happens and what gets its own workspace. */
  workspaces: WorkspacePattern;
  environments: EnvironmentPattern;
  /** One line each, as Microsoft's guidance names them. */
  tradeOffs: string[];
}

/** The setup the policy expresses, in the guidance's terms, with its named trade-offs. */
export function describeSetup(p: EstatePolicy): SetupDescription {
  const projects = p.projects && p.fundedCostCenters.length > 0;
  const teams = p.teams.length > 0;
  const workspaces: WorkspacePattern =
    teams && projects
      ? "per team and per project"
      : teams
        ? "per team"
        : projects
          ? "per project"
          : "single workspace only";
  const n = p.environments.length;
  const environments: EnvironmentPattern =
    n === 1 ? "single environment" : n === 2 ? "two environments" : "multiple environments";
  const out: string[] = [];
  out.push(
    `single workspace: ${p.exploration.workspace} is shared and paid by ${p.exploration.costCenter} (R&D), so exploration cost stays apart from project cost`,
  );
  if (workspaces === "single workspace only")
    out.push(
      "single workspace only: nothing is segregated by project or team; all members share its data and access",
    );
  if (teams)
    out.push(
      "workspace per team: all of a team's artefacts in one place, a smaller footprint, cost per team; no per-use-case data segregation inside a team workspace, so naming and tagging keep it organised",
    );
  if (projects)
    out.push(
      "workspace per project: data and assets segregated and costs budgeted per project; external contributors can be given one project, not a whole team; more workspaces to run",
    );
  if (n === 1)
    out.push(
      "single environment: development and production work share RBAC; writer access to production data sources can harm data quality",
    );
  else if (n === 2) {
    const [a, b] = p.environments;
    out.push(
      `two environments: ${a!.name} (${a!.productionData ? "production data" : "limited data"}) and ${b!.name} (${b!.productionData ? "production data" : "limited data"}) segregate development from production work without duplicating data more than needed`,
    );
  } else
    out.push(
      `multiple environments (${p.environments.map((e) => e.name).join(" -> ")}): artefacts roll out across workspace instances; a select group can train on production data outside development; more management and process overhead`,
    );
  if (n > 1)
    out.push(
      p.mlRegistry === "perProject"
        ? "rollout: a per-project Azure ML registry; the first environment publishes, later ones consume, no data copied"
        : "rollout: assets are copied into the first environment only; later environments get no shared registry (mlRegistry: none)",
    );
  out.push(...regionTradeOffs(p));
  return { workspaces, environments, tradeOffs: out };
}

/** ML registry names: 3-33 letters, digits, '-' or '_', starting with a letter or digit. */
export function registryName(p: EstatePolicy, project: string): string {
  const base = `mlr-${project}`;
  if (base.length <= 33) return base;
  const hash = stableHash([p.naming.uniquenessSeed, "mlRegistry", project], p.naming.hashLength);
  return `${base.slice(0, 33 - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

export function setupProblems(p: EstatePolicy): { path: string; value: unknown; rule: string }[] {
  const out: { path: string; value: unknown; rule: string }[] = [];
  const add = (path: string, value: unknown, rule: string) => out.push({ path, value, rule });
  const funded = new Set(p.fundedCostCenters.map((c) => c.id));
  const seen = new Set<string>();
  p.teams.forEach((t, i) => {
    if (seen.has(t.name)) add(`teams[${i}].name`, t.name, "team names must be unique");
    seen.add(t.name);
    const canonical = canonicalProjectProblem(t.name);
    if (canonical) add(`teams[${i}].name`, t.name, canonical);
    if (!funded.has(t.costCenter))
      add(`teams[${i}].costCenter`, t.costCenter, "is not one of fundedCostCenters");
    try {
      environmentNames(p, t.name, TEAM_ENV);
    } catch (e) {
      if (e instanceof NamingError) add(`teams[${i}].name`, t.name, e.message);
      else throw e;
    }
  });
  if (p.teams.length > 0 && p.environments.some((e) => e.name === TEAM_ENV))
    add("environments", TEAM_ENV, `"${TEAM_ENV}" names team workspaces; an environment may not use it`);
  if (p.mlRegistry === "perProject" && p.environments.length < 2)
    add(
      "mlRegistry",
      p.mlRegistry,
      "a registry rolls assets out across environments; a single-environment policy has nothing to roll out to",
    );
  return out;
}
