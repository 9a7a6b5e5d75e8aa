/**
 * What a Bicep compiler would catch first, checked on the text (no compiler can be installed
 * here): every parameter a module is given is one it declares, and every required one is given;
 * every `<module>.outputs.<name>` exists; every resource type and API version is on a short list
 * that was checked against the published types; and the AVM modules are used only through
 * parameters and outputs on a list checked against their sources.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  bicepCode,
  bicepModules,
  bicepOutputs,
  bicepParams,
  bicepResourceTypes,
  infraFiles,
  read,
} from "./infra-helpers.js";

const templates = infraFiles().filter((f) => f.endsWith(".bicep"));

/**
 * Resource types and API versions the templates may use. Each provider/version pair has a folder in
 * the Bicep type index (Azure/bicep-types-az, generated/<provider>/<version>) and a stable spec in
 * Azure/azure-rest-api-specs; adding one here means looking it up there first.
 */
const KNOWN_RESOURCE_TYPES = new Set([
  "Microsoft.Resources/resourceGroups@2024-03-01",
  "Microsoft.Authorization/roleAssignments@2022-04-01",
  "Microsoft.Authorization/roleDefinitions@2022-04-01",
  "Microsoft.Storage/storageAccounts@2023-05-01",
  "Microsoft.Storage/storageAccounts/blobServices@2023-05-01",
  "Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01",
  "Microsoft.EventGrid/systemTopics@2025-02-15",
  "Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15",
]);

/**
 * The Azure Verified Modules at their pinned versions: the parameters we pass and the outputs we
 * read. The templates were reviewed against each module's main.bicep at its release tag
 * (docs/deploy.md, "What was verified"); a parameter or output added to a template must be looked
 * up there, and added here, or this test fails.
 */
const AVM: Record<string, { params: string[]; outputs: string[] }> = {
  "br/public:avm/res/managed-identity/user-assigned-identity:0.4.1": {
    params: ["name", "location", "tags"],
    outputs: ["principalId", "clientId", "resourceId"],
  },
  "br/public:avm/res/operational-insights/workspace:0.11.1": {
    params: ["name", "location", "tags", "dataRetention"],
    outputs: ["resourceId"],
  },
  "br/public:avm/res/insights/component:0.6.0": {
    params: ["name", "location", "tags", "workspaceResourceId", "disableLocalAuth", "roleAssignments"],
    outputs: ["resourceId"],
  },
  "br/public:avm/res/storage/storage-account:0.32.1": {
    params: [
      "name",
      "location",
      "tags",
      "skuName",
      "allowSharedKeyAccess",
      "defaultToOAuthAuthentication",
      "allowBlobPublicAccess",
      "minimumTlsVersion",
      "publicNetworkAccess",
      "networkAcls",
      "blobServices",
      "queueServices",
      "tableServices",
      "roleAssignments",
    ],
    outputs: ["resourceId", "name", "primaryBlobEndpoint"],
  },
  "br/public:avm/res/web/serverfarm:0.5.0": {
    params: ["name", "location", "tags", "skuName", "reserved"],
    outputs: ["resourceId"],
  },
  "br/public:avm/res/web/site:0.19.4": {
    params: [
      "name",
      "location",
      "tags",
      "kind",
      "serverFarmResourceId",
      "httpsOnly",
      "managedIdentities",
      "siteConfig",
      "basicPublishingCredentialsPolicies",
      "functionAppConfig",
      "configs",
    ],
    outputs: ["name", "resourceId"],
  },
};

function modulesOf(file: string) {
  const code = bicepCode(file);
  return bicepModules(code).map((m) => ({
    ...m,
    local: m.ref.startsWith("br/") ? undefined : path.posix.join(path.posix.dirname(file), m.ref),
  }));
}

describe("templates, as a compiler would read them", () => {
  it("finds the templates and their modules", () => {
    expect(templates).toEqual([
      "infra/main.bicep",
      "infra/modules/app.bicep",
      "infra/modules/dead-letter-access.bicep",
      "infra/modules/event-wiring.bicep",
      "infra/modules/governed-subscription.bicep",
      "infra/modules/project-subscription.bicep",
    ]);
    const all = templates.flatMap(modulesOf);
    expect(all.map((m) => m.symbol).sort()).toEqual(
      [
        "app",
        "appInsights",
        "deadLetterAccess",
        "governed",
        "identity",
        "logAnalytics",
        "plan",
        "project",
        "site",
        "storage",
        "wiring",
      ].sort(),
    );
    for (const m of all) expect(m.params.length, `${m.symbol} params`).toBeGreaterThan(0);
  });

  it.each(templates)(
    "%s: every parameter passed to a local module is declared there, and every required one is passed",
    (file) => {
      for (const m of modulesOf(file).filter((x) => x.local)) {
        expect(templates, `${file}: module ${m.symbol} -> ${m.local}`).toContain(m.local);
        const declared = bicepParams(bicepCode(m.local!));
        const names = declared.map((p) => p.name);
        for (const p of m.params)
          expect(names, `${file}: ${m.symbol} passes ${p}, not declared in ${m.local}`).toContain(p);
        for (const p of declared.filter((d) => d.required))
          expect(m.params, `${file}: ${m.symbol} does not pass required ${p.name} of ${m.local}`).toContain(
            p.name,
          );
      }
    },
  );

  it.each(templates)("%s: every output read from a module exists", (file) => {
    const code = bicepCode(file);
    const modules = new Map(modulesOf(file).map((m) => [m.symbol, m]));
    const used = [...code.matchAll(/\b(\w+)(?:\[[^\]]*\])?\.outputs\.(\w+)/g)];
    for (const [, symbol, output] of used) {
      const m = modules.get(symbol!);
      expect(m, `${file}: ${symbol}.outputs.${output}: no module ${symbol}`).toBeDefined();
      const outputs = m!.local ? bicepOutputs(bicepCode(m!.local)) : (AVM[m!.ref]?.outputs ?? []);
      expect(outputs, `${file}: ${symbol}.outputs.${output}`).toContain(output);
    }
  });

  it("passes the AVM modules only parameters on the checked list", () => {
    const avm = templates.flatMap(modulesOf).filter((m) => !m.local);
    expect(avm.map((m) => m.ref).sort()).toEqual(Object.keys(AVM).sort());
    for (const m of avm)
      for (const p of m.params) expect(AVM[m.ref]!.params, `${m.symbol}: ${p}`).toContain(p);
  });

  it("uses only resource types and API versions on the checked list", () => {
    const used = templates.flatMap((f) => bicepResourceTypes(bicepCode(f)).map((t) => `${f}: ${t}`));
    expect(used.length).toBeGreaterThanOrEqual(10);
    for (const u of used) expect(KNOWN_RESOURCE_TYPES, u).toContain(u.split(": ")[1]);
  });

  it("main.parameters.json maps only parameters main.bicep declares, and every required one", () => {
    const declared = bicepParams(bicepCode("infra/main.bicep"));
    const mapped = Object.keys(
      (JSON.parse(read("infra/main.parameters.json")) as { parameters: Record<string, unknown> }).parameters,
    );
    for (const p of mapped)
      expect(
        declared.map((d) => d.name),
        p,
      ).toContain(p);
    for (const p of declared.filter((d) => d.required)) expect(mapped, p.name).toContain(p.name);
  });

  it("reads the Bicep structure the way these checks assume", () => {
    // Guards the text reader itself: a template that defeats it must fail here, not pass silently.
    const [app] = modulesOf("infra/main.bicep").filter((m) => m.symbol === "app");
    expect(app!.params).toEqual(expect.arrayContaining(["storageNames", "promotionSenders", "apiClientId"]));
    expect(app!.params).not.toContain("roleDefinitionIdOrName");
    const [storage] = modulesOf("infra/modules/app.bicep").filter((m) => m.symbol === "storage");
    expect(storage!.params).not.toContain("containers");
    expect(bicepParams("param a string\nparam b string = ''\nparam c string?\n")).toEqual([
      { name: "a", required: true },
      { name: "b", required: false },
      { name: "c", required: false },
    ]);
  });
});
