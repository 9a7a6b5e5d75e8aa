/**
 * Rollout across environments (policy `mlRegistry: perProject`): one Azure ML registry per
 * multi-environment project, in its first environment's resource group. Models, environments
 * and components published there from the first environment are consumed by the later ones
 * without copying data between workspaces.
 *
 * `@azure/arm-machinelearning` 2.1.1 speaks API 2022-10-01, which has no registries, so the
 * registry goes through the generic resources client with the registry API Microsoft
 * documents (2023-04-01, the stable version whose spec is in ../shared/specs).
 *
 * RBAC comes from the (project's) access matrix: each environment's group of a role gets on the
 * registry the registry roles its cell grants (AzureML Registry User, or a declared custom role
 * with registry actions). Azure has no built-in read-only registry role; a policy that wants
 * later environments to consume without publishing declares one in customRoles and grants it in
 * those columns.
 */
import { builtInRoleById } from "../policy/builtInRoles.js";
import type { EstatePolicy } from "../policy/schema.js";
import { registryName } from "../policy/setupRules.js";
import type { EnvironmentPlan, PlannedRegistry } from "./planTypes.js";

export const ML_REGISTRY_API_VERSION = "2023-04-01";
const REGISTRY_ACTION = /^Microsoft\.MachineLearningServices\/registries\//i;

export type { PlannedRegistry } from "./planTypes.js";

/** Does this Azure role grant anything on ML registries? */
export function isRegistryRole(policy: EstatePolicy, roleId: string): boolean {
  const id = roleId.toLowerCase();
  const builtIn = builtInRoleById(id);
  if (builtIn) return builtIn.name === "AzureML Registry User";
  const custom = policy.customRoles.find((c) => c.id.toLowerCase() === id);
  return Boolean(custom?.actions.some((a) => REGISTRY_ACTION.test(a)));
}

/** Why a promotion cannot use the fine-tuning registry the policy names (admission, and the step). */
export function missingRegistryReason(id: string): string {
  return `the fine-tuning registry the estate policy names (${id}) does not exist: aml-steward only adds replicas to an existing registry, it never creates one the policy names`;
}

/** One `regionDetails` entry: a replica with its own system-created storage and registry. */
export function replicaDetail(location: string) {
  return {
    location,
    storageAccountDetails: [
      {
        systemCreatedStorageAccount: {
          storageAccountType: "Standard_LRS",
          storageAccountHnsEnabled: false,
          allowBlobPublicAccess: false,
        },
      },
    ],
    acrDetails: [{ systemCreatedAcrAccount: { acrAccountSku: "Premium" } }],
  };
}

export function planRegistry(
  policy: EstatePolicy,
  project: string,
  envs: readonly EnvironmentPlan[],
  /** Home first (the registry's location), then the regions it is replicated to (fine-tuning). */
  regions: readonly string[],
): PlannedRegistry | undefined {
  if (policy.mlRegistry !== "perProject" || envs.length < 2) return undefined;
  const first = envs[0]!;
  const name = registryName(policy, project);
  const id = `${first.resourceGroup.id}/providers/Microsoft.MachineLearningServices/registries/${name}`;
  // It holds what production consumes: as closed as the most closed environment it serves.
  const publicNetworkAccess = envs.some((e) => e.workspace.publicNetworkAccess === "Disabled")
    ? "Disabled"
    : "Enabled";
  return {
    resource: {
      kind: "mlRegistry",
      id,
      name,
      apiVersion: ML_REGISTRY_API_VERSION,
      dependsOn: [],
      body: {
        location: regions[0],
        tags: first.resourceGroup.tags,
        identity: { type: "SystemAssigned" },
        properties: {
          publicNetworkAccess,
          // One entry per region the registry replicates to: a base model published at home is
          // readable where it is fine-tuned without copying it by hand.
          regionDetails: regions.map(replicaDetail),
        },
      },
    },
    roleAssignments: envs.map((e) => ({
      env: e.env,
      assignments: e.roleAssignments
        .filter((ra) => isRegistryRole(policy, ra.roleDefinitionGuid))
        .map((ra) => {
          const { name: _n, principalId: _p, ...rest } = ra;
          return { ...rest, scope: id };
        }),
    })),
  };
}
