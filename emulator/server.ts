/**
 * The emulator's HTTPS server. It turns each request into an EmuRequest (collapsing the `//`
 * that scope-taking SDK operations put on the wire, without `new URL(path, base)`, which would
 * read `//subscriptions` as a host name), resolves the bearer token to a caller, applies
 * latency and fault rules, routes, and logs.
 */
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { armError } from "./arm/errors.js";
import { isArmPath, KNOWN_API_VERSIONS } from "./arm/router.js";
import type { FaultInjector } from "./faults.js";
import type { RequestLog, RouteKind } from "./requestLog.js";
import type { EmuRequest, EmuResponse, Principal, Router } from "./types.js";

export interface TokenResolver {
  principalForToken(token: string): Principal | undefined;
  /** Optional: the token's claims, used for ARM's audience check. */
  verifyToken?(token: string): { aud?: string } | undefined;
}

export interface ServerOptions {
  cert: string | Buffer;
  key: string | Buffer;
  host: string;
  port: number;
  directory: TokenResolver;
  faults: FaultInjector;
  log: RequestLog;
  /** Tried in order for /_emulator/... paths (events, token minting, control). */
  emulatorRouters: Router[];
  entra: Router;
  graph: Router;
  arm: Router;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const ARM_AUDIENCES = new Set([
  "https://management.azure.com",
  "https://management.azure.com/",
  "https://management.core.windows.net",
  "https://management.core.windows.net/",
]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Splits the raw request target into a collapsed, decoded path and the query. */
export function parseTarget(rawUrl: string): { path: string; query: URLSearchParams } {
  const q = rawUrl.indexOf("?");
  const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const rawQuery = q >= 0 ? rawUrl.slice(q + 1) : "";
  const segments = rawPath
    .replace(/\/{2,}/g, "/")
    .split("/")
    .map((s) => {
      try {
        // An encoded "/" stays encoded: decoding it would split one segment into two.
        return decodeURIComponent(s.replace(/%2f/gi, "%252F"));
      } catch {
        return s;
      }
    });
  let path = segments.join("/");
  if (!path.startsWith("/")) path = "/" + path;
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return { path, query: new URLSearchParams(rawQuery) };
}

export function routeKind(path: string): RouteKind {
  const lowerPath = path.toLowerCase();
  if (lowerPath.startsWith("/_emulator/eventsubscriptions") || lowerPath.startsWith("/_emulator/events"))
    return "events";
  if (lowerPath.startsWith("/_emulator/tokens")) return "entra";
  if (lowerPath.startsWith("/_emulator")) return "control";
  if (lowerPath.startsWith("/v1.0/") || lowerPath === "/v1.0" || lowerPath.startsWith("/beta/"))
    return "graph";
  if (isArmPath(path)) return "arm";
  return "entra";
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function armAuth(
  opts: ServerOptions,
  authorization: string | undefined,
): { caller?: Principal; error?: EmuResponse } {
  const challenge = (desc: string): Record<string, string> => ({
    "www-authenticate": `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="${desc}"`,
  });
  if (!authorization || !/^Bearer\s+\S/i.test(authorization)) {
    return {
      error: armError(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
        challenge("The authentication failed because of missing 'Authorization' header."),
      ),
    };
  }
  const token = authorization.replace(/^Bearer\s+/i, "").trim();
  const caller = opts.directory.principalForToken(token);
  if (!caller)
    return {
      error: armError(
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid.",
        challenge("The access token is invalid."),
      ),
    };
  const aud = opts.directory.verifyToken?.(token)?.aud;
  if (aud !== undefined && !ARM_AUDIENCES.has(aud)) {
    return {
      error: armError(
        401,
        "InvalidAuthenticationTokenAudience",
        `The access token has been obtained for wrong audience or resource '${aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.`,
        challenge("The access token has been obtained for wrong audience or resource."),
      ),
    };
  }
  return { caller };
}

async function route(opts: ServerOptions, req: EmuRequest, kind: RouteKind): Promise<EmuResponse> {
  const tryAll = async (routers: Router[]): Promise<EmuResponse | undefined> => {
    for (const r of routers) {
      const res = await r(req);
      if (res) return res;
    }
    return undefined;
  };
  let res: EmuResponse | undefined;
  switch (kind) {
    case "events":
    case "control":
      res = await tryAll(opts.emulatorRouters);
      break;
    case "graph":
      res = await opts.graph(req);
      break;
    case "arm": {
      const auth = armAuth(opts, headerOf(req.headers.authorization));
      if (auth.error) return auth.error;
      req.caller = auth.caller;
      res = await opts.arm(req);
      break;
    }
    default:
      res = await opts.entra(req);
  }
  return (
    res ?? {
      status: 404,
      body: {
        error: { code: "NotFound", message: `The emulator does not serve ${req.method} ${req.path}.` },
      },
    }
  );
}

function errorMessageOf(body: unknown): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return `${String(error?.code ?? "")}: ${String(error?.message ?? "")}`;
}

function headerOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function send(res: ServerResponse, method: string, out: EmuResponse): void {
  const headers: Record<string, string> = { ...(out.headers ?? {}) };
  let payload: string | undefined;
  if (out.body !== undefined) {
    if (typeof out.body === "string") payload = out.body;
    else {
      payload = JSON.stringify(out.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type"))
        headers["content-type"] = "application/json; charset=utf-8";
    }
  }
  headers["content-length"] = String(
    payload === undefined || method === "HEAD" ? 0 : Buffer.byteLength(payload),
  );
  res.writeHead(out.status, headers);
  res.end(method === "HEAD" ? undefined : payload);
}

export async function startServer(
  opts: ServerOptions,
): Promise<{ server: https.Server; url: string; close(): Promise<void> }> {
  const server = https.createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    void handle(opts, req, res);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://${opts.host}:${port}`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(opts: ServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const method = (req.method ?? "GET").toUpperCase();
  const { path, query } = parseTarget(req.url ?? "/");
  const kind = routeKind(path);
  let out: EmuResponse;
  let caller: Principal | undefined;
  let faulted = false;
  try {
    const rawBody = await readBody(req);
    let body: unknown;
    if (rawBody.trim() !== "") {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
    }
    const auth = headerOf(req.headers.authorization);
    caller = auth ? opts.directory.principalForToken(auth.replace(/^Bearer\s+/i, "").trim()) : undefined;
    const emuReq: EmuRequest = {
      method,
      path,
      query,
      headers: req.headers,
      rawBody,
      body,
      caller,
      baseUrl: `https://${req.headers.host ?? `${opts.host}`}`,
    };
    // Control and event-inspection endpoints stay fault- and latency-free so tests can always repair the emulator.
    const injectable = kind !== "control" && kind !== "events";
    const settings = opts.faults.get();
    if (injectable && settings.latencyMs > 0) await sleep(settings.latencyMs);
    const fault = injectable
      ? opts.faults.match({
          method,
          path,
          service: kind === "graph" ? "graph" : kind === "arm" ? "arm" : "entra",
          clientRequestId: headerOf(req.headers["client-request-id"]),
        })
      : undefined;
    if (fault) {
      faulted = true;
      out = fault;
    } else out = await route(opts, emuReq, kind);
    caller = emuReq.caller ?? caller;
  } catch (err) {
    out = {
      status: 500,
      body: { error: { code: "InternalServerError", message: `Emulator error: ${(err as Error).message}` } },
    };
    console.error(`[emulator] ${method} ${path} failed:`, err);
  }
  try {
    send(res, method, out);
  } catch (err) {
    console.error("[emulator] failed to send a response:", err);
  }
  const apiVersion = query.get("api-version") ?? undefined;
  opts.log.add({
    at: new Date().toISOString(),
    method,
    path,
    ...(apiVersion ? { apiVersion } : {}),
    ...(kind === "arm" && apiVersion && !KNOWN_API_VERSIONS.has(apiVersion)
      ? { unknownApiVersion: true }
      : {}),
    kind,
    status: out.status,
    ...(caller ? { caller: caller.objectId, callerName: caller.displayName } : {}),
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    ...(faulted ? { faulted: true } : {}),
    ...(out.status === 403 ? { denied: errorMessageOf(out.body) } : {}),
  });
}
