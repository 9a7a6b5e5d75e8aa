/**
 * The deployment package (`npm run package`): what azd uploads is the bundle, host.json, the
 * policy and a package.json whose main resolves, nothing else; it is an order of magnitude
 * smaller than node_modules; and it imports, and loads its per-trigger chunks, in a fresh Node
 * process with no node_modules anywhere above it. .ci/run runs this file on Node 22 as well.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allDefinitions } from "../../functions/all.js";
import { packageApp, type PackageResult } from "../../scripts/package.js";
import { readZip, type ZipEntry } from "../../scripts/zip.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
let work: string;
let result: PackageResult;
let entries: ZipEntry[];

function sizeOf(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) total += sizeOf(full);
    else if (e.isFile()) total += statSync(full).size;
  }
  return total;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "steward-package-"));
  result = await packageApp(path.join(work, "dist"));
  entries = readZip(readFileSync(result.zip!));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("npm run package", () => {
  it("holds the bundle, host.json, the policy and a package.json whose main is in the zip", () => {
    const names = entries.map((e) => e.name);
    expect(names).toEqual(result.files);
    expect(names).toContain("host.json");
    expect(names).toContain("shared/policy/default-policy.yaml");
    const manifest = JSON.parse(entries.find((e) => e.name === "package.json")!.data.toString("utf8"));
    expect(manifest.type).toBe("module");
    expect(names).toContain(manifest.main);
    expect(manifest.dependencies).toEqual({});
    expect(manifest.scripts).toBeUndefined();
    expect(JSON.parse(entries.find((e) => e.name === "host.json")!.data.toString("utf8"))).toEqual(
      JSON.parse(readFileSync(path.join(ROOT, "host.json"), "utf8")),
    );
  });

  it("has no TypeScript sources, tests, emulator, CLI, tooling or node_modules", () => {
    const unexpected = entries
      .map((e) => e.name)
      .filter(
        (n) =>
          /\.ts$/.test(n) ||
          /^(test|emulator|cli|bench|scripts|infra|docs|node_modules|bin)\//.test(n) ||
          n.includes("/node_modules/") ||
          !/^(dist\/functions\/[^/]+\.js(\.map)?|host\.json|package\.json|shared\/policy\/[^/]+\.ya?ml|policies\/.+)$/.test(
            n,
          ),
      );
    expect(unexpected).toEqual([]);
  });

  it("bundles production dependencies only", () => {
    const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    expect(result.bundledPackages.length).toBeGreaterThan(0);
    const dev = result.bundledPackages.filter((p) => !lock.packages[p] || lock.packages[p]!.dev);
    expect(dev).toEqual([]);
    for (const name of ["tsx", "selfsigned", "azurite", "vitest", "esbuild", "cron-parser"])
      expect(result.bundledPackages).not.toContain(`node_modules/${name}`);
  });

  it("is an order of magnitude smaller than node_modules", () => {
    const zip = statSync(result.zip!).size;
    const modules = sizeOf(path.join(ROOT, "node_modules"));
    console.log(
      `package ${(zip / 1024 / 1024).toFixed(2)} MB, node_modules ${(modules / 1024 / 1024).toFixed(0)} MB`,
    );
    expect(zip * 10).toBeLessThan(modules);
  });

  it("imports in a fresh Node process from the unpacked zip and loads each trigger's code", () => {
    // Unpacked from the zip itself, where no node_modules can be found from the app's folder.
    const app = path.join(work, "wwwroot");
    for (const e of entries) {
      mkdirSync(path.dirname(path.join(app, e.name)), { recursive: true });
      writeFileSync(path.join(app, e.name), e.data);
    }
    const main = JSON.parse(readFileSync(path.join(app, "package.json"), "utf8")).main as string;
    // The promotion and reconcile handlers load their chunks first, then fail on the settings
    // left out on purpose: reaching that error proves the chunks resolved.
    const script = `
      const { allDefinitions } = await import(${JSON.stringify(path.join(app, main))});
      const ctx = { invocationId: "t", triggerMetadata: {}, log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
      const byName = Object.fromEntries(allDefinitions.map((d) => [d.name, d.options.handler]));
      const out = { names: Object.keys(byName).sort() };
      for (const [name, arg] of [["processPromotion", {}], ["reconcileCostTags", {}]]) {
        try { await byName[name](arg, ctx); out[name] = "ok"; } catch (e) { out[name] = String(e.message); }
      }
      console.log("@@" + JSON.stringify(out));
    `;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    const stdout = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: app,
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = JSON.parse(stdout.slice(stdout.lastIndexOf("@@") + 2));
    expect(out.names).toEqual(allDefinitions.map((d) => d.name).sort());
    // Failing for want of settings is the point; failing to find code is what must not happen.
    for (const name of ["processPromotion", "reconcileCostTags"]) {
      expect(out[name]).not.toBe("ok");
      expect(out[name]).not.toMatch(/Cannot find|ERR_MODULE_NOT_FOUND|Dynamic require/);
    }
    expect(out.reconcileCostTags).toMatch(/storage is not configured/);
  });
});
