/**
 * Starts Azurite (the Azure Storage emulator from npm) in memory on free loopback ports, for the
 * tests, the benchmarks and the local stack. Ports are read back from Azurite's own start-up
 * lines, so nothing is guessed and parallel stacks never collide.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

/** Azurite's published development account; it guards nothing and exists only on this loopback emulator. */
const DEV_ACCOUNT = "devstoreaccount1";
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteHandle {
  connectionString: string;
  blobUrl: string;
  queueUrl: string;
  tableUrl: string;
  stop(): Promise<void>;
}

export function azuriteConnectionString(blobUrl: string, queueUrl: string, tableUrl: string): string {
  return [
    "DefaultEndpointsProtocol=http",
    `AccountName=${DEV_ACCOUNT}`,
    `AccountKey=${DEV_KEY}`,
    `BlobEndpoint=${blobUrl}/${DEV_ACCOUNT}`,
    `QueueEndpoint=${queueUrl}/${DEV_ACCOUNT}`,
    `TableEndpoint=${tableUrl}/${DEV_ACCOUNT}`,
  ].join(";");
}

export async function startAzurite(opts: { timeoutMs?: number } = {}): Promise<AzuriteHandle> {
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve("azurite/package.json"));
  const bin = path.join(pkgDir, "dist", "src", "azurite.js");
  const child: ChildProcess = spawn(
    process.execPath,
    [
      bin,
      "--inMemoryPersistence",
      "--extentMemoryLimit",
      "512",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--loose",
      "--blobPort",
      "0",
      "--queuePort",
      "0",
      "--tablePort",
      "0",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );

  const urls: Record<string, string> = {};
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Azurite did not start within ${opts.timeoutMs ?? 20_000} ms:\n${output}`)),
      opts.timeoutMs ?? 20_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at (\S+)/g,
      )) {
        urls[m[1]!.toLowerCase()] = m[2]!;
      }
      if (urls.blob && urls.queue && urls.table) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${code} before it was ready:\n${output}`));
    });
  });
  // Keep draining so a chatty Azurite never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();

  const { blob, queue, table } = urls as { blob: string; queue: string; table: string };
  return {
    connectionString: azuriteConnectionString(blob, queue, table),
    blobUrl: blob,
    queueUrl: queue,
    tableUrl: table,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
