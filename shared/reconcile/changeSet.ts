/**
 * The identity of the exact set of tag changes a run would write, so an approval of a blocked
 * run covers that set and no other. The scan streams pages in whatever order ARM lists them, so
 * the hash must not depend on order and must not need the whole set in memory: each change is
 * hashed on its own and the hashes are added modulo 2^256 (a multiset hash). Two runs with the
 * same changes get the same hash; adding, removing or altering any one change alters it.
 */
import { createHash } from "node:crypto";
import type { DriftEntry } from "./types.js";

const MOD = 1n << 256n;

export class ChangeSetHash {
  private sum = 0n;
  private n = 0;

  add(d: Pick<DriftEntry, "id" | "patch">): void {
    const patch = Object.keys(d.patch)
      .map((k) => [k.toLowerCase(), d.patch[k]] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const h = createHash("sha256")
      .update(JSON.stringify([d.id.toLowerCase(), patch]))
      .digest("hex");
    this.sum = (this.sum + BigInt(`0x${h}`)) % MOD;
    this.n++;
  }

  /** `{count}:{hex}`: the count makes an empty set and a collision of sums tell apart. */
  digest(): string {
    return `${this.n}:${this.sum.toString(16).padStart(64, "0")}`;
  }
}
