/**
 * One function invocation as the host makes it: a real InvocationContext (invocation id,
 * function name, trigger metadata, retry context, a log handler into the host log), the
 * "Executing"/"Executed" lines the host writes, the function timeout, and a result record that
 * the triggers use to decide what happens next (delete, retry, poison, HTTP 500...).
 */
import { randomUUID } from "node:crypto";
import type { RetryContext, TriggerMetadata } from "@azure/functions";
// @azure/functions is CommonJS whose named exports Node's ESM loader cannot detect: use the default.
import functionsLib from "@azure/functions";
import type { FunctionDefinition } from "../../functions/definition.js";
import { levelOf, splitMessage, type HostLog } from "./log.js";

export interface InvocationResult {
  invocationId: string;
  functionName: string;
  trigger: FunctionDefinition["trigger"];
  /** Why the host ran it, e.g. "New queue message detected on 'promotion-requests'." */
  reason: string;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  /** The handler's return value (HTTP responses are read from it). */
  value?: unknown;
  error?: { name: string; message: string; stack?: string };
  triggerMetadata?: TriggerMetadata;
}

export interface InvokeOptions {
  reason: string;
  triggerMetadata?: TriggerMetadata;
  retryContext?: RetryContext;
  timeoutMs?: number;
}

class FunctionTimeoutError extends Error {
  override name = "FunctionTimeoutException";
}

function errorInfo(e: unknown): NonNullable<InvocationResult["error"]> {
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { name: "Error", message: typeof e === "string" ? e : JSON.stringify(e) };
}

/** Which `type` the host gives each trigger in the function's effective options. */
const TRIGGER_TYPE: Record<FunctionDefinition["trigger"], string> = {
  eventGrid: "eventGridTrigger",
  storageQueue: "queueTrigger",
  http: "httpTrigger",
  timer: "timerTrigger",
};

export async function invokeFunction(
  def: FunctionDefinition,
  input: unknown,
  log: HostLog,
  opts: InvokeOptions,
): Promise<InvocationResult> {
  const invocationId = randomUUID();
  const context = new functionsLib.InvocationContext({
    invocationId,
    functionName: def.name,
    triggerMetadata: opts.triggerMetadata,
    retryContext: opts.retryContext,
    options: { trigger: { type: TRIGGER_TYPE[def.trigger], name: `${def.trigger}Trigger` } },
    logHandler: (level, ...args) => {
      log.emit({
        level: levelOf(level),
        category: "function",
        functionName: def.name,
        invocationId,
        ...splitMessage(args),
      });
    },
  });
  const startedAt = new Date();
  log.emit({
    level: "info",
    category: "host",
    functionName: def.name,
    invocationId,
    message: `Executing 'Functions.${def.name}' (Reason='${opts.reason}')`,
  });

  let timer: NodeJS.Timeout | undefined;
  let result: InvocationResult;
  try {
    // The handler types differ per trigger; the runner hands each the input its trigger defines.
    const handler = def.options.handler as (input: unknown, ctx: typeof context) => unknown;
    const running = Promise.resolve().then(() => handler(input, context));
    const value = opts.timeoutMs
      ? await Promise.race([
          running,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new FunctionTimeoutError(
                    `Timeout value of ${opts.timeoutMs} ms was exceeded by function: Functions.${def.name}`,
                  ),
                ),
              opts.timeoutMs,
            );
            timer.unref();
          }),
        ])
      : await running;
    result = base(true);
    result.value = value;
  } catch (e) {
    result = base(false);
    result.error = errorInfo(e);
  } finally {
    if (timer) clearTimeout(timer);
  }
  log.emit({
    level: result.ok ? "info" : "error",
    category: "host",
    functionName: def.name,
    invocationId,
    message: `Executed 'Functions.${def.name}' (${result.ok ? "Succeeded" : "Failed"}, Duration=${result.durationMs}ms)`,
    ...(result.error ? { fields: { error: result.error.message } } : {}),
  });
  return result;

  function base(ok: boolean): InvocationResult {
    return {
      invocationId,
      functionName: def.name,
      trigger: def.trigger,
      reason: opts.reason,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      ok,
      ...(opts.triggerMetadata ? { triggerMetadata: opts.triggerMetadata } : {}),
    };
  }
}
