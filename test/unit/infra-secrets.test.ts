/**
 * No secret, key or connection string with a key in the templates or the app's settings files:
 * storage is identity-only (shared keys disabled), Application Insights takes Entra-authenticated
 * telemetry only, and the function runs on Node 22.
 */
import { describe, expect, it } from "vitest";
import { bicepCode, infraFiles, read } from "./infra-helpers.js";

const files = [...infraFiles(), "azure.yaml", "local.settings.sample.json", "host.json"];

const FORBIDDEN: Array<[RegExp, string]> = [
  [/AccountKey\s*=/i, "storage account key in a connection string"],
  [/SharedAccessKey/i, "shared access key"],
  [/SharedAccessSignature|[?&]sig=/i, "SAS token"],
  [/listKeys\s*\(|listkeys/i, "listKeys() call"],
  [/primaryKey|secondaryKey|primarySharedKey/i, "resource key"],
  [/InstrumentationKey\s*=/i, "Application Insights instrumentation key"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key"],
  [/@secure\(\)/, "secure parameter (no secret should be needed)"],
  [/DefaultEndpointsProtocol=https/i, "full storage connection string"],
];

describe("no secrets in templates and settings", () => {
  it.each(files)("%s holds no key, secret or keyed connection string", (file) => {
    const text = read(file);
    for (const [re, what] of FORBIDDEN) expect(re.test(text), `${file}: ${what}`).toBe(false);
  });

  it("the storage account refuses shared keys and the app uses identity-based AzureWebJobsStorage", () => {
    const app = bicepCode("infra/modules/app.bicep");
    expect(app).toMatch(/allowSharedKeyAccess: false/);
    expect(app).toMatch(/storageAccountUseIdentityAuthentication: true/);
    expect(app).toMatch(/AzureWebJobsStorage__credential: 'managedidentity'/);
    expect(app).toMatch(/AzureWebJobsStorage__clientId: identity\.outputs\.clientId/);
    // Never the connection-string form.
    expect(app).not.toMatch(/^\s*AzureWebJobsStorage\s*:/m);
    // Flex Consumption pulls the package with the identity, not a key or SAS.
    expect(app).toMatch(
      /type: 'UserAssignedIdentity'\s*userAssignedIdentityResourceId: identity\.outputs\.resourceId/,
    );
  });

  it("Application Insights accepts Entra-authenticated telemetry only", () => {
    const app = bicepCode("infra/modules/app.bicep");
    expect(app).toMatch(/disableLocalAuth: true/);
    expect(app).toMatch(
      /APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=\$\{identity\.outputs\.clientId\};Authorization=AAD'/,
    );
    expect(app).toMatch(/workspaceResourceId: logAnalytics\.outputs\.resourceId/);
  });

  it("the local sample holds only placeholders and local-only endpoints", () => {
    const sample = JSON.parse(read("local.settings.sample.json")) as { Values: Record<string, string> };
    expect(sample.Values.AzureWebJobsStorage).toBe("UseDevelopmentStorage=true");
    // The emulator prints its own local secret at start; the sample holds only a placeholder.
    expect(sample.Values.STEWARD_LOCAL_CLIENT_SECRET).toMatch(/^[a-z-]+$/);
    for (const key of ["STEWARD_ARM_ENDPOINT", "STEWARD_GRAPH_ENDPOINT", "STEWARD_AUTHORITY_HOST"]) {
      expect(new URL(sample.Values[key]!).hostname).toBe("127.0.0.1");
    }
  });

  it("the app's identity is user-assigned and the Function App has no publishing credentials", () => {
    const app = bicepCode("infra/modules/app.bicep");
    expect(app).toMatch(
      /managedIdentities: \{\s*userAssignedResourceIds: \[\s*identity\.outputs\.resourceId\s*\]/,
    );
    expect(app).toMatch(/name: 'ftp'\s*allow: false/);
    expect(app).toMatch(/name: 'scm'\s*allow: false/);
  });
});

describe("runtime", () => {
  it("is Node 22 on Flex Consumption", () => {
    const app = bicepCode("infra/modules/app.bicep");
    expect(app).toMatch(/runtime: \{\s*name: 'node'\s*version: '22'\s*\}/);
    expect(app).toMatch(/skuName: 'FC1'/);
    expect(app).toMatch(/kind: 'functionapp,linux'/);
    // Flex Consumption takes the runtime from functionAppConfig; these settings are not allowed there.
    expect(app).not.toMatch(
      /FUNCTIONS_WORKER_RUNTIME|WEBSITE_NODE_DEFAULT_VERSION|FUNCTIONS_EXTENSION_VERSION/,
    );
  });

  it("azd deploys this TypeScript package to the function host", () => {
    const yaml = read("azure.yaml");
    expect(yaml).toMatch(/language: ts/);
    expect(yaml).toMatch(/host: function/);
    expect(yaml).toMatch(/module: main/);
  });
});
