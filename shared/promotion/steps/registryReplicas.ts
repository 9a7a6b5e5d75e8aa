/**
 * A registry reaches every region fine-tuning needs it in. Two registries get here: the
 * project's (its region plan's base and fine-tuning regions, for a registry created before the
 * plan named them) and a registry the policy names for fine-tuning
 * (`regionPlans.plans.*.fineTuningRegistry`, which aml-steward did not create). Either gets the
 * missing `regionDetails` entries added by a PUT of what it already holds plus them; existing
 * replicas and every other property are kept as found. Nothing is ever removed: a region no
 * longer planned keeps its replica (dropping one deletes what it holds). What was added is
 * audited (`mlRegistry.replicate`, with the regions before).
 */
import type { GenericResource } from "@azure/arm-resources";
import { isNotFound } from "../../azure/errors.js";
import { parseResourceId } from "../../azure/resourceId.js";
import { normaliseRegion } from "../../tagging/regionRule.js";
import {
  missingRegistryReason,
  ML_REGISTRY_API_VERSION,
  replicaDetail,
  type PlannedRegistry,
} from "../registryPlan.js";
import { WriteTally, type StepContext, type StepResult } from "./context.js";

interface RegionDetail {
  location: string;
}

/** The project's registry: the replicas its plan lists. */
export function ensureRegistryReplicas(
  ctx: StepContext,
  registry: PlannedRegistry,
  subscriptionId: string,
): Promise<StepResult> {
  const { id, apiVersion, body } = registry.resource;
  const wanted = (body.properties as { regionDetails: RegionDetail[] }).regionDetails;
  return addReplicas(ctx, id, apiVersion, wanted, subscriptionId);
}

/**
 * The registry the policy names for fine-tuning. Admission refuses a promotion while it does
 * not exist; one deleted since fails this step with the same reason (aml-steward never creates
 * a registry the policy names: it is the platform team's).
 */
export async function ensureNamedRegistryReplicas(
  ctx: StepContext,
  named: { id: string; replicas: readonly string[] },
): Promise<StepResult> {
  const subscriptionId = parseResourceId(named.id)!.subscriptionId;
  try {
    const r = await addReplicas(
      ctx,
      named.id,
      ML_REGISTRY_API_VERSION,
      named.replicas.map(replicaDetail),
      subscriptionId,
    );
    // Not the project's: a record's resources are what the project owns (ownership.ts).
    return { ...r, resources: [] };
  } catch (e) {
    if (isNotFound(e)) throw new Error(missingRegistryReason(named.id), { cause: e });
    throw e;
  }
}

async function addReplicas(
  ctx: StepContext,
  id: string,
  apiVersion: string,
  wanted: readonly RegionDetail[],
  subscriptionId: string,
): Promise<StepResult> {
  const arm = ctx.clients.resources(subscriptionId);
  const existing = await arm.resources.getById(id, apiVersion);
  const props = (existing.properties ?? {}) as { regionDetails?: RegionDetail[] };
  const have = props.regionDetails ?? [];
  const held = new Set(have.map((r) => normaliseRegion(r.location)));
  const missing = wanted.filter((r) => !held.has(normaliseRegion(r.location)));
  const tally = new WriteTally(ctx);
  if (missing.length > 0) {
    const next: GenericResource = {
      location: existing.location,
      tags: existing.tags,
      identity: existing.identity,
      ...(existing.sku ? { sku: existing.sku } : {}),
      properties: { ...props, regionDetails: [...have, ...missing] },
    };
    await arm.resources.beginCreateOrUpdateByIdAndWait(id, apiVersion, next, {
      updateIntervalInMs: ctx.pollIntervalMs,
    });
    await tally.record(
      "mlRegistry.replicate",
      id,
      { added: missing.map((r) => r.location) },
      { subscriptionId, before: { regions: have.map((r) => r.location) } },
    );
  }
  return { outcome: tally.outcome(false), writes: tally.count, resources: [id] };
}
