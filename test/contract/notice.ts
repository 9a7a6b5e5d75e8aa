/**
 * Why the contract tests are skipped, in one message: printed once by the global setup of
 * `npm test`, since a skipped suite's title alone is easy to miss in a long run.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { SPEC_FILES, specsDir } from "./specs.js";

export function contractSkipNotice(
  dir: string = specsDir,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (existsSync(path.join(dir, SPEC_FILES.resources))) return undefined;
  const where = env.STEWARD_SPECS_DIR
    ? `STEWARD_SPECS_DIR=${env.STEWARD_SPECS_DIR} holds no REST specs`
    : `no REST specs at ${dir} (STEWARD_SPECS_DIR is unset)`;
  return [
    `Contract tests (test/contract) are SKIPPED: ${where}.`,
    "  They check the emulator's answers against Azure's official REST API specs. To run them, point",
    "  STEWARD_SPECS_DIR at a checkout of github.com/Azure/azure-rest-api-specs (or place one at",
    `  ${dir}) and run npm test again. With CI set, missing specs fail the run instead.`,
  ].join("\n");
}
