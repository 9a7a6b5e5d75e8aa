/**
 * How Graph URLs address objects: path segments, alternate keys (`groups(uniqueName='...')`,
 * `servicePrincipals(appId='...')`) and the object id inside an @odata.id / @odata.bind URL.
 */

/** `groups(uniqueName='a''b')` -> {entity: "groups", key: "uniqueName", value: "a'b"} */
export function parseAlternateKey(seg: string): { entity: string; key: string; value: string } | undefined {
  const m = /^(\w*)\((\w+)=(?:'((?:[^']|'')*)'|"([^"]*)")\)$/.exec(seg);
  if (!m) return undefined;
  return { entity: m[1]!, key: m[2]!, value: (m[3] ?? m[4] ?? "").replace(/''/g, "'") };
}

export function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Extracts the object id from an @odata.id / @odata.bind URL; any host is accepted. */
export function idFromReference(url: string): string | undefined {
  const clean = url.split("?")[0]!.replace(/\/+$/, "");
  const last = clean.split("/").pop() ?? "";
  const alt = parseAlternateKey(last);
  const id = alt ? alt.value : decodeSegment(last);
  return GUID.test(id) ? id.toLowerCase() : undefined;
}
