/**
 * The emulator's command line: runs it in the foreground and prints the settings to paste into
 * a shell. Options: [--port N] [--seed FILE | --empty] [--cert-dir DIR] [--page-size N]
 * [--tenant-id ID] [--no-rbac]. FILE is JSON, or a module whose default export (or `seed`
 * export) is an EmulatorSeed or a function returning one. --no-rbac turns off ARM and Graph
 * authorisation (on by default, as in Azure).
 *
 * The package's bin starts bare without --seed; a caller with an estate of its own (the app's
 * `npm run emulator` starts the Contoso estate) passes `defaultSeed` and prints what it adds.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startEmulator, type EmulatorHandle } from "./index.js";
import { stopOnSignals } from "./lifecycle.js";

export { runCommand, stopOnSignals } from "./lifecycle.js";
import type { EmulatorSeed } from "./types.js";

export interface EmulatorCliOptions {
  /** The seed used when neither --seed nor --empty is given (default: none). */
  defaultSeed?: () => EmulatorSeed;
  /** Called after start-up when the default seed was used, to print what it holds. */
  describeDefaultSeed?: (emulator: EmulatorHandle) => void;
}

async function loadSeed(file: string): Promise<EmulatorSeed> {
  const full = path.resolve(file);
  if (full.endsWith(".json")) return JSON.parse(await readFile(full, "utf8")) as EmulatorSeed;
  const mod = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
  const candidate = mod.default ?? mod.seed;
  const seed = typeof candidate === "function" ? (candidate as () => EmulatorSeed)() : candidate;
  if (!seed || typeof seed !== "object")
    throw new Error(`${file}: no default or 'seed' export holding an EmulatorSeed`);
  return seed as EmulatorSeed;
}

export async function runEmulatorCli(
  args: string[] = process.argv.slice(2),
  opts: EmulatorCliOptions = {},
): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "8443" },
      seed: { type: "string" },
      "cert-dir": { type: "string" },
      "page-size": { type: "string" },
      "tenant-id": { type: "string" },
      "no-rbac": { type: "boolean", default: false },
      empty: { type: "boolean", default: false },
    },
  });
  if (values.seed && values.empty) throw new Error("--seed and --empty exclude each other");
  const useDefault = !values.seed && !values.empty && opts.defaultSeed !== undefined;
  const seed = values.seed ? await loadSeed(values.seed) : useDefault ? opts.defaultSeed!() : undefined;
  const emulator = await startEmulator({
    port: Number(values.port),
    seed,
    certDir: values["cert-dir"] ?? path.resolve(".emulator"),
    pageSize: values["page-size"] ? Number(values["page-size"]) : undefined,
    tenantId: values["tenant-id"],
    enforceRbac: !values["no-rbac"],
  });
  console.log(
    `Azure emulator listening on ${emulator.url} (tenant ${emulator.tenantId}). Paste into your shell:\n`,
  );
  for (const [k, v] of Object.entries(emulator.settings)) console.log(`export ${k}=${JSON.stringify(v)}`);
  if (useDefault) opts.describeDefaultSeed?.(emulator);
  console.log(
    `\nControl API: ${emulator.url}/_emulator/state, /_emulator/requests, /_emulator/faults, /_emulator/reset. Ctrl+C stops.`,
  );
  stopOnSignals(
    () => emulator.stop(),
    (signal) => console.log(`\n${signal}: stopping the emulator...`),
  );
}
