/**
 * The local Functions host: runs the app's real handlers (the same FunctionDefinitions that
 * functions/index.ts registers in Azure) with the host's trigger semantics, because Core Tools
 * cannot be installed here. One HTTP server on loopback serves:
 *
 *   POST /runtime/webhooks/eventgrid?functionName={name}[&code={eventGrid key}]   Event Grid trigger
 *   {GET,POST,...} /api/{route}[?code={key}]                                         HTTP triggers
 *   POST /admin/functions/{name}  {"input": "..."}  (x-functions-key: master)         run any non-HTTP function now
 *   GET  /admin/host/status                                                           {state, functions}
 *
 * and in the process: one queue listener per storage-queue function (Azurite or Azure
 * Storage) and one schedule per timer. Every invocation is recorded (bounded) and announced, so
 * tests and the demo wait for outcomes instead of sleeping.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FunctionDefinition } from "../../functions/definition.js";
import {
  hostSettings,
  readHostJson,
  DEFAULT_HOST_JSON,
  type HostSettings,
  type QueueHostOptions,
} from "./config.js";
import { handleEventGridWebhook, type WebhookResponse } from "./eventGrid.js";
import { authorised, handleHttpTrigger, keyOf, type HostKeys, type HttpDef } from "./httpTrigger.js";
import { invokeFunction, type InvocationResult } from "./invoke.js";
import { HostLog, type HostLogOptions } from "./log.js";
import { QueueListener, type PoisonRecord } from "./queueListener.js";
import { queueServiceFor } from "./storage.js";
import { parseSchedule, TimerSchedule } from "./timer.js";

export type { InvocationResult } from "./invoke.js";
export type { PoisonRecord } from "./queueListener.js";
export type { HostKeys } from "./httpTrigger.js";
export { HostLog } from "./log.js";

export interface StartHostOptions {
  definitions: readonly FunctionDefinition[];
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback by default; the runner is for one machine. */
  hostname?: string;
  hostJsonPath?: string;
  /** Overrides of host.json's queue settings (tests and the demo shorten the clock). */
  queues?: Partial<QueueHostOptions>;
  functionTimeoutMs?: number;
  /** App settings: storage connections and %SETTING% references (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Keys the endpoints accept; random ones are made when absent. */
  keys?: Partial<HostKeys>;
  /** "schedule" (default) fires timers on their NCRONTAB schedule; "manual" only on demand. */
  timers?: "schedule" | "manual";
  /** Functions to leave out (like the host's AzureWebJobs.{name}.Disabled setting). */
  disabled?: readonly string[];
  log?: HostLog | HostLogOptions;
  /** How many invocation results to keep (default 2000). */
  keepInvocations?: number;
}

export interface LocalHost {
  url: string;
  keys: HostKeys;
  settings: HostSettings;
  log: HostLog;
  functions: readonly FunctionDefinition[];
  /** The webhook URL an Event Grid subscription should deliver to, key included. */
  eventGridWebhookUrl(functionName: string): string;
  /** Runs a timer function now (as the admin endpoint does); resolves with its invocation. */
  runTimer(functionName: string): Promise<InvocationResult>;
  /** Next scheduled run of a timer function. */
  nextRun(functionName: string): Date | undefined;
  /** Recent invocations, oldest first. */
  invocations: InvocationResult[];
  /** Messages moved to poison queues. */
  poisoned: PoisonRecord[];
  /** Resolves with the first invocation (from now, or already recorded if `includePast`) that matches. */
  waitForInvocation(
    match: (r: InvocationResult) => boolean,
    opts?: { timeoutMs?: number; includePast?: boolean },
  ): Promise<InvocationResult>;
  waitForPoison(match: (p: PoisonRecord) => boolean, opts?: { timeoutMs?: number }): Promise<PoisonRecord>;
  onInvocation(listener: (r: InvocationResult) => void): () => void;
  /** Number of queue messages being processed right now. */
  busy(): number;
  stop(): Promise<void>;
}

const newKey = () => randomBytes(24).toString("base64url");

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, r: WebhookResponse): void {
  res.writeHead(r.status, r.headers ?? {});
  res.end(r.body ?? "");
}

export async function startHost(opts: StartHostOptions): Promise<LocalHost> {
  const env = opts.env ?? process.env;
  const log = opts.log instanceof HostLog ? opts.log : new HostLog(opts.log);
  const settings = hostSettings(readHostJson(opts.hostJsonPath ?? DEFAULT_HOST_JSON), {
    ...(opts.queues ? { queues: opts.queues } : {}),
    ...(opts.functionTimeoutMs ? { functionTimeoutMs: opts.functionTimeoutMs } : {}),
  });
  const keys: HostKeys = {
    master: opts.keys?.master ?? newKey(),
    function: opts.keys?.function ?? newKey(),
    eventGrid: opts.keys?.eventGrid ?? newKey(),
  };
  const disabled = new Set((opts.disabled ?? []).map((n) => n.toLowerCase()));
  const functions = opts.definitions.filter((d) => !disabled.has(d.name.toLowerCase()));
  const seen = new Set<string>();
  for (const d of functions) {
    if (seen.has(d.name.toLowerCase())) throw new Error(`two functions are named ${d.name}`);
    seen.add(d.name.toLowerCase());
  }
  const timeoutMs = settings.functionTimeoutMs;

  // ---- invocation bookkeeping
  const invocations: InvocationResult[] = [];
  const poisoned: PoisonRecord[] = [];
  const invocationListeners = new Set<(r: InvocationResult) => void>();
  const poisonListeners = new Set<(p: PoisonRecord) => void>();
  const keep = opts.keepInvocations ?? 2000;
  const record = (r: InvocationResult) => {
    invocations.push(r);
    if (invocations.length > keep) invocations.splice(0, invocations.length - keep);
    for (const l of invocationListeners) l(r);
  };

  // ---- triggers
  const eventGridDefs = new Map<string, Extract<FunctionDefinition, { trigger: "eventGrid" }>>();
  const httpDefs: HttpDef[] = [];
  const byName = new Map(functions.map((d) => [d.name.toLowerCase(), d]));
  const listeners: QueueListener[] = [];
  const timers = new Map<string, TimerSchedule>();

  for (const def of functions) {
    switch (def.trigger) {
      case "eventGrid":
        eventGridDefs.set(def.name.toLowerCase(), def);
        break;
      case "http":
        httpDefs.push(def);
        break;
      case "storageQueue": {
        const service = queueServiceFor(def.options.connection, env);
        const queueName = def.options.queueName.replace(/%([^%]+)%/g, (_, n: string) => env[n] ?? "");
        listeners.push(
          new QueueListener(
            def,
            service.getQueueClient(queueName),
            service.getQueueClient(`${queueName}-poison`),
            settings.queues,
            log,
            {
              onInvocation: record,
              onPoison: (p) => {
                poisoned.push(p);
                for (const l of poisonListeners) l(p);
              },
            },
            timeoutMs,
          ),
        );
        break;
      }
      case "timer": {
        const schedule = parseSchedule(def.options.schedule, env);
        timers.set(
          def.name.toLowerCase(),
          new TimerSchedule(
            def.name,
            schedule,
            async (info) => {
              const r = await invokeFunction(def, info, log, {
                reason: info.isPastDue ? "Timer fired (past due)" : "Timer fired",
                timeoutMs,
              });
              record(r);
              return r;
            },
            (why) => log.host("warn", `Timer run skipped: ${why}`, { functionName: def.name }),
          ),
        );
        break;
      }
    }
  }

  // ---- HTTP server
  const server: Server = createServer((req, res) => {
    void route(req, res).catch((e: unknown) => {
      log.host("error", "request failed", { path: req.url, error: (e as Error).message });
      if (!res.headersSent) send(res, { status: 500, body: (e as Error).message });
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://local.host");
    const method = (req.method ?? "GET").toUpperCase();
    const body = await readBody(req);
    const path = url.pathname.replace(/\/+$/, "") || "/";

    if (path.toLowerCase() === "/runtime/webhooks/eventgrid") {
      // In Azure the webhook needs the extension's system key; so does this runner.
      if (!authorised("function", keyOf(url, req.headers), { ...keys, function: keys.eventGrid })) {
        return send(res, { status: 401 });
      }
      return send(
        res,
        await handleEventGridWebhook(
          { method, headers: req.headers, body: body.toString("utf8") },
          url.searchParams.get("functionName"),
          eventGridDefs,
          log,
          record,
          timeoutMs,
        ),
      );
    }
    if (path.toLowerCase().startsWith("/api/") || path.toLowerCase() === "/api") {
      const r = await handleHttpTrigger(
        url,
        method,
        req.headers,
        body,
        httpDefs,
        keys,
        log,
        record,
        timeoutMs,
      );
      return send(res, r ?? { status: 404 });
    }
    const admin = /^\/admin\/functions\/([^/]+)$/i.exec(path);
    if (admin && method === "POST") {
      if (!authorised("admin", keyOf(url, req.headers), keys)) return send(res, { status: 401 });
      const def = byName.get(decodeURIComponent(admin[1]!).toLowerCase());
      if (!def || def.trigger === "http") return send(res, { status: 404 });
      let input: unknown;
      try {
        input = body.length ? (JSON.parse(body.toString("utf8")) as { input?: unknown }).input : undefined;
      } catch {
        return send(res, { status: 400, body: 'the body must be JSON: {"input": ...}' });
      }
      // Like the host: accept at once and run in the background.
      void runAdmin(def, input);
      return send(res, { status: 202 });
    }
    if (path.toLowerCase() === "/admin/host/status" && method === "GET") {
      return send(res, {
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          state: "Running",
          functions: functions.map((f) => ({ name: f.name, trigger: f.trigger })),
        }),
      });
    }
    send(res, { status: 404 });
  }

  async function runAdmin(def: FunctionDefinition, input: unknown): Promise<InvocationResult> {
    if (def.trigger === "timer") return runTimer(def.name);
    let value = input;
    if (typeof input === "string") {
      try {
        value = JSON.parse(input);
      } catch {
        value = input;
      }
    }
    const r = await invokeFunction(def, value, log, {
      reason: "This function was programmatically called via the host APIs.",
      timeoutMs,
    });
    record(r);
    return r;
  }

  async function runTimer(functionName: string): Promise<InvocationResult> {
    const t = timers.get(functionName.toLowerCase());
    if (!t) throw new Error(`no timer function named ${functionName}`);
    return (await t.runNow(false)) as InvocationResult;
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.hostname ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${opts.hostname ?? "127.0.0.1"}:${address.port}`;

  try {
    for (const l of listeners) await l.start();
  } catch (e) {
    await Promise.allSettled(listeners.map((l) => l.stop()));
    server.close();
    throw e;
  }
  for (const t of timers.values()) {
    const def = byName.get(t.functionName.toLowerCase()) as Extract<FunctionDefinition, { trigger: "timer" }>;
    if (opts.timers !== "manual") t.start(def.options.runOnStartup === true);
  }

  log.host("info", `Host started: ${functions.length} function(s)`, { url });
  for (const f of functions) {
    const detail =
      f.trigger === "eventGrid"
        ? `${url}/runtime/webhooks/eventgrid?functionName=${f.name}`
        : f.trigger === "http"
          ? `${url}/api/${f.options.route ?? f.name} [${(f.options.methods ?? ["GET", "POST"]).join(",")}]`
          : f.trigger === "storageQueue"
            ? `queue ${f.options.queueName}`
            : `schedule ${timers.get(f.name.toLowerCase())?.schedule.expression}` +
              (opts.timers === "manual"
                ? " (manual)"
                : `, next ${timers.get(f.name.toLowerCase())?.next?.toISOString()}`);
    log.host("info", `  ${f.name}: ${f.trigger}`, { at: detail });
  }

  const waitFor = <T>(
    set: Set<(x: T) => void>,
    past: readonly T[],
    match: (x: T) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const hit = past.find(match);
      if (hit) return resolve(hit);
      const timer = setTimeout(() => {
        set.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const listener = (x: T) => {
        if (!match(x)) return;
        clearTimeout(timer);
        set.delete(listener);
        resolve(x);
      };
      set.add(listener);
    });

  return {
    url,
    keys,
    settings,
    log,
    functions,
    eventGridWebhookUrl: (name) =>
      `${url}/runtime/webhooks/eventgrid?functionName=${encodeURIComponent(name)}&code=${encodeURIComponent(keys.eventGrid)}`,
    runTimer,
    nextRun: (name) => timers.get(name.toLowerCase())?.next,
    invocations,
    poisoned,
    waitForInvocation: (match, o = {}) =>
      waitFor(invocationListeners, o.includePast ? invocations : [], match, "an invocation", o.timeoutMs),
    waitForPoison: (match, o = {}) =>
      waitFor(poisonListeners, poisoned, match, "a poison message", o.timeoutMs),
    onInvocation: (l) => {
      invocationListeners.add(l);
      return () => invocationListeners.delete(l);
    },
    busy: () => listeners.reduce((n, l) => n + l.busy, 0),
    async stop() {
      await Promise.allSettled([
        ...listeners.map((l) => l.stop()),
        ...[...timers.values()].map((t) => t.stop()),
      ]);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      log.host("info", "Host stopped");
    },
  };
}
