/**
 * Readable names for Entra principals, looked up in Microsoft Graph and cached per process:
 * a service principal or managed identity by its application (client) id or object id, a user
 * by object id. Tags and reports show "ml-pipeline-prod" or "alice@contoso.com", never a bare
 * GUID, unless Graph truly has no name for it.
 *
 * Lookups in flight are shared, so a burst of events from one pipeline costs one Graph call.
 * Throttling and server errors are thrown (the Graph client has already retried 429 with
 * Retry-After): the caller should retry later rather than record a GUID forever. "Not found"
 * and "forbidden" are answers, cached for a shorter time.
 */
import type { Client as GraphClient } from "@microsoft/microsoft-graph-client";
import { azure } from "./clients.js";
import { errorFacts } from "./errors.js";
import { graphFilterEq } from "../odata.js";
import { TtlLru } from "../lru.js";

const FOUND_TTL_MS = 60 * 60 * 1000;
const MISSING_TTL_MS = 5 * 60 * 1000;
const MAX_ENTRIES = 5000;

const cache = new TtlLru<string, Promise<string | undefined>>(MAX_ENTRIES, FOUND_TTL_MS);

export type PrincipalRef =
  { kind: "servicePrincipal"; appId?: string; objectId?: string } | { kind: "user"; objectId: string };

function keyOf(ref: PrincipalRef): string | undefined {
  if (ref.kind === "user") return `user:${ref.objectId.toLowerCase()}`;
  if (ref.appId) return `app:${ref.appId.toLowerCase()}`;
  if (ref.objectId) return `sp:${ref.objectId.toLowerCase()}`;
  return undefined;
}

/** Graph answered, but has nothing for us: a deleted principal or a permission we lack. */
function isAnswer(e: unknown): boolean {
  const { status } = errorFacts(e);
  return status === 400 || status === 403 || status === 404;
}

async function lookup(graph: GraphClient, ref: PrincipalRef): Promise<string | undefined> {
  if (ref.kind === "user") {
    const u = (await graph
      .api(`/users/${encodeURIComponent(ref.objectId)}`)
      .select("userPrincipalName")
      .get()) as { userPrincipalName?: string };
    return u.userPrincipalName || undefined;
  }
  if (ref.appId) {
    const page = (await graph
      .api("/servicePrincipals")
      .filter(graphFilterEq("appId", ref.appId))
      .select("id,appId,displayName")
      .get()) as { value?: Array<{ displayName?: string }> };
    const name = page.value?.[0]?.displayName;
    if (name || !ref.objectId) return name || undefined;
  }
  const sp = (await graph
    .api(`/servicePrincipals/${encodeURIComponent(ref.objectId!)}`)
    .select("id,displayName")
    .get()) as { displayName?: string };
  return sp.displayName || undefined;
}

/**
 * The display name of a service principal / managed identity, or a user's UPN; undefined when
 * Graph has none. Throws on transient Graph failures.
 */
export async function principalName(
  ref: PrincipalRef,
  graph: () => GraphClient = () => azure().graph(),
): Promise<string | undefined> {
  const key = keyOf(ref);
  if (!key) return undefined;
  const hit = cache.get(key);
  if (hit) return hit;
  const pending = lookup(graph(), ref).then(
    (name) => {
      if (!name) cache.set(key, pending, MISSING_TTL_MS);
      return name;
    },
    (e: unknown) => {
      if (isAnswer(e)) {
        cache.set(key, pending, MISSING_TTL_MS);
        return undefined;
      }
      cache.delete(key);
      throw e;
    },
  );
  cache.set(key, pending);
  return pending;
}

/** For tests and benchmarks. */
export function clearPrincipalNameCache(): void {
  cache.clear();
}
