/**
 * The control API under /_emulator: reset, seed, state dump, request log and fault settings.
 * Not an Azure API: it is how tests and the demo drive the emulator.
 */
import type { FaultInjector } from "./faults.js";
import type { RequestLog } from "./requestLog.js";
import type { EmuRequest, EmuResponse, EmulatorSeed, FaultSettings, Router } from "./types.js";

export interface ControlDeps {
  faults: FaultInjector;
  log: RequestLog;
  /** Restores the state the emulator started with (its initial seed). */
  reset(): void;
  /** Adds a seed to the current state. */
  seed(seed: EmulatorSeed): void;
  dump(): unknown;
  /** ARM throttling counters, shown with the request log. */
  throttling?: { counters(): unknown; clearCounters(): void };
}

const bad = (message: string): EmuResponse => ({
  status: 400,
  body: { error: { code: "BadRequest", message } },
});

export function controlRouter(deps: ControlDeps): Router {
  return (req: EmuRequest) => {
    const path = req.path.toLowerCase();
    const m = req.method;
    if (path === "/_emulator/health" && m === "GET") return { status: 200, body: { status: "ok" } };
    if (path === "/_emulator/reset" && m === "POST") {
      deps.reset();
      return { status: 200, body: { status: "reset" } };
    }
    if (path === "/_emulator/seed" && m === "POST") {
      if (typeof req.body !== "object" || req.body === null)
        return bad("POST /_emulator/seed takes a JSON EmulatorSeed body.");
      try {
        deps.seed(req.body as EmulatorSeed);
      } catch (err) {
        return bad((err as Error).message);
      }
      return { status: 200, body: { status: "seeded" } };
    }
    if (path === "/_emulator/state" && m === "GET") return { status: 200, body: deps.dump() };
    if (path === "/_emulator/requests") {
      if (m === "GET") {
        const since = req.query.get("since");
        return {
          status: 200,
          body: {
            ...deps.log.snapshot({
              kind: req.query.get("kind") ?? undefined,
              method: req.query.get("method") ?? undefined,
              since: since ? Date.parse(since) : undefined,
            }),
            ...(deps.throttling ? { throttling: deps.throttling.counters() } : {}),
          },
        };
      }
      if (m === "DELETE") {
        deps.log.clear();
        deps.throttling?.clearCounters();
        return { status: 204 };
      }
    }
    if (path === "/_emulator/faults") {
      if (m === "GET") return { status: 200, body: deps.faults.get() };
      if (m === "POST" || m === "PATCH") {
        if (typeof req.body !== "object" || req.body === null)
          return bad("POST /_emulator/faults takes a JSON FaultSettings (partial) body.");
        try {
          return { status: 200, body: deps.faults.update(req.body as Partial<FaultSettings>) };
        } catch (err) {
          return bad((err as Error).message);
        }
      }
      if (m === "DELETE") {
        deps.faults.reset();
        return { status: 200, body: deps.faults.get() };
      }
    }
    return undefined;
  };
}
