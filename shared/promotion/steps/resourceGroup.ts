/** The environment's resource group: created with the policy's tags, or its missing tags merged in. */
import { isNotFound } from "../../azure/errors.js";
import type { EnvironmentPlan } from "../plan.js";
import { tagDifference, WriteTally, type StepContext, type StepResult } from "./context.js";

export async function ensureResourceGroup(ctx: StepContext, env: EnvironmentPlan): Promise<StepResult> {
  const arm = ctx.clients.resources(env.subscriptionId);
  const rg = env.resourceGroup;
  const tally = new WriteTally(ctx);
  let existing: { tags?: Record<string, string> } | undefined;
  try {
    existing = await arm.resourceGroups.get(rg.name);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (!existing) {
    await arm.resourceGroups.createOrUpdate(rg.name, { location: rg.location, tags: rg.tags });
    await tally.record(
      "resourceGroup.create",
      rg.id,
      { location: rg.location, tags: rg.tags },
      { subscriptionId: env.subscriptionId },
    );
    return { outcome: "created", writes: tally.count, resources: [rg.id] };
  }
  await mergeTags(ctx, tally, rg.id, env.subscriptionId, rg.tags, existing.tags);
  return { outcome: tally.outcome(false), writes: tally.count, resources: [rg.id] };
}

/**
 * Merges the desired tags that are missing or different (the plan's fill-only tags only when
 * missing); Merge never clobbers others' tags.
 */
export async function mergeTags(
  ctx: StepContext,
  tally: WriteTally,
  id: string,
  subscriptionId: string,
  desired: Record<string, string>,
  actual: Record<string, string> | undefined,
): Promise<void> {
  const diff = tagDifference(desired, actual, ctx.plan.fillOnlyTags);
  if (Object.keys(diff).length === 0) return;
  await ctx.clients
    .resources(subscriptionId)
    .tagsOperations.beginUpdateAtScopeAndWait(
      id,
      { operation: "Merge", properties: { tags: diff } },
      { updateIntervalInMs: ctx.pollIntervalMs },
    );
  await tally.record("tags.merge", id, diff, { subscriptionId, before: actual });
}
