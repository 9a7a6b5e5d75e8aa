/**
 * Reading a tag set the way Azure compares tag names: case-insensitively, with a blank value
 * counting as no value. The tag decision and the region rule both read tags through it.
 */
/** Case-insensitive view of a tag set: lower-cased name -> the name as spelled, and its value. */
export function tagView(
  tags: Record<string, string> | undefined,
): Map<string, { key: string; value: string }> {
  const view = new Map<string, { key: string; value: string }>();
  for (const [key, value] of Object.entries(tags ?? {})) {
    const lower = key.toLowerCase();
    // Azure never holds two spellings; if an input does, keep the first deterministically.
    if (!view.has(lower)) view.set(lower, { key, value: String(value) });
  }
  return view;
}

/** The value of tag `name` (any casing) when it is set and not blank. */
export function tagValue(tags: Record<string, string> | undefined, name: string): string | undefined {
  const entry = tagView(tags).get(name.toLowerCase());
  return hasValue(entry) ? entry.value : undefined;
}

/** An empty value attributes no cost, so it counts as missing. */
export function hasValue(entry: { value: string } | undefined): entry is { key: string; value: string } {
  return entry !== undefined && entry.value.trim() !== "";
}
