/**
 * `npm start` as a new user runs it: the real entry point in a child process (it makes its own
 * certificate and runs itself again trusting it), what it prints, the env file it writes, the
 * copy-paste `curl` of docs/local.md run as written against it, and Ctrl-C leaving no
 * certificate folder behind.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseEnvFile } from "../../cli/envFile.js";
import { startEmulator } from "@aml-steward/azure-emulator";

const repo = path.resolve(import.meta.dirname, "../..");
const work = mkdtempSync(path.join(os.tmpdir(), "steward-start-"));
const tmp = path.join(work, "tmp");
mkdirSync(tmp);
let child: ChildProcess | undefined;

afterAll(() => {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

/** The fenced sh block of docs/local.md that posts an event. */
function docsCurlBlock(): string {
  const doc = readFileSync(path.join(repo, "docs/local.md"), "utf8");
  const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes('"$STEWARD_EVENTGRID_URL"'));
  if (!block) throw new Error("docs/local.md has no block posting to $STEWARD_EVENTGRID_URL");
  return block;
}

describe("npm start", () => {
  it("prints how to call every function, writes the URLs and keys to its env file, and removes its certificate on Ctrl-C", async () => {
    const envFile = path.join(work, ".steward/local.env");
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
    // As on a fresh terminal: nothing of the test run's own certificate or stack.
    for (const k of Object.keys(env))
      if (k === "NODE_EXTRA_CA_CERTS" || k.startsWith("STEWARD_") || k === "AzureWebJobsStorage")
        delete env[k];
    child = spawn(
      process.execPath,
      [
        path.join(repo, "node_modules/tsx/dist/cli.mjs"),
        "local/host/start.ts",
        "--host-port",
        "0",
        "--timers",
        "manual",
        "--env-out",
        envFile,
      ],
      { cwd: repo, env, detached: true },
    );
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 90_000;
    while (!stdout.includes("Try:")) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`npm start: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 200));

    // What it prints: each function with how to call it.
    expect(stdout).toContain("aml-steward local stack is running (Ctrl-C stops it).");
    expect(stdout).toMatch(/onResourceWrite\s+eventGrid\s+POST \$STEWARD_EVENTGRID_URL/);
    expect(stdout).toMatch(/runtime\/webhooks\/eventgrid\?functionName=onResourceWrite&code=\S+/);
    expect(stdout).toMatch(
      /submitPromotion\s+http\s+POST \$STEWARD_FUNCTIONS_URL\/api\/promotions {2}\(Authorization: Bearer \$TOKEN\)/,
    );
    expect(stdout).toMatch(/processPromotion\s+storageQueue\s+queue 'promotion-requests'/);
    expect(stdout).toMatch(/reconcileCostTags\s+timer .*x-functions-key: \$STEWARD_MASTER_KEY/);
    expect(stdout).toContain("/_emulator/tokens");
    expect(stdout).toContain(`npx steward --settings ${path.relative(repo, envFile)} policy show`);

    // The env file holds every value the printed commands use.
    const settings = parseEnvFile(readFileSync(envFile, "utf8"));
    for (const k of [
      "STEWARD_FUNCTIONS_URL",
      "STEWARD_EVENTGRID_URL",
      "STEWARD_EVENTGRID_KEY",
      "STEWARD_MASTER_KEY",
      "STEWARD_EMULATOR_URL",
      "STEWARD_API_CLIENT_ID",
      "NODE_EXTRA_CA_CERTS",
    ])
      expect(settings[k], k).toBeTruthy();
    expect(settings.STEWARD_EVENTGRID_URL).toContain(`code=${settings.STEWARD_EVENTGRID_KEY}`);
    const certDir = path.dirname(settings.NODE_EXTRA_CA_CERTS!);
    expect(certDir.startsWith(tmp)).toBe(true);

    // docs/local.md's curl, pasted into a shell in a folder holding .steward/local.env.
    const curl = spawnSync("bash", ["-euc", docsCurlBlock()], { cwd: work, encoding: "utf8" });
    expect(curl.stderr).toBe("");
    expect(curl.stdout.trim()).toBe("202");

    // Ctrl-C reaches the whole process group, as in a terminal.
    process.kill(-child.pid!, "SIGINT");
    expect(await exited).toBe(0);
    expect(existsSync(certDir)).toBe(false);
    expect(readdirSync(tmp).filter((n) => n.startsWith("aml-steward-local-"))).toEqual([]);
  }, 120_000);

  it("an emulator started without a certificate removes the one it made when it stops", async () => {
    const own = path.join(work, "emulator-tmp");
    mkdirSync(own);
    const before = process.env.TMPDIR;
    process.env.TMPDIR = own;
    try {
      const em = await startEmulator({ port: 0 });
      expect(readdirSync(own).filter((n) => n.startsWith("steward-emulator-"))).toHaveLength(1);
      await em.stop();
      expect(readdirSync(own)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
  });
});
