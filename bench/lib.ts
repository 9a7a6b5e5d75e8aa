/**
 * Plumbing the benchmarks that run aml-steward in a child process share: a fresh certificate,
 * Azurite and the emulator in the parent, a child forked from the benchmark's own module with
 * the settings that point it at them, and the entry point that reports a failure.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startAzurite, type AzuriteHandle } from "../local/azurite.js";
import { createCertificate } from "@aml-steward/azure-emulator";
import { startEmulator, type EmulatorHandle } from "@aml-steward/azure-emulator";
import { emulatorAppSettings } from "../local/stack.js";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";

export interface BenchStack {
  certPath: string;
  azurite: AzuriteHandle;
  emulator: EmulatorHandle;
  /**
   * Forks `moduleUrl` (the benchmark's own import.meta.url) with `args`, its stdout and stderr
   * inherited and an IPC channel, pointed at this emulator and Azurite as aml-steward.
   */
  forkChild(
    moduleUrl: string,
    args: string[],
    extraExecArgv?: string[],
    extraEnv?: Record<string, string>,
  ): ChildProcess;
  /** Stops the emulator and Azurite and removes the certificate. */
  stop(): Promise<void>;
}

/** A new certificate in a temporary folder named after `tmpPrefix`, Azurite and the emulator. */
export async function startBenchStack(tmpPrefix: string, seed: EmulatorSeed): Promise<BenchStack> {
  const certDir = mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  const { certPath, keyPath } = await createCertificate(certDir);
  const azurite = await startAzurite();
  const emulator = await startEmulator({ port: 0, certPath, keyPath, seed });
  return {
    certPath,
    azurite,
    emulator,
    forkChild: (moduleUrl, args, extraExecArgv = [], extraEnv = {}) =>
      fork(fileURLToPath(moduleUrl), args, {
        env: {
          ...process.env,
          ...emulator.settings,
          // The child trusts the emulator from start-up.
          NODE_EXTRA_CA_CERTS: certPath,
          ...emulatorAppSettings(emulator, azurite.connectionString),
          STEWARD_LOG_LEVEL: "error",
          ...extraEnv,
        },
        execArgv: [...process.execArgv, ...extraExecArgv],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
    async stop() {
      await emulator.stop();
      await azurite.stop();
      rmSync(certDir, { recursive: true, force: true });
    },
  };
}

/** Runs a benchmark's entry point; a failure is printed and exits with 1. */
export function runMain(main: Promise<unknown>): void {
  main.catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}

/**
 * In a benchmark's child (which trusts the emulator's CA from start-up; the parent does not):
 * turns the emulator's ARM throttling on or off. Off where Azure's 10 writes/s would only
 * stretch the wall time of calls whose CPU is measured.
 */
export async function setEmulatorThrottling(enabled: boolean): Promise<void> {
  const res = await fetch(`${process.env.STEWARD_ARM_ENDPOINT}/_emulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ throttling: { enabled } }),
  });
  if (!res.ok) throw new Error(`emulator faults: ${res.status} ${await res.text()}`);
}
