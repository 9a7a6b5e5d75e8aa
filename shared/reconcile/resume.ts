/**
 * Continuing a run that reached its time budget in its write phase, without scanning again.
 *
 * At Azure's write ceiling (10 writes/s per identity and subscription) 10,000 drifted resources
 * take 16 minutes of writes, longer than a Function may run. Rescanning in every continuation
 * would spend each invocation's budget re-reading what is known; instead the partial run
 * records where its writes stopped (`resume`) and the continuation streams the rest of the same
 * drift blob. Entries are taken from the blob in order, so "how many were taken" is exact; the
 * few a stop caught between two attempts of their own are recorded by value and go first.
 */
import type { DriftEntry, ReconcileReport, ResumePoint } from "./types.js";

export type { ResumePoint } from "./types.js";

/** The previous run, when this run can finish its writes instead of scanning again. */
export function resumableFrom(
  prev: (ReconcileReport & { resume?: ResumePoint }) | undefined,
  subscriptionId: string,
): (ReconcileReport & { resume: ResumePoint; driftBlob: string }) | undefined {
  if (!prev || prev.status !== "partial" || !prev.resume || !prev.driftBlob) return undefined;
  if (prev.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) return undefined;
  if (prev.resume.phase !== "write" || !prev.guard?.allowed) return undefined;
  return prev as ReconcileReport & { resume: ResumePoint; driftBlob: string };
}

/** `retry` first, then the entries of `source` after the first `skip`. */
export async function* remainingDrift(
  source: AsyncIterable<DriftEntry>,
  skip: number,
  retry: DriftEntry[],
): AsyncGenerator<DriftEntry> {
  yield* retry;
  let i = 0;
  for await (const entry of source) if (i++ >= skip) yield entry;
}
