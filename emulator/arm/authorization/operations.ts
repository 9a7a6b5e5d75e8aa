/**
 * Maps an ARM request (method + path) to the operation Azure authorises it as, and the scope it
 * is authorised over, as Azure Resource Manager does before any resource provider sees the
 * request: `GET .../resourceGroups/x` is `Microsoft.Resources/subscriptions/resourceGroups/read`
 * over the group, `POST .../storageAccounts/s/listKeys` is
 * `Microsoft.Storage/storageAccounts/listKeys/action` over the account, a tag write is
 * `Microsoft.Resources/tags/write` over the tagged scope.
 */
import { lower, splitAtProvider, splitPath } from "../ids.js";
import { registryAssetAction } from "../mlRegistries.js";

export interface ArmOperation {
  /** e.g. Microsoft.Resources/subscriptions/resourceGroups/write */
  action: string;
  /** The scope the action is authorised over: "/" , a subscription, a group or a resource id. */
  scope: string;
}

/** Polls of long-running operations are authorised by the request that started them. */
const POLL_SEGMENTS = new Set(["workspaceoperationsstatus", "asyncoperations", "operationresults"]);

const verbOf = (method: string): "read" | "write" | "delete" | undefined => {
  switch (method) {
    case "GET":
    case "HEAD":
      return "read";
    case "PUT":
    case "PATCH":
      return "write";
    case "DELETE":
      return "delete";
    default:
      return undefined;
  }
};

function scopeOf(path: string): string {
  const s = splitPath(path).join("/");
  return s === "" ? "/" : `/${s}`;
}

const EXTENSIONS: Array<{ marker: string; type: string }> = [
  { marker: "Microsoft.Resources/tags", type: "Microsoft.Resources/tags" },
  { marker: "Microsoft.Authorization/roleAssignments", type: "Microsoft.Authorization/roleAssignments" },
  { marker: "Microsoft.Authorization/roleDefinitions", type: "Microsoft.Authorization/roleDefinitions" },
];

/**
 * The operation of a request, or undefined for requests ARM does not authorise against role
 * assignments (listing subscriptions and tenants, which Azure filters instead; LRO polls) and
 * for paths the emulator does not serve (the router answers those with 404).
 */
export function operationOf(method: string, path: string): ArmOperation | undefined {
  const m = method.toUpperCase();
  const seg = splitPath(path);
  if (seg.length >= 4 && POLL_SEGMENTS.has(lower(seg[seg.length - 2]!))) return undefined;
  const lowerPath = lower(path);
  for (const ext of EXTENSIONS) {
    if (!lowerPath.includes(`/providers/${lower(ext.marker)}`)) continue;
    const split = splitAtProvider(path, ext.marker);
    const verb = verbOf(m);
    if (!split || !verb) return undefined;
    return { action: `${ext.type}/${verb}`, scope: scopeOf(split.scope) };
  }
  if (lower(seg[0] ?? "") !== "subscriptions" || seg.length < 2) return undefined;
  const sub = `/subscriptions/${seg[1]}`;
  const s2 = lower(seg[2] ?? "");
  if (seg.length === 2)
    return m === "GET" ? { action: "Microsoft.Resources/subscriptions/read", scope: sub } : undefined;
  if (seg.length === 3 && s2 === "resources")
    return m === "GET"
      ? { action: "Microsoft.Resources/subscriptions/resources/read", scope: sub }
      : undefined;
  if (seg.length === 3 && s2 === "resourcegroups")
    return m === "GET"
      ? { action: "Microsoft.Resources/subscriptions/resourceGroups/read", scope: sub }
      : undefined;
  if (seg.length === 5 && s2 === "providers")
    return m === "GET" ? { action: `${seg[3]}/${seg[4]}/read`, scope: sub } : undefined;
  if (s2 !== "resourcegroups" || seg.length < 4) return undefined;
  const rg = `${sub}/resourceGroups/${seg[3]}`;
  if (seg.length === 4) {
    const verb = verbOf(m);
    return verb
      ? { action: `Microsoft.Resources/subscriptions/resourceGroups/${verb}`, scope: rg }
      : undefined;
  }
  if (seg.length === 5 && lower(seg[4]!) === "resources")
    return m === "GET"
      ? { action: "Microsoft.Resources/subscriptions/resourceGroups/resources/read", scope: rg }
      : undefined;
  if (lower(seg[4]!) !== "providers" || seg.length < 7) return undefined;
  const namespace = seg[5]!;
  const rest = seg.slice(6);
  const types = rest.filter((_, i) => i % 2 === 0);
  const idOf = (pairs: number): string =>
    `${rg}/providers/${namespace}` +
    rest
      .slice(0, pairs * 2)
      .map((s) => `/${s}`)
      .join("");
  if (rest.length % 2 === 1) {
    // A collection (GET lists a type under its container) or an action on a resource (POST).
    if (m === "GET")
      return {
        action:
          registryAssetAction(`${namespace}/${types.join("/")}/read`) ??
          `${namespace}/${types.join("/")}/read`,
        scope: rest.length === 1 ? rg : idOf(types.length - 1),
      };
    if (m === "POST" && rest.length >= 3)
      return {
        action: `${namespace}/${types.slice(0, -1).join("/")}/${types[types.length - 1]}/action`,
        scope: idOf(types.length - 1),
      };
    return undefined;
  }
  const verb = verbOf(m);
  if (!verb) return undefined;
  const action = `${namespace}/${types.join("/")}/${verb}`;
  return { action: registryAssetAction(action) ?? action, scope: idOf(types.length) };
}
