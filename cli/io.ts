/**
 * What every command gets: where to write (results to stdout, progress and errors to stderr),
 * the output mode, and the exit-code contract (0 ok, 1 the operation failed, 2 bad input).
 */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress lines overwrite themselves only then). */
  isTTY?: boolean;
  /** The terminal's width when stdout is one; tables are fitted to it. */
  columns?: number;
  /** A transient status line on stderr, overwritten by the next (terminals only). */
  status?(text: string): void;
}

export interface CommandContext {
  io: CliIo;
  json: boolean;
  verbose: boolean;
  /** --wide: tables in full, never fitted to the terminal. */
  wide?: boolean;
}

/** The width tables must fit in: the terminal's, unless --wide or stdout is not a terminal. */
export function tableWidth(ctx: CommandContext): number | undefined {
  return ctx.wide ? undefined : ctx.io.columns;
}

/** Bad input: a wrong command line, an unreadable or invalid file, a malformed id. Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The command ran and the operation failed (a refused promotion, a blocked run...). Exit code 1. */
export class CommandFailed extends Error {
  override name = "CommandFailed";
}

export function processIo(): CliIo {
  const tty = process.stderr.isTTY === true;
  let transient = false;
  // A pending status line is cleared first, so a result or error never lands after it.
  const clear = () => {
    if (transient) process.stderr.write("\r\x1b[K");
    transient = false;
  };
  return {
    stdout: (t) => {
      clear();
      process.stdout.write(t.endsWith("\n") ? t : t + "\n");
    },
    stderr: (t) => {
      clear();
      process.stderr.write(t.endsWith("\n") ? t : t + "\n");
    },
    isTTY: tty,
    ...(process.stdout.isTTY ? { columns: process.stdout.columns || 80 } : {}),
    ...(tty
      ? {
          status: (t: string) => {
            const width = (process.stderr.columns || 80) - 1;
            process.stderr.write(`\r\x1b[K${t.length > width ? t.slice(0, width - 1) + "…" : t}`);
            transient = true;
          },
        }
      : {}),
  };
}

/** Prints a value as JSON (for --json) on stdout. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2));
}

/**
 * Progress on stderr. `step` lines always print (one per finished step, so a log shows the
 * work); `tick` lines (counters, rates) overwrite each other on a terminal and are left out
 * otherwise, so a CI log is one line per step rather than a stream of counters.
 */
export interface Progress {
  step(line: string): void;
  tick(line: string): void;
}

export function progressReporter(io: CliIo): Progress {
  let last = "";
  return {
    step(line) {
      if (line === last) return;
      last = line;
      io.stderr(line);
    },
    tick(line) {
      if (io.isTTY && io.status) io.status(line);
    },
  };
}
