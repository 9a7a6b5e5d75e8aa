/**
 * Counts the ARM and Graph calls an operation makes. Each event, promotion or reconcile run
 * runs inside `countCalls`, and the pipeline hooks in clients.ts add to the counter of the
 * operation they belong to (AsyncLocalStorage keeps concurrent operations apart). Reports and
 * benchmarks read the counts; nothing depends on them for correctness.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface CallCounts {
  armReads: number;
  armWrites: number;
  graphReads: number;
  graphWrites: number;
  /** Responses with status 429 (each one also counts as a call). */
  throttled: number;
}

export function emptyCounts(): CallCounts {
  return { armReads: 0, armWrites: 0, graphReads: 0, graphWrites: 0, throttled: 0 };
}

const storage = new AsyncLocalStorage<CallCounts>();
/** Process-wide totals, for benchmarks that drive many operations. */
export const processCounts: CallCounts = emptyCounts();

export async function countCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: CallCounts }> {
  const calls = emptyCounts();
  const result = await storage.run(calls, fn);
  return { result, calls };
}

export function recordCall(service: "arm" | "graph", method: string, status: number | undefined): void {
  const write = !["GET", "HEAD", "OPTIONS"].includes(method.toUpperCase());
  const key = `${service}${write ? "Writes" : "Reads"}` as
    "armReads" | "armWrites" | "graphReads" | "graphWrites";
  for (const c of [storage.getStore(), processCounts]) {
    if (!c) continue;
    c[key]++;
    if (status === 429) c.throttled++;
  }
}
