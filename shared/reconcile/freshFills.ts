/**
 * A drift list is computed at scan time, which on a large subscription is minutes before the
 * write. Tags the policy inherits in `correct` mode win over any value by design, but `fill`
 * mode promises never to overwrite a value someone set: so a patch that fills is checked against
 * the resource's tags as they are now (one read, only for such patches) and keeps only the
 * fills that are still gaps.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { isNotFound } from "../azure/errors.js";
import type { EstatePolicy } from "../policy/schema.js";
import type { DriftEntry } from "./types.js";

export function fillModeNames(policy: EstatePolicy): Set<string> {
  return new Set(policy.tags.inherited.filter((t) => t.mode === "fill").map((t) => t.name.toLowerCase()));
}

/** The part of the entry's patch still to write, or "gone" when the resource no longer exists. */
export async function patchStillNeeded(
  entry: DriftEntry,
  fillNames: ReadonlySet<string>,
  resources: (subscriptionId: string) => ResourceManagementClient,
  subscriptionId: string,
): Promise<Record<string, string> | "gone"> {
  const fills = Object.keys(entry.patch).filter((k) => fillNames.has(k.toLowerCase()));
  if (fills.length === 0) return entry.patch;
  let now: Record<string, string>;
  try {
    now = (await resources(subscriptionId).tagsOperations.getAtScope(entry.id)).properties?.tags ?? {};
  } catch (e) {
    if (isNotFound(e)) return "gone";
    throw e;
  }
  const filled = new Set(
    Object.entries(now)
      .filter(([, v]) => v.trim() !== "")
      .map(([k]) => k.toLowerCase()),
  );
  return Object.fromEntries(
    Object.entries(entry.patch).filter(
      ([k]) => !(fillNames.has(k.toLowerCase()) && filled.has(k.toLowerCase())),
    ),
  );
}
