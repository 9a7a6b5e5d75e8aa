/**
 * The request log behind GET /_emulator/requests: recent requests (bounded, oldest dropped) and
 * counters that keep counting past the bound, so tests can assert "no more than N writes".
 */

export type RouteKind = "arm" | "graph" | "entra" | "control" | "events";

export interface RequestLogEntry {
  at: string;
  method: string;
  path: string;
  apiVersion?: string;
  /** True when the api-version is not one the emulator was built against (tolerated anyway). */
  unknownApiVersion?: boolean;
  kind: RouteKind;
  status: number;
  /** Object id of the authenticated caller, if any. */
  caller?: string;
  callerName?: string;
  durationMs: number;
  /** 403s only: the error message, so a denied action can be read from the log. */
  denied?: string;
  /** Set when a fault rule answered instead of the emulator. */
  faulted?: boolean;
}

export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private counters = {
    total: 0,
    byMethod: {} as Record<string, number>,
    byKind: {} as Record<string, number>,
    byStatus: {} as Record<string, number>,
  };

  constructor(private readonly capacity = 10_000) {}

  add(e: RequestLogEntry): void {
    this.entries.push(e);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
    this.counters.total++;
    bump(this.counters.byMethod, e.method);
    bump(this.counters.byKind, e.kind);
    bump(this.counters.byStatus, String(e.status));
  }

  clear(): void {
    this.entries = [];
    this.counters = { total: 0, byMethod: {}, byKind: {}, byStatus: {} };
  }

  snapshot(filter: { kind?: string; method?: string; since?: number } = {}): {
    requests: RequestLogEntry[];
    counters: RequestLog["counters"];
  } {
    const since = filter.since ?? 0;
    const requests = this.entries.filter(
      (e) =>
        (!filter.kind || e.kind === filter.kind) &&
        (!filter.method || e.method === filter.method.toUpperCase()) &&
        Date.parse(e.at) >= since,
    );
    return { requests, counters: structuredClone(this.counters) };
  }
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}
