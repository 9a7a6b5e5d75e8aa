/** Resolves a scope path (tags, role assignments) and checks that what it names exists. */
import type { ArmContext } from "./context.js";
import { fail, parentResourceNotFound, resourceGroupNotFound, resourceNotFound } from "./errors.js";
import { parseScope, type Scope } from "./ids.js";
import { requireSubscription } from "./subscriptions.js";

export function requireScope(ctx: ArmContext, scopePath: string): Scope {
  const scope = parseScope(scopePath) ?? fail(400, "InvalidScope", `The scope '${scopePath}' is not valid.`);
  if (scope.kind === "root") return scope;
  const sub = requireSubscription(ctx, scope.subscriptionId);
  if (scope.kind === "subscription") return { ...scope, id: `/subscriptions/${sub.subscriptionId}` };
  const g =
    ctx.state.getGroup(scope.subscriptionId, scope.resourceGroup) ??
    resourceGroupNotFound(scope.resourceGroup);
  if (scope.kind === "resourceGroup") return { ...scope, id: g.id };
  const rec = ctx.state.getResource(scope.resource.id);
  if (!rec) {
    if (scope.resource.parentId && !ctx.state.getResource(scope.resource.parentId))
      parentResourceNotFound(scope.resource.names.slice(0, -1).join("/"));
    resourceNotFound(scope.resource.type, scope.resource.names.join("/"), g.name);
  }
  return { ...scope, id: rec!.id };
}
