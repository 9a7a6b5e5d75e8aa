/**
 * Is this caller in these groups? One Graph `checkMemberGroups` call per 20 groups, transitive
 * (nested groups count, as they do for Azure RBAC), asking only about the groups a decision
 * names, so the cost does not grow with how many groups the caller is in.
 */
import type { AzureClients } from "../azure/clients.js";
import { isGuid } from "../promotion/request.js";

const GRAPH_MAX_GROUP_IDS = 20;

export async function memberGroups(
  clients: AzureClients,
  objectId: string,
  groupIds: readonly string[],
): Promise<Set<string>> {
  const ids = [...new Set(groupIds.map((g) => g.toLowerCase()))];
  const out = new Set<string>();
  if (ids.length === 0) return out;
  if (!isGuid(objectId)) throw new Error(`not an object id: ${objectId}`);
  for (let i = 0; i < ids.length; i += GRAPH_MAX_GROUP_IDS) {
    const res = (await clients
      .graph()
      .api(`/directoryObjects/${objectId}/checkMemberGroups`)
      .post({ groupIds: ids.slice(i, i + GRAPH_MAX_GROUP_IDS) })) as { value?: unknown[] };
    for (const g of res.value ?? []) if (typeof g === "string") out.add(g.toLowerCase());
  }
  return out;
}
