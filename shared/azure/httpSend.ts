/**
 * One HTTP exchange on Node's own http/https modules, with a keep-alive agent per protocol, for
 * the lean clients of the event path. No pipeline: the caller (restCall.ts) does auth, retries,
 * pacing and counting. TLS is Node's default verification, so the emulator's CA is trusted
 * only through NODE_EXTRA_CA_CERTS, as for the SDKs. (Measured against global fetch: undici's
 * request and stream machinery cost more CPU per call than http.request here.)
 */
import http from "node:http";
import https from "node:https";

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /**
   * Epoch ms after which the exchange is abandoned (an `AbortError`, as an aborted signal gives).
   * A timer per exchange rather than an AbortSignal: Node attaches a signal to a request with an
   * abort listener and end-of-stream watchers, the dearest part of a warm call after the socket
   * write itself.
   */
  deadlineAt?: number;
}

export interface HttpResponse {
  status: number;
  /** Lower-cased names, as Node gives them. */
  headers: http.IncomingHttpHeaders;
  text: string;
}

// Sockets are kept between calls (TLS set-up is the dearest part of a cold call); idle ones are
// dropped after 30 s, before Azure's front doors or the load balancer would (4 minutes).
const agentOptions = { keepAlive: true, keepAliveMsecs: 1_000, timeout: 30_000, scheduling: "lifo" as const };
const agents = { "https:": new https.Agent(agentOptions), "http:": new http.Agent(agentOptions) };

export function httpSend(req: HttpRequest): Promise<HttpResponse> {
  const secure = req.url.protocol === "https:";
  const headers: Record<string, string | number> = { ...req.headers };
  if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
  return new Promise((resolve, reject) => {
    // Options rather than the URL: Node would convert the URL into these on every call.
    const request = (secure ? https : http).request(
      {
        protocol: req.url.protocol,
        hostname: req.url.hostname.replace(/^\[(.*)\]$/, "$1"), // IPv6 literals come bracketed
        port: req.url.port,
        path: req.url.pathname + req.url.search,
        method: req.method,
        headers,
        agent: agents[secure ? "https:" : "http:"],
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", fail);
        res.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"),
          });
        });
      },
    );
    const timer =
      req.deadlineAt === undefined
        ? undefined
        : setTimeout(() => request.destroy(abortError()), Math.max(0, req.deadlineAt - Date.now()));
    function fail(e: Error) {
      clearTimeout(timer);
      reject(e);
    }
    request.on("error", fail);
    request.end(req.body);
  });
}

function abortError(): Error {
  const e = new Error("The operation was aborted");
  e.name = "AbortError";
  return e;
}
