/**
 * Queue trigger on `promotion-requests`: one promotion request per message. Transient failures
 * throw so the host retries (visibility timeout) and, after maxDequeueCount, moves the message
 * to `promotion-requests-poison`; shared/promotion/process.ts holds the rules.
 */
import type { InvocationContext } from "@azure/functions";
import { azure, loadHeavySdks } from "../shared/azure/clients.js";
import { QUEUES, TABLES } from "../shared/config/settings.js";
import { loggerFor } from "../shared/log.js";
import { getPolicy } from "../shared/policy/index.js";
import type { ExecuteOptions } from "../shared/promotion/execute.js";
import { maxDequeueCount } from "../shared/promotion/hostSettings.js";
import type { ProcessOutcome } from "../shared/promotion/process.js";
import type { FunctionDefinition } from "./definition.js";

/**
 * The promotion code and its SDKs, loaded by the first promotion this instance handles: an
 * instance woken for a tagging event never pays for them.
 */
async function promotionCode() {
  const [code] = await Promise.all([import("../shared/promotion/process.js"), loadHeavySdks()]);
  return code;
}

/** A handler with executor options (fault hooks, back-off) for tests and the CLI; production uses the defaults. */
export function createPromotionHandler(options: ExecuteOptions = {}) {
  return async (message: unknown, context: InvocationContext): Promise<ProcessOutcome> => {
    const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1) || 1;
    const log = loggerFor(context, { function: "processPromotion", invocationId: context.invocationId });
    const { defaultProcessDeps, processPromotionMessage } = await promotionCode();
    const deps = defaultProcessDeps(azure(), getPolicy(), log, {
      promotions: TABLES.promotions,
      audit: TABLES.audit,
    });
    return processPromotionMessage(message, deps, {
      ...options,
      dequeueCount,
      maxDequeueCount: maxDequeueCount(),
    });
  };
}

const handler = createPromotionHandler();

export async function processPromotion(message: unknown, context: InvocationContext): Promise<void> {
  await handler(message, context);
}

export const definitions: FunctionDefinition[] = [
  {
    name: "processPromotion",
    trigger: "storageQueue",
    options: { queueName: QUEUES.promotions, connection: "AzureWebJobsStorage", handler: processPromotion },
  },
];
