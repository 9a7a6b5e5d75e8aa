/**
 * `npm run package`: builds the bundle and lays out exactly what the Function App runs, in
 * dist/deploy/ (the folder azure.yaml's `dist` names, so `azd deploy` uploads the same thing)
 * and as dist/aml-steward.zip (for `az functionapp deployment source config-zip` or a look
 * inside). The bundle imports no package at run time except what the Functions worker provides,
 * so the package has no node_modules and its package.json no dependencies.
 *
 *   npx tsx scripts/package.ts [--no-zip]     (npm run package; npm run build is --no-zip)
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { APP_ENTRY, buildAll, ROOT } from "./build.js";
import { writeZip, type ZipEntry } from "./zip.js";

export interface PackageResult {
  /** The staged folder (what azd zips). */
  dir: string;
  /** Undefined when asked for no zip. */
  zip?: string;
  /** Relative paths, forward slashes, as in the zip. */
  files: string[];
  /** npm packages inside the bundle. */
  bundledPackages: string[];
}

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full, base) : [path.relative(base, full).split(path.sep).join("/")];
  });
}

/**
 * The policy files the app may read, at their paths from the repository root (the setting is
 * resolved against the app root in Azure): the bundled default, everything under policies/
 * (the place docs/deploy.md suggests), and the file STEWARD_POLICY_PATH names when it is set
 * where the package is built.
 */
function policyFiles(): string[] {
  const dir = "shared/policy";
  const files = readdirSync(path.join(ROOT, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `${dir}/${f}`);
  if (existsSync(path.join(ROOT, "policies")))
    files.push(...walk(path.join(ROOT, "policies")).map((f) => `policies/${f}`));
  const custom = process.env.STEWARD_POLICY_PATH;
  if (custom && !path.isAbsolute(custom)) {
    const rel = path.relative(ROOT, path.resolve(ROOT, custom)).split(path.sep).join("/");
    if (rel.startsWith("..")) throw new Error(`STEWARD_POLICY_PATH ${custom} is outside the repository`);
    if (!existsSync(path.join(ROOT, rel))) throw new Error(`STEWARD_POLICY_PATH ${custom} does not exist`);
    if (!files.includes(rel)) files.push(rel);
  }
  return files;
}

/** Builds into `<into>` (default dist/), stages `<into>/deploy` and writes `<into>/aml-steward.zip`. */
export async function packageApp(
  into = path.join(ROOT, "dist"),
  { zip: makeZip = true }: { zip?: boolean } = {},
): Promise<PackageResult> {
  const { bundledPackages } = await buildAll(into);
  const dir = path.join(into, "deploy");
  const put = (rel: string, from: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    copyFileSync(from, path.join(dir, rel));
  };
  const functionsDir = path.join(into, "functions");
  for (const f of walk(functionsDir))
    put(`${path.posix.dirname(APP_ENTRY)}/${f}`, path.join(functionsDir, f));
  put("host.json", path.join(ROOT, "host.json"));
  for (const f of policyFiles()) put(f, path.join(ROOT, f));

  const app = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  const manifest = {
    name: app.name,
    version: app.version,
    private: true,
    description: app.description,
    type: "module",
    main: APP_ENTRY,
    engines: app.engines,
    // Nothing to install: the bundle carries its packages. An empty list also makes a remote
    // build, should one run anyway, a no-op.
    dependencies: {},
  };
  writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2) + "\n");

  const files = walk(dir).sort();
  if (!makeZip) return { dir, files, bundledPackages };
  const entries: ZipEntry[] = files.map((name) => ({ name, data: readFileSync(path.join(dir, name)) }));
  const zip = path.join(into, "aml-steward.zip");
  writeFileSync(zip, writeZip(entries));
  return { dir, zip, files, bundledPackages };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { "no-zip": { type: "boolean", default: false } } });
  const r = await packageApp(undefined, { zip: !values["no-zip"] });
  const mb = (n: number) => (n / 1024 / 1024).toFixed(2);
  const staged = r.files.reduce((n, f) => n + statSync(path.join(r.dir, f)).size, 0);
  const where = `${r.files.length} files, ${mb(staged)} MB in ${path.relative(ROOT, r.dir)}/`;
  console.log(r.zip ? `${path.relative(ROOT, r.zip)}: ${mb(statSync(r.zip).size)} MB (${where})` : where);
}
