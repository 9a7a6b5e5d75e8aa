/**
 * A Contoso-like estate for the emulator, derived from an estate policy: the governed
 * subscriptions, the exploration resource group and workspace (with its dependencies), a use
 * case's models, data, environments and components in exploration, people in the usual
 * roles, aml-steward's own service principal and a pipeline's managed identity. Tests, the
 * demo and the benchmarks all start from this seed, so they describe the same world.
 */
import type { EstatePolicy } from "../../shared/policy/schema.js";
import { appRoleSet, GRAPH_PERMISSIONS, ROLE_IDS } from "../../shared/setup/contract.js";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";

export const TENANT_ID = "72f988bf-0000-4e7a-9c3b-2d7cd011db47";

/** aml-steward's own identity in the emulator. The secret exists only in this local emulator. */
export const STEWARD_APP = {
  objectId: "5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a",
  appId: "9d3c2b1a-7e6f-4a5b-9c8d-1e2f3a4b5c6d",
  displayName: "aml-steward",
  clientSecret: "local-emulator-only-steward-secret",
};

/**
 * aml-steward's API: the app registration whose access tokens senders attach to promotion
 * requests (audience = appId; scope api://{appId}/.default). Tokens for it are Entra v2.0 access
 * tokens. Its own app registration, separate from STEWARD_APP, as in Azure, where the API's
 * audience must not be the identity the Function App acts as.
 */
export const STEWARD_API = {
  objectId: "6b2f8d4e-0c3a-4f9b-9d7e-1a2b3c4d5e6f",
  appId: "3f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f",
  displayName: "aml-steward API",
  identifierUri: "api://3f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f",
} as const;

/**
 * People of the estate. The passwords exist only in this local emulator, so each person can sign
 * in with ROPC (grant_type=password) as on a laptop; they are never real credentials.
 */
export const PEOPLE = {
  alice: {
    objectId: "a11ce000-0000-4000-8000-000000000001",
    userPrincipalName: "alice@contoso.com",
    password: "local-emulator-only-alice-password",
    displayName: "Alice Data Scientist",
  },
  bob: {
    objectId: "b0b00000-0000-4000-8000-000000000002",
    userPrincipalName: "bob@contoso.com",
    password: "local-emulator-only-bob-password",
    displayName: "Bob ML Engineer",
  },
  carol: {
    objectId: "ca201000-0000-4000-8000-000000000003",
    userPrincipalName: "carol@contoso.com",
    password: "local-emulator-only-carol-password",
    displayName: "Carol MLOps",
  },
  dave: {
    objectId: "da7e0000-0000-4000-8000-000000000004",
    userPrincipalName: "dave@contoso.com",
    password: "local-emulator-only-dave-password",
    displayName: "Dave Reader",
  },
  erin: {
    objectId: "e2140000-0000-4000-8000-000000000005",
    userPrincipalName: "erin@contoso.com",
    password: "local-emulator-only-erin-password",
    displayName: "Erin Platform Owner",
  },
} as const;

export const PIPELINE_IDENTITY = {
  objectId: "f1f1f1f1-0000-4000-8000-00000000000f",
  appId: "0a0a0a0a-1111-4222-8333-444444444444",
  displayName: "mi-fraud-etl-pipeline",
};

/** The use case proven in exploration, and the tag that marks its assets. */
export const USE_CASE = { id: "fraud-detection", tag: "useCase" } as const;

export function explorationIds(policy: EstatePolicy) {
  const { subscriptionId, resourceGroup, workspace } = policy.exploration;
  const rg = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
  return {
    subscriptionId,
    rg,
    workspace: `${rg}/providers/Microsoft.MachineLearningServices/workspaces/${workspace}`,
  };
}

/**
 * aml-steward's role set exactly as infra/ deploys it and `steward setup` completes it
 * (shared/setup/contract.ts, appRoleSet): the custom promotion role, its assignments and the
 * conditioned RBAC Administrator. The emulator enforces them, so the local stack proves the app
 * needs no more.
 */
export function stewardRoleSeed(
  policy: EstatePolicy,
): Pick<EmulatorSeed, "roleDefinitions" | "roleAssignments" | "graphPermissions"> {
  const set = appRoleSet(policy);
  return {
    roleDefinitions: set.customRoles.map((r) => ({
      name: r.id,
      roleName: r.roleName,
      description: r.description,
      actions: r.actions.map((a) => a.action),
      assignableScopes: r.assignableScopes,
    })),
    roleAssignments: set.grants.map((g) => ({
      scope: g.scope,
      roleDefinitionId: g.roleId,
      principalId: STEWARD_APP.objectId,
      principalType: "ServicePrincipal" as const,
      description: g.why,
      ...(g.condition !== undefined ? { condition: g.condition, conditionVersion: "2.0" } : {}),
    })),
    // The Graph application permissions `steward setup` grants, and no other.
    graphPermissions: [
      { principalId: STEWARD_APP.objectId, permissions: GRAPH_PERMISSIONS.map((p) => p.value) },
    ],
  };
}

/**
 * The people's own access, so that they can do what the scenarios have them do: Erin owns the
 * governed subscriptions, Alice, Bob, Carol and the pipeline build in them, Dave reads and edits
 * tags (the demo has him change a cost tag in the portal).
 */
function peopleRoleAssignments(policy: EstatePolicy): NonNullable<EmulatorSeed["roleAssignments"]> {
  const subs = policy.governedSubscriptions.map((s) => `/subscriptions/${s.id.toLowerCase()}`);
  const grant = (principalId: string, roleId: string, principalType: "User" | "ServicePrincipal" = "User") =>
    subs.map((scope) => ({ scope, roleDefinitionId: roleId, principalId, principalType }));
  return [
    ...grant(PEOPLE.erin.objectId, ROLE_IDS.owner),
    ...grant(PEOPLE.alice.objectId, ROLE_IDS.contributor),
    ...grant(PEOPLE.bob.objectId, ROLE_IDS.contributor),
    ...grant(PEOPLE.carol.objectId, ROLE_IDS.contributor),
    ...grant(PEOPLE.dave.objectId, ROLE_IDS.reader),
    ...grant(PEOPLE.dave.objectId, ROLE_IDS.tagContributor),
    ...grant(PIPELINE_IDENTITY.objectId, ROLE_IDS.contributor, "ServicePrincipal"),
  ];
}

export function contosoSeed(policy: EstatePolicy): EmulatorSeed {
  const roles = stewardRoleSeed(policy);
  const region = policy.regions.default;
  const { subscriptionId, rg, workspace } = explorationIds(policy);
  const t = policy.tags;
  const explorationTags = {
    [t.costCenter]: policy.exploration.costCenter,
    [t.project]: "exploration",
    [t.environment]: "exploration",
    [t.owner]: PEOPLE.erin.userPrincipalName,
  };
  const dep = (type: string, name: string, extra: Record<string, unknown> = {}) => ({
    id: `${rg}/providers/${type}/${name}`,
    location: region,
    tags: { ...explorationTags },
    ...extra,
  });
  const asset = (
    kind: string,
    name: string,
    version: string,
    props: Record<string, unknown>,
    useCase: string = USE_CASE.id,
  ) => [
    {
      id: `${workspace}/${kind}/${name}`,
      properties: { description: `${name} (${kind})`, tags: {}, properties: {}, isArchived: false },
    },
    {
      id: `${workspace}/${kind}/${name}/versions/${version}`,
      properties: {
        description: `${name} v${version}`,
        tags: { [USE_CASE.tag]: useCase, stage: "candidate" },
        properties: {},
        isArchived: false,
        ...props,
      },
    },
  ];
  const storage = dep("Microsoft.Storage/storageAccounts", "stexploration01", {
    kind: "StorageV2",
    sku: { name: "Standard_LRS" },
  });
  const vault = dep("Microsoft.KeyVault/vaults", "kv-exploration-01", {
    properties: { tenantId: TENANT_ID, sku: { family: "A", name: "standard" } },
  });
  const insights = dep("Microsoft.Insights/components", "appi-exploration", {
    kind: "web",
    properties: { Application_Type: "web" },
  });

  return {
    tenantId: TENANT_ID,
    subscriptions: policy.governedSubscriptions.map((s) => ({ subscriptionId: s.id, displayName: s.name })),
    resourceGroups: [
      { subscriptionId, name: policy.exploration.resourceGroup, location: region, tags: explorationTags },
    ],
    resources: [
      storage,
      vault,
      insights,
      {
        id: workspace,
        location: region,
        tags: { ...explorationTags },
        identity: { type: "SystemAssigned" },
        properties: {
          friendlyName: "Exploration",
          storageAccount: storage.id,
          keyVault: vault.id,
          applicationInsights: insights.id,
          provisioningState: "Succeeded",
        },
      },
      ...asset("models", "fraud-classifier", "3", {
        modelType: "custom_model",
        modelUri: "azureml://datastores/workspaceblobstore/paths/fraud/model",
      }),
      ...asset("data", "card-transactions", "1", {
        dataType: "uri_folder",
        dataUri: "azureml://datastores/workspaceblobstore/paths/fraud/transactions/",
      }),
      ...asset("environments", "fraud-train-env", "2", {
        image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest",
      }),
      ...asset("components", "train-fraud-model", "1", {
        componentSpec: { name: "train-fraud-model", version: "1", type: "command" },
      }),
      ...asset(
        "models",
        "churn-baseline",
        "1",
        { modelType: "custom_model", modelUri: "azureml://datastores/workspaceblobstore/paths/churn/model" },
        "customer-churn",
      ),
    ],
    // The policy's own custom roles exist in the estate, so the promotion can assign them.
    roleDefinitions: [
      ...(roles.roleDefinitions ?? []),
      ...policy.customRoles.map((c) => ({
        name: c.id,
        roleName: c.name,
        actions: c.actions,
        notActions: c.notActions,
        assignableScopes: [`/subscriptions/${policy.projectSubscriptionId}`],
      })),
    ],
    roleAssignments: [...(roles.roleAssignments ?? []), ...peopleRoleAssignments(policy)],
    graphPermissions: roles.graphPermissions,
    users: Object.values(PEOPLE).map((p) => ({ ...p })),
    servicePrincipals: [
      { ...STEWARD_APP, kind: "servicePrincipal" },
      {
        objectId: STEWARD_API.objectId,
        appId: STEWARD_API.appId,
        displayName: STEWARD_API.displayName,
        identifierUris: [STEWARD_API.identifierUri],
        kind: "servicePrincipal",
      },
      { ...PIPELINE_IDENTITY, kind: "managedIdentity" },
    ],
    groups: governanceGroups(policy),
  };
}

/**
 * The Entra groups the policy names for who may request and approve, with the seed's people
 * in them: anyone but Dave may ask for a project; Erin owns the budgets and the platform, so
 * she approves (and, being a requester too, shows that nobody approves their own request).
 */
export function governanceGroups(policy: EstatePolicy): NonNullable<EmulatorSeed["groups"]> {
  const groups = new Map<string, { id: string; displayName: string; members: Set<string> }>();
  const add = (g: { id: string; name: string }, members: readonly { objectId: string }[]) => {
    const entry = groups.get(g.id.toLowerCase()) ?? {
      id: g.id.toLowerCase(),
      displayName: g.name,
      members: new Set<string>(),
    };
    members.forEach((m) => entry.members.add(m.objectId));
    groups.set(entry.id, entry);
  };
  const { alice, bob, carol, erin } = PEOPLE;
  for (const r of policy.requests.requesters) add(r.group, [alice, bob, carol, erin]);
  for (const c of policy.fundedCostCenters) if (c.approvers) add(c.approvers, [erin]);
  if (policy.reconcile.approvers) add(policy.reconcile.approvers, [erin]);
  return [...groups.values()].map((g) => ({
    id: g.id,
    displayName: g.displayName,
    mailNickname: g.displayName.replace(/[^A-Za-z0-9]/g, "").slice(0, 60) || "group",
    members: [...g.members],
  }));
}
