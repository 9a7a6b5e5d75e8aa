/**
 * `npm run build`: the deployable is one ESM bundle of functions/index.ts and the core, split
 * at each dynamic import so that a trigger loads only its own code and SDKs (see
 * docs/architecture.md). The CLI is built beside it for installs without tsx; it keeps its
 * packages external because it runs where `npm install` put them.
 *
 *   npx tsx scripts/build.ts
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

export async function buildAll(): Promise<void> {
  rmSync(path.join(ROOT, "dist"), { recursive: true, force: true });
  await build({
    ...common,
    entryPoints: { index: "functions/index.ts" },
    outdir: "dist/functions",
    // Chunks sit beside the entry: code that finds host.json or the policy from its own
    // location then sees the same folder depth wherever it was bundled.
    chunkNames: "chunk-[hash]",
    splitting: true,
    minify: true,
    // SDK errors and the app's are told apart by class name in places.
    keepNames: true,
    // Provided by the Functions worker at run time, not an npm package.
    external: ["@azure/functions-core"],
    banner: { js: requireShim },
    metafile: !!process.env.STEWARD_BUILD_META,
  });
  await build({
    ...common,
    entryPoints: { main: "cli/main.ts" },
    outdir: "dist/cli",
    packages: "external",
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildAll();
}
