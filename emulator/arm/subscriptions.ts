/** GET /subscriptions and /subscriptions/{id}: the subscriptions the emulator was seeded with. */
import type { EmuResponse } from "../types.js";
import type { ArmContext, ArmRequest } from "./context.js";
import { subscriptionNotFound } from "./errors.js";
import type { SubscriptionRecord } from "./state.js";

export function subscriptionView(s: SubscriptionRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: `/subscriptions/${s.subscriptionId}`,
    authorizationSource: "RoleBased",
    managedByTenants: [],
    subscriptionId: s.subscriptionId,
    tenantId: s.tenantId,
    displayName: s.displayName,
    state: "Enabled",
    subscriptionPolicies: {
      locationPlacementId: "Public_2014-09-01",
      quotaId: "PayAsYouGo_2014-09-01",
      spendingLimit: "Off",
    },
  };
  if (Object.keys(s.tags).length > 0) view.tags = s.tags;
  return view;
}

export function subscriptionsRouter(
  ctx: ArmContext,
  req: ArmRequest,
  seg: string[],
): EmuResponse | undefined {
  if (req.method !== "GET") return undefined;
  if (seg.length === 1) {
    const value = [...ctx.state.subscriptions.values()].map(subscriptionView);
    return { status: 200, body: { value, count: { type: "Total", value: value.length } } };
  }
  if (seg.length === 2) {
    const s = ctx.state.getSubscription(seg[1]!);
    return s ? { status: 200, body: subscriptionView(s) } : subscriptionNotFound(seg[1]!);
  }
  return undefined;
}

/** Fails with 404 SubscriptionNotFound unless the subscription exists. */
export function requireSubscription(ctx: ArmContext, sub: string): SubscriptionRecord {
  return ctx.state.getSubscription(sub) ?? subscriptionNotFound(sub);
}
