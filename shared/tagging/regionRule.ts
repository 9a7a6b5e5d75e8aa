/**
 * The region rule, the one place that says whether a resource may sit where it is. The event
 * path and the nightly reconciliation both reach it through decideTags.
 *
 * - Anywhere outside `regions.allowed` is a violation (the estate rule, unchanged).
 * - A resource of a project without a region plan: that is all.
 * - A resource of a project with a plan (the project whose resource group holds it, else its
 *   project tag, else its resource group's) must sit in the plan's regions for the role it
 *   plays. Promotion tags every regional resource with its region's roles
 *   (`regionPlans.roleTag`); a resource claiming roles must sit in a region that plays all of
 *   them, one claiming none in any region of the plan. A project tag naming another project
 *   does not take a resource out of the plan of the project whose resource group holds it.
 * - A role claim counts only inside the project's own resource groups (derived from its name),
 *   since anyone can write tags: a resource group (or anything in one) elsewhere that is
 *   tagged to look like the project's serving resource gains nothing, and resource groups
 *   themselves belong in a training region (promotion puts them in the project's home).
 */
import { environmentNames, NamingError } from "../policy/naming.js";
import { parseRoleTag, plannedRegions, projectRegionPlan, regionsByRole } from "../policy/regionPlans.js";
import type { EstatePolicy } from "../policy/schema.js";
import { parseResourceId } from "../azure/resourceId.js";
import { tagValue } from "./tagView.js";

export interface RegionSubject {
  id: string;
  location?: string;
  tags: Record<string, string>;
}

/** Why the resource's location breaks the region rule, or undefined when it does not. */
export function regionViolation(
  policy: EstatePolicy,
  r: RegionSubject,
  isGroup: boolean,
  resourceGroupTags: Record<string, string> | undefined,
): string | undefined {
  if (!r.location) return undefined;
  const region = normaliseRegion(r.location);
  // "global" resources (DNS zones, Front Door...) have no region to be wrong about.
  if (!region || region === "global") return undefined;
  const allowed = policy.regions.allowed;
  if (!allowed.includes(region)) return `location ${region} is not allowed (allowed: ${allowed.join(", ")})`;
  // Without any project on a plan (Contoso, most estates) that is the whole rule: every event
  // passes here, so skip the id parsing and tag reads below.
  if (Object.keys(policy.regionPlans.projects).length === 0) return undefined;

  // Whose plan applies: the project whose resource group holds it (by name, which tags cannot
  // change), else the project its tags name.
  const parts = parseResourceId(r.id);
  const group =
    parts?.subscriptionId.toLowerCase() === policy.projectSubscriptionId.toLowerCase()
      ? (isGroup ? parts.name : parts.resourceGroup)?.toLowerCase()
      : undefined;
  const holder = group === undefined ? undefined : plannedProjectOfGroup(policy, group);
  const project =
    holder ??
    tagValue(r.tags, policy.tags.project) ??
    (isGroup ? undefined : tagValue(resourceGroupTags, policy.tags.project));
  const named = project === undefined ? undefined : projectRegionPlan(policy, project);
  if (!project || !named) return undefined;
  const { name, plan } = named;
  const byRole = regionsByRole(plan);
  const of = `project ${project}'s region plan "${name}"`;
  const inOwnGroup = holder !== undefined;
  if (isGroup || !inOwnGroup) {
    if (byRole.training.includes(region)) return undefined;
    const what = isGroup ? "resource group" : "resource";
    const why = inOwnGroup
      ? `${of} keeps its resource groups in its training regions`
      : `it is tagged as project ${project} but sits outside the project's resource groups (${ownResourceGroups(policy, project).join(", ")}), where a regional role counts for nothing; ${of} allows only its training regions`;
    return `${what} location ${region} breaks the region plan: ${why} (training: ${byRole.training.join(", ")})`;
  }

  const roles = parseRoleTag(tagValue(r.tags, policy.regionPlans.roleTag));
  if (roles.length === 0) {
    const all = plannedRegions(plan);
    if (all.includes(region)) return undefined;
    return `location ${region} is outside ${of} (${all.join(", ")})`;
  }
  const wrong = roles.filter((role) => !byRole[role].includes(region));
  if (wrong.length === 0) return undefined;
  return `location ${region} is outside ${of} for role ${wrong.join(", ")} (${wrong
    .map((role) => `${role}: ${byRole[role].join(", ") || "none"}`)
    .join("; ")})`;
}

export function normaliseRegion(location: string): string {
  return location.replace(/\s+/g, "").toLowerCase();
}

/**
 * Resource group name (lower case) -> the project with a region plan that owns it, derived once
 * per policy: the nightly run asks for every resource of the project subscription.
 */
const groupOwners = new WeakMap<EstatePolicy, Map<string, string>>();

/** The project with a region plan whose resource group this is (lower-case name), if any. */
function plannedProjectOfGroup(policy: EstatePolicy, group: string): string | undefined {
  let owners = groupOwners.get(policy);
  if (!owners) {
    owners = new Map();
    for (const project of Object.keys(policy.regionPlans.projects))
      for (const rg of ownResourceGroups(policy, project)) owners.set(rg, project);
    groupOwners.set(policy, owners);
  }
  return owners.get(group);
}

/** The project's resource group names (lower case), one per environment; none when underivable. */
function ownResourceGroups(policy: EstatePolicy, project: string): string[] {
  try {
    return policy.environments.map((e) =>
      environmentNames(policy, project, e.name).resourceGroup.toLowerCase(),
    );
  } catch (e) {
    if (e instanceof NamingError) return [];
    throw e;
  }
}
