/**
 * One Azure REST call of the event path's lean clients, with what the SDK pipelines did around
 * it and nothing else: authorization per attempt, the SDKs' retry rules (retryRules.ts), the
 * event's deadline (deadline.ts), ARM's client-side pacing (ratePacer.ts) and the call counter
 * (callCounter.ts), all per attempt as the SDK policies were. Errors are thrown as
 * `AzureRestError`, which carries what callers read off the SDKs' RestError (`statusCode`,
 * `code`, `details`), so errors.ts classifies both alike.
 */
import { randomUUID } from "node:crypto";
import { recordCall } from "./callCounter.js";
import { currentDeadline, DeadlineExceeded } from "./deadline.js";
import { httpSend, type HttpResponse } from "./httpSend.js";
import { pacerFor, operationTypeOf } from "./ratePacer.js";
import { retryDelay, type RetryOptions } from "./retryRules.js";

export interface RestCall {
  /** "arm" calls are paced and counted like the ARM SDK clients' ("table" calls are neither). */
  service: "arm" | "table";
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** The Authorization header for one attempt (a shared-key signature covers its date). */
  authorize(headers: Record<string, string>): Promise<string>;
  retry: RetryOptions;
}

export interface RestResult {
  status: number;
  headers: HttpResponse["headers"];
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown;
}

/** A refused call, shaped like the SDKs' RestError for errors.ts and the callers' checks. */
export class AzureRestError extends Error {
  override name = "RestError";
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly code: string | undefined,
    /** The parsed error body. */
    readonly details?: unknown,
    readonly request?: { method: string; url: string; clientRequestId: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const USER_AGENT = `aml-steward (lean; Node/${process.version}; ${process.platform})`;

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** ARM: {error:{code,message}}; Table Storage: {"odata.error":{code,message:{value}}}. */
function errorFrom(res: HttpResponse, call: RestCall, clientRequestId: string): AzureRestError {
  const body = parseBody(res.text) as
    | {
        error?: { code?: string; message?: string };
        "odata.error"?: { code?: string; message?: { value?: string } };
      }
    | string
    | undefined;
  const err = typeof body === "object" ? body?.error : undefined;
  const odata = typeof body === "object" ? body?.["odata.error"] : undefined;
  const code = err?.code ?? odata?.code ?? (res.headers["x-ms-error-code"] as string | undefined);
  const message =
    err?.message ??
    odata?.message?.value ??
    (typeof body === "string" && body ? body : `status ${res.status}`);
  return new AzureRestError(message, res.status, code, body, {
    method: call.method,
    url: call.url.href,
    clientRequestId,
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function restCall(call: RestCall): Promise<RestResult> {
  const deadline = currentDeadline();
  const clientRequestId = randomUUID();
  const headers: Record<string, string> = {
    ...call.headers,
    "x-ms-client-request-id": clientRequestId,
    "user-agent": USER_AGENT,
  };
  const pacer = call.service === "arm" ? armPacer(call.url, call.method) : undefined;

  for (let retryCount = 0; ; retryCount++) {
    const left = deadline ? deadline.at - Date.now() : undefined;
    if (left !== undefined && left <= 0) throw new DeadlineExceeded(deadline!.budgetMs);
    headers.authorization = await call.authorize(headers);

    let res: HttpResponse | undefined;
    let failure: unknown;
    await pacer?.acquire();
    try {
      res = await httpSend({
        method: call.method,
        url: call.url,
        headers,
        body: call.body,
        deadlineAt: deadline?.at,
      });
    } catch (e) {
      failure = e;
    }
    if (pacer) {
      pacer.release();
      const remaining = res?.headers[`x-ms-ratelimit-remaining-subscription-${operationTypeOf(call.method)}`];
      pacer.observe(remaining === undefined ? undefined : Number(remaining), res?.status === 429);
    }
    if (call.service === "arm") recordCall("arm", call.method, res?.status);

    if (res && res.status < 400)
      return { status: res.status, headers: res.headers, body: parseBody(res.text) };
    if (!res && (failure as Error).name === "AbortError" && deadline)
      throw new DeadlineExceeded(deadline.budgetMs);

    const errorCode = (failure as { code?: string } | undefined)?.code;
    const wait = retryDelay(
      { status: res?.status, headers: res?.headers, errorCode },
      retryCount,
      call.retry,
    );
    const error = res
      ? errorFrom(res, call, clientRequestId)
      : new AzureRestError(
          `${call.method} ${call.url.host}: ${(failure as Error).message}`,
          undefined,
          errorCode ?? "REQUEST_SEND_ERROR",
          undefined,
          { method: call.method, url: call.url.href, clientRequestId },
          { cause: failure },
        );
    if (wait === undefined) throw error;
    const leftNow = deadline ? deadline.at - Date.now() : undefined;
    // A wait the budget cannot hold fails now, with the answer that asked for it: Event Grid
    // redelivers sooner than the deadline would, and the log says why.
    if (leftNow !== undefined && wait >= leftNow) {
      throw new AzureRestError(
        `${error.message} (the retry ${Math.ceil(wait / 1000)} s later would pass the ${deadline!.budgetMs} ms budget)`,
        error.statusCode,
        error.code,
        error.details,
        error.request,
        { cause: failure ?? error },
      );
    }
    await sleep(wait);
  }
}

/** ARM's per-subscription buckets, as pacingPolicy finds them from the URL. */
function armPacer(url: URL, method: string) {
  const sub = /^\/+subscriptions\/([^/?#]+)/i.exec(url.pathname)?.[1];
  return sub ? pacerFor(decodeURIComponent(sub), operationTypeOf(method)) : undefined;
}
