/**
 * The bundling step of `npm run build` and `npm run package` (scripts/package.ts, which then
 * stages and zips): the deployable is one ESM bundle of functions/index.ts and the core, split
 * at each dynamic import so that a trigger loads only its own code and SDKs (see
 * docs/architecture.md). The CLI is built beside it for installs without tsx; it keeps its
 * packages external because it runs where `npm install` put them.
 *
 *   npx tsx scripts/build.ts     (bundles only)
 */
import { build, type BuildOptions } from "esbuild";
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Where the host finds the app: package.json "main" names this file. */
export const APP_ENTRY = "dist/functions/index.js";

// Bundled CommonJS code calls require(); an ES module has none, so each chunk gets one.
const requireShim =
  'import { createRequire as __stewardCreateRequire } from "node:module";\n' +
  "const require = __stewardCreateRequire(import.meta.url);";

const common: BuildOptions = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
};

/**
 * Bundles into `<into>/functions` and `<into>/cli` (default: the repository's dist/), emptied
 * first. Returns the npm packages the app bundle contains (package-lock.json paths), for the package test to hold against
 * the lock file's production set.
 */
export async function buildAll(into = path.join(ROOT, "dist")): Promise<{ bundledPackages: string[] }> {
  rmSync(into, { recursive: true, force: true });
  const app = await build({
    ...common,
    entryPoints: { index: "functions/index.ts" },
    outdir: path.join(into, "functions"),
    // Chunks sit beside the entry: code that finds host.json or the policy from its own
    // location then sees the same folder depth wherever it was bundled.
    chunkNames: "chunk-[hash]",
    splitting: true,
    minify: true,
    // SDK errors and the app's are told apart by class name in places.
    keepNames: true,
    // @azure/functions-core is provided by the Functions worker at run time. supports-color is
    // an optional require of `debug` (under the HTTP proxy agents) that only dev tooling installs:
    // bundling it would make the package depend on whether devDependencies were present.
    external: ["@azure/functions-core", "supports-color"],
    banner: { js: requireShim },
    metafile: true,
  });
  await build({
    ...common,
    entryPoints: { main: "cli/main.ts" },
    outdir: path.join(into, "cli"),
    packages: "external",
  });
  const packages = new Set<string>();
  for (const input of Object.keys(app.metafile.inputs)) {
    // As package-lock.json names them: node_modules/a or node_modules/a/node_modules/@b/c.
    const m = /^(?:.*\/)?(node_modules\/(?:(?:@[^/]+\/)?[^/]+\/node_modules\/)*(?:@[^/]+\/)?[^/]+)\//.exec(
      input,
    );
    if (m) packages.add(m[1]!);
  }
  return { bundledPackages: [...packages].sort() };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildAll();
}
