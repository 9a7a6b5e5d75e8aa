/**
 * The ARM calls of tagging, behind one small interface so the event path can make them through
 * the lean client (shared/azure/leanArm.ts: CPU per new resource is the point there) while the
 * nightly reconciliation keeps the SDK's ResourceManagementClient. Both answer with ARM's JSON
 * bodies and throw RestError-shaped errors (statusCode, code), a 404 included.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { RESOURCES_API_VERSION, type LeanArmClient } from "../azure/leanArm.js";

/** What the readers use of ARM's answers. */
export interface ArmResourceBody {
  tags?: Record<string, string>;
  location?: string;
  /** Left out by the SDK's models, so read off the raw body. */
  systemData?: unknown;
}

export interface TagsResourceBody {
  properties?: { tags?: Record<string, string> };
}

export interface TagArm {
  getResourceGroup(subscriptionId: string, name: string): Promise<ArmResourceBody>;
  getById(resourceId: string, apiVersion: string): Promise<ArmResourceBody>;
  getTags(scope: string): Promise<TagsResourceBody>;
  /** The Tags API's PATCH with `Merge`; the resulting tags when ARM returns them. */
  mergeTags(scope: string, tags: Record<string, string>): Promise<Record<string, string> | undefined>;
  /** The Tags API's PATCH with `Delete` (a name goes only while it has the value given). */
  deleteTags(scope: string, tags: Record<string, string>): Promise<Record<string, string> | undefined>;
}

export type TagsOperation = "Merge" | "Delete";

const tagsPath = (scope: string) => `${scope}/providers/Microsoft.Resources/tags/default`;

export function leanTagArm(arm: LeanArmClient): TagArm {
  return {
    getResourceGroup: async (sub, name) =>
      (await arm.get(
        `/subscriptions/${encodeURIComponent(sub)}/resourcegroups/${encodeURIComponent(name)}`,
        RESOURCES_API_VERSION,
      )) as ArmResourceBody,
    getById: async (id, apiVersion) => (await arm.get(id, apiVersion)) as ArmResourceBody,
    getTags: async (scope) => (await arm.get(tagsPath(scope), RESOURCES_API_VERSION)) as TagsResourceBody,
    mergeTags: (scope, tags) => patchTags(scope, "Merge", tags),
    deleteTags: (scope, tags) => patchTags(scope, "Delete", tags),
  };

  async function patchTags(scope: string, operation: TagsOperation, tags: Record<string, string>) {
    const body = (await arm.patch(tagsPath(scope), RESOURCES_API_VERSION, {
      operation,
      properties: { tags },
    })) as TagsResourceBody | undefined;
    return body?.properties?.tags;
  }
}

/** The same calls through the SDK (reconciliation, promotion's callers of the tag writer). */
export function sdkTagArm(resources: (subscriptionId: string) => ResourceManagementClient): TagArm {
  const sub = (id: string) => id.split("/")[2]!;
  /** The raw body, since the SDK's models drop systemData. */
  const raw = async (call: (onResponse: (r: { parsedBody?: unknown }) => void) => Promise<unknown>) => {
    let body: unknown;
    const model = await call((r) => (body = r.parsedBody));
    return (body ?? model) as ArmResourceBody;
  };
  return {
    getResourceGroup: (s, name) => raw((onResponse) => resources(s).resourceGroups.get(name, { onResponse })),
    getById: (id, apiVersion) =>
      raw((onResponse) => resources(sub(id)).resources.getById(id, apiVersion, { onResponse })),
    getTags: (scope) => resources(sub(scope)).tagsOperations.getAtScope(scope),
    mergeTags: (scope, tags) => patchTags(scope, "Merge", tags),
    deleteTags: (scope, tags) => patchTags(scope, "Delete", tags),
  };

  async function patchTags(scope: string, operation: TagsOperation, tags: Record<string, string>) {
    const res = await resources(sub(scope)).tagsOperations.beginUpdateAtScopeAndWait(scope, {
      operation,
      properties: { tags },
    });
    return res.properties?.tags;
  }
}
