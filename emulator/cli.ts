/**
 * `npm run emulator -- [--port N] [--seed FILE] [--cert-dir DIR] [--page-size N] [--no-rbac]`: runs the
 * emulator in the foreground and prints the settings to paste into a shell. FILE is JSON, or a
 * module whose default export (or `seed` export) is an EmulatorSeed or a function returning one.
 * --no-rbac turns off ARM and Graph authorisation (on by default, as in Azure).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startEmulator } from "./index.js";
import { runCommand, stopOnSignals } from "./lifecycle.js";
import type { EmulatorSeed } from "./types.js";

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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8443" },
      seed: { type: "string" },
      "cert-dir": { type: "string" },
      "page-size": { type: "string" },
      "tenant-id": { type: "string" },
      "no-rbac": { type: "boolean", default: false },
    },
  });
  const seed = values.seed ? await loadSeed(values.seed) : undefined;
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
  console.log(
    `\nControl API: ${emulator.url}/_emulator/state, /_emulator/requests, /_emulator/faults, /_emulator/reset. Ctrl+C stops.`,
  );
  stopOnSignals(
    () => emulator.stop(),
    (signal) => console.log(`\n${signal}: stopping the emulator...`),
  );
}

runCommand(main);
