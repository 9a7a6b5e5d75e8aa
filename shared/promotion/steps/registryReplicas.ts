/**
 * The project's registry reaches every region its region plan replicates it to (fine-tuning:
 * the base region and the fine-tuning region). A registry created before the plan named a
 * region gets the missing `regionDetails` entries added by a PUT of what it already holds plus
 * them; existing replicas and every other property are kept as found. Nothing is ever removed:
 * a region the plan no longer names keeps its replica (dropping one deletes what it holds).
 */
import type { GenericResource } from "@azure/arm-resources";
import type { PlannedRegistry } from "../registryPlan.js";
import { WriteTally, type StepContext, type StepResult } from "./context.js";

interface RegionDetail {
  location: string;
}

export async function ensureRegistryReplicas(
  ctx: StepContext,
  registry: PlannedRegistry,
  subscriptionId: string,
): Promise<StepResult> {
  const { id, apiVersion, body } = registry.resource;
  const wanted = (body.properties as { regionDetails: RegionDetail[] }).regionDetails;
  const arm = ctx.clients.resources(subscriptionId);
  const existing = await arm.resources.getById(id, apiVersion);
  const props = (existing.properties ?? {}) as { regionDetails?: RegionDetail[] };
  const have = props.regionDetails ?? [];
  const held = new Set(have.map((r) => r.location.replace(/\s+/g, "").toLowerCase()));
  const missing = wanted.filter((r) => !held.has(r.location));
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
