/**
 * `npm run emulator -- [--port N] [--seed FILE | --empty] [--cert-dir DIR] [--page-size N] [--no-rbac]`:
 * runs the emulator in the foreground and prints the settings to paste into a shell. FILE is
 * JSON, or a module whose default export (or `seed` export) is an EmulatorSeed or a function
 * returning one. Without --seed it starts with the Contoso estate and an outside client's
 * service principal (seeds/outsideClient.ts), whose credentials it prints; --empty starts bare.
 * --no-rbac turns off ARM and Graph authorisation (on by default, as in Azure).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startEmulator } from "./index.js";
import { runCommand, stopOnSignals } from "./lifecycle.js";
import { defaultCliSeed, OUTSIDE_CLIENT } from "./seeds/outsideClient.js";
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
      empty: { type: "boolean", default: false },
    },
  });
  if (values.seed && values.empty) throw new Error("--seed and --empty exclude each other");
  const contoso = !values.seed && !values.empty;
  const seed = values.seed ? await loadSeed(values.seed) : contoso ? defaultCliSeed() : undefined;
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
  if (contoso) {
    console.log(
      `\nOutside clients (Azure CLI, Python SDK, Cloud Custodian; docs/emulator.md) sign in as a service principal, Owner of the governed subscriptions:\n` +
        `export AZURE_TENANT_ID=${JSON.stringify(emulator.tenantId)}\n` +
        `export AZURE_CLIENT_ID=${JSON.stringify(OUTSIDE_CLIENT.appId)}\n` +
        `export AZURE_CLIENT_SECRET=${JSON.stringify(OUTSIDE_CLIENT.clientSecret)}\n` +
        `export REQUESTS_CA_BUNDLE=${JSON.stringify(emulator.caCertPath)}   # Python clients`,
    );
  }
  console.log(
    `\nControl API: ${emulator.url}/_emulator/state, /_emulator/requests, /_emulator/faults, /_emulator/reset. Ctrl+C stops.`,
  );
  stopOnSignals(
    () => emulator.stop(),
    (signal) => console.log(`\n${signal}: stopping the emulator...`),
  );
}

runCommand(main);
