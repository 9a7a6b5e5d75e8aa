/**
 * Runs once in vitest's main process before any worker starts: makes the emulator's TLS
 * certificate (workers inherit NODE_EXTRA_CA_CERTS, which Node reads only at process start)
 * and starts Azurite. Each test file starts its own emulator with this certificate, so files
 * never share ARM or Graph state.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCertificate } from "../emulator/cert.js";
import { startAzurite, type AzuriteHandle } from "../local/azurite.js";
import { contractSkipNotice } from "./contract/notice.js";

let azurite: AzuriteHandle | undefined;
let certDir: string | undefined;

export async function setup(): Promise<void> {
  // Said once here rather than per skipped test, so a fresh clone learns why and what to do.
  const notice = contractSkipNotice();
  if (notice) process.stderr.write(`\n${notice}\n\n`);
  certDir = mkdtempSync(path.join(os.tmpdir(), "steward-test-cert-"));
  const { certPath, keyPath } = await createCertificate(certDir);
  process.env.NODE_EXTRA_CA_CERTS = certPath;
  process.env.STEWARD_TEST_CERT_PATH = certPath;
  process.env.STEWARD_TEST_KEY_PATH = keyPath;
  azurite = await startAzurite();
  process.env.STEWARD_TEST_STORAGE_CONNECTION = azurite.connectionString;
}

export async function teardown(): Promise<void> {
  await azurite?.stop();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
}
