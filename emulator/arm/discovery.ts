/**
 * The discovery APIs outside clients call before anything else: resource providers (the Azure
 * CLI resolves a resource type's api-version there for `az resource show/tag --ids`), the
 * subscription's locations, and its tag names with counts. Shapes follow the specs in
 * ../shared/specs (Microsoft.Resources resources.json: Providers_List, Providers_Get,
 * Tags_List; subscriptions.json: Subscriptions_ListLocations).
 */
import type { EmuResponse } from "../types.js";
import type { ArmContext, ArmRequest } from "./context.js";
import { fail } from "./errors.js";
import { lower } from "./ids.js";
import { TYPED_RESOURCES } from "./resourceTypes.js";
import { requireSubscription } from "./subscriptions.js";

/** Regions offered to clients: Azure's common public regions (the estate's among them). */
const REGIONS: Array<[name: string, display: string, geography: string]> = [
  ["eastus", "East US", "United States"],
  ["eastus2", "East US 2", "United States"],
  ["westus2", "West US 2", "United States"],
  ["centralus", "Central US", "United States"],
  ["northeurope", "North Europe", "Europe"],
  ["westeurope", "West Europe", "Europe"],
  ["uksouth", "UK South", "United Kingdom"],
  ["francecentral", "France Central", "France"],
  ["germanywestcentral", "Germany West Central", "Germany"],
  ["swedencentral", "Sweden Central", "Sweden"],
  ["switzerlandnorth", "Switzerland North", "Switzerland"],
  ["southeastasia", "Southeast Asia", "Asia Pacific"],
  ["australiaeast", "Australia East", "Australia"],
  ["japaneast", "Japan East", "Japan"],
];

/**
 * api-versions per resource type, newest first: those the SDKs of this project use, those the
 * emulator was built against, and for any other type the versions clients tend to pin. The
 * emulator serves any version, so the list only has to contain something a client will pick.
 */
const API_VERSIONS: Record<string, string[]> = {
  "Microsoft.Resources/resourceGroups": ["2025-04-01", "2022-09-01", "2021-04-01"],
  "Microsoft.Resources/tags": ["2025-04-01", "2022-09-01", "2021-04-01"],
  "Microsoft.Resources/deployments": ["2025-04-01", "2022-09-01"],
  "Microsoft.Storage/storageAccounts": ["2023-05-01", "2023-01-01", "2022-09-01"],
  "Microsoft.KeyVault/vaults": ["2023-07-01", "2022-07-01"],
  "Microsoft.Insights/components": ["2020-02-02", "2015-05-01"],
  "Microsoft.Insights/eventtypes": ["2015-04-01"],
  "Microsoft.OperationalInsights/workspaces": ["2022-10-01", "2020-08-01"],
  "Microsoft.ContainerRegistry/registries": ["2023-07-01", "2023-01-01-preview"],
  "Microsoft.MachineLearningServices/workspaces": ["2022-10-01", "2024-04-01"],
  "Microsoft.Authorization/roleAssignments": ["2022-04-01", "2020-04-01-preview"],
  "Microsoft.Authorization/roleDefinitions": ["2022-04-01", "2018-01-01-preview"],
};
/**
 * Common types of providers the emulator has no model for: clients resolve their api-version
 * before the first resource of the type exists (`az resource create`), and in Azure every
 * provider lists its types whether or not the subscription holds any.
 */
const COMMON_TYPES = [
  "Microsoft.Compute/virtualMachines",
  "Microsoft.Compute/disks",
  "Microsoft.Compute/snapshots",
  "Microsoft.Compute/images",
  "Microsoft.Compute/availabilitySets",
  "Microsoft.Network/virtualNetworks",
  "Microsoft.Network/networkInterfaces",
  "Microsoft.Network/publicIPAddresses",
  "Microsoft.Network/networkSecurityGroups",
  "Microsoft.Network/privateEndpoints",
  "Microsoft.Network/loadBalancers",
  "Microsoft.Web/sites",
  "Microsoft.Web/serverFarms",
  "Microsoft.Sql/servers",
  "Microsoft.DocumentDB/databaseAccounts",
  "Microsoft.ManagedIdentity/userAssignedIdentities",
  "Microsoft.EventGrid/systemTopics",
  "Microsoft.Insights/actionGroups",
  "Microsoft.Consumption/budgets",
];

const DEFAULT_API_VERSIONS = ["2023-04-02", "2023-01-01", "2022-09-01", "2021-04-01"];
const API_VERSIONS_BY_LOWER = new Map(Object.entries(API_VERSIONS).map(([t, v]) => [lower(t), v]));

interface ProviderType {
  resourceType: string;
  locations: string[];
  apiVersions: string[];
}

/** Namespace -> resource types: the built-in ones plus every type the subscription holds. */
function providersOf(
  ctx: ArmContext,
  sub: string,
): Map<string, { namespace: string; types: Map<string, ProviderType> }> {
  const types = new Set<string>([...Object.keys(API_VERSIONS), ...TYPED_RESOURCES, ...COMMON_TYPES]);
  for (const r of ctx.state.topLevelInSubscription(sub).scan(0, Infinity, () => true).items)
    types.add(r.type);
  const out = new Map<string, { namespace: string; types: Map<string, ProviderType> }>();
  const locations = REGIONS.map(([, display]) => display);
  for (const type of types) {
    const slash = type.indexOf("/");
    if (slash < 0) continue;
    const ns = type.slice(0, slash);
    const key = lower(ns);
    if (!out.has(key)) out.set(key, { namespace: ns, types: new Map() });
    const provider = out.get(key)!;
    if (provider.types.has(lower(type))) continue;
    provider.types.set(lower(type), {
      resourceType: type.slice(slash + 1),
      locations,
      apiVersions: API_VERSIONS_BY_LOWER.get(lower(type)) ?? DEFAULT_API_VERSIONS,
    });
  }
  return out;
}

function providerBody(
  sub: string,
  p: { namespace: string; types: Map<string, ProviderType> },
): Record<string, unknown> {
  return {
    id: `/subscriptions/${sub}/providers/${p.namespace}`,
    namespace: p.namespace,
    registrationState: "Registered",
    registrationPolicy: "RegistrationRequired",
    resourceTypes: [...p.types.values()],
  };
}

export function discoveryRouter(ctx: ArmContext, req: ArmRequest, seg: string[]): EmuResponse | undefined {
  if (req.method !== "GET" || seg.length < 3) return undefined;
  const sub = seg[1]!;
  const s2 = lower(seg[2]!);
  if (seg.length === 3 && s2 === "providers") {
    requireSubscription(ctx, sub);
    const all = providersOf(ctx, sub);
    return { status: 200, body: { value: [...all.values()].map((p) => providerBody(sub, p)) } };
  }
  if (seg.length === 4 && s2 === "providers") {
    requireSubscription(ctx, sub);
    const provider = providersOf(ctx, sub).get(lower(seg[3]!));
    if (!provider)
      return fail(404, "InvalidResourceNamespace", `The resource namespace '${seg[3]}' is invalid.`);
    return { status: 200, body: providerBody(sub, provider) };
  }
  if (seg.length === 3 && s2 === "locations") {
    requireSubscription(ctx, sub);
    return {
      status: 200,
      body: {
        value: REGIONS.map(([name, display, geography]) => ({
          id: `/subscriptions/${sub}/locations/${name}`,
          type: "Region",
          name,
          displayName: display,
          regionalDisplayName: `(${geography}) ${display}`,
          metadata: { regionType: "Physical", regionCategory: "Recommended", geography },
        })),
      },
    };
  }
  if (seg.length === 3 && s2 === "tagnames") {
    requireSubscription(ctx, sub);
    return { status: 200, body: { value: tagNames(ctx, sub) } };
  }
  return undefined;
}

/** Every tag name used in the subscription (groups and resources), with its values and counts. */
function tagNames(ctx: ArmContext, sub: string): unknown[] {
  const names = new Map<string, { name: string; values: Map<string, number>; count: number }>();
  const add = (tags: Record<string, string> | undefined) => {
    for (const [k, v] of Object.entries(tags ?? {})) {
      const key = lower(k);
      const entry = names.get(key) ?? { name: k, values: new Map<string, number>(), count: 0 };
      entry.count++;
      entry.values.set(v, (entry.values.get(v) ?? 0) + 1);
      names.set(key, entry);
    }
  };
  for (const g of ctx.state.groupsIn(sub).scan(0, Infinity, () => true).items) add(g.tags);
  for (const r of ctx.state.topLevelInSubscription(sub).scan(0, Infinity, () => true).items) add(r.tags);
  return [...names.values()].map((e) => ({
    id: `/subscriptions/${sub}/tagNames/${e.name}`,
    tagName: e.name,
    count: { type: "Total", value: e.count },
    values: [...e.values.entries()].map(([value, count]) => ({
      id: `/subscriptions/${sub}/tagNames/${e.name}/tagValues/${value}`,
      tagValue: value,
      count: { type: "Total", value: count },
    })),
  }));
}
