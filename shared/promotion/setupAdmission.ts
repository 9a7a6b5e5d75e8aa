/**
 * What the estate's setup (policy `projects`, `teams`) means for a request: which kinds of
 * workspace this estate hands out at all, a team onboarding request (a team's one workspace
 * through the same envelope, authorisation and approval as a project), and the workspace a
 * project's assets come from (exploration, or a team workspace). Apart from admission.ts and
 * plan.ts so the setup rules stay in one place, next to shared/policy/setupRules.ts.
 */
import { resourceGroupId } from "../azure/resourceId.js";
import { environmentNames } from "../policy/naming.js";
import type { EstatePolicy } from "../policy/schema.js";
import { TEAM_ENV } from "../policy/setupRules.js";
import type { PromotionRequest, Refusal } from "./request.js";

export { TEAM_ENV };

export const isTeamRequest = (r: Pick<PromotionRequest, "kind">) => r.kind === "team";

export function setupRefusals(policy: EstatePolicy, request: PromotionRequest): Refusal[] {
  const out: Refusal[] = [];
  const teams = policy.teams.map((t) => t.name);
  if (isTeamRequest(request)) {
    const team = policy.teams.find((t) => t.name === request.project);
    if (!team)
      out.push({
        path: "project",
        reason: `"${request.project}" is not a team of the estate policy (${teams.join(", ") || "it names none"}); teams are declared in the policy, then onboarded`,
      });
    else if (team.costCenter !== request.costCenter)
      out.push({
        path: "costCenter",
        reason: `team "${team.name}" is paid by "${team.costCenter}" (policy teams), not "${request.costCenter}"`,
      });
    // A team has one workspace; environments and per-solution access are project notions.
    if (request.environments)
      out.push({ path: "environments", reason: "a team has one workspace, not environments" });
    if (request.narrowAccess)
      out.push({
        path: "narrowAccess",
        reason: "a team workspace has the estate's access; narrowing is per project",
      });
    if (request.fromTeam)
      out.push({
        path: "fromTeam",
        reason: "a team workspace is onboarded empty, not promoted from another",
      });
    return out;
  }
  if (!policy.projects)
    out.push({
      path: "project",
      reason:
        "this estate has no project workspaces (policy projects: false); work stays in the shared workspace",
    });
  if (request.fromTeam && !teams.includes(request.fromTeam))
    out.push({
      path: "fromTeam",
      reason: `"${request.fromTeam}" is not a team of the estate policy (${teams.join(", ") || "it names none"})`,
    });
  if (request.fromTeam && teams.includes(request.project))
    out.push({ path: "project", reason: `"${request.project}" is a team's name; a project needs its own` });
  return out;
}

/**
 * The workspace a request's assets come from, in the shape of `policy.exploration`: the team
 * workspace a project is promoted from, else exploration. A team's workspace is where its
 * onboarding put it (its names with the team token), so nothing else needs recording.
 */
export function assetSource(policy: EstatePolicy, request: Pick<PromotionRequest, "fromTeam">) {
  if (!request.fromTeam) return policy.exploration;
  const team = policy.teams.find((t) => t.name === request.fromTeam);
  const names = environmentNames(policy, request.fromTeam, TEAM_ENV);
  return {
    subscriptionId: policy.projectSubscriptionId,
    resourceGroup: names.resourceGroup,
    workspace: names.workspace,
    costCenter: team?.costCenter ?? policy.exploration.costCenter,
  };
}

export function workspaceId(source: { subscriptionId: string; resourceGroup: string; workspace: string }) {
  return `${resourceGroupId(source.subscriptionId, source.resourceGroup)}/providers/Microsoft.MachineLearningServices/workspaces/${source.workspace}`;
}

/**
 * A team workspace is an environment of its own kind: limited data (like the first
 * environment, where experimentation happens), that environment's matrix column and
 * hardening, and no budget (a team's cost is reported by its cost centre tag).
 */
export function teamEnvironment(policy: EstatePolicy) {
  const first = policy.environments[0]!;
  return { name: TEAM_ENV, productionData: false, columnOf: first.name };
}
