/**
 * The environment's resource group: created with the policy's tags, or, when this project's
 * promotions created it, its missing tags merged in. Any other existing group is refused.
 */
import { isNotFound } from "../../azure/errors.js";
import { OwnershipRefused, resourceGroupOwnershipProblem } from "../ownership.js";
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
    // Claimed before the PUT: after a crash in between, the group is still recognisably ours.
    await ctx.claim([rg.id]);
    await arm.resourceGroups.createOrUpdate(rg.name, { location: rg.location, tags: rg.tags });
    await tally.record(
      "resourceGroup.create",
      rg.id,
      { location: rg.location, tags: rg.tags },
      { subscriptionId: env.subscriptionId },
    );
    return { outcome: "created", writes: tally.count, resources: [rg.id] };
  }
  // Checked again here, not only at admission: it may have appeared since.
  await ctx.ownership.hasFresh(rg.id);
  const problem = resourceGroupOwnershipProblem(ctx.plan.ownershipTags, ctx.ownership, rg.id, existing.tags);
  if (problem)
    throw new OwnershipRefused({ target: rg.id, subscriptionId: env.subscriptionId, detail: problem });
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
