/**
 * Reads what the tag decision needs about one resource, in exactly one ARM call:
 *
 * - a resource group: `GET resourceGroups/{name}` (tags and location);
 * - a resource of a type whose stable api-version we pin below (the estate's usual types):
 *   `GET {id}?api-version=...` (tags and location, so region violations are seen at once);
 * - any other resource: `GET {id}/providers/Microsoft.Resources/tags/default` (tags only;
 *   its region is checked by the nightly reconciliation, which lists resources with location).
 *
 * A generic GET needs an api-version the resource provider accepts; looking it up through
 * the providers API would cost a call per namespace, so the versions the estate meets daily
 * are pinned (each a GA version that Azure keeps serving).
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { isNotFound } from "../azure/errors.js";
import { parseResourceId } from "../azure/resourceId.js";
import { sdkTagArm, type ArmResourceBody, type TagArm } from "./tagArm.js";

/** Lower-cased type -> a GA api-version of its resource provider. */
export const PINNED_API_VERSIONS: Record<string, string> = {
  "microsoft.storage/storageaccounts": "2023-05-01",
  "microsoft.keyvault/vaults": "2023-07-01",
  "microsoft.insights/components": "2020-02-02",
  "microsoft.operationalinsights/workspaces": "2022-10-01",
  "microsoft.containerregistry/registries": "2023-07-01",
  "microsoft.machinelearningservices/workspaces": "2022-10-01",
};

export interface TagTarget {
  tags: Record<string, string>;
  /** Undefined when only the Tags API was read. */
  location?: string;
  /**
   * ARM's own record of the creator (`systemData`), when the resource's provider keeps one.
   * Unlike an event's claims, which whoever holds the webhook key could write, ARM sets it.
   */
  creator?: ArmCreator;
}

export interface ArmCreator {
  /** A UPN (or object id) for users; an application (client) id for apps and managed identities. */
  createdBy: string;
  /** User, Application, ManagedIdentity or Key. */
  createdByType: string;
}

/**
 * The SDKs' models leave `systemData` out of generic resources and resource groups, so it is
 * read from the response body the same call already returned.
 */
function creatorOf(body: unknown): ArmCreator | undefined {
  const sd = (body as { systemData?: { createdBy?: unknown; createdByType?: unknown } } | undefined)
    ?.systemData;
  if (typeof sd?.createdBy !== "string" || !sd.createdBy.trim()) return undefined;
  if (typeof sd.createdByType !== "string" || !sd.createdByType.trim()) return undefined;
  return { createdBy: sd.createdBy.trim(), createdByType: sd.createdByType.trim() };
}

/**
 * The resource's tags (and location when cheap), or undefined when it does not exist (404).
 * `arm` is the event path's lean client, or (reconciliation) the SDK clients by subscription.
 */
export async function readTagTarget(
  arm: TagArm | ((subscriptionId: string) => ResourceManagementClient),
  resourceId: string,
): Promise<TagTarget | undefined> {
  const parts = parseResourceId(resourceId);
  if (!parts) throw new Error(`not a resource id: ${resourceId}`);
  const calls = typeof arm === "function" ? sdkTagArm(arm) : arm;
  const withCreator = (body: ArmResourceBody): TagTarget => {
    const target: TagTarget = { tags: body.tags ?? {}, location: body.location };
    const creator = creatorOf(body);
    return creator ? { ...target, creator } : target;
  };
  try {
    if (parts.type === "Microsoft.Resources/resourceGroups")
      return withCreator(await calls.getResourceGroup(parts.subscriptionId, parts.name));
    const apiVersion = PINNED_API_VERSIONS[parts.type.toLowerCase()];
    if (apiVersion) return withCreator(await calls.getById(resourceId, apiVersion));
    const t = await calls.getTags(resourceId);
    return { tags: t.properties?.tags ?? {} };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
