/**
 * Azure ML registries in the emulator: the registry resource (spec: Microsoft.MachineLearningServices
 * stable/2023-04-01/registries.json, which is in ../shared/specs and checked by
 * test/contract/registry-contract.test.ts) and the model, data, environment, component and code
 * assets inside one. The registry asset paths are in 2023-04-01's mfe.json, which is NOT in
 * ../shared/specs: their shape follows the workspace assets of 2022-10-01 (same definitions
 * upstream), unchecked by a contract test.
 *
 * Authorisation differs from ordinary ARM paths: Azure checks registry assets against
 * `registries/assets/{read,write,delete}` (what AzureML Registry User grants), not against the
 * per-type actions the path would suggest, so a role holder can publish any kind of asset.
 */
import { randomUUID } from "node:crypto";
import type { NameRule, TypeInfo } from "./typeInfo.js";

export const ML_REGISTRY_TYPE = "Microsoft.MachineLearningServices/registries";
const ASSETS = ["models", "data", "environments", "components", "codes"];

/** From the spec's RegistryNameParameter pattern. */
const mlRegistryName: NameRule = {
  test: (n) => /^[a-zA-Z0-9][a-zA-Z0-9\-_]{2,32}$/.test(n),
  code: "InvalidResourceName",
  message: (n) =>
    `Registry name '${n}' is invalid. It must be between 3 and 33 characters, start with a letter or digit, and contain only letters, digits, hyphens and underscores.`,
  unverified: true,
};

export function registryTypes(): TypeInfo[] {
  const out: TypeInfo[] = [
    {
      type: ML_REGISTRY_TYPE,
      nameRule: mlRegistryName,
      locationRequired: true,
      // Long-running, but the spec declares only 200/201 with the body for PUT (no 202): the
      // registry comes back while provisioning and the client polls it.
      put: "provisioning-state",
      patch: "immediate",
      delete: "azure-async-operation",
      onCreate: ({ name, location }, r) => {
        const region = location ?? "eastus";
        r.properties.discoveryUrl ??= `https://${region}.api.azureml.ms/registrymanagement/v1.0/registries/${name}/discovery`;
        r.properties.mlFlowRegistryUri ??= `azureml://${region}.api.azureml.ms/mlflow/v1.0/registries/${name}`;
        r.properties.publicNetworkAccess ??= "Enabled";
        r.properties.managedResourceGroup ??= {
          resourceId: `/subscriptions/${randomUUID()}/resourceGroups/azureml-rg-${name}_${randomUUID()}`,
        };
        r.properties.regionDetails ??= [{ location: region, storageAccountDetails: [], acrDetails: [] }];
      },
    },
  ];
  for (const asset of ASSETS)
    out.push(
      {
        type: `${ML_REGISTRY_TYPE}/${asset}`,
        locationRequired: false,
        put: "immediate",
        patch: "immediate",
        delete: "immediate",
        mlAsset: "container",
      },
      {
        type: `${ML_REGISTRY_TYPE}/${asset}/versions`,
        locationRequired: false,
        put: "immediate",
        patch: "immediate",
        delete: "immediate",
        mlAsset: "version",
      },
    );
  return out;
}

/** The action Azure checks for a registry asset operation, or undefined when `action` is not one. */
export function registryAssetAction(action: string): string | undefined {
  const m =
    /^Microsoft\.MachineLearningServices\/registries\/(\w+)(?:\/versions)?\/(read|write|delete)$/i.exec(
      action,
    );
  if (!m || !ASSETS.includes(m[1]!.toLowerCase())) return undefined;
  return `${ML_REGISTRY_TYPE}/assets/${m[2]!.toLowerCase()}`;
}
