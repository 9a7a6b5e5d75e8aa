/**
 * Production storage: which storage account a name is, and whether it holds production data.
 *
 * A storage account name is globally unique in its cloud, so a name found in a governed
 * subscription is that account, wherever a datastore's or id's other words claim it is. It is
 * production storage when its resource group is one aml-steward created for an environment with
 * `productionData` (known from the promotion records, never from names or tags), or when it
 * carries the policy's classification tag with a production value. Tags only add protection:
 * removing one from an account in a prod group changes nothing.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { idKey, parseResourceId, resourceGroupId } from "../azure/resourceId.js";
import { odataString } from "../odata.js";
import type { ManagedEstate, ManagedScope } from "../access/estate.js";
import type { EstatePolicy } from "../policy/schema.js";
import { tagValue } from "../tagging/decideTags.js";

export const STORAGE_ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts";

export interface StorageAccountFacts {
  id: string;
  name: string;
  location?: string;
  tags?: Record<string, string>;
}

/**
 * The account of that name in a governed subscription: one generic list call per governed
 * subscription (`resourceType eq ... and name eq ...`), the project subscription first,
 * stopping at the first that holds it.
 * Needs only `Microsoft.Resources/subscriptions/resources/read` (Reader).
 */
export async function findStorageAccount(
  policy: EstatePolicy,
  resources: (subscriptionId: string) => ResourceManagementClient,
  accountName: string,
): Promise<StorageAccountFacts | undefined> {
  const filter = `resourceType eq ${odataString(STORAGE_ACCOUNT_TYPE)} and name eq ${odataString(accountName)}`;
  // The project subscription first: it holds the environments' storage, so a datastore on
  // any of it costs one list.
  const project = policy.projectSubscriptionId.toLowerCase();
  const subs = [...policy.governedSubscriptions].sort(
    (a, b) => Number(b.id.toLowerCase() === project) - Number(a.id.toLowerCase() === project),
  );
  for (const sub of subs) {
    for await (const r of resources(sub.id).resources.list({ filter })) {
      // The filter is the server's; the name is compared again here rather than trusted.
      if (!r.id || r.name?.toLowerCase() !== accountName) continue;
      if (r.type?.toLowerCase() !== STORAGE_ACCOUNT_TYPE.toLowerCase()) continue;
      return { id: r.id, name: r.name, location: r.location, tags: r.tags };
    }
  }
  return undefined;
}

/** The managed scope (project environment resource group) a resource id lies in, if any. */
export function scopeOf(estate: ManagedEstate, resourceId: string): ManagedScope | undefined {
  const parts = parseResourceId(resourceId);
  if (!parts?.resourceGroup) return undefined;
  return estate.scopes.get(idKey(resourceGroupId(parts.subscriptionId, parts.resourceGroup)));
}

/** Whether an environment of the policy may hold production data (unknown names may not). */
export function holdsProductionData(policy: EstatePolicy, env: string): boolean {
  return policy.environments.some((e) => e.name === env && e.productionData);
}

/** Why the account is production storage, or undefined when it is not. */
export function productionReason(
  policy: EstatePolicy,
  estate: ManagedEstate,
  account: StorageAccountFacts,
): string | undefined {
  const scope = scopeOf(estate, account.id);
  if (scope && holdsProductionData(policy, scope.env))
    return `in ${scope.project}'s ${scope.env} resource group`;
  const { classificationTag, productionValues } = policy.dataSegregation;
  const value = tagValue(account.tags, classificationTag);
  if (value && productionValues.some((v) => v.toLowerCase() === value.trim().toLowerCase()))
    return `tagged ${classificationTag}=${value}`;
  return undefined;
}
