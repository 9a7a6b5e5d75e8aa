/**
 * What the emulator knows about each typed resource: canonical type casing, Azure's naming
 * rule and error, whether `location` is required, global name uniqueness and which
 * long-running-operation style the real resource provider uses (docs/emulator.md lists them).
 */
import { randomUUID } from "node:crypto";
import { dataAccessTypes } from "./mlDataAccess.js";
import { registryTypes } from "./mlRegistries.js";
import type { NameRule, TypeInfo } from "./typeInfo.js";

export type { LroStyle, NameRule, TypeInfo } from "./typeInfo.js";

const storageName: NameRule = {
  test: (n) => /^[a-z0-9]{3,24}$/.test(n),
  code: "AccountNameInvalid",
  message: (n) =>
    `${n} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`,
};

const vaultName: NameRule = {
  test: (n) => /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(n) && !n.includes("--"),
  code: "VaultNameNotValid",
  message: (n) =>
    `The vault name '${n}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens. Follow this link for more information: https://go.microsoft.com/fwlink/?linkid=2147742`,
};

const logAnalyticsName: NameRule = {
  test: (n) => /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/.test(n),
  code: "InvalidParameter",
  message: (n) =>
    n.length < 4 || n.length > 63
      ? `Workspace name must be between 4 and 63 characters. Operation Id: '${randomUUID().replace(/-/g, "")}'`
      : `Workspace name must start and end with an alphanumeric character, and may contain only alphanumeric and hyphen characters. Operation Id: '${randomUUID().replace(/-/g, "")}'`,
};

const registryName: NameRule = {
  test: (n) => /^[a-zA-Z0-9]{5,50}$/.test(n),
  code: "InvalidResourceName",
  message: () =>
    "Resource names may contain alpha numeric characters only and must be between 5 and 50 characters.",
  unverified: true,
};

const componentName: NameRule = {
  test: (n) => n.length >= 1 && n.length <= 260 && !/[%&\\?/<>:]/.test(n) && !/[. ]$/.test(n),
  code: "InvalidResourceName",
  message: (n) =>
    `Resource name '${n}' is invalid. It must be 1-260 characters, cannot contain '%&\\?/<>:' and cannot end with a period or space.`,
  unverified: true,
};

const mlWorkspaceName: NameRule = {
  test: (n) => /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$/.test(n),
  code: "InvalidResourceName",
  message: (n) =>
    `Workspace name '${n}' is invalid. It must be between 3 and 33 characters, start with a letter or digit, and contain only letters, digits, hyphens and underscores.`,
  unverified: true,
};

const catalog: TypeInfo[] = [
  {
    type: "Microsoft.Storage/storageAccounts",
    nameRule: storageName,
    locationRequired: true,
    globallyUnique: {
      code: "StorageAccountAlreadyTaken",
      message: (n) => `The storage account named ${n} is already taken.`,
    },
    put: "location",
    patch: "immediate",
    delete: "immediate",
  },
  {
    type: "Microsoft.KeyVault/vaults",
    nameRule: vaultName,
    locationRequired: true,
    globallyUnique: {
      code: "VaultAlreadyExists",
      message: (n) =>
        `The vault name '${n}' is already in use. Vault names are globally unique so it is possible that the name is already taken.`,
    },
    put: "provisioning-state",
    creatingState: "RegisteringDns",
    patch: "immediate",
    delete: "immediate",
    onCreate: ({ name, tenantId }, r) => {
      r.properties.vaultUri ??= `https://${name.toLowerCase()}.vault.azure.net/`;
      r.properties.tenantId ??= tenantId;
    },
  },
  {
    type: "Microsoft.Insights/components",
    nameRule: componentName,
    locationRequired: true,
    put: "immediate",
    patch: "immediate",
    delete: "immediate",
    onCreate: (_ctx, r) => {
      r.properties.AppId ??= randomUUID();
      r.properties.InstrumentationKey ??= randomUUID();
    },
  },
  {
    type: "Microsoft.OperationalInsights/workspaces",
    nameRule: logAnalyticsName,
    locationRequired: true,
    put: "immediate",
    patch: "immediate",
    delete: "immediate",
    onCreate: (_ctx, r) => {
      r.properties.customerId ??= randomUUID();
    },
  },
  {
    type: "Microsoft.ContainerRegistry/registries",
    nameRule: registryName,
    locationRequired: true,
    put: "immediate",
    patch: "immediate",
    delete: "immediate",
    onCreate: ({ name }, r) => {
      r.properties.loginServer ??= `${name.toLowerCase()}.azurecr.io`;
    },
  },
  {
    type: "Microsoft.MachineLearningServices/workspaces",
    nameRule: mlWorkspaceName,
    locationRequired: true,
    put: "azure-async-operation",
    patch: "azure-async-operation",
    delete: "azure-async-operation",
    onCreate: ({ name, tenantId, location }, r) => {
      const workspaceId = randomUUID();
      r.properties.workspaceId ??= workspaceId;
      r.properties.friendlyName ??= name;
      r.properties.discoveryUrl ??= `https://${location ?? "eastus"}.api.azureml.ms/discovery`;
      r.properties.mlFlowTrackingUri ??= `azureml://${location ?? "eastus"}.api.azureml.ms/mlflow/v1.0`;
      r.properties.hbiWorkspace ??= false;
      r.properties.publicNetworkAccess ??= "Enabled";
      r.properties.allowPublicAccessWhenBehindVnet ??= false;
      r.properties.tenantId ??= tenantId;
    },
  },
];

const ML = "Microsoft.MachineLearningServices/workspaces";
for (const asset of ["models", "data", "environments", "components", "codes"]) {
  catalog.push(
    {
      type: `${ML}/${asset}`,
      locationRequired: false,
      put: "immediate",
      patch: "immediate",
      delete: "immediate",
      mlAsset: "container",
    },
    {
      type: `${ML}/${asset}/versions`,
      locationRequired: false,
      put: "immediate",
      patch: "immediate",
      delete: "immediate",
      mlAsset: "version",
      // Read-only: Azure marks environments users create as UserCreated (curated ones come from Microsoft).
      onCreate:
        asset === "environments"
          ? (_ctx, r) => void (r.properties.environmentType ??= "UserCreated")
          : undefined,
    },
  );
}

catalog.push(...registryTypes(), ...dataAccessTypes());

const byLowerType = new Map(catalog.map((t) => [t.type.toLowerCase(), t]));

/** Known info for a type, or a permissive generic entry for any other type. */
export function typeInfo(type: string): TypeInfo {
  return (
    byLowerType.get(type.toLowerCase()) ?? {
      type,
      locationRequired: false,
      put: "immediate",
      patch: "immediate",
      delete: "immediate",
    }
  );
}

export function isKnownType(type: string): boolean {
  return byLowerType.has(type.toLowerCase());
}

export const TYPED_RESOURCES = catalog.map((t) => t.type);
