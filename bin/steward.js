#!/usr/bin/env node
// The `steward` CLI launcher: runs the TypeScript CLI (cli/) through tsx, so it works on a
// fresh clone without a build. Node reads NODE_EXTRA_CA_CERTS only at start-up, so when
// --settings (or --env-file) names a certificate this process does not trust yet, it runs
// itself again with it. Node 20 parses --env-file itself even after the script name (and exits
// 9 when the file is missing), which is why steward's own flag is --settings.
import { spawn } from "node:child_process";
import process from "node:process";
import { existsSync, readFileSync } from "node:fs";
import { URL } from "node:url";

function envFileArg(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") return undefined;
    for (const flag of ["--settings", "--env-file"]) {
      if (argv[i] === flag) return argv[i + 1];
      if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
    }
  }
  return undefined;
}

function caCertIn(file) {
  try {
    const line = readFileSync(file, "utf8")
      .split(/\r?\n/)
      .find((l) => /^\s*(export\s+)?NODE_EXTRA_CA_CERTS\s*=/.test(l));
    if (!line) return undefined;
    const value = line.slice(line.indexOf("=") + 1).trim();
    return /^["'].*["']$/.test(value) ? value.slice(1, -1) : value;
  } catch {
    return undefined; // the CLI itself reports an unreadable --env-file
  }
}

const argv = process.argv.slice(2);
const envFile = envFileArg(argv);
const ca = envFile ? caCertIn(envFile) : undefined;
if (ca && process.env.NODE_EXTRA_CA_CERTS !== ca) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
  });
  process.on("SIGINT", () => undefined);
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  const { run } = await loadCli();
  process.exitCode = await run(argv);
}

// In a clone (npm install brings tsx, a dev dependency) the CLI runs from its TypeScript
// source, so it never lags behind an edit; where only production dependencies are installed,
// from the bundle `npm run build` leaves in dist/cli/.
async function loadCli() {
  let tsx;
  try {
    tsx = await import("tsx/esm/api");
  } catch (e) {
    if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
  }
  if (tsx) {
    tsx.register();
    return import("../cli/main.ts");
  }
  const built = new URL("../dist/cli/main.js", import.meta.url);
  if (!existsSync(built)) {
    process.stderr.write("steward: neither tsx (npm install) nor a built CLI (npm run build) is available\n");
    process.exit(2);
  }
  return import(built.href);
}
