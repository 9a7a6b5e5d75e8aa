/**
 * The shape of a promotion plan (plan.ts makes it): per environment the resource group,
 * dependencies, workspace, groups, role assignments and budget; the assets to move; the
 * project's registry. Types only, importing nothing of the planner, so the steps, the executor
 * and the records can read a plan without a cycle back through the admission checks.
 */
import type { RegionSite } from "../policy/regionPlans.js";
import type { RegionRole } from "../policy/schema.js";
import type { NarrowedCell } from "./projectAccess.js";
import type { AssetSelection } from "./request.js";
import type { PlannedResource } from "./workspaceBlueprint.js";

export interface PlannedWorkspace {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  tags: Record<string, string>;
  identity: { type: "SystemAssigned" };
  storageAccount: string;
  keyVault: string;
  applicationInsights: string;
  containerRegistry?: string;
  /** From the policy's `hardening` (default: Disabled where the environment holds production data). */
  publicNetworkAccess: "Enabled" | "Disabled";
  friendlyName: string;
  description: string;
  /**
   * Identity-based data access. API 2022-10-01 (the ML SDK's) has no workspace-level
   * `systemDatastoresAuthMode`; the equivalent is the default blob datastore with credentials
   * "None" and the workspace's system identity for service-side access.
   */
  dataAccess: {
    datastore: string;
    credentialsType: "None";
    serviceDataAccessAuthIdentity: "WorkspaceSystemAssignedIdentity";
  };
}

export interface PlannedGroup {
  role: string;
  uniqueName: string;
  displayName: string;
  mailNickname: string;
  description: string;
  /** aml-steward's own object id: an app that creates a group without owning it cannot manage it later. */
  owners: string[];
  /** Object ids of the requested initial members (never removed by aml-steward). */
  members: string[];
}

export interface PlannedRoleAssignment {
  role: string;
  groupUniqueName: string;
  roleDefinitionGuid: string;
  roleName: string;
  roleDefinitionId: string;
  scope: string;
  principalType: "Group";
  /** Deterministic name; known once the group's object id is (undefined in a dry run before the group exists). */
  name?: string;
  principalId?: string;
}

export interface PlannedBudget {
  id: string;
  name: string;
  apiVersion: string;
  body: Record<string, unknown>;
}

export interface EnvironmentPlan {
  env: string;
  productionData: boolean;
  subscriptionId: string;
  resourceGroup: { id: string; name: string; location: string; tags: Record<string, string> };
  /** The home region's workspace dependencies (the only ones without a region plan). */
  dependencies: PlannedResource[];
  workspace: PlannedWorkspace;
  /**
   * The region plan's other workspaces of this environment (regionPlans.ts), each with its own
   * dependencies, in the environment's one resource group; absent without a plan.
   */
  regional?: RegionalWorkspace[];
  groups: PlannedGroup[];
  roleAssignments: PlannedRoleAssignment[];
  budget?: PlannedBudget;
}

/** A workspace (and its dependencies) that a region plan puts in a region other than home. */
export interface RegionalWorkspace {
  region: string;
  roles: RegionRole[];
  servedFrom?: string;
  dependencies: PlannedResource[];
  workspace: PlannedWorkspace;
}

/** What a region plan builds where (the record lists it with the plan). */
export interface PlannedRegions {
  plan: string;
  /** Where the resource groups, the promoted assets and the registry live. */
  home: string;
  sites: RegionSite[];
  /** Regions the project's registry is replicated to (fine-tuning). */
  registryReplicas: string[];
  /**
   * The existing registry the policy names for fine-tuning (regionPlans.plans.*.fineTuningRegistry)
   * and the regions it must have replicas in; the promotion adds the missing ones.
   */
  fineTuningRegistry?: { id: string; replicas: string[] };
}

export interface AssetPlan {
  sourceSubscriptionId: string;
  sourceResourceGroup: string;
  sourceWorkspace: string;
  sourceWorkspaceId: string;
  /** The first requested environment (dev, in policy order) receives the assets. */
  targetEnv: string;
  targetProductionData: boolean;
  selection: AssetSelection;
  useCaseId: string;
}

export interface PromotionPlan {
  requestId: string;
  project: string;
  costCenter: string;
  fundingReference: string;
  region: string;
  /**
   * Tag names the steps only add when missing (or blank) and never overwrite: createdBy and
   * createdOn. A resource someone else created first (or an earlier request of the same
   * project) keeps its values, so a retry or a second request sees no difference.
   */
  fillOnlyTags: string[];
  /** Tag names of the marks an existing resource group must carry to be continued (ownership.ts). */
  ownershipTags: { managedBy: string; project: string };
  environments: EnvironmentPlan[];
  assets: AssetPlan;
  /** The project's Azure ML registry (policy mlRegistry: perProject, more than one environment). */
  registry?: PlannedRegistry;
  /** "team": a team onboarding, one workspace and no assets to move; absent: a project. */
  kind?: "team";
  /** The cells of the estate access matrix this project narrowed for itself; absent: the estate's. */
  access?: NarrowedCell[];
  /** The project's region plan; absent: everything in `region`, as without plans. */
  regions?: PlannedRegions;
}

export interface PlannedRegistry {
  resource: PlannedResource;
  /** Environment name -> the role assignments of that environment's groups on the registry. */
  roleAssignments: { env: string; assignments: PlannedRoleAssignment[] }[];
}
