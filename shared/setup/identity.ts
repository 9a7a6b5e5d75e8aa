/** Setup checks of aml-steward's identity and the subscriptions it works in. */
import { isNotFound } from "../azure/errors.js";
import {
  type Ctx,
  add,
  describe,
  isForbidden,
  identityId,
  NO_IDENTITY_FIX,
  subscriptionsOf,
} from "./context.js";

// ====================================================================== identity

export async function checkIdentity(ctx: Ctx): Promise<void> {
  const id = identityId(ctx);
  if (!id) {
    add(ctx, {
      area: "identity",
      name: "STEWARD_IDENTITY_OBJECT_ID",
      status: "missing",
      fix: NO_IDENTITY_FIX,
    });
    return;
  }
  try {
    const sp = (await ctx.clients
      .graph()
      .api(`/servicePrincipals/${encodeURIComponent(id)}`)
      .select(["id", "appId", "displayName"])
      .get()) as { appId?: string; displayName?: string };
    const clientId = ctx.settings.STEWARD_IDENTITY_CLIENT_ID?.toLowerCase();
    if (clientId && sp.appId && sp.appId.toLowerCase() !== clientId) {
      add(ctx, {
        area: "identity",
        name: `service principal ${id}`,
        status: "wrong",
        detail: `its appId ${sp.appId} differs from STEWARD_IDENTITY_CLIENT_ID ${clientId}`,
        fix: NO_IDENTITY_FIX,
      });
      return;
    }
    add(ctx, { area: "identity", name: `service principal ${id}`, status: "ok", detail: sp.displayName });
  } catch (e) {
    if (isNotFound(e)) {
      add(ctx, {
        area: "identity",
        name: `service principal ${id}`,
        status: "missing",
        detail: "no service principal with this object id in the tenant",
        fix: "azd provision creates the managed identity; then use its principal id",
      });
    } else if (isForbidden(e)) {
      add(ctx, {
        area: "identity",
        name: `service principal ${id}`,
        status: "unverified",
        detail: describe(e),
      });
    } else throw e;
  }
}

export async function checkSubscriptions(ctx: Ctx): Promise<void> {
  const governed = new Set(ctx.policy.governedSubscriptions.map((s) => s.id.toLowerCase()));
  for (const sub of subscriptionsOf(ctx.policy)) {
    const name = `${sub.id} ${sub.name}`;
    try {
      await ctx.clients.resources(sub.id).resourceGroups.list({ top: 1 }).byPage().next();
      add(ctx, { area: "subscriptions", name, status: "ok" });
    } catch (e) {
      add(ctx, {
        area: "subscriptions",
        name,
        status: "error",
        detail: describe(e),
        fix: "check the subscription id in the policy and that your account can read it",
      });
    }
  }
  for (const [id, what] of [
    [ctx.policy.exploration.subscriptionId, "exploration"],
    [ctx.policy.projectSubscriptionId, "project"],
  ] as const) {
    if (!governed.has(id.toLowerCase())) {
      add(ctx, {
        area: "subscriptions",
        name: `${what} subscription ${id}`,
        status: "wrong",
        detail: "is not in governedSubscriptions: its resources would not be tagged",
        fix: "add it to governedSubscriptions in the policy, npm run infra:generate, azd provision",
      });
    }
  }
}
