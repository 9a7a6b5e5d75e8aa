/**
 * `npm run infra:generate [-- --check]`: writes infra/generated/*.json from the estate policy
 * (STEWARD_POLICY_PATH, else the bundled default). With --check it writes nothing and exits 1
 * when a file is missing or stale. Run it after every change to the policy's access matrix,
 * governed subscriptions or exploration settings, then `azd provision`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getPolicy } from "../policy/index.js";
import { generatedInfraFiles } from "./contract.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Files whose content differs from what the policy generates (relative paths). */
export async function staleInfraFiles(root = REPO_ROOT, policy = getPolicy()): Promise<string[]> {
  return Object.entries(await generatedInfraFiles(policy))
    .filter(([rel, content]) => {
      const file = path.join(root, rel);
      return !existsSync(file) || readFileSync(file, "utf8") !== content;
    })
    .map(([rel]) => rel);
}

export async function writeInfraFiles(root = REPO_ROOT, policy = getPolicy()): Promise<string[]> {
  const written: string[] = [];
  for (const [rel, content] of Object.entries(await generatedInfraFiles(policy))) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    if (existsSync(file) && readFileSync(file, "utf8") === content) continue;
    writeFileSync(file, content);
    written.push(rel);
  }
  return written;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--check")) {
    const stale = await staleInfraFiles();
    if (stale.length === 0) {
      console.log("infra/generated is up to date with the policy");
      return 0;
    }
    console.error(`stale: ${stale.join(", ")}; run npm run infra:generate`);
    return 1;
  }
  const written = await writeInfraFiles();
  console.log(written.length ? `wrote ${written.join(", ")}` : "infra/generated is already up to date");
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
