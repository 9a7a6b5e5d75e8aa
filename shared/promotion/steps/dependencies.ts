/**
 * The workspace's dependencies (storage, key vault, Log Analytics, Application Insights,
 * container registry) as generic ARM resources: created when missing, tags repaired when
 * present. Existing properties are never rewritten: a resource someone tuned stays tuned.
 * Independent resources are created in parallel; Application Insights waits for Log Analytics.
 */
import type { GenericResource } from "@azure/arm-resources";
import { isNotFound } from "../../azure/errors.js";
import type { DependencyKind, EnvironmentPlan, PlannedResource } from "../plan.js";
import { mergeTags } from "./resourceGroup.js";
import { WriteTally, type StepContext, type StepResult } from "./context.js";

export async function ensureDependencies(ctx: StepContext, env: EnvironmentPlan): Promise<StepResult> {
  const tally = new WriteTally(ctx);
  let created = false;
  const done = new Map<DependencyKind, Promise<void>>();
  const ensure = (r: PlannedResource): Promise<void> => {
    let p = done.get(r.kind);
    if (!p) {
      p = (async () => {
        await Promise.all(
          r.dependsOn.map((k) => {
            const dep = env.dependencies.find((d) => d.kind === k);
            return dep ? ensure(dep) : undefined;
          }),
        );
        if (await ensureOne(ctx, tally, env.subscriptionId, r)) created = true;
      })();
      done.set(r.kind, p);
    }
    return p;
  };
  await Promise.all(env.dependencies.map(ensure));
  return {
    outcome: tally.outcome(created),
    writes: tally.count,
    resources: env.dependencies.map((d) => d.id),
  };
}

/** True when the resource had to be created. */
async function ensureOne(
  ctx: StepContext,
  tally: WriteTally,
  subscriptionId: string,
  r: PlannedResource,
): Promise<boolean> {
  const arm = ctx.clients.resources(subscriptionId);
  let existing: GenericResource | undefined;
  try {
    existing = await arm.resources.getById(r.id, r.apiVersion);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (existing) {
    await mergeTags(
      ctx,
      tally,
      r.id,
      subscriptionId,
      (r.body.tags ?? {}) as Record<string, string>,
      existing.tags,
    );
    return false;
  }
  await arm.resources.beginCreateOrUpdateByIdAndWait(r.id, r.apiVersion, r.body as GenericResource, {
    updateIntervalInMs: ctx.pollIntervalMs,
  });
  await tally.record(`${r.kind}.create`, r.id, r.body, { subscriptionId });
  return true;
}
