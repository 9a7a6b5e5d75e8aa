/** The optional monthly budget on the environment's resource group (policy `environments[].budget`). */
import type { GenericResource } from "@azure/arm-resources";
import { isNotFound } from "../../azure/errors.js";
import type { EnvironmentPlan } from "../plan.js";
import { WriteTally, type StepContext, type StepResult } from "./context.js";

export async function ensureBudget(ctx: StepContext, env: EnvironmentPlan): Promise<StepResult> {
  const b = env.budget;
  if (!b) return { outcome: "skipped", writes: 0, detail: "the policy sets no budget for this environment" };
  const arm = ctx.clients.resources(env.subscriptionId);
  const tally = new WriteTally(ctx);
  let existing: GenericResource | undefined;
  try {
    existing = await arm.resources.getById(b.id, b.apiVersion);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const wantAmount = (b.body.properties as { amount: number }).amount;
  const haveAmount = (existing?.properties as { amount?: number } | undefined)?.amount;
  if (existing && haveAmount === wantAmount) return { outcome: "unchanged", writes: 0, resources: [b.id] };
  const body = existing ? amountOnly(b.body, existing) : b.body;
  await arm.resources.beginCreateOrUpdateByIdAndWait(b.id, b.apiVersion, body as GenericResource, {
    updateIntervalInMs: ctx.pollIntervalMs,
  });
  await tally.record(existing ? "budget.update" : "budget.create", b.id, body, {
    subscriptionId: env.subscriptionId,
    before: existing?.properties,
  });
  return { outcome: existing ? "updated" : "created", writes: tally.count, resources: [b.id] };
}

/**
 * The PUT that changes an existing budget's amount and nothing else. A PUT replaces the whole
 * budget: the planned body's empty `notifications` would delete the alerts someone configured,
 * and its `timePeriod` (from this request) would move the start. Keep what the budget has.
 */
function amountOnly(planned: Record<string, unknown>, existing: GenericResource): Record<string, unknown> {
  const want = planned.properties as Record<string, unknown>;
  const have = (existing.properties ?? {}) as Record<string, unknown>;
  const keep = Object.fromEntries(
    (["timePeriod", "notifications", "filter"] as const).flatMap((k) =>
      have[k] !== undefined && have[k] !== null ? [[k, have[k]]] : [],
    ),
  );
  return { ...planned, properties: { ...want, ...keep } };
}
