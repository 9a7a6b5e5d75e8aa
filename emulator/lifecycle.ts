/**
 * The process life of the long-running local commands (`npm run emulator`, `npm start`): stop
 * cleanly once on Ctrl-C or SIGTERM, and exit with 1 and the message when start-up fails.
 */

/**
 * On the first SIGINT or SIGTERM: `announce` it, run `stop`, then exit (0, or 1 when stopping
 * failed). Later signals are ignored while stopping.
 */
export function stopOnSignals(stop: () => Promise<void>, announce: (signal: string) => void): void {
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    announce(signal);
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
}

/** Runs a command's main; a failure prints its message and exits with 1. */
export function runCommand(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
