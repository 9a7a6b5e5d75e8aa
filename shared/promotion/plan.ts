/**
 * The promotion planner: request + policy (+ resolved principals) -> the complete desired
 * state of every environment. Pure and deterministic: the same inputs always give the same
 * plan, so a retried or redelivered request converges on exactly what the first attempt aimed
 * at. The executor compares this plan with what exists; a dry run returns it as is.
 */
import { environmentNames, type EnvironmentNames } from "../policy/naming.js";
import {
  fineTuningReplicas,
  projectRegionPlan,
  regionSites,
  replicationRegions,
  roleTagValue,
} from "../policy/regionPlans.js";
import type { EstatePolicy, RegionRole } from "../policy/schema.js";
import { resourceGroupId } from "../azure/resourceId.js";
import { roleAssignmentName } from "../ids.js";
import { normaliseRef, type ResolvedPrincipal } from "./admission.js";
import type {
  EnvironmentPlan,
  PlannedBudget,
  PlannedGroup,
  PlannedRegions,
  PlannedRoleAssignment,
  PlannedWorkspace,
  PromotionPlan,
  RegionalWorkspace,
} from "./planTypes.js";
import { isGuid, type PromotionRequest } from "./request.js";
import { narrowedCells, projectAccessMatrix } from "./projectAccess.js";
import { planRegistry } from "./registryPlan.js";
import { assetSource, isTeamRequest, TEAM_ENV, teamEnvironment, workspaceId } from "./setupAdmission.js";
import {
  API_VERSIONS,
  creationTagNames,
  environmentHardening,
  MANAGED_BY,
  managedTags,
  workspaceBlueprint,
  type Hardening,
  type PlannedResource,
} from "./workspaceBlueprint.js";

export { API_VERSIONS, MANAGED_BY, type DependencyKind, type PlannedResource } from "./workspaceBlueprint.js";

// The plan's shapes live in planTypes.ts, so that the steps and records that read a plan need
// not import the planner (which imports the admission checks, which import the steps).
export type {
  AssetPlan,
  EnvironmentPlan,
  PlannedBudget,
  PlannedGroup,
  PlannedRegions,
  PlannedRegistry,
  PlannedRoleAssignment,
  PlannedWorkspace,
  PromotionPlan,
  RegionalWorkspace,
} from "./planTypes.js";

export interface PlanContext {
  tenantId: string;
  /** aml-steward's own Entra object id (group owner). */
  stewardObjectId: string;
  /** First day of the month the request was accepted (YYYY-MM-01): the budget's fixed start. */
  budgetStartDate: string;
  /**
   * The day (YYYY-MM-DD, UTC) the request was accepted, from its record: the createdOn tag of
   * everything the promotion creates. Fixed at acceptance, so a retry or a redelivery on a later
   * day plans the same tags.
   */
  acceptedOn: string;
  /** uniqueName -> object id of groups that already exist, to name role assignments. */
  groupIds?: ReadonlyMap<string, string>;
}

export interface PlanInput {
  request: PromotionRequest;
  environments: readonly string[];
  region: string;
  principals: ReadonlyMap<string, ResolvedPrincipal>;
}

export function planPromotion(policy: EstatePolicy, input: PlanInput, ctx: PlanContext): PromotionPlan {
  const { request, region } = input;
  const created = { by: createdByTagValue(request, input.principals), on: ctx.acceptedOn };
  const owner = ownerTagValue(request, input.principals);
  const regions = isTeamRequest(request) ? undefined : plannedRegions(policy, request.project, region);
  const envPlans = input.environments.map((env) =>
    planEnvironment(policy, input, ctx, env, owner, created, regions),
  );
  const first = envPlans[0];
  if (!first) throw new Error("a promotion needs at least one environment");
  const registry = isTeamRequest(request)
    ? undefined
    : planRegistry(policy, request.project, envPlans, regions?.registryReplicas ?? [region]);
  const ex = assetSource(policy, request);
  return {
    requestId: request.requestId.toLowerCase(),
    project: request.project,
    costCenter: request.costCenter,
    fundingReference: request.fundingReference,
    region,
    fillOnlyTags: creationTagNames(policy),
    ownershipTags: { managedBy: policy.tags.managedBy, project: policy.tags.project },
    environments: envPlans,
    ...(isTeamRequest(request) ? { kind: "team" as const } : {}),
    ...(registry ? { registry } : {}),
    ...(request.narrowAccess ? { access: narrowedCells(policy, request.narrowAccess) } : {}),
    ...(regions ? { regions } : {}),
    assets: {
      sourceSubscriptionId: ex.subscriptionId,
      sourceResourceGroup: ex.resourceGroup,
      sourceWorkspace: ex.workspace,
      sourceWorkspaceId: workspaceId(ex),
      targetEnv: first.env,
      targetProductionData: first.productionData,
      selection: request.assets,
      useCaseId: request.useCaseId,
    },
  };
}

/** The project's region plan resolved around its home region, or undefined without one. */
function plannedRegions(policy: EstatePolicy, project: string, home: string): PlannedRegions | undefined {
  const named = projectRegionPlan(policy, project);
  if (!named) return undefined;
  return {
    plan: named.name,
    home,
    sites: regionSites(named.plan, home),
    registryReplicas: replicationRegions(named.plan, home),
    ...(named.plan.fineTuningRegistry
      ? {
          fineTuningRegistry: {
            id: named.plan.fineTuningRegistry,
            replicas: fineTuningReplicas(named.plan),
          },
        }
      : {}),
  };
}

function planEnvironment(
  policy: EstatePolicy,
  input: PlanInput,
  ctx: PlanContext,
  env: string,
  owner: string,
  created: { by: string; on: string },
  regions: PlannedRegions | undefined,
): EnvironmentPlan {
  const { request, region } = input;
  const sub = policy.projectSubscriptionId;
  const names = environmentNames(policy, request.project, env);
  const team = env === TEAM_ENV && isTeamRequest(request) ? teamEnvironment(policy) : undefined;
  const envDef: EstatePolicy["environments"][number] =
    team ?? policy.environments.find((e) => e.name === env)!;
  const column = team?.columnOf ?? env;
  const rgId = resourceGroupId(sub, names.resourceGroup);
  const tags = managedTags(policy, {
    costCenter: request.costCenter,
    project: request.project,
    environment: env,
    owner,
    createdBy: created.by,
    createdOn: created.on,
  });
  const hardening = environmentHardening(policy, column);
  const site = (siteRegion: string, roles?: readonly RegionRole[], servedFrom?: string) =>
    planWorkspace({
      servedFrom,
      request,
      env,
      tenantId: ctx.tenantId,
      resourceGroup: { id: rgId, name: names.resourceGroup },
      region: siteRegion,
      // With a plan every workspace's names carry its own region; without one, as ever.
      names: regions ? environmentNames(policy, request.project, env, siteRegion) : names,
      tags: roles ? { ...tags, [policy.regionPlans.roleTag]: roleTagValue(roles) } : tags,
      hardening,
    });
  const [homeSite, ...others] = regions?.sites ?? [];
  const { dependencies, workspace } = site(region, homeSite?.roles);
  const regional = others.map((s): RegionalWorkspace => ({
    region: s.region,
    roles: s.roles,
    ...(s.servedFrom ? { servedFrom: s.servedFrom } : {}),
    ...site(s.region, s.roles, s.servedFrom),
  }));

  const groups: PlannedGroup[] = policy.roles.map((role) => {
    const uniqueName = names.groups[role.name]!;
    const members = (request.members[role.name] ?? []).map(
      (ref) => input.principals.get(normaliseRef(ref))?.objectId,
    );
    return {
      role: role.name,
      uniqueName,
      displayName: uniqueName,
      mailNickname: uniqueName,
      description: `${role.description} Project ${request.project}, environment ${env}. Managed by aml-steward.`,
      owners: [ctx.stewardObjectId.toLowerCase()],
      members: [...new Set(members.filter((m): m is string => m !== undefined).map((m) => m.toLowerCase()))],
    };
  });

  const roleAssignments: PlannedRoleAssignment[] = [];
  const matrix = projectAccessMatrix(policy, request.narrowAccess);
  for (const group of groups) {
    const groupId = ctx.groupIds?.get(group.uniqueName);
    for (const grant of matrix[group.role]?.[column] ?? []) {
      const guid = grant.id.toLowerCase();
      roleAssignments.push({
        role: group.role,
        groupUniqueName: group.uniqueName,
        roleDefinitionGuid: guid,
        roleName: grant.name,
        roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
        scope: rgId,
        principalType: "Group",
        ...(groupId ? { principalId: groupId, name: roleAssignmentName(rgId, groupId, guid) } : {}),
      });
    }
  }

  let budget: PlannedBudget | undefined;
  if (envDef.budget) {
    const name = `budget-${names.resourceGroup}`.slice(0, 63);
    budget = {
      id: `${rgId}/providers/Microsoft.Consumption/budgets/${name}`,
      name,
      apiVersion: API_VERSIONS.budget,
      body: {
        properties: {
          category: "Cost",
          amount: envDef.budget.monthlyAmount,
          timeGrain: "Monthly",
          timePeriod: { startDate: `${ctx.budgetStartDate}T00:00:00Z` },
          notifications: {},
        },
      },
    };
  }

  return {
    env,
    productionData: envDef.productionData,
    subscriptionId: sub,
    resourceGroup: { id: rgId, name: names.resourceGroup, location: region, tags },
    dependencies,
    workspace,
    ...(regions ? { regional } : {}),
    groups,
    roleAssignments,
    budget,
  };
}

/** One workspace with its dependencies, in `region`, in the environment's resource group. */
function planWorkspace(w: {
  /** A serving workspace: the training region whose models it serves (said in its description). */
  servedFrom?: string;
  request: PromotionRequest;
  env: string;
  tenantId: string;
  resourceGroup: { id: string; name: string };
  region: string;
  names: EnvironmentNames;
  tags: Record<string, string>;
  hardening: Hardening;
}): { dependencies: PlannedResource[]; workspace: PlannedWorkspace } {
  const { request, env, names, tags, region, hardening } = w;
  const { dependencies, workspace: ws } = workspaceBlueprint({
    resourceGroupId: w.resourceGroup.id,
    region,
    tags,
    tenantId: w.tenantId,
    names,
    hardening,
  });
  return {
    dependencies,
    workspace: {
      id: ws.id,
      name: names.workspace,
      resourceGroup: w.resourceGroup.name,
      location: region,
      tags,
      identity: ws.identity,
      storageAccount: ws.storageAccount,
      keyVault: ws.keyVault,
      applicationInsights: ws.applicationInsights,
      containerRegistry: ws.containerRegistry,
      publicNetworkAccess: hardening.publicNetworkAccess,
      friendlyName: `${request.project} (${env})`,
      description: `Project ${request.project}, environment ${env}${w.servedFrom ? `; serves models trained in ${w.servedFrom}` : ""}; created by aml-steward for request ${request.requestId.toLowerCase()}`,
      dataAccess: {
        datastore: "workspaceblobstore",
        credentialsType: "None",
        serviceDataAccessAuthIdentity: "WorkspaceSystemAssignedIdentity",
      },
    },
  };
}

/** The owner tag: the first owner's UPN when it is a user, else its object id. */
function ownerTagValue(
  request: PromotionRequest,
  principals: ReadonlyMap<string, ResolvedPrincipal>,
): string {
  const ref = request.owners[0]!;
  const p = principals.get(normaliseRef(ref));
  return (p?.userPrincipalName ?? p?.objectId ?? ref).slice(0, 256);
}

/** What createdBy says on what a promotion creates: `<requester> via aml-steward`. */
export const CREATED_BY_SUFFIX = ` via ${MANAGED_BY}`;

/**
 * The createdBy tag: the requester as the event path would name them (a user's UPN, a service
 * principal's display name), from the principals admission resolved (it looks `requestedBy` up
 * whether it is a UPN or an object id), then " via aml-steward". The reference as written when
 * the directory gave no name. Trimmed to Azure's 256 characters, suffix kept.
 */
function createdByTagValue(
  request: PromotionRequest,
  principals: ReadonlyMap<string, ResolvedPrincipal>,
): string {
  const ref = request.requestedBy;
  const p = principals.get(normaliseRef(ref));
  const who = p?.userPrincipalName || (isGuid(ref) ? undefined : ref) || p?.displayName || ref;
  return who.slice(0, 256 - CREATED_BY_SUFFIX.length) + CREATED_BY_SUFFIX;
}

/** Fills in role assignment names and principal ids once the groups' object ids are known. */
export function withGroupIds(
  env: EnvironmentPlan,
  groupIds: ReadonlyMap<string, string>,
): PlannedRoleAssignment[] {
  return env.roleAssignments.map((ra) => {
    const groupId = groupIds.get(ra.groupUniqueName);
    if (!groupId) throw new Error(`group ${ra.groupUniqueName} has no object id yet`);
    return {
      ...ra,
      principalId: groupId,
      name: roleAssignmentName(ra.scope, groupId, ra.roleDefinitionGuid),
    };
  });
}

/** Every resource id the plan creates (for the record and for cleanup reports). */
export function plannedResourceIds(plan: PromotionPlan): string[] {
  return plan.environments
    .flatMap((e) => [
      e.resourceGroup.id,
      ...e.dependencies.map((d) => d.id),
      e.workspace.id,
      ...(e.regional ?? []).flatMap((w) => [...w.dependencies.map((d) => d.id), w.workspace.id]),
      ...(e.budget ? [e.budget.id] : []),
    ])
    .concat(plan.registry ? [plan.registry.resource.id] : []);
}
