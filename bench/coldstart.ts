/**
 * Cold start of the deployable: how long a fresh Node process takes to import the built entry
 * (package.json "main"), beside the import of @azure/functions + @azure/identity +
 * @azure/arm-resources alone, the floor any Functions app that tags through ARM pays. Each
 * sample is its own process, alternating between the two so that load on the machine falls on
 * both alike; the median of each and their ratio are printed. Never passes or fails.
 *
 *   npx tsx bench/coldstart.ts [--runs 11] [--no-build]
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildAll, ROOT } from "../scripts/build.js";

const FLOOR_PACKAGES = ["@azure/functions", "@azure/identity", "@azure/arm-resources"];

/** Milliseconds a fresh process spends in `await import(...)` of each specifier, in order. */
function importMs(specifiers: string[]): number {
  const script =
    "const t = performance.now();" +
    specifiers.map((s) => `await import(${JSON.stringify(s)});`).join("") +
    "process.stdout.write('\\n@@' + (performance.now() - t));";
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
    // The host sets no STEWARD_LOG_LEVEL etc.; neither do we, beyond what the caller has.
    env: { ...process.env, NODE_OPTIONS: "" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const ms = Number(out.slice(out.lastIndexOf("@@") + 2));
  if (!Number.isFinite(ms)) throw new Error(`no timing in the child's output: ${out.slice(-200)}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "11" }, "no-build": { type: "boolean", default: false } },
  });
  const runs = Math.max(1, Number(values.runs));
  if (!values["no-build"]) await buildAll();
  const main = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).main as string;
  const entry = path.join(ROOT, main);
  if (!existsSync(entry)) throw new Error(`${main} does not exist: run npm run build`);
  const entryUrl = new URL(`file://${entry}`).href;

  // One of each, unmeasured: the file system cache, not the code, would dominate a first run.
  importMs([entryUrl]);
  importMs(FLOOR_PACKAGES);
  const app: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < runs; i++) {
    app.push(importMs([entryUrl]));
    floor.push(importMs(FLOOR_PACKAGES));
  }
  const a = median(app);
  const f = median(floor);
  console.log(`\naml-steward cold start: median of ${runs} fresh processes each, Node ${process.version}\n`);
  console.table([
    { import: `deployable (${main})`, "median ms": a.toFixed(1), "min ms": Math.min(...app).toFixed(1) },
    {
      import: FLOOR_PACKAGES.join(" + "),
      "median ms": f.toFixed(1),
      "min ms": Math.min(...floor).toFixed(1),
    },
  ]);
  console.log(`ratio deployable / floor: ${(a / f).toFixed(2)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
