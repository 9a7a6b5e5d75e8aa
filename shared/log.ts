/**
 * Structured logging. In the Functions host, records go to the InvocationContext (and so to
 * Application Insights); elsewhere (CLI, local runner, tests) to the console as one JSON or
 * readable line each. Every record carries a message and flat, queryable fields.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Anything with the InvocationContext's logging methods. */
export interface LogSink {
  trace?(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export function loggerFor(sink: LogSink, base: LogFields = {}, minLevel: LogLevel = envLevel()): Logger {
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    const all = { ...base, ...fields };
    sink[level](Object.keys(all).length ? `${message} ${JSON.stringify(all)}` : message);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

export function consoleLogger(base: LogFields = {}): Logger {
  return loggerFor(console, base);
}

/** Discards everything (benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function envLevel(): LogLevel {
  const v = process.env.STEWARD_LOG_LEVEL;
  return v === "debug" || v === "warn" || v === "error" ? v : "info";
}
