/**
 * HTTP triggers under `/api/`, as the host routes them: the route template (default: the
 * function's name) with `{name}`, `{name:constraint}`, `{name?}` and `{*rest}` segments, the
 * allowed methods, and the authorization level. `function` needs a function or host key (`code`
 * query parameter or `x-functions-key` header), `admin` the master key; Core Tools skips keys
 * locally, this runner does not, so a missing key fails here as it would in Azure.
 */
import { timingSafeEqual } from "node:crypto";
import type { HttpResponseInit } from "@azure/functions";
// @azure/functions is CommonJS whose named exports Node's ESM loader cannot detect: use the default.
import functionsLib from "@azure/functions";

const { HttpRequest, HttpResponse } = functionsLib;
import type { FunctionDefinition } from "../../functions/definition.js";
import { invokeFunction, type InvocationResult } from "./invoke.js";
import type { HostLog } from "./log.js";
import type { WebhookResponse } from "./eventGrid.js";

export type HttpDef = Extract<FunctionDefinition, { trigger: "http" }>;

export interface HostKeys {
  /** Admin endpoints and every function. */
  master: string;
  /** Any authLevel "function" function (Azure: the host's default key). */
  function: string;
  /** The Event Grid extension's system key (`code` on the webhook URL). */
  eventGrid: string;
}

const CONSTRAINTS: Record<string, RegExp> = {
  guid: /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/,
  int: /^-?\d+$/,
  long: /^-?\d+$/,
  alpha: /^[A-Za-z]+$/,
  bool: /^(true|false)$/i,
};

/** Matches `/a/b/c` against a route template; returns the route parameters or undefined. */
export function matchRoute(template: string, path: string): Record<string, string> | undefined {
  const t = template.split("/").filter(Boolean);
  const p = path.split("/").filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const seg = t[i]!;
    const token = /^\{(\*)?([A-Za-z0-9_]+)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\?)?\}$/.exec(seg);
    if (!token) {
      if (p[i]?.toLowerCase() !== seg.toLowerCase()) return undefined;
      continue;
    }
    const [, catchAll, name, constraint, optional] = token;
    if (catchAll) {
      params[name!] = p.slice(i).map(decodeURIComponent).join("/");
      return params;
    }
    const value = p[i];
    if (value === undefined) {
      if (optional) continue;
      return undefined;
    }
    const decoded = decodeURIComponent(value);
    const rule = constraint ? CONSTRAINTS[constraint.toLowerCase()] : undefined;
    if (rule && !rule.test(decoded)) return undefined;
    params[name!] = decoded;
  }
  return p.length <= t.length ? params : undefined;
}

function sameKey(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function keyOf(url: URL, headers: Record<string, string | string[] | undefined>): string | undefined {
  const h = headers["x-functions-key"];
  return url.searchParams.get("code") ?? (Array.isArray(h) ? h[0] : h);
}

export function authorised(
  level: "anonymous" | "function" | "admin",
  key: string | undefined,
  keys: HostKeys,
): boolean {
  if (level === "anonymous") return true;
  if (sameKey(key, keys.master)) return true;
  return level === "function" && sameKey(key, keys.function);
}

async function toWire(value: unknown): Promise<WebhookResponse> {
  const res = value instanceof HttpResponse ? value : new HttpResponse((value ?? {}) as HttpResponseInit);
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  const body = Buffer.from(await res.arrayBuffer()).toString("utf8");
  return { status: res.status, headers, body };
}

export async function handleHttpTrigger(
  url: URL,
  method: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  defs: readonly HttpDef[],
  keys: HostKeys,
  log: HostLog,
  onInvocation: (r: InvocationResult) => void,
  timeoutMs?: number,
): Promise<WebhookResponse | undefined> {
  const path = url.pathname.replace(/^\/api/, "");
  let methodMismatch = false;
  for (const def of defs) {
    const params = matchRoute(def.options.route ?? def.name, path);
    if (!params) continue;
    const methods = (def.options.methods ?? ["GET", "POST"]).map((m) => m.toUpperCase());
    if (!methods.includes(method)) {
      methodMismatch = true;
      continue;
    }
    if (!authorised(def.options.authLevel ?? "function", keyOf(url, headers), keys)) {
      return { status: 401 };
    }
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers))
      if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(", ") : v;
    const request = new HttpRequest({
      method,
      url: url.toString(),
      headers: flat,
      query: Object.fromEntries(url.searchParams),
      params,
      ...(body.length > 0 ? { body: { bytes: body } } : {}),
    });
    const result = await invokeFunction(def, request, log, {
      reason: `This function was programmatically called via the host APIs (HTTP ${method} ${url.pathname}).`,
      ...(timeoutMs ? { timeoutMs } : {}),
    });
    onInvocation(result);
    if (!result.ok) return { status: 500 };
    return toWire(result.value);
  }
  return methodMismatch ? { status: 405 } : undefined;
}
