/**
 * ARM resource ids, parsed once. Events, lists and users spell ids in any casing
 * ("resourcegroups", "resourceGroups"), so comparisons go through `sameId`/`idKey`.
 */
export interface ResourceIdParts {
  subscriptionId: string;
  resourceGroup?: string;
  /** e.g. Microsoft.Storage/storageAccounts, Microsoft.Resources/resourceGroups, Microsoft.Resources/subscriptions */
  type: string;
  name: string;
  /** Provider namespace of the type. */
  provider: string;
  /** True for nested types such as Microsoft.Storage/storageAccounts/blobServices. */
  isChild: boolean;
  /** The id of the parent resource for child types. */
  parentId?: string;
}

export function idKey(id: string): string {
  return id.trim().replace(/\/+$/, "").toLowerCase();
}

export function sameId(a: string, b: string): boolean {
  return idKey(a) === idKey(b);
}

/** Parses subscription, resource group and resource ids; returns undefined for anything else. */
export function parseResourceId(id: string): ResourceIdParts | undefined {
  const segs = id.replace(/^\/+|\/+$/g, "").split("/");
  if (segs.length < 2 || segs[0]!.toLowerCase() !== "subscriptions" || !segs[1]) return undefined;
  const subscriptionId = segs[1];
  if (segs.length === 2) {
    return {
      subscriptionId,
      type: "Microsoft.Resources/subscriptions",
      name: subscriptionId,
      provider: "Microsoft.Resources",
      isChild: false,
    };
  }
  if (segs[2]!.toLowerCase() !== "resourcegroups" || !segs[3]) return undefined;
  const resourceGroup = segs[3];
  if (segs.length === 4) {
    return {
      subscriptionId,
      resourceGroup,
      type: "Microsoft.Resources/resourceGroups",
      name: resourceGroup,
      provider: "Microsoft.Resources",
      isChild: false,
    };
  }
  if (segs[4]!.toLowerCase() !== "providers" || segs.length < 8 || segs.length % 2 !== 0) return undefined;
  const provider = segs[5]!;
  const rest = segs.slice(6);
  const types: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    types.push(rest[i]!);
    names.push(rest[i + 1]!);
  }
  const isChild = types.length > 1;
  return {
    subscriptionId,
    resourceGroup,
    provider,
    type: `${provider}/${types.join("/")}`,
    name: names[names.length - 1]!,
    isChild,
    parentId: isChild ? "/" + segs.slice(0, segs.length - 2).join("/") : undefined,
  };
}

export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}
