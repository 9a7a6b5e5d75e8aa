/** Plain-text tables for people: padded columns, numbers right-aligned, long cells cut. */
export type Cell = string | number | boolean | undefined | null;

export function renderTable(headers: string[], rows: Cell[][], opts: { maxWidth?: number } = {}): string {
  const max = opts.maxWidth ?? 80;
  const text = (c: Cell) => {
    const s = c === undefined || c === null ? "" : String(c);
    return s.length > max ? s.slice(0, max - 1) + "…" : s;
  };
  const cells = [headers, ...rows.map((r) => headers.map((_, i) => text(r[i])))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  if (rows.length === 0) return `${line(headers)}\n(none)`;
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** The last segments of an ARM id, which is what a person recognises. */
export function shortId(id: string, segments = 4): string {
  const parts = id.split("/").filter(Boolean);
  return parts.length <= segments ? id : "…/" + parts.slice(-segments).join("/");
}
