/**
 * Built-in role definitions with their real ids (the same in every tenant) and the actions,
 * notActions and dataActions of Microsoft's built-in roles reference, for the roles this project
 * uses; authorization/ enforces them (docs/emulator.md).
 */

export interface RoleDefinitionData {
  guid: string;
  roleName: string;
  description: string;
  actions: string[];
  notActions?: string[];
  dataActions?: string[];
  notDataActions?: string[];
}

export const BUILT_IN_ROLES: RoleDefinitionData[] = [
  {
    guid: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    roleName: "Owner",
    description:
      "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
    actions: ["*"],
  },
  {
    guid: "b24988ac-6180-42a0-ab88-20f7382dd24c",
    roleName: "Contributor",
    description:
      "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
    actions: ["*"],
    notActions: [
      "Microsoft.Authorization/*/Delete",
      "Microsoft.Authorization/*/Write",
      "Microsoft.Authorization/elevateAccess/Action",
      "Microsoft.Blueprint/blueprintAssignments/write",
      "Microsoft.Blueprint/blueprintAssignments/delete",
      "Microsoft.Compute/galleries/share/action",
    ],
  },
  {
    guid: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    roleName: "Reader",
    description: "View all resources, but does not allow you to make any changes.",
    actions: ["*/read"],
  },
  {
    guid: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    roleName: "User Access Administrator",
    description: "Lets you manage user access to Azure resources.",
    actions: ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
  },
  {
    guid: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    roleName: "Role Based Access Control Administrator",
    description:
      "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
    actions: [
      "Microsoft.Authorization/roleAssignments/write",
      "Microsoft.Authorization/roleAssignments/delete",
      "*/read",
      "Microsoft.Support/*",
    ],
  },
  {
    guid: "4a9ae827-6dc8-4573-8ac7-8239d42aa03f",
    roleName: "Tag Contributor",
    description: "Lets you manage tags on entities, without providing access to the entities themselves.",
    actions: [
      "Microsoft.Authorization/*/read",
      "Microsoft.Resources/subscriptions/resourceGroups/read",
      "Microsoft.Resources/subscriptions/resourceGroups/resources/read",
      "Microsoft.Resources/subscriptions/resources/read",
      "Microsoft.Resources/deployments/*",
      "Microsoft.Insights/alertRules/*",
      "Microsoft.Support/*",
      "Microsoft.Resources/tags/*",
    ],
  },
  {
    guid: "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    roleName: "AzureML Data Scientist",
    description:
      "Can perform all actions within an Azure Machine Learning workspace, except for creating or deleting compute resources and modifying the workspace itself.",
    actions: [
      "Microsoft.MachineLearningServices/workspaces/*/read",
      "Microsoft.MachineLearningServices/workspaces/*/action",
      "Microsoft.MachineLearningServices/workspaces/*/delete",
      "Microsoft.MachineLearningServices/workspaces/*/write",
    ],
    notActions: [
      "Microsoft.MachineLearningServices/workspaces/delete",
      "Microsoft.MachineLearningServices/workspaces/write",
      "Microsoft.MachineLearningServices/workspaces/computes/*/write",
      "Microsoft.MachineLearningServices/workspaces/computes/*/delete",
      "Microsoft.MachineLearningServices/workspaces/computes/listKeys/action",
      "Microsoft.MachineLearningServices/workspaces/listKeys/action",
      "Microsoft.MachineLearningServices/workspaces/hubs/write",
      "Microsoft.MachineLearningServices/workspaces/hubs/delete",
      "Microsoft.MachineLearningServices/workspaces/featurestores/write",
      "Microsoft.MachineLearningServices/workspaces/featurestores/delete",
    ],
  },
  {
    guid: "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815",
    roleName: "AzureML Compute Operator",
    description:
      "Can access and perform CRUD operations on Machine Learning Services managed compute resources (including Notebook VMs).",
    actions: [
      "Microsoft.MachineLearningServices/workspaces/computes/*",
      "Microsoft.MachineLearningServices/workspaces/notebooks/vm/*",
    ],
  },
  {
    guid: "1823dd4f-9b8c-4ab6-ab4e-7397a3684615",
    roleName: "AzureML Registry User",
    description: "Allows use of assets in a machine learning registry.",
    actions: [
      "Microsoft.MachineLearningServices/registries/read",
      "Microsoft.MachineLearningServices/registries/assets/read",
      "Microsoft.MachineLearningServices/registries/assets/write",
      "Microsoft.MachineLearningServices/registries/assets/delete",
    ],
  },
  {
    guid: "b78c5d69-af96-48a3-bf8d-a8b4d589de94",
    roleName: "Azure AI Administrator",
    description:
      "A Built-in Role that has all control plane permissions to work with Azure AI and its dependencies.",
    actions: [
      "Microsoft.Authorization/*/read",
      "Microsoft.CognitiveServices/*",
      "Microsoft.MachineLearningServices/workspaces/*",
      "Microsoft.Resources/deployments/*",
      "Microsoft.Resources/subscriptions/resourceGroups/read",
      "Microsoft.Storage/storageAccounts/*",
      "Microsoft.KeyVault/*",
      "Microsoft.Insights/*",
    ],
  },
  {
    guid: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    roleName: "Storage Blob Data Reader",
    description: "Allows for read access to Azure Storage blob containers and data",
    actions: [
      "Microsoft.Storage/storageAccounts/blobServices/containers/read",
      "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
    ],
    dataActions: ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
  },
  {
    guid: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    roleName: "Storage Blob Data Contributor",
    description: "Allows for read, write and delete access to Azure Storage blob containers and data",
    actions: [
      "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
      "Microsoft.Storage/storageAccounts/blobServices/containers/read",
      "Microsoft.Storage/storageAccounts/blobServices/containers/write",
      "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
    ],
    dataActions: [
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    ],
  },
];

export const BUILT_IN = {
  OWNER: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  CONTRIBUTOR: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  READER: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  AZURE_AI_ADMINISTRATOR: "b78c5d69-af96-48a3-bf8d-a8b4d589de94",
} as const;

export const builtInByGuid = new Map(BUILT_IN_ROLES.map((r) => [r.guid, r]));
