/**
 * Insertion-ordered indexes with stable numeric cursors, and ARM-style paging on top of them.
 * A page resumes from its cursor in O(page) (plus the filtered-out items it skips), so listing a
 * 100,000-resource subscription page by page stays linear overall.
 */
import type { EmuRequest } from "../types.js";

export class OrderedIndex<T> {
  private items: Array<T | undefined> = [];
  private pos = new Map<string, number>();
  private holes = 0;

  get size(): number {
    return this.pos.size;
  }

  add(key: string, item: T): void {
    const at = this.pos.get(key);
    if (at !== undefined) {
      this.items[at] = item;
      return;
    }
    this.pos.set(key, this.items.length);
    this.items.push(item);
  }

  delete(key: string): void {
    const at = this.pos.get(key);
    if (at === undefined) return;
    this.items[at] = undefined;
    this.pos.delete(key);
    this.holes++;
    // Compaction renumbers cursors, so only do it when holes dominate; a client paging across a
    // compaction may see an item twice or miss one, which Azure does not promise either.
    if (this.holes > 4096 && this.holes > this.items.length / 2) this.compact();
  }

  private compact(): void {
    const kept: Array<T | undefined> = [];
    const keys = [...this.pos.entries()].sort((a, b) => a[1] - b[1]);
    this.pos.clear();
    for (const [key, at] of keys) {
      this.pos.set(key, kept.length);
      kept.push(this.items[at]);
    }
    this.items = kept;
    this.holes = 0;
  }

  /** Up to `limit` items matching `pred`, starting at cursor `from`; `next` is undefined at the end. */
  scan(from: number, limit: number, pred: (item: T) => boolean): { items: T[]; next?: number } {
    const out: T[] = [];
    let i = Math.max(0, from);
    for (; i < this.items.length; i++) {
      const item = this.items[i];
      if (item === undefined || !pred(item)) continue;
      if (out.length === limit) return { items: out, next: i };
      out.push(item);
    }
    return { items: out };
  }

  *values(): IterableIterator<T> {
    for (const item of this.items) if (item !== undefined) yield item;
  }
}

/** Reads the page size from $top (when given) bounded by the emulator's configured page size. */
export function pageSizeFor(req: EmuRequest, configured: number): number {
  const top = Number(req.query.get("$top") ?? "");
  if (Number.isInteger(top) && top > 0) return Math.min(top, configured);
  return configured;
}

export function cursorFrom(req: EmuRequest): number {
  for (const name of ["$skiptoken", "$skipToken", "skiptoken", "$skipToken".toLowerCase()]) {
    const v = req.query.get(name);
    if (v !== null) {
      const n = Number(v);
      if (Number.isInteger(n) && n >= 0) return n;
    }
  }
  return 0;
}

/** nextLink = the same request with the cursor replaced, so filters and api-version carry over. */
export function nextLinkFor(
  req: EmuRequest,
  next: number | undefined,
  tokenName = "$skiptoken",
): string | undefined {
  if (next === undefined) return undefined;
  const q = new URLSearchParams();
  for (const [k, v] of req.query)
    if (k.toLowerCase() !== "$skiptoken" && k.toLowerCase() !== "skiptoken") q.append(k, v);
  q.set(tokenName, String(next));
  return `${req.baseUrl}${encodePath(req.path)}?${q.toString().replace(/\+/g, "%20").replace(/%24/g, "$")}`;
}

export function encodePath(path: string): string {
  return path
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");
}

export function page<T>(value: T[], nextLink: string | undefined): { value: T[]; nextLink?: string } {
  return nextLink ? { value, nextLink } : { value };
}
