/**
 * Tag rules shared by every write that carries tags (resource groups, resources, the Tags API).
 *
 * Names are case-insensitive and values case-sensitive. When a merge brings a name that already
 * exists in another casing, the EXISTING casing is kept and only the value changes: that is what
 * Azure does (its docs: "a tag with a tag name, regardless of casing, is updated or retrieved"),
 * and why changing a tag name's casing in Azure needs a delete followed by a create. A full
 * replacement (PUT, PATCH Replace, a resource PUT) stores the names as sent.
 */
import { fail } from "./errors.js";
import { isRecord } from "./context.js";

export const MAX_TAGS = 50;
const RESERVED = /[<>%&\\?/]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export type Tags = Record<string, string>;

/** Validates a tag object from a request body; returns it typed, or fails with Azure's error. */
export function checkTags(value: unknown, opts: { maxNameLength?: number } = {}): Tags {
  if (value === undefined || value === null) return {};
  if (!isRecord(value))
    fail(
      400,
      "InvalidRequestContent",
      "The request content was invalid and could not be deserialized: 'tags' must be an object.",
    );
  const tags = value as Record<string, unknown>;
  const names = Object.keys(tags);
  const seen = new Set<string>();
  for (const name of names) {
    const v = tags[name];
    if (typeof v !== "string")
      fail(
        400,
        "InvalidRequestContent",
        `The request content was invalid and could not be deserialized: tag '${name}' must have a string value.`,
      );
    if (seen.has(name.toLowerCase()))
      fail(
        400,
        "InvalidTagNameDuplicate",
        `The tag name '${name}' is specified more than once (tag names are case-insensitive).`,
      );
    seen.add(name.toLowerCase());
  }
  const bad = names.filter((n) => RESERVED.test(n) || CONTROL.test(n));
  if (bad.length > 0)
    fail(
      400,
      "InvalidTagNameCharacters",
      `The tag names '${bad.join(",")}' have reserved characters '<,>,%,&,\\,?,/' or control characters.`,
    );
  const maxName = opts.maxNameLength ?? 512;
  const longName = names.find((n) => n.length > maxName || n.length === 0);
  if (longName !== undefined)
    fail(
      400,
      "InvalidTagNameLength",
      `The tag name '${longName}' exceeds the maximum length of ${maxName} characters or is empty.`,
    );
  const longValue = names.find((n) => (tags[n] as string).length > 256);
  if (longValue !== undefined)
    fail(
      400,
      "InvalidTagValueLength",
      `The value of tag '${longValue}' exceeds the maximum length of 256 characters.`,
    );
  checkCount(names.length);
  return tags as Tags;
}

export function checkCount(count: number): void {
  if (count > MAX_TAGS)
    fail(
      400,
      "TagsLimitExceeded",
      `The number of tags '${count}' exceeds the maximum of ${MAX_TAGS} tags per resource, resource group or subscription.`,
    );
}

/** Merge: existing names keep their casing; new names are added as sent. */
export function mergeTags(existing: Tags | undefined, incoming: Tags): Tags {
  const out: Tags = { ...(existing ?? {}) };
  const byLower = new Map(Object.keys(out).map((k) => [k.toLowerCase(), k]));
  for (const [name, value] of Object.entries(incoming)) {
    const current = byLower.get(name.toLowerCase());
    if (current !== undefined) out[current] = value;
    else {
      out[name] = value;
      byLower.set(name.toLowerCase(), name);
    }
  }
  checkCount(Object.keys(out).length);
  return out;
}

/**
 * Delete: removes each named tag (case-insensitive name). When the request gives a non-empty
 * value, the tag is removed only if its value matches (case-sensitive), per the API's
 * "names or name/value pairs".
 */
export function deleteTags(existing: Tags | undefined, toDelete: Tags): Tags {
  const out: Tags = {};
  const wanted = new Map(Object.entries(toDelete).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [name, value] of Object.entries(existing ?? {})) {
    const w = wanted.get(name.toLowerCase());
    if (w === undefined || (w !== "" && w !== value)) out[name] = value;
  }
  return out;
}

/** Case-insensitive lookup of a tag value. */
export function tagValue(tags: Tags | undefined, name: string): string | undefined {
  if (!tags) return undefined;
  const lowerName = name.toLowerCase();
  for (const [k, v] of Object.entries(tags)) if (k.toLowerCase() === lowerName) return v;
  return undefined;
}
