/**
 * Plain-text tables for people: padded columns, numbers right-aligned. A table that does not fit
 * the terminal first drops the columns its caller marked as optional, then wraps the one column
 * marked as wrappable; `--wide` (no width) shows every column in full, and `--json` is never
 * touched by any of this.
 */
export type Cell = string | number | boolean | undefined | null;

export interface TableOptions {
  /** Cut any cell longer than this (a safety net for one-line cells). Default: no cut. */
  maxWidth?: number;
  /** The width to fit (terminal columns). Undefined: no fitting (--wide, or output is not a terminal). */
  width?: number;
  /** Column indexes dropped first to last when the table is too wide. */
  drop?: number[];
  /** The columns whose cells wrap onto more lines when the table is still too wide. */
  wrap?: number | number[];
}

const GAP = 2;
const MIN_WRAP = 20;

function cellText(c: Cell, max: number | undefined): string {
  const s = c === undefined || c === null ? "" : String(c);
  return max !== undefined && s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** Breaks text into lines of at most `width`, at spaces, slashes, commas or dashes when it can. */
export function wrapText(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const window = rest.slice(0, width + 1);
    const at = Math.max(
      window.lastIndexOf(" "),
      window.lastIndexOf("/", width - 1) + 1,
      window.lastIndexOf(",", width - 1) + 1,
      window.lastIndexOf("-", width - 1) + 1,
    );
    const cut = at > width / 3 ? at : width;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) lines.push(rest);
  return lines;
}

export function renderTable(headers: string[], rows: Cell[][], opts: TableOptions = {}): string {
  let cols = headers.map((_, i) => i);
  const text = rows.map((r) => headers.map((_, i) => cellText(r[i], opts.maxWidth)));
  const natural = (i: number) => Math.max(headers[i]!.length, ...text.map((r) => r[i]!.length));
  const total = (cs: number[], w: (i: number) => number) =>
    cs.reduce((n, i) => n + w(i), 0) + GAP * Math.max(0, cs.length - 1);

  const wrapCols = opts.wrap === undefined ? [] : Array.isArray(opts.wrap) ? opts.wrap : [opts.wrap];
  const hidden: string[] = [];
  const widths = new Map(cols.map((i) => [i, natural(i)]));
  if (opts.width !== undefined && rows.length > 0) {
    const minOf = (i: number) =>
      wrapCols.includes(i) ? Math.min(natural(i), Math.max(MIN_WRAP, headers[i]!.length)) : natural(i);
    for (const d of opts.drop ?? []) {
      if (total(cols, minOf) <= opts.width) break;
      if (cols.includes(d) && cols.length > 1) {
        cols = cols.filter((c) => c !== d);
        hidden.push(headers[d]!);
      }
    }
    const wrapping = wrapCols.filter((c) => cols.includes(c));
    if (wrapping.length && total(cols, natural) > opts.width) {
      // What the fixed columns leave is shared among the wrapping ones, in proportion to their text.
      const fixed = cols.filter((c) => !wrapping.includes(c));
      const room =
        opts.width - total(fixed, natural) - GAP * (fixed.length ? wrapping.length : wrapping.length - 1);
      // Each gets its minimum, then the rest of the room in proportion to what it lacks.
      const base = wrapping.reduce((n, c) => n + minOf(c), 0);
      const lack = wrapping.reduce((n, c) => n + natural(c) - minOf(c), 0);
      const spare = Math.max(0, room - base);
      // Short of even the minimums (nothing left to drop): shrink them alike rather than overflow.
      if (room < base)
        for (const c of wrapping) widths.set(c, Math.max(6, Math.floor((room * minOf(c)) / base)));
      else
        for (const c of wrapping)
          widths.set(
            c,
            Math.min(
              natural(c),
              minOf(c) + (lack ? Math.floor((spare * (natural(c) - minOf(c))) / lack) : 0),
            ),
          );
    }
  }
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  const line = (cells: Map<number, string>) =>
    cols
      .map((i) => {
        const c = cells.get(i) ?? "";
        return numeric[i] ? c.padStart(widths.get(i)!) : c.padEnd(widths.get(i)!);
      })
      .join(" ".repeat(GAP))
      .trimEnd();
  const head = line(new Map(cols.map((i) => [i, headers[i]!])));
  if (rows.length === 0) return `${head}\n(none)`;
  const body = text.flatMap((r) => {
    const parts = new Map(cols.map((i) => [i, wrapText(r[i]!, widths.get(i)!)]));
    const height = Math.max(...[...parts.values()].map((p) => p.length));
    return Array.from({ length: height }, (_, k) =>
      line(new Map(cols.map((i) => [i, parts.get(i)![k] ?? ""]))),
    );
  });
  const out = [head, cols.map((i) => "-".repeat(widths.get(i)!)).join(" ".repeat(GAP)), ...body];
  if (hidden.length)
    out.push(`(${hidden.join(", ")} not shown to fit ${opts.width} columns; --wide shows all)`);
  return out.join("\n");
}

/**
 * An ARM id as a person reads it: `rg/NAME` for a resource group, `RG/TYPE/NAME` for a resource
 * in one (child types joined, e.g. `workspaces/models/NAME`), `sub/ID` for a subscription.
 * Anything else (a group:..., a path) comes back unchanged.
 */
export function shortId(id: string): string {
  const m = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?(?:\/providers\/[^/]+\/(.+))?\/?$/i.exec(
    id,
  );
  if (!m) return id;
  const [, sub, rg, rest] = m;
  if (!rest) return rg ? `rg/${rg}` : `sub/${sub}`;
  return rg ? `${rg}/${rest}` : rest;
}
