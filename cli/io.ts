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
}

export interface CommandContext {
  io: CliIo;
  json: boolean;
  verbose: boolean;
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
  return {
    stdout: (t) => process.stdout.write(t.endsWith("\n") ? t : t + "\n"),
    stderr: (t) => process.stderr.write(t.endsWith("\n") ? t : t + "\n"),
    isTTY: process.stderr.isTTY === true,
  };
}

/** Prints a value as JSON (for --json) on stdout. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2));
}

/** Progress on stderr, printed only when it changed, so long waits stay readable in logs. */
export function progressReporter(io: CliIo): (line: string) => void {
  let last = "";
  return (line) => {
    if (line === last) return;
    last = line;
    io.stderr(line);
  };
}
