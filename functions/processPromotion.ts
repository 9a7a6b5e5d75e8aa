/**
 * Queue trigger on `promotion-requests`: one envelope per message (a request or an approval,
 * with the sender's access token). Transient failures throw so the host retries (visibility
 * timeout) and, after maxDequeueCount, moves the message to `promotion-requests-poison`;
 * shared/promotion/process.ts holds the rules.
 */
import type { InvocationContext } from "@azure/functions";
import { callerTokens } from "../shared/auth/callerToken.js";
import { memberGroups } from "../shared/auth/membership.js";
import { azure } from "../shared/azure/clients.js";
import { getSettings, QUEUES, TABLES } from "../shared/config/settings.js";
import { loggerFor } from "../shared/log.js";
import { getPolicy } from "../shared/policy/index.js";
import type { ExecuteOptions } from "../shared/promotion/execute.js";
import { maxDequeueCount } from "../shared/promotion/hostSettings.js";
import {
  defaultProcessDeps,
  processPromotionMessage,
  type ProcessOutcome,
} from "../shared/promotion/process.js";
import type { FunctionDefinition } from "./definition.js";

/** A handler with executor options (fault hooks, back-off) for tests and the CLI; production uses the defaults. */
export function createPromotionHandler(options: ExecuteOptions = {}) {
  return async (message: unknown, context: InvocationContext): Promise<ProcessOutcome> => {
    const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1) || 1;
    const messageId = context.triggerMetadata?.id;
    const log = loggerFor(context, { function: "processPromotion", invocationId: context.invocationId });
    const clients = azure();
    const deps = defaultProcessDeps(
      clients,
      getPolicy(),
      log,
      { promotions: TABLES.promotions, audit: TABLES.audit },
      callerTokens(getSettings()),
      (objectId, groupIds) => memberGroups(clients, objectId, groupIds),
    );
    return processPromotionMessage(message, deps, {
      ...options,
      dequeueCount,
      maxDequeueCount: maxDequeueCount(),
      messageId: typeof messageId === "string" ? messageId : undefined,
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
