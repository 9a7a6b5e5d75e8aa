/**
 * A deadline for everything one piece of work sends to Azure, without threading a signal
 * through every call: `withDeadline` puts the deadline in the async context, and
 * `deadlinePolicy` (in every ARM client's pipeline, before the retry policy) refuses to start a
 * request after it and aborts one, or the SDK's wait before a retry, when it passes.
 *
 * Why: Event Grid waits 30 s for the webhook and redelivers on its own schedule; an SDK that
 * honours eight Retry-Afters of up to two minutes each keeps the delivery (and the resource's
 * lock) for minutes while redeliveries queue behind it. Giving up early and letting Event Grid
 * redeliver costs nothing, because the handler converges.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";

export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
  readonly code = "DeadlineExceeded";
  constructor(budgetMs: number) {
    super(`gave up after the ${budgetMs} ms budget; the sender may redeliver`);
  }
}

interface Deadline {
  at: number;
  budgetMs: number;
}

const current = new AsyncLocalStorage<Deadline>();

/**
 * Runs `fn` with a deadline `budgetMs` from now. Settles by the deadline even if something
 * outside the ARM pipeline (Graph, Table storage) is still waiting: that work may finish
 * later, harmlessly, since what it writes is convergent.
 */
export async function withDeadline<T>(budgetMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline: Deadline = { at: Date.now() + budgetMs, budgetMs };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(budgetMs)), budgetMs);
  });
  try {
    return await Promise.race([current.run(deadline, fn), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Milliseconds left before the current deadline, or undefined outside withDeadline. */
export function timeLeftMs(): number | undefined {
  const d = current.getStore();
  return d ? d.at - Date.now() : undefined;
}

/**
 * The current deadline (epoch ms and the budget it came from), or undefined outside
 * withDeadline. The lean clients give each exchange a timer to it (httpSend.ts).
 */
export function currentDeadline(): Deadline | undefined {
  return current.getStore();
}

export const deadlinePolicy: PipelinePolicy = {
  name: "stewardDeadline",
  async sendRequest(request, next) {
    const d = current.getStore();
    if (!d) return next(request);
    const left = d.at - Date.now();
    if (left <= 0) throw new DeadlineExceeded(d.budgetMs);
    const timeout = AbortSignal.timeout(left);
    // The pipeline's own signal type is a structural subset of the DOM one, which any() needs.
    const own = request.abortSignal as AbortSignal | undefined;
    request.abortSignal = own ? AbortSignal.any([own, timeout]) : timeout;
    return next(request);
  },
};
