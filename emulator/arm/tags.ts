/**
 * The Tags API at any scope: {scope}/providers/Microsoft.Resources/tags/default. It writes only
 * the tags (never the rest of the resource), answers 200 at once (the spec allows 202, Azure
 * rarely uses it) and publishes Microsoft.Resources/tags/write with the TAGGED resource's id.
 */
import type { EmuResponse } from "../types.js";
import {
  type ArmContext,
  type ArmRequest,
  isRecord,
  publishWrite,
  requireBodyProperties,
} from "./context.js";
import { fail } from "./errors.js";
import { splitAtProvider } from "./ids.js";
import { requireScope } from "./scopes.js";
import { checkTags, deleteTags, mergeTags, type Tags } from "./tagRules.js";

interface TagTarget {
  id: string;
  subscriptionId: string;
  get(): Tags;
  set(tags: Tags): void;
}

function target(ctx: ArmContext, scopePath: string): TagTarget {
  const scope = requireScope(ctx, scopePath);
  const now = ctx.now();
  switch (scope.kind) {
    case "root":
      return fail(400, "InvalidScope", "Tags cannot be applied at the tenant root scope.");
    case "subscription": {
      const s = ctx.state.getSubscription(scope.subscriptionId)!;
      return { id: scope.id, subscriptionId: s.subscriptionId, get: () => s.tags, set: (t) => (s.tags = t) };
    }
    case "resourceGroup": {
      const g = ctx.state.getGroup(scope.subscriptionId, scope.resourceGroup)!;
      return {
        id: g.id,
        subscriptionId: g.subscriptionId,
        get: () => g.tags ?? {},
        set: (t) => {
          g.tags = t;
          g.changedAt = now;
        },
      };
    }
    case "resource": {
      const r = ctx.state.getResource(scope.id)!;
      return {
        id: r.id,
        subscriptionId: r.subscriptionId,
        get: () => r.tags ?? {},
        set: (t) => {
          r.tags = t;
          r.changedAt = now;
        },
      };
    }
  }
}

function view(t: TagTarget): Record<string, unknown> {
  return {
    id: `${t.id}/providers/Microsoft.Resources/tags/default`,
    name: "default",
    type: "Microsoft.Resources/tags",
    properties: { tags: t.get() },
  };
}

function bodyTags(req: ArmRequest): Tags {
  const props = requireBodyProperties(req);
  return checkTags(props.tags ?? {});
}

export function tagsRouter(ctx: ArmContext, req: ArmRequest): EmuResponse | undefined {
  const split = splitAtProvider(req.path, "Microsoft.Resources/tags");
  if (!split || split.rest.length !== 1 || split.rest[0]!.toLowerCase() !== "default") return undefined;
  switch (req.method) {
    case "GET":
      return { status: 200, body: view(target(ctx, split.scope)) };
    case "PUT": {
      const t = target(ctx, split.scope);
      t.set(bodyTags(req));
      publishWrite(ctx, req, t.subscriptionId, t.id, "Microsoft.Resources/tags/write");
      return { status: 200, body: view(t) };
    }
    case "PATCH": {
      const t = target(ctx, split.scope);
      const operation =
        isRecord(req.body) && typeof req.body.operation === "string" ? req.body.operation : "";
      const tags = bodyTags(req);
      switch (operation.toLowerCase()) {
        case "merge":
          t.set(mergeTags(t.get(), tags));
          break;
        case "replace":
          t.set(tags);
          break;
        case "delete":
          t.set(deleteTags(t.get(), tags));
          break;
        default:
          fail(
            400,
            "InvalidRequestContent",
            `The request content was invalid: 'operation' must be one of Merge, Replace or Delete (got '${operation}').`,
          );
      }
      publishWrite(ctx, req, t.subscriptionId, t.id, "Microsoft.Resources/tags/write");
      return { status: 200, body: view(t) };
    }
    case "DELETE": {
      const t = target(ctx, split.scope);
      t.set({});
      publishWrite(ctx, req, t.subscriptionId, t.id, "Microsoft.Resources/tags/delete");
      return { status: 200 };
    }
    default:
      return undefined;
  }
}
