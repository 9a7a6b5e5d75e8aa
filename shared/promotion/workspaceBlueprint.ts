/**
 * The one description of an ML workspace and its dependencies (storage account, key vault,
 * Log Analytics, Application Insights, optional container registry) as aml-steward creates
 * them: ids, API versions and PUT bodies. The promotion planner (project environments) and
 * setup (the exploration workspace) both build from it, so the two can never drift apart.
 * Pure: names, tags and region come in, plain data goes out.
 */
import type { EstatePolicy } from "../policy/schema.js";

/** The value of the managedBy tag on everything aml-steward creates. */
export const MANAGED_BY = "aml-steward";

/** API versions of the generic ARM resources (the SDKs in use have no typed client for them). */
export const API_VERSIONS = {
  storageAccount: "2023-01-01",
  keyVault: "2023-07-01",
  logAnalytics: "2022-10-01",
  applicationInsights: "2020-02-02",
  containerRegistry: "2023-07-01",
  budget: "2023-05-01",
} as const;

export type DependencyKind =
  | "storageAccount"
  | "keyVault"
  | "logAnalytics"
  | "applicationInsights"
  | "containerRegistry"
  /** A project's Azure ML registry (registryPlan.ts), not a workspace dependency. */
  | "mlRegistry";

export interface PlannedResource {
  kind: DependencyKind;
  id: string;
  name: string;
  apiVersion: string;
  /** The PUT body (location, tags, kind, sku, properties). */
  body: Record<string, unknown>;
  /** Kinds whose resources must exist first. */
  dependsOn: DependencyKind[];
}

/** The tag values aml-steward sets on what it creates; the keys come from the policy. */
export interface ManagedTagValues {
  costCenter: string;
  project: string;
  environment: string;
  owner: string;
  /**
   * Who created the resource (`tags.createdBy`) and when (`tags.createdOn`, YYYY-MM-DD UTC).
   * aml-steward's own writes never reach the event path (loop guard), so what it creates carries
   * them from the start. Like the event path, writers only ever fill these, never overwrite them
   * (`creationTagNames`).
   */
  createdBy?: string;
  createdOn?: string;
}

/** Azure's limit on a tag value's length. */
const MAX_TAG_VALUE = 256;

/** The policy's standard tags with managedBy = aml-steward (and createdBy/createdOn when given). */
export function managedTags(policy: EstatePolicy, v: ManagedTagValues): Record<string, string> {
  const t = policy.tags;
  return {
    [t.costCenter]: v.costCenter,
    [t.project]: v.project,
    [t.environment]: v.environment,
    [t.owner]: v.owner,
    [t.managedBy]: MANAGED_BY,
    ...(v.createdBy ? { [t.createdBy]: v.createdBy.slice(0, MAX_TAG_VALUE) } : {}),
    ...(v.createdOn ? { [t.createdOn]: v.createdOn } : {}),
  };
}

/**
 * The tags that record a resource's creation (createdBy, createdOn): added when missing (or
 * blank), never overwritten, by the event path and by everything aml-steward creates alike, so
 * the first writer wins and no two writers ever fight over them.
 */
export function creationTagNames(policy: EstatePolicy): string[] {
  return [policy.tags.createdBy, policy.tags.createdOn];
}

export interface WorkspaceBlueprintInput {
  /** The resource group everything is created in. */
  resourceGroupId: string;
  region: string;
  tags: Record<string, string>;
  /** Entra tenant of the key vault (left out of the body when unknown, as setup may be). */
  tenantId: string | undefined;
  names: {
    workspace: string;
    storageAccount: string;
    keyVault: string;
    logAnalytics: string;
    applicationInsights: string;
    /** No registry when absent. */
    containerRegistry?: string;
  };
  /**
   * A project environment's hardening (policy `hardening`, the environment's productionData).
   * Absent for what setup creates, which keeps Azure's defaults apart from TLS and public blobs.
   */
  hardening?: Hardening;
}

/** The hardening of one environment of the policy (plan, `policy show`). */
export function environmentHardening(policy: EstatePolicy, env: string): Hardening {
  const productionData = policy.environments.find((e) => e.name === env)?.productionData ?? true;
  return {
    publicNetworkAccess:
      policy.hardening.publicNetworkAccess[env] ?? (productionData ? "Disabled" : "Enabled"),
    purgeProtection: productionData,
  };
}

export interface Hardening {
  publicNetworkAccess: "Enabled" | "Disabled";
  /** Key vault purge protection; once on it cannot be turned off, so it is only ever sent as true. */
  purgeProtection: boolean;
}

export interface WorkspaceBlueprint {
  /** In creation order; Application Insights depends on Log Analytics. */
  dependencies: PlannedResource[];
  /** The workspace's id, identity and links to its dependencies. */
  workspace: {
    id: string;
    identity: { type: "SystemAssigned" };
    storageAccount: string;
    keyVault: string;
    applicationInsights: string;
    containerRegistry?: string;
  };
}

export function workspaceBlueprint(input: WorkspaceBlueprintInput): WorkspaceBlueprint {
  const { region, tags, names, hardening: h } = input;
  const rid = (type: string, name: string) => `${input.resourceGroupId}/providers/${type}/${name}`;

  const storageId = rid("Microsoft.Storage/storageAccounts", names.storageAccount);
  const vaultId = rid("Microsoft.KeyVault/vaults", names.keyVault);
  const logId = rid("Microsoft.OperationalInsights/workspaces", names.logAnalytics);
  const appiId = rid("Microsoft.Insights/components", names.applicationInsights);
  const acrId = names.containerRegistry
    ? rid("Microsoft.ContainerRegistry/registries", names.containerRegistry)
    : undefined;

  const dependencies: PlannedResource[] = [
    {
      kind: "storageAccount",
      id: storageId,
      name: names.storageAccount,
      apiVersion: API_VERSIONS.storageAccount,
      dependsOn: [],
      body: {
        location: region,
        tags,
        kind: "StorageV2",
        sku: { name: "Standard_LRS" },
        properties: {
          minimumTlsVersion: "TLS1_2",
          allowBlobPublicAccess: false,
          supportsHttpsTrafficOnly: true,
          // Keys would bypass Entra and RBAC altogether; the workspace reaches its data by identity.
          ...(h ? { allowSharedKeyAccess: false, publicNetworkAccess: h.publicNetworkAccess } : {}),
        },
      },
    },
    {
      kind: "keyVault",
      id: vaultId,
      name: names.keyVault,
      apiVersion: API_VERSIONS.keyVault,
      dependsOn: [],
      body: {
        location: region,
        tags,
        properties: {
          tenantId: input.tenantId,
          sku: { family: "A", name: "standard" },
          enableRbacAuthorization: true,
          enableSoftDelete: true,
          ...(h ? { publicNetworkAccess: h.publicNetworkAccess } : {}),
          ...(h?.purgeProtection ? { enablePurgeProtection: true } : {}),
        },
      },
    },
    {
      kind: "logAnalytics",
      id: logId,
      name: names.logAnalytics,
      apiVersion: API_VERSIONS.logAnalytics,
      dependsOn: [],
      body: { location: region, tags, properties: { sku: { name: "PerGB2018" }, retentionInDays: 30 } },
    },
    {
      kind: "applicationInsights",
      id: appiId,
      name: names.applicationInsights,
      apiVersion: API_VERSIONS.applicationInsights,
      dependsOn: ["logAnalytics"],
      body: {
        location: region,
        tags,
        kind: "web",
        properties: { Application_Type: "web", WorkspaceResourceId: logId },
      },
    },
  ];
  if (acrId && names.containerRegistry) {
    dependencies.push({
      kind: "containerRegistry",
      id: acrId,
      name: names.containerRegistry,
      apiVersion: API_VERSIONS.containerRegistry,
      dependsOn: [],
      body: { location: region, tags, sku: { name: "Standard" }, properties: { adminUserEnabled: false } },
    });
  }

  return {
    dependencies,
    workspace: {
      id: rid("Microsoft.MachineLearningServices/workspaces", names.workspace),
      identity: { type: "SystemAssigned" },
      storageAccount: storageId,
      keyVault: vaultId,
      applicationInsights: appiId,
      containerRegistry: acrId,
    },
  };
}
