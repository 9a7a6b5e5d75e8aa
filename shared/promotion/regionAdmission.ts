/**
 * What a promotion request may say about regions. Regions come from the policy only: the
 * estate's `regions.allowed`, and for a project with a region plan (`regionPlans.projects`) the
 * plan's regions. A request may name its home region (one of the plan's training regions, or
 * any allowed region without a plan) and its project's plan, as a check; it can never add a
 * region, pick another project's plan, or move a workspace outside its plan.
 */
import { environmentNames, NamingError } from "../policy/naming.js";
import { projectRegionPlan, regionSites } from "../policy/regionPlans.js";
import type { EstatePolicy } from "../policy/schema.js";
import type { PromotionRequest, Refusal } from "./request.js";
import { isTeamRequest } from "./setupAdmission.js";

/** The region of the project's resource groups: the request's, else the plan's first, else the default. */
export function homeRegion(policy: EstatePolicy, request: PromotionRequest): string {
  const plan = isTeamRequest(request) ? undefined : projectRegionPlan(policy, request.project);
  return request.region ?? plan?.plan.training[0] ?? policy.regions.default;
}

/** The registry the project's region plan names for fine-tuning, if any (never the request's). */
export function fineTuningRegistryOf(policy: EstatePolicy, request: PromotionRequest): string | undefined {
  if (isTeamRequest(request)) return undefined;
  return projectRegionPlan(policy, request.project)?.plan.fineTuningRegistry;
}

export function regionRefusals(policy: EstatePolicy, request: PromotionRequest): Refusal[] {
  const out: Refusal[] = [];
  const add = (path: string, reason: string) => out.push({ path, reason });
  const allowed = policy.regions.allowed;
  if (request.region !== undefined && !allowed.includes(request.region)) {
    add("region", `"${request.region}" is not an allowed region (${allowed.join(", ")})`);
    return out;
  }
  const named = isTeamRequest(request) ? undefined : projectRegionPlan(policy, request.project);
  if (request.regionPlan !== undefined && request.regionPlan !== named?.name) {
    add(
      "regionPlan",
      named
        ? `project "${request.project}" has region plan "${named.name}" (policy regionPlans.projects); a request cannot choose "${request.regionPlan}"`
        : `project "${request.project}" has no region plan in the estate policy; a request cannot choose one ("${request.regionPlan}")`,
    );
  }
  if (!named) return out;
  const { name, plan } = named;
  if (request.region !== undefined && !plan.training.includes(request.region)) {
    add(
      "region",
      `"${request.region}" is not a training region of project "${request.project}"'s region plan "${name}" (training: ${plan.training.join(", ")}); the project's resource groups live in one of them`,
    );
    return out;
  }
  // Every workspace of the plan must get valid names in its region.
  for (const site of regionSites(plan, homeRegion(policy, request)))
    for (const env of policy.environments)
      try {
        environmentNames(policy, request.project, env.name, site.region);
      } catch (e) {
        if (e instanceof NamingError) add("project", `${e.message} (region ${site.region})`);
        else throw e;
      }
  return out;
}
