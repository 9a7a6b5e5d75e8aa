/**
 * The local host's log: one record per line, structured (level, category, function, invocation
 * id, message, fields) and printed either readably for a person at a terminal or as JSON lines
 * for tools. The app's own loggers (shared/log.ts) write "message {json}"; the trailing JSON is
 * split back into fields so nothing is logged twice and every field stays queryable.
 */
import { format } from "node:util";

export type HostLogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface HostLogRecord {
  at: string;
  level: HostLogLevel;
  /** "host" for the runner's own lines (Executing/Executed, poison moves), else "function". */
  category: "host" | "function";
  functionName?: string;
  invocationId?: string;
  message: string;
  fields?: Record<string, unknown>;
}

export type HostLogFormat = "pretty" | "json" | "silent";

export interface HostLogOptions {
  format?: HostLogFormat;
  minLevel?: HostLogLevel;
  /** Where lines go (default process.stderr, so stdout stays free for a CLI's results). */
  write?: (line: string) => void;
  /** How many records to keep in memory for tests and reports (default 5000). */
  keep?: number;
  color?: boolean;
}

const ORDER: Record<HostLogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
const LABEL: Record<HostLogLevel, string> = {
  trace: "TRC",
  debug: "DBG",
  info: "INF",
  warn: "WRN",
  error: "ERR",
};
const COLOR: Record<HostLogLevel, string> = {
  trace: "\x1b[90m",
  debug: "\x1b[90m",
  info: "\x1b[36m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};

/** InvocationContext log levels (the worker's names) -> ours. */
export function levelOf(functionsLevel: string): HostLogLevel {
  switch (functionsLevel) {
    case "trace":
      return "trace";
    case "debug":
      return "debug";
    case "warning":
      return "warn";
    case "error":
    case "critical":
      return "error";
    default:
      return "info";
  }
}

/** Turns logger arguments into a message and fields; "text {json}" becomes text + fields. */
export function splitMessage(args: unknown[]): { message: string; fields?: Record<string, unknown> } {
  if (args.length === 1 && typeof args[0] === "string") {
    const text = args[0];
    const brace = text.indexOf(" {");
    if (brace > 0 && text.endsWith("}")) {
      try {
        const fields = JSON.parse(text.slice(brace + 1)) as unknown;
        if (fields && typeof fields === "object" && !Array.isArray(fields)) {
          return { message: text.slice(0, brace), fields: fields as Record<string, unknown> };
        }
      } catch {
        // Not JSON after all: keep the whole text as the message.
      }
    }
    return { message: text };
  }
  const last = args[args.length - 1];
  if (
    args.length > 1 &&
    last &&
    typeof last === "object" &&
    !(last instanceof Error) &&
    !Array.isArray(last)
  ) {
    return { message: format(...args.slice(0, -1)), fields: last as Record<string, unknown> };
  }
  return { message: format(...args) };
}

export class HostLog {
  readonly records: HostLogRecord[] = [];
  private readonly listeners = new Set<(r: HostLogRecord) => void>();
  private readonly format: HostLogFormat;
  private readonly minLevel: HostLogLevel;
  private readonly write: (line: string) => void;
  private readonly keep: number;
  private readonly color: boolean;

  constructor(opts: HostLogOptions = {}) {
    this.format = opts.format ?? "pretty";
    this.minLevel = opts.minLevel ?? "info";
    this.write = opts.write ?? ((line) => process.stderr.write(line + "\n"));
    this.keep = opts.keep ?? 5000;
    this.color = opts.color ?? (opts.write === undefined && process.stderr.isTTY === true);
  }

  emit(record: Omit<HostLogRecord, "at"> & { at?: string }): void {
    const full: HostLogRecord = { ...record, at: record.at ?? new Date().toISOString() };
    this.records.push(full);
    if (this.records.length > this.keep) this.records.splice(0, this.records.length - this.keep);
    for (const l of this.listeners) l(full);
    if (this.format === "silent" || ORDER[full.level] < ORDER[this.minLevel]) return;
    this.write(this.format === "json" ? JSON.stringify(full) : this.pretty(full));
  }

  host(level: HostLogLevel, message: string, fields?: Record<string, unknown>): void {
    this.emit({ level, category: "host", message, ...(fields ? { fields } : {}) });
  }

  onRecord(listener: (r: HostLogRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private pretty(r: HostLogRecord): string {
    const time = r.at.slice(11, 23);
    const who = r.functionName
      ? `${r.functionName}${r.invocationId ? `[${r.invocationId.slice(0, 8)}]` : ""}`
      : "host";
    const fields = r.fields
      ? Object.entries(r.fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
          .join(" ")
      : "";
    const label = this.color ? `${COLOR[r.level]}${LABEL[r.level]}\x1b[0m` : LABEL[r.level];
    return `${time} ${label} ${who} ${r.message}${fields ? `  ${fields}` : ""}`;
  }
}
