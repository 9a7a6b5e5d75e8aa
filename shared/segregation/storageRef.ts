/**
 * Which storage a datastore, workspace connection or data version points at, from its ARM body. Pure.
 *
 * The body is attacker-controlled (anyone with AzureML Data Scientist writes it), so it is
 * parsed with a schema and normalised before anything is compared: account names are lower
 * case (storage DNS names are case-insensitive), connection targets are parsed as URLs (which
 * folds `..`, default ports and trailing slashes) or as ARM ids, and an endpoint suffix that is
 * not an Azure storage suffix means "outside the estate", never "fine".
 */
import { z } from "zod";

export type StorageRef =
  /** An Azure storage account by its (globally unique) name. */
  | { kind: "account"; accountName: string; via: string }
  /** Not an Azure storage account the estate could hold: not judged, said why. */
  | { kind: "outside"; why: string }
  /** Claims to be storage but cannot be read as such: recorded, never ignored. */
  | { kind: "invalid"; why: string };

/** Storage DNS suffixes of the Azure clouds (public, US Government, China). */
const STORAGE_SUFFIXES = ["core.windows.net", "core.usgovcloudapi.net", "core.chinacloudapi.cn"];
const SERVICES = ["blob", "dfs", "file", "queue", "table", "web"];
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

const datastoreSchema = z.looseObject({
  datastoreType: z.string(),
  accountName: z.string().nullish(),
  endpoint: z.string().nullish(),
  storeName: z.string().nullish(),
});

const dataVersionSchema = z.looseObject({ dataUri: z.string().nullish() });

const connectionSchema = z.looseObject({
  category: z.string().nullish(),
  target: z.string().nullish(),
});

function accountByName(raw: string, endpoint: string | null | undefined, via: string): StorageRef {
  const name = raw.trim().toLowerCase();
  if (!ACCOUNT_NAME.test(name))
    return { kind: "invalid", why: `accountName ${JSON.stringify(raw)} is not a storage account name` };
  const suffix = (endpoint ?? "core.windows.net")
    .trim()
    .toLowerCase()
    .replace(/^\.+|\.+$/g, "");
  if (!STORAGE_SUFFIXES.includes(suffix))
    return { kind: "outside", why: `endpoint ${JSON.stringify(endpoint)} is not an Azure storage endpoint` };
  return { kind: "account", accountName: name, via };
}

/** The storage a datastore's properties point at. */
export function datastoreStorage(properties: unknown): StorageRef {
  const parsed = datastoreSchema.safeParse(properties);
  if (!parsed.success) return { kind: "invalid", why: "the datastore's properties are not a datastore" };
  const p = parsed.data;
  switch (p.datastoreType.toLowerCase()) {
    case "azureblob":
    case "azuredatalakegen2":
    case "azurefile":
      return p.accountName
        ? accountByName(p.accountName, p.endpoint, `datastore ${p.datastoreType}`)
        : { kind: "invalid", why: `a ${p.datastoreType} datastore without accountName` };
    case "azuredatalakegen1":
      return { kind: "outside", why: "Data Lake Gen1 store (not a storage account; retired by Azure)" };
    default:
      return { kind: "invalid", why: `unknown datastoreType ${JSON.stringify(p.datastoreType)}` };
  }
}

/** The storage a workspace connection's target points at (a storage URL or an account's ARM id). */
export function connectionStorage(properties: unknown): StorageRef {
  const parsed = connectionSchema.safeParse(properties);
  if (!parsed.success || !parsed.data.target) return { kind: "outside", why: "the connection has no target" };
  return storageTarget(parsed.data.target, `connection ${parsed.data.category ?? ""}`.trim());
}

/**
 * A data version's `dataUri`, or undefined when it has none. Where it points is for
 * assetData.ts (an `azureml://` URI reads its datastore) and `storageTarget` (a storage URL).
 */
export function dataVersionUri(properties: unknown): string | undefined {
  const parsed = dataVersionSchema.safeParse(properties);
  return (parsed.success && parsed.data.dataUri?.trim()) || undefined;
}

/** A target string: `https://{account}.{service}.{suffix}/...`, or a storage account's ARM id. */
export function storageTarget(target: string, via: string): StorageRef {
  const t = target.trim();
  if (t.startsWith("/")) {
    // Only the account name is kept: names are globally unique, and the subscription and group
    // an id claims are the writer's words (the account is looked up where it really is).
    const m = /\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)/i.exec(t);
    if (!m) return { kind: "outside", why: "an ARM id that is not a storage account's" };
    if (t.split("/").some((seg) => seg === "." || seg === ".."))
      return { kind: "invalid", why: `a storage account id with '.' or '..' segments: ${JSON.stringify(t)}` };
    return accountByName(m[1]!, undefined, via);
  }
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `https://${t}`);
  } catch {
    return { kind: "outside", why: "a target that is not a URL" };
  }
  // URL lower-cases and decodes the host of http(s) only: an abfss:// or wasbs:// host is kept
  // as written ("PROD.DFS.Core.Windows.Net", "prod%2Edfs..."), so it is decoded and lower-cased
  // here. A trailing dot names the same DNS name: stripped too.
  let host: string;
  try {
    host = decodeURIComponent(url.hostname).toLowerCase().replace(/\.+$/, "");
  } catch {
    return { kind: "invalid", why: `a storage URL whose host cannot be decoded: ${JSON.stringify(t)}` };
  }
  // A private endpoint's name ({account}.privatelink.blob...) is the same account.
  const labels = host.split(".").filter((l, i) => !(i === 1 && l === "privatelink"));
  const suffix = labels.slice(2).join(".");
  if (labels.length >= 4 && SERVICES.includes(labels[1]!) && STORAGE_SUFFIXES.includes(suffix))
    return accountByName(labels[0]!, suffix, via);
  return { kind: "outside", why: `${host} is not an Azure storage endpoint` };
}
