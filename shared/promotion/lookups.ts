/**
 * The read-only Azure lookups a promotion needs before it may write anything: who the request's
 * principals are (Graph) and whether the project's resource groups already exist (ARM). UPNs
 * are path segments, never filter text; the request schema has already narrowed their alphabet.
 */
import type { AzureClients } from "../azure/clients.js";
import { isNotFound } from "../azure/errors.js";
import { parseResourceId } from "../azure/resourceId.js";
import type { AdmissionLookups, ResolvedPrincipal } from "./admission.js";
import { mapLimit } from "./retry.js";
import { isGuid } from "./request.js";
import { groupPath } from "./steps/groups.js";

interface DirectoryObjectJson {
  "@odata.type"?: string;
  id: string;
  displayName?: string;
  userPrincipalName?: string;
}

function kindOf(odataType: string | undefined): ResolvedPrincipal["kind"] {
  switch ((odataType ?? "").toLowerCase()) {
    case "#microsoft.graph.user":
      return "user";
    case "#microsoft.graph.serviceprincipal":
      return "servicePrincipal";
    case "#microsoft.graph.group":
      return "group";
    default:
      return "other";
  }
}

export function azureLookups(clients: AzureClients): AdmissionLookups {
  return {
    async resolvePrincipals(refs) {
      const graph = clients.graph();
      const out = new Map<string, ResolvedPrincipal | undefined>();
      await mapLimit(refs, 8, async (ref) => {
        try {
          const path = isGuid(ref) ? `/directoryObjects/${ref}` : `/users/${encodeURIComponent(ref)}`;
          const o = (await graph.api(path).get()) as DirectoryObjectJson;
          out.set(ref, {
            objectId: o.id.toLowerCase(),
            kind: isGuid(ref) ? kindOf(o["@odata.type"]) : "user",
            displayName: o.displayName,
            userPrincipalName: o.userPrincipalName ?? undefined,
          });
        } catch (e) {
          if (!isNotFound(e)) throw e;
          out.set(ref, undefined);
        }
      });
      return out;
    },
    async resourceGroupTags(ids) {
      const out = new Map<string, Record<string, string> | undefined>();
      await mapLimit(ids, 8, async (id) => {
        const p = parseResourceId(id)!;
        try {
          const rg = await clients.resources(p.subscriptionId).resourceGroups.get(p.resourceGroup!);
          out.set(id, rg.tags ?? {});
        } catch (e) {
          if (!isNotFound(e)) throw e;
          out.set(id, undefined);
        }
      });
      return out;
    },
  };
}

/** uniqueName -> object id of the groups that exist already (dry runs name role assignments with them). */
export async function existingGroupIds(
  clients: AzureClients,
  uniqueNames: readonly string[],
): Promise<Map<string, string>> {
  const graph = clients.graph();
  const out = new Map<string, string>();
  await mapLimit(uniqueNames, 8, async (name) => {
    try {
      const g = (await graph.api(groupPath(name)).select(["id"]).get()) as { id: string };
      out.set(name, g.id);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  });
  return out;
}
