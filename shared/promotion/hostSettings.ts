/**
 * What host.json says about queue retries, read once. The handler needs maxDequeueCount to know
 * that a delivery is the last one before the host moves the message to the poison queue.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const DEFAULT_MAX_DEQUEUE_COUNT = 5;
let cached: number | undefined;

export function maxDequeueCount(): number {
  if (cached !== undefined) return cached;
  // host.json sits at the app root, two levels above shared/promotion (three from dist/).
  const candidates = ["../../host.json", "../../../host.json"].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  cached = DEFAULT_MAX_DEQUEUE_COUNT;
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const host = JSON.parse(readFileSync(file, "utf8")) as {
      extensions?: { queues?: { maxDequeueCount?: number } };
    };
    const n = host.extensions?.queues?.maxDequeueCount;
    if (typeof n === "number" && n >= 1) cached = n;
    break;
  }
  return cached;
}
