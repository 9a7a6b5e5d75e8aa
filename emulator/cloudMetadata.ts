/**
 * ARM's cloud metadata (`GET /metadata/endpoints?api-version=2022-09-01`), which the Azure CLI
 * reads when a cloud is registered with only its ARM endpoint (`az cloud register -n emulator
 * --endpoint-resource-manager URL`): every endpoint of the emulated cloud is the emulator itself,
 * login included. Served without a token, like ARM's. Not an ARM operation with a spec.
 */
import type { EmuRequest, EmuResponse, Router } from "./types.js";

export function cloudMetadataRouter(): Router {
  return (req: EmuRequest): EmuResponse | undefined => {
    if (req.method !== "GET" || req.path.toLowerCase() !== "/metadata/endpoints") return undefined;
    const url = req.baseUrl.replace(/\/+$/, "");
    const cloud = {
      name: "AzureEmulator",
      portal: `${url}/`,
      resourceManager: `${url}/`,
      authentication: {
        loginEndpoint: url,
        audiences: ["https://management.core.windows.net/", "https://management.azure.com/"],
        tenant: "common",
        identityProvider: "AAD",
      },
      graph: `${url}/`,
      graphAudience: `${url}/`,
      microsoftGraphResourceId: `${url}/`,
      suffixes: { storage: "core.windows.net", keyVaultDns: "vault.azure.net", acrLoginServer: "azurecr.io" },
    };
    // One object, which is what the Azure CLI reads (arm_dict['name']).
    return { status: 200, body: cloud };
  };
}
