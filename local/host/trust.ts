/**
 * Node reads NODE_EXTRA_CA_CERTS only when a process starts, and the Azure SDKs must trust the
 * emulator's self-signed certificate. So an entry point (demo, npm start) makes the certificate
 * first and, unless this process already trusts it, runs itself again with the variable set,
 * passing stdio, signals and the exit code through.
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createCertificate } from "@aml-steward/azure-emulator";

export interface CertificatePaths {
  certPath: string;
  keyPath: string;
}

const CERT_ENV = "STEWARD_LOCAL_CERT_PATH";
const KEY_ENV = "STEWARD_LOCAL_KEY_PATH";

/**
 * In the re-spawned process: the certificate paths. In the first process: makes the certificate,
 * runs this same command again with NODE_EXTRA_CA_CERTS and exits with its code (never returns).
 */
export async function ensureTrustedCertificate(opts: { certDir?: string } = {}): Promise<CertificatePaths> {
  const cert = process.env[CERT_ENV];
  const key = process.env[KEY_ENV];
  if (cert && key && process.env.NODE_EXTRA_CA_CERTS === cert && existsSync(cert) && existsSync(key)) {
    return { certPath: cert, keyPath: key };
  }
  const made = opts.certDir === undefined;
  const dir = opts.certDir ?? (await mkdtemp(path.join(os.tmpdir(), "aml-steward-local-")));
  const paths = await createCertificate(dir);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: paths.certPath,
      [CERT_ENV]: paths.certPath,
      [KEY_ENV]: paths.keyPath,
    },
  });
  // Ctrl-C reaches both processes (same process group); the child decides how to stop, and
  // this one only waits for it. SIGTERM sent to this process alone is passed on.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  const code = await new Promise<number>((resolve) => {
    child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
    child.on("error", () => resolve(1));
  });
  // The certificate is made per run: a folder left behind would only pile up in the temp dir.
  if (made) rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}
