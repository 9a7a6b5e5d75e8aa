/**
 * Azure ML datastores and workspace connections in the emulator: how a workspace reaches data
 * outside itself. Shapes from Microsoft.MachineLearningServices stable/2022-10-01 (datastores in
 * mfe.json, connections in machineLearningServices.json, both in ../shared/specs and checked by
 * test/contract/data-access-contract.test.ts).
 *
 * What the emulator enforces, as the resource provider does:
 * - the body's required fields per datastore type and credential type (the spec's `required`
 *   lists, discriminated by `datastoreType` and `credentials.credentialsType`; connections by
 *   `authType`); a body that misses one is 400 before anything is stored;
 * - secrets never come back: a datastore's `credentials.secrets` (x-ms-secret in the spec) and a
 *   connection's PAT, SAS or password are dropped from every GET and list, as Azure does (it
 *   returns them only through `listSecrets`, which the emulator does not serve).
 *
 * The error code of a refused body (`UserError`) is what the ML service sends for validation
 * errors in general; the exact message is not Azure's (docs/emulator.md lists it as unverified).
 */
import { fail } from "./errors.js";
import { isRecord } from "./request.js";
import type { TypeInfo } from "./typeInfo.js";

export const DATASTORE_TYPE = "Microsoft.MachineLearningServices/workspaces/datastores";
export const CONNECTION_TYPE = "Microsoft.MachineLearningServices/workspaces/connections";

/** datastoreType -> the properties that type requires besides credentials (spec `required`). */
const DATASTORE_REQUIRED: Record<string, string[]> = {
  AzureBlob: [],
  AzureDataLakeGen1: ["storeName"],
  AzureDataLakeGen2: ["accountName", "filesystem"],
  AzureFile: ["accountName", "fileShareName"],
};

/** credentialsType -> required credential fields. */
const CREDENTIALS_REQUIRED: Record<string, string[]> = {
  AccountKey: ["secrets"],
  Certificate: ["clientId", "secrets", "tenantId", "thumbprint"],
  None: [],
  Sas: ["secrets"],
  ServicePrincipal: ["clientId", "secrets", "tenantId"],
};

const CONNECTION_AUTH_TYPES = ["PAT", "ManagedIdentity", "UsernamePassword", "None", "SAS"];
/** Credential fields of a connection that are secrets (never returned on read). */
const CONNECTION_SECRETS = ["pat", "sas", "password"];

const invalid = (message: string): never => fail(400, "UserError", message);

function requireProperties(body: Record<string, unknown>): Record<string, unknown> {
  return isRecord(body.properties) ? body.properties : invalid("The field 'properties' is required.");
}

function requireFields(where: string, obj: Record<string, unknown>, fields: string[]): void {
  for (const f of fields)
    if (obj[f] === undefined || obj[f] === null || obj[f] === "")
      invalid(`The field '${where}${f}' is required.`);
}

function oneOf(field: string, value: unknown, allowed: readonly string[]): string {
  if (typeof value === "string" && allowed.includes(value)) return value;
  return invalid(`The field '${field}' must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)}).`);
}

function validateDatastore(body: Record<string, unknown>): void {
  const p = requireProperties(body);
  const type = oneOf("properties.datastoreType", p.datastoreType, Object.keys(DATASTORE_REQUIRED));
  requireFields("properties.", p, DATASTORE_REQUIRED[type]!);
  if (!isRecord(p.credentials)) return invalid("The field 'properties.credentials' is required.");
  const cred = oneOf(
    "properties.credentials.credentialsType",
    p.credentials.credentialsType,
    Object.keys(CREDENTIALS_REQUIRED),
  );
  requireFields("properties.credentials.", p.credentials, CREDENTIALS_REQUIRED[cred]!);
  if (p.isDefault !== undefined && typeof p.isDefault !== "boolean")
    invalid("The field 'properties.isDefault' must be a boolean.");
}

function validateConnection(body: Record<string, unknown>): void {
  const p = requireProperties(body);
  oneOf("properties.authType", p.authType, CONNECTION_AUTH_TYPES);
  if (p.target !== undefined && typeof p.target !== "string")
    invalid("The field 'properties.target' must be a string.");
  if (p.credentials !== undefined && !isRecord(p.credentials))
    invalid("The field 'properties.credentials' must be an object.");
}

/** A datastore as GET returns it: credentials without their secrets. */
function datastoreView(properties: Record<string, unknown>): Record<string, unknown> {
  if (!isRecord(properties.credentials)) return properties;
  const { secrets: _secret, ...credentials } = properties.credentials;
  return { ...properties, credentials };
}

function connectionView(properties: Record<string, unknown>): Record<string, unknown> {
  if (!isRecord(properties.credentials)) return properties;
  const credentials = { ...properties.credentials };
  for (const k of CONNECTION_SECRETS) delete credentials[k];
  return { ...properties, credentials };
}

export function dataAccessTypes(): TypeInfo[] {
  const common = {
    locationRequired: false,
    put: "immediate",
    patch: "immediate",
    delete: "immediate",
    workspaceChild: true,
  } as const;
  return [
    {
      ...common,
      type: DATASTORE_TYPE,
      validate: validateDatastore,
      view: datastoreView,
      // Read-only in the spec: only the workspace's own default datastores are default.
      onCreate: (_ctx, r) => void (r.properties.isDefault = false),
    },
    {
      ...common,
      type: CONNECTION_TYPE,
      validate: validateConnection,
      view: connectionView,
      createdStatus: 200,
    },
  ];
}

/**
 * The datastores Azure ML creates with a workspace, on the workspace's own storage account:
 * `workspaceblobstore` (the default, container `azureml-blobstore-{workspaceId}`),
 * `workspacefilestore` and `workspaceworkingdirectory` (file shares `code-{id}`),
 * `workspaceartifactstore` (container `azureml`). Azure gives them account-key credentials
 * (whose secret GET never returns); nothing publishes an ARM event for them, as in Azure, where
 * the service writes them, not ARM. Undefined without a storage account.
 */
export function defaultDatastores(
  workspace: Record<string, unknown>,
): Array<{ name: string; properties: Record<string, unknown> }> | undefined {
  const storage = typeof workspace.storageAccount === "string" ? workspace.storageAccount : "";
  const accountName = storage.split("/").pop();
  if (!accountName) return undefined;
  const id = typeof workspace.workspaceId === "string" ? workspace.workspaceId : "";
  const credentials = {
    credentialsType: "AccountKey",
    secrets: { secretsType: "AccountKey", key: "emulated" },
  };
  const common = { accountName, endpoint: "core.windows.net", protocol: "https", credentials, tags: {} };
  const blob = (containerName: string, isDefault: boolean) => ({
    ...common,
    datastoreType: "AzureBlob",
    containerName,
    isDefault,
  });
  const file = (fileShareName: string) => ({
    ...common,
    datastoreType: "AzureFile",
    fileShareName,
    isDefault: false,
  });
  return [
    { name: "workspaceblobstore", properties: blob(`azureml-blobstore-${id}`, true) },
    { name: "workspacefilestore", properties: file(`code-${id}`) },
    { name: "workspaceartifactstore", properties: blob("azureml", false) },
    { name: "workspaceworkingdirectory", properties: file(`code-${id}`) },
  ];
}
