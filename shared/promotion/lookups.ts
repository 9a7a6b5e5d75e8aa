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
import { groupPath, readGroupOwners } from "./steps/groups.js";
import type { Logger } from "../log.js";
import { assetKey, type OwnershipLookups, type QuotaLookups } from "./admission.js";
import { ProjectOwnership, recordSecurityFindings, type ExistingGroup } from "./ownership.js";
import type { PromotionRecords } from "./record.js";
import { versionTags } from "./steps/assets.js";
import { ML_REGISTRY_API_VERSION } from "./registryPlan.js";

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

/**
 * The production lookups. With `records` (and aml-steward's object id), the ownership checks
 * too: what this project's promotions created, the groups under its names with their owners,
 * the tags of explicitly named exploration versions, and a way to report a refusal.
 */
export function azureLookups(
  clients: AzureClients,
  ownership?: { records: PromotionRecords; stewardObjectId: string; log?: Logger },
): AdmissionLookups {
  return {
    ...(ownership
      ? { ownership: ownershipLookups(clients, ownership), quotas: quotaLookups(clients, ownership.records) }
      : {}),
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
    async registryExists(id) {
      try {
        await clients
          .resources(parseResourceId(id)!.subscriptionId)
          .resources.getById(id, ML_REGISTRY_API_VERSION);
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
      }
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

function ownershipLookups(
  clients: AzureClients,
  o: { records: PromotionRecords; stewardObjectId: string; log?: Logger },
): OwnershipLookups {
  return {
    stewardObjectId: o.stewardObjectId,
    owned: (project) => ProjectOwnership.load(o.records, project),
    async groups(uniqueNames) {
      const graph = clients.graph();
      const out = new Map<string, ExistingGroup | undefined>();
      await mapLimit(uniqueNames, 8, async (name) => {
        try {
          const g = (await graph.api(groupPath(name)).select(["id"]).get()) as { id: string };
          out.set(name, { id: g.id, owners: await readGroupOwners(graph, g.id) });
        } catch (e) {
          if (!isNotFound(e)) throw e;
          out.set(name, undefined);
        }
      });
      return out;
    },
    assetTags: (exploration, refs) => versionTags(clients, exploration, refs, assetKey),
    report: (findings, ctx) => recordSecurityFindings(clients, findings, { ...ctx, log: o.log }),
  };
}

function quotaLookups(clients: AzureClients, records: PromotionRecords): QuotaLookups {
  return {
    async projectsByCostCenter() {
      const out = new Map<string, Set<string>>();
      for await (const r of records.listProjectResources({ includeFailed: true })) {
        if (!r.costCenter) continue;
        const set = out.get(r.costCenter) ?? new Set<string>();
        set.add(r.project);
        out.set(r.costCenter, set);
      }
      return out;
    },
    async roleAssignmentCount(subscriptionId) {
      let n = 0;
      for await (const page of clients
        .authorization(subscriptionId)
        .roleAssignments.listForSubscription()
        .byPage())
        n += page.length;
      return n;
    },
  };
}
