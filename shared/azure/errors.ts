/**
 * One reading of the errors the ARM SDKs (RestError), the Graph client (GraphError) and the
 * storage SDKs throw, so that every caller agrees on what is transient, missing or conflicting.
 */
export interface ErrorFacts {
  status?: number;
  code?: string;
  message: string;
}

export function errorFacts(e: unknown): ErrorFacts {
  const err = e as {
    statusCode?: number;
    status?: number;
    code?: string | number;
    message?: string;
    details?: { error?: { code?: string } };
  };
  const status =
    typeof err?.statusCode === "number"
      ? err.statusCode
      : typeof err?.status === "number"
        ? err.status
        : undefined;
  const code = typeof err?.code === "string" ? err.code : err?.details?.error?.code;
  return { status, code, message: err?.message ?? String(e) };
}

/** Worth retrying later: throttling, server errors, timeouts and network failures. */
export function isTransient(e: unknown): boolean {
  const { status, code } = errorFacts(e);
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) return true;
  if (status === undefined) {
    return [
      "ECONNRESET",
      "ECONNREFUSED",
      "ETIMEDOUT",
      "EAI_AGAIN",
      "EPIPE",
      "REQUEST_SEND_ERROR",
      "RetryAfterTimeout",
    ].includes(code ?? "");
  }
  return false;
}

export function isNotFound(e: unknown): boolean {
  return errorFacts(e).status === 404;
}

export function hasCode(e: unknown, code: string): boolean {
  return errorFacts(e).code?.toLowerCase() === code.toLowerCase();
}
