/**
 * Resource id parsing. ARM ids are case-insensitive, so everything is keyed by the lower-cased
 * id while the casing the client first used is kept for display, as Azure does.
 */

export interface ParsedResourceId {
  subscriptionId: string;
  resourceGroup: string;
  /** e.g. Microsoft.MachineLearningServices */
  namespace: string;
  /** Type segments after the namespace, e.g. ["workspaces", "models", "versions"]. */
  typeSegments: string[];
  /** Names, one per type segment. */
  names: string[];
  /** Full type, e.g. Microsoft.MachineLearningServices/workspaces/models/versions */
  type: string;
  /** Last name segment. */
  name: string;
  /** Canonical id: `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{t}/{n}...` */
  id: string;
  /** Id of the parent resource for nested resources, undefined for top-level ones. */
  parentId?: string;
}

export const lower = (s: string): string => s.toLowerCase();

export function splitPath(path: string): string[] {
  return path.split("/").filter((s) => s.length > 0);
}

export function subscriptionId(sub: string): string {
  return `/subscriptions/${sub}`;
}

export function resourceGroupId(sub: string, rg: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}`;
}

/**
 * Parses a resource id (or path) of a resource-group-scoped resource. Returns undefined when the
 * path is not shaped like one (collections have an odd number of type/name segments).
 */
export function parseResourceId(path: string): ParsedResourceId | undefined {
  const seg = splitPath(path);
  if (seg.length < 8) return undefined;
  if (
    lower(seg[0]!) !== "subscriptions" ||
    lower(seg[2]!) !== "resourcegroups" ||
    lower(seg[4]!) !== "providers"
  )
    return undefined;
  const rest = seg.slice(6);
  if (rest.length < 2 || rest.length % 2 !== 0) return undefined;
  // Extension resources (/providers/X under a resource) are handled by their own routers.
  if (rest.some((s, i) => i % 2 === 0 && lower(s) === "providers")) return undefined;
  const typeSegments = rest.filter((_, i) => i % 2 === 0);
  const names = rest.filter((_, i) => i % 2 === 1);
  const namespace = seg[5]!;
  const sub = seg[1]!;
  const rg = seg[3]!;
  const base = `/subscriptions/${sub}/resourceGroups/${rg}/providers/${namespace}`;
  const idOf = (n: number): string =>
    base +
    typeSegments
      .slice(0, n)
      .map((t, i) => `/${t}/${names[i]}`)
      .join("");
  return {
    subscriptionId: sub,
    resourceGroup: rg,
    namespace,
    typeSegments,
    names,
    type: `${namespace}/${typeSegments.join("/")}`,
    name: names[names.length - 1]!,
    id: idOf(typeSegments.length),
    parentId: typeSegments.length > 1 ? idOf(typeSegments.length - 1) : undefined,
  };
}

/** Scope kinds used by tags and role assignments. */
export type Scope =
  | { kind: "root"; id: "/" }
  | { kind: "subscription"; id: string; subscriptionId: string }
  | { kind: "resourceGroup"; id: string; subscriptionId: string; resourceGroup: string }
  | {
      kind: "resource";
      id: string;
      subscriptionId: string;
      resourceGroup: string;
      resource: ParsedResourceId;
    };

export function parseScope(scopePath: string): Scope | undefined {
  const seg = splitPath(scopePath);
  if (seg.length === 0) return { kind: "root", id: "/" };
  if (lower(seg[0]!) !== "subscriptions" || seg.length < 2) return undefined;
  const sub = seg[1]!;
  if (seg.length === 2) return { kind: "subscription", id: subscriptionId(sub), subscriptionId: sub };
  if (lower(seg[2]!) !== "resourcegroups" || seg.length < 4) return undefined;
  const rg = seg[3]!;
  if (seg.length === 4)
    return { kind: "resourceGroup", id: resourceGroupId(sub, rg), subscriptionId: sub, resourceGroup: rg };
  const resource = parseResourceId(scopePath);
  if (!resource) return undefined;
  return { kind: "resource", id: resource.id, subscriptionId: sub, resourceGroup: rg, resource };
}

/** True when `inner` equals `outer` or lies below it (case-insensitive, segment-aware). */
export function isAtOrBelow(inner: string, outer: string): boolean {
  const i = lower(inner).replace(/\/+$/, "");
  const o = lower(outer).replace(/\/+$/, "");
  if (o === "" || o === "/") return true;
  return i === o || i.startsWith(o + "/");
}

/**
 * Splits `{scope}/providers/{marker}...` at the LAST occurrence of the marker (case-insensitive),
 * because the scope itself may contain other /providers/ segments.
 */
export function splitAtProvider(path: string, marker: string): { scope: string; rest: string[] } | undefined {
  const needle = `/providers/${lower(marker)}`;
  const idx = lower(path).lastIndexOf(needle);
  if (idx < 0) return undefined;
  const after = path.slice(idx + needle.length);
  if (after !== "" && !after.startsWith("/")) return undefined;
  return { scope: path.slice(0, idx) || "/", rest: splitPath(after) };
}
