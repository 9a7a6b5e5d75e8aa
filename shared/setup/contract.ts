/**
 * What the deployment templates (infra/) and `steward setup` must agree on, in one place:
 * resource names, the storage the app uses, the roles the RBAC administrator may hand out
 * (the access matrix), the ABAC condition that enforces it, and the Microsoft Graph
 * permissions. `npm run infra:generate` writes the policy-derived parts to infra/generated/*.json,
 * which the Bicep loads with loadJsonContent, so nothing is typed twice; a unit test fails when
 * the generated files are stale.
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ConditionSyntaxError, parseCondition, type ConditionNode } from "../azure/abacCondition.js";
import { builtInRoleById } from "../policy/builtInRoles.js";
import type { EstatePolicy } from "../policy/schema.js";
import { CONTAINERS, QUEUES, TABLES } from "../config/settings.js";

/** Names the templates create and `steward setup` looks for. */
export const INFRA_NAMES = {
  /** The Event Grid-triggered function (functions/onResourceWrite.ts). */
  resourceWriteFunction: "onResourceWrite",
  /** Resource group created in each governed subscription for its Event Grid system topic. */
  eventsResourceGroup: "rg-aml-steward-events",
  /** The subscription's system topic (Microsoft.Resources.Subscriptions), one per subscription. */
  systemTopic: "evgt-aml-steward",
  /** The event subscription that delivers resource writes to the function. */
  eventSubscription: "aml-steward-resource-writes",
  /** Blob container that receives undeliverable events. */
  deadLetterContainer: "steward-deadletter",
} as const;

/**
 * The event types the subscription delivers and the writes it drops at the source. Deletes come
 * too, because a deleted role assignment on a project scope is access drift; every other delete
 * is ignored by the handler at no call. Tag writes are NOT dropped by operation: the portal and
 * `az tag` change tags through exactly that operation, and someone removing a cost tag must be
 * corrected within seconds. Only aml-steward's own writes are dropped, by the principal whose
 * role assignment allowed them (Event Grid cannot filter on the claim URIs, whose names contain
 * dots; StringNotIn takes up to 25 values).
 */
export const EVENT_FILTER = {
  includedEventTypes: [
    "Microsoft.Resources.ResourceWriteSuccess",
    "Microsoft.Resources.ResourceDeleteSuccess",
  ],
  excludedPrincipalKey: "data.authorization.evidence.principalId",
} as const;

/**
 * The values of the StringNotIn on the app's principal: Azure writes evidence.principalId
 * without dashes, and both spellings are listed so a change of that habit cannot make the app's
 * own writes loop back (the handler's loop guard still drops them, at no call).
 */
export function excludedPrincipalValues(appPrincipalId: string): string[] {
  const id = appPrincipalId.trim().toLowerCase();
  return [...new Set([id.replace(/-/g, ""), id])];
}

/**
 * The `filter` of the resource-write event subscription built from EVENT_FILTER, as
 * infra/modules/event-wiring.bicep deploys it (test/unit/infra-events.test.ts holds the two
 * together): the local stack and the tests subscribe with it.
 */
export function resourceWriteEventFilter(appPrincipalId: string): {
  includedEventTypes: string[];
  advancedFilters: Array<{ operatorType: "StringNotIn"; key: string; values: string[] }>;
} {
  return {
    includedEventTypes: [...EVENT_FILTER.includedEventTypes],
    advancedFilters: [
      {
        operatorType: "StringNotIn",
        key: EVENT_FILTER.excludedPrincipalKey,
        values: excludedPrincipalValues(appPrincipalId),
      },
    ],
  };
}

/** Every queue, table and blob container the app uses, poison queues included. */
export function storageNames(): { queues: string[]; tables: string[]; containers: string[] } {
  const queues = Object.values(QUEUES).flatMap((q) => [q, `${q}-poison`]);
  return {
    queues,
    tables: Object.values(TABLES),
    containers: [...Object.values(CONTAINERS), INFRA_NAMES.deadLetterContainer],
  };
}

/** Built-in role GUIDs (the same in every tenant). */
export const ROLE_IDS = {
  owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  userAccessAdministrator: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  rbacAdministrator: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
  tagContributor: "4a9ae827-6dc8-4573-8ac7-8239d42aa03f",
  azureMlDataScientist: "f6c7c914-8db3-469d-8ca1-694a8f32e121",
  storageBlobDataOwner: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
  storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  storageQueueDataContributor: "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  storageQueueDataMessageSender: "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
  storageTableDataContributor: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
  monitoringMetricsPublisher: "3913510d-42f4-4e42-8a64-420c390055eb",
} as const;

/**
 * Roles the access matrix must never contain: those that grant access (the RBAC administrator
 * could otherwise hand out the power to escalate) and Contributor (every key, every delete).
 * The policy check refuses them first (shared/policy/load.ts); the generator refuses them again.
 */
export const ESCALATING_ROLE_IDS: readonly string[] = [
  ROLE_IDS.owner,
  ROLE_IDS.userAccessAdministrator,
  ROLE_IDS.rbacAdministrator,
  ROLE_IDS.contributor,
];

export class InfraContractError extends Error {
  override name = "InfraContractError";
}

export interface MatrixRole {
  id: string;
  name: string;
}

/** Every distinct Azure role of the policy's access matrix, lower-case GUIDs, sorted by id. */
export function accessMatrixRoles(policy: EstatePolicy): MatrixRole[] {
  const byId = new Map<string, string>();
  for (const envs of Object.values(policy.accessMatrix)) {
    for (const roles of Object.values(envs)) {
      for (const r of roles) byId.set(r.id.toLowerCase(), builtInRoleById(r.id)?.name ?? r.name);
    }
  }
  const escalating = [...byId.keys()].filter((id) => ESCALATING_ROLE_IDS.includes(id));
  if (escalating.length > 0) {
    throw new InfraContractError(
      `the access matrix grants ${escalating.map((id) => byId.get(id)).join(", ")}: privileged roles (that grant access, or Contributor) cannot be delegated to aml-steward`,
    );
  }
  if (byId.size === 0) throw new InfraContractError("the access matrix grants no role");
  return [...byId.entries()].map(([id, name]) => ({ id, name })).sort((a, b) => a.id.localeCompare(b.id));
}

/** What aml-steward's RBAC administrator grant may delete. */
export interface AbacDeleteSet {
  roles: readonly string[];
  principalTypes: readonly string[];
}

/**
 * The ABAC condition (version 2.0) on aml-steward's Role Based Access Control Administrator
 * assignment: it may create only assignments of the given roles, and only to groups; it may
 * delete assignments of the `del` roles to the `del` principal types (by default the same as
 * it may create). Shape as in Microsoft's "Examples to delegate Azure role assignment management
 * with conditions" (constrain roles and principal types). infra/modules/project-subscription.bicep
 * builds the same text from infra/generated/access-matrix-roles.json.
 */
export function abacCondition(
  roleIds: readonly string[],
  del: AbacDeleteSet = { roles: roleIds, principalTypes: ["Group"] },
): string {
  const list = (ids: readonly string[]) => ids.map((r) => r.toLowerCase()).join(", ");
  const types = (ts: readonly string[]) => ts.map((t) => `'${t}'`).join(", ");
  const part = (
    action: "write" | "delete",
    source: "Request" | "Resource",
    roles: string,
    principals: string,
  ) =>
    `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/${action}'})) OR ` +
    `(@${source}[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${roles}} AND ` +
    `@${source}[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {${principals}}))`;
  return `${part("write", "Request", list(roleIds), types(["Group"]))} AND ${part("delete", "Resource", list(del.roles), types(del.principalTypes))}`;
}

/**
 * What the app may delete. With `access.drift: restore` it must remove hand-made assignments on
 * the scopes it created: the privileged roles (Owner, User Access Administrator, RBAC
 * Administrator, Contributor) besides the matrix's, to users and service principals too. It
 * still cannot create any of them (the write branch is unchanged), so the wider delete set
 * gives no way to gain access; other roles given by hand are reported and left to an operator.
 * In audit mode it deletes nothing the matrix did not give.
 */
export function accessDeleteSet(policy: EstatePolicy): AbacDeleteSet {
  const matrix = accessMatrixRoles(policy).map((r) => r.id);
  if (policy.access.drift !== "restore") return { roles: matrix, principalTypes: ["Group"] };
  return {
    roles: [...new Set([...matrix, ...ESCALATING_ROLE_IDS])].sort(),
    principalTypes: ["Group", "User", "ServicePrincipal"],
  };
}

export interface ParsedAbacCondition {
  writeRoles: string[];
  writePrincipalTypes: string[];
  deleteRoles: string[];
  deletePrincipalTypes: string[];
}

/**
 * Reads the role and principal-type sets back out of a condition of abacCondition's shape, from
 * its parsed tree (shared/azure/abacCondition.ts): anything else (another branch, an OR where
 * the shape has AND, another operator or attribute) is not of that shape and gives undefined.
 */
export function parseAbacCondition(condition: string): ParsedAbacCondition | undefined {
  let tree: ConditionNode;
  try {
    tree = parseCondition(condition);
  } catch (e) {
    if (e instanceof ConditionSyntaxError) return undefined;
    throw e;
  }
  const ra = "microsoft.authorization/roleassignments";
  const guarded = (node: ConditionNode, action: "write" | "delete", source: "request" | "resource") => {
    if (node.kind !== "or" || node.items.length !== 2) return undefined;
    const [guard, body] = node.items as [ConditionNode, ConditionNode];
    if (
      guard.kind !== "not" ||
      guard.item.kind !== "actionMatches" ||
      guard.item.pattern.toLowerCase() !== `${ra}/${action}`
    )
      return undefined;
    if (body.kind !== "and" || body.items.length !== 2) return undefined;
    const values = (n: ConditionNode, attribute: string, operator: string): string[] | undefined =>
      n.kind === "compare" &&
      n.source.toLowerCase() === source &&
      n.attribute.toLowerCase() === `${ra}:${attribute}` &&
      n.quantifier.toLowerCase() === "foranyofanyvalues" &&
      n.operator.toLowerCase() === operator
        ? [...new Set(n.values.map((v) => v.toLowerCase()))].sort()
        : undefined;
    const roles = values(body.items[0]!, "roledefinitionid", "guidequals");
    const types = values(body.items[1]!, "principaltype", "stringequalsignorecase");
    return roles && types ? { roles, types } : undefined;
  };
  if (tree.kind !== "and" || tree.items.length !== 2) return undefined;
  const write = guarded(tree.items[0]!, "write", "request");
  const del = guarded(tree.items[1]!, "delete", "resource");
  if (!write || !del) return undefined;
  return {
    writeRoles: write.roles,
    writePrincipalTypes: write.types,
    deleteRoles: del.roles,
    deletePrincipalTypes: del.types,
  };
}

/** An action of a custom role, and why the app needs it. */
export interface RoleAction {
  action: string;
  why: string;
}

export const PROMOTION_ROLE_NAME = "aml-steward promotion";

const rw = (type: string, what: string): RoleAction[] => [
  {
    action: `${type}/read`,
    why: `read ${what} first, so that a retried promotion writes only the difference`,
  },
  { action: `${type}/write`, why: `create or update ${what}` },
];

/**
 * Exactly what a promotion does in the project subscription, nothing else: no deletes (a
 * promotion never deletes), no listKeys or other secret-reading actions, no
 * Microsoft.Authorization writes (role assignments go through the conditioned RBAC
 * Administrator grant). Tags need no action here: resources are created with their tags in the
 * PUT body, and later tag writes use Tag Contributor, which the project subscription has as a
 * governed subscription.
 */
export const PROMOTION_ROLE_ACTIONS: readonly RoleAction[] = [
  ...rw("Microsoft.Resources/subscriptions/resourceGroups", "the environment's resource group"),
  ...rw("Microsoft.Storage/storageAccounts", "the workspace's storage account"),
  ...rw("Microsoft.KeyVault/vaults", "the workspace's key vault"),
  ...rw(
    "Microsoft.OperationalInsights/workspaces",
    "the Log Analytics workspace behind Application Insights",
  ),
  ...rw("Microsoft.Insights/components", "the workspace's Application Insights"),
  ...rw(
    "Microsoft.ContainerRegistry/registries",
    "the workspace's container registry (when the policy asks for one)",
  ),
  ...rw("Microsoft.MachineLearningServices/workspaces", "the environment's Azure ML workspace"),
  ...rw(
    "Microsoft.MachineLearningServices/workspaces/datastores",
    "the default blob datastore with identity-based access (no stored key or SAS)",
  ),
  ...["models", "data", "environments", "components"].flatMap((kind) => [
    ...rw(`Microsoft.MachineLearningServices/workspaces/${kind}`, `the promoted ${kind} assets' containers`),
    ...rw(
      `Microsoft.MachineLearningServices/workspaces/${kind}/versions`,
      `the promoted ${kind} assets' versions`,
    ),
  ]),
  ...rw("Microsoft.Consumption/budgets", "the environment's budget (an update keeps its existing alerts)"),
];

/**
 * Only when the policy asks for per-project registries (mlRegistry: perProject) or names a
 * fine-tuning registry: an estate without either keeps a role that cannot write one.
 */
export const REGISTRY_ROLE_ACTIONS: readonly RoleAction[] = rw(
  "Microsoft.MachineLearningServices/registries",
  "the project's Azure ML registry, which the first environment publishes to and later environments consume from without copying data",
);

/**
 * Per-project registries, or a registry a region plan names for fine-tuning (its replicas are
 * added by the promotion role, so it must be in the project subscription: regionPlans.ts).
 */
function writesRegistries(policy: EstatePolicy): boolean {
  return (
    policy.mlRegistry === "perProject" ||
    Object.values(policy.regionPlans.plans).some((p) => p.fineTuningRegistry !== undefined)
  );
}

/** The custom role's GUID: derived from the project subscription, so every deployment and check agree. */
export function promotionRoleId(policy: EstatePolicy): string {
  const h = createHash("sha256")
    .update(`${PROMOTION_ROLE_NAME}|${policy.projectSubscriptionId.toLowerCase()}`)
    .digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface CustomRoleDefinition {
  id: string;
  roleName: string;
  description: string;
  actions: RoleAction[];
  assignableScopes: string[];
}

export interface AppRoleGrant {
  /** "/subscriptions/{s}" or a resource id. */
  scope: string;
  roleId: string;
  roleName: string;
  why: string;
  condition?: string;
}

/**
 * The app's whole Azure RBAC footprint, generated from the policy: the custom promotion role and
 * every assignment of the app's identity. infra/ deploys it (through
 * infra/generated/app-roles.json), the local stack seeds it, `steward setup --check` expects it.
 */
export function appRoleSet(policy: EstatePolicy): {
  customRoles: CustomRoleDefinition[];
  grants: AppRoleGrant[];
} {
  const project = `/subscriptions/${policy.projectSubscriptionId.toLowerCase()}`;
  const promotion: CustomRoleDefinition = {
    id: promotionRoleId(policy),
    roleName: PROMOTION_ROLE_NAME,
    description:
      "aml-steward: create project resource groups, Azure ML workspaces with their dependencies, promoted assets and budgets. No deletes, no keys, no access management.",
    actions: [...PROMOTION_ROLE_ACTIONS, ...(writesRegistries(policy) ? REGISTRY_ROLE_ACTIONS : [])],
    assignableScopes: [project],
  };
  const matrix = accessMatrixRoles(policy).map((r) => r.id);
  const { subscriptionId: expSub, resourceGroup: expRg, workspace: expWs } = policy.exploration;
  const grants: AppRoleGrant[] = [
    ...policy.governedSubscriptions.flatMap((s) => [
      {
        scope: `/subscriptions/${s.id.toLowerCase()}`,
        roleId: ROLE_IDS.reader,
        roleName: "Reader",
        why: "read resources, resource groups and their tags for tagging and the nightly reconciliation",
      },
      {
        scope: `/subscriptions/${s.id.toLowerCase()}`,
        roleId: ROLE_IDS.tagContributor,
        roleName: "Tag Contributor",
        why: "write cost tags through the Tags API without any other access to the resources",
      },
    ]),
    {
      scope: project,
      roleId: promotion.id,
      roleName: PROMOTION_ROLE_NAME,
      why: "create each project environment (see the role's actions)",
    },
    {
      scope: project,
      roleId: ROLE_IDS.rbacAdministrator,
      roleName: "Role Based Access Control Administrator",
      why:
        policy.access.drift === "restore"
          ? "grant the access matrix's roles to the project's groups, and remove hand-made assignments of the matrix's and the privileged roles (access.drift: restore); the condition allows nothing else"
          : "grant the access matrix's roles to the project's groups; the condition allows nothing else",
      condition: abacCondition(matrix, accessDeleteSet(policy)),
    },
    {
      scope: `/subscriptions/${expSub.toLowerCase()}/resourceGroups/${expRg}/providers/Microsoft.MachineLearningServices/workspaces/${expWs}`,
      roleId: ROLE_IDS.azureMlDataScientist,
      roleName: "AzureML Data Scientist",
      why: "read the use case's assets in exploration and archive promoted ones there (granted by steward setup)",
    },
  ];
  return { customRoles: [promotion], grants };
}

/** The content of infra/generated/app-roles.json: the custom role Bicep defines and assigns. */
export function appRolesFile(policy: EstatePolicy): Record<string, unknown> {
  const [promotion] = appRoleSet(policy).customRoles;
  return {
    $comment:
      "Generated by `npm run infra:generate` from shared/setup/contract.ts (appRoleSet). Do not edit; docs/deploy.md explains each action.",
    promotionRole: {
      id: promotion!.id,
      roleName: promotion!.roleName,
      description: promotion!.description,
      actions: promotion!.actions.map((a) => a.action),
    },
  };
}

/** Microsoft Graph's application id (the same in every tenant). */
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

export interface GraphPermission {
  /** The app role's value, e.g. Group.Create. */
  value: string;
  /** Its id on the Microsoft Graph service principal (the same in every tenant). */
  id: string;
  why: string;
}

/**
 * The Microsoft Graph application permissions aml-steward's identity needs, and nothing more.
 * See docs/deploy.md for the sources and for the permissions deliberately left out.
 */
export const GRAPH_PERMISSIONS: readonly GraphPermission[] = [
  {
    value: "Group.Create",
    id: "bf7b1a76-6e77-406b-b258-bf5c7720e98f",
    why: "create the per-role, per-environment security groups (with aml-steward bound as owner, so it can manage exactly the groups it created and no others)",
  },
  {
    value: "User.Read.All",
    id: "df021288-bdef-4463-88db-98f22de89214",
    why: "resolve requested owners and members by UPN; Graph requires it to create a group with users as owners or members",
  },
  {
    value: "GroupMember.Read.All",
    id: "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    why: "read groups and memberships, never change them: whether a requester or approver is in a group the policy names (checkMemberGroups); whether an object named in a request is a group (never nested) or a group it did not create; and Graph's delta query (/groups/delta), so the nightly access run sees members added to aml-steward's groups outside the request flow at a cost that follows the changes (removing them needs nothing more: aml-steward owns its groups)",
  },
  {
    value: "Application.Read.All",
    id: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    why: "read service principals: readable createdBy tags for service-principal callers, and service principals as group members",
  },
];

/** Graph permissions that would make the identity broader than it needs to be. */
export const BROAD_GRAPH_PERMISSIONS: readonly string[] = [
  "Directory.ReadWrite.All",
  "Group.ReadWrite.All",
  "RoleManagement.ReadWrite.Directory",
  "AppRoleAssignment.ReadWrite.All",
  "Application.ReadWrite.All",
];

/** The content of infra/generated/access-matrix-roles.json. */
export function accessMatrixRolesFile(policy: EstatePolicy): Record<string, unknown> {
  const roles = accessMatrixRoles(policy);
  return {
    $comment:
      "Generated by `npm run infra:generate` from the estate policy's access matrix. Do not edit: test/unit/infra-contract.test.ts fails when this is stale.",
    roleDefinitionIds: roles.map((r) => r.id),
    roles,
    // What the RBAC administrator grant may delete (accessDeleteSet: wider with access.drift: restore).
    deleteRoleDefinitionIds: [...accessDeleteSet(policy).roles],
    deletePrincipalTypes: [...accessDeleteSet(policy).principalTypes],
  };
}

/** The content of infra/generated/app-contract.json: names and subscriptions the templates use. */
export function appContractFile(policy: EstatePolicy): Record<string, unknown> {
  return {
    $comment:
      "Generated by `npm run infra:generate` from the estate policy and shared/config/settings.ts. Do not edit.",
    names: { ...INFRA_NAMES },
    eventFilter: {
      includedEventTypes: [...EVENT_FILTER.includedEventTypes],
      excludedPrincipalKey: EVENT_FILTER.excludedPrincipalKey,
    },
    storage: storageNames(),
    projectSubscriptionId: policy.projectSubscriptionId.toLowerCase(),
    governedSubscriptionIds: policy.governedSubscriptions.map((s) => s.id.toLowerCase()),
    exploration: {
      subscriptionId: policy.exploration.subscriptionId.toLowerCase(),
      resourceGroup: policy.exploration.resourceGroup,
      workspace: policy.exploration.workspace,
    },
    promotionSenders: promotionSenders(policy),
  };
}

/**
 * Who may put messages on the promotion queue: the requester groups and the cost centres'
 * approvers (their decisions travel the same way). "Storage Queue Data Message Sender" on that
 * one queue: never on the app's internal queues, never read or delete. The messages still need
 * a valid token; the role only keeps everyone else from filling the queue.
 */
export function promotionSenders(policy: EstatePolicy): { queue: string; groupIds: string[] } {
  const ids = [
    ...policy.requests.requesters.map((r) => r.group.id),
    ...policy.fundedCostCenters.flatMap((c) => (c.approvers ? [c.approvers.id] : [])),
  ].map((id) => id.toLowerCase());
  return { queue: QUEUES.promotions, groupIds: [...new Set(ids)].sort() };
}

/**
 * Relative paths (from the repository root) and contents of every generated infra file,
 * formatted as the repository's prettier configuration formats JSON (so `prettier --check`
 * and the staleness test agree).
 */
export async function generatedInfraFiles(policy: EstatePolicy): Promise<Record<string, string>> {
  const prettier = await import("prettier");
  const options = (await prettier.resolveConfig(fileURLToPath(import.meta.url))) ?? {};
  const json = (v: unknown) => prettier.format(JSON.stringify(v), { ...options, parser: "json" });
  return {
    "infra/generated/access-matrix-roles.json": await json(accessMatrixRolesFile(policy)),
    "infra/generated/app-contract.json": await json(appContractFile(policy)),
    "infra/generated/app-roles.json": await json(appRolesFile(policy)),
  };
}
