/**
 * What the azd hooks share: reading the generated contract, running `az`/`azd`, and the
 * settings every hook checks. The hooks are TypeScript run by tsx (already needed by
 * `npm run infra:generate` in the same preprovision hook) so that the POSIX and PowerShell entry
 * points run one tested implementation instead of two diverging scripts.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The part of infra/generated/app-contract.json the hooks need; other fields are ignored. */
export interface HookContract {
  governedSubscriptionIds: string[];
  resourceWriteFunction: string;
  systemTopic: string;
  eventsResourceGroup: string;
}

export class HookError extends Error {}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Resource group, site and topic names: nothing a shell or a `sub/rg/name` list could misread.
const ARM_NAME = /^[\w.()-]{1,90}$/;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

export function isArmName(value: string): boolean {
  return ARM_NAME.test(value);
}

function field(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === "object" ? (obj as Record<string, unknown>)[key] : undefined;
}

/**
 * Reads only the fields the hooks use, so that generator changes elsewhere in the file (event
 * filter, storage names, new sections) never break a deployment.
 */
export function readContract(file = path.join(REPO_ROOT, "infra/generated/app-contract.json")): HookContract {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new HookError(`cannot read ${file} (${(e as Error).message}); run npm run infra:generate`);
  }
  const ids = field(raw, "governedSubscriptionIds");
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string" || !isGuid(id)))
    throw new HookError(`${file}: governedSubscriptionIds is not a list of subscription ids`);
  const names = field(raw, "names");
  const name = (key: string, fallback: string): string => {
    const v = field(names, key);
    if (v === undefined) return fallback;
    if (typeof v !== "string" || !isArmName(v))
      throw new HookError(`${file}: names.${key} is not a valid name`);
    return v;
  };
  return {
    governedSubscriptionIds: (ids as string[]).map((id) => id.toLowerCase()),
    resourceWriteFunction: name("resourceWriteFunction", "onResourceWrite"),
    systemTopic: name("systemTopic", "evgt-aml-steward"),
    eventsResourceGroup: name("eventsResourceGroup", "rg-aml-steward-events"),
  };
}

/**
 * STEWARD_API_CLIENT_ID must name aml-steward's API app registration: without it the app
 * refuses every promotion request and approval, which would only show up after deployment.
 */
export function apiClientIdProblem(env: NodeJS.ProcessEnv): string | undefined {
  const id = env.STEWARD_API_CLIENT_ID?.trim();
  const how =
    'Register aml-steward\'s API once per tenant (docs/deploy.md, "The API app registration"), then: azd env set STEWARD_API_CLIENT_ID <its application (client) id>';
  if (!id) return `STEWARD_API_CLIENT_ID is not set. ${how}`;
  if (!isGuid(id)) return `STEWARD_API_CLIENT_ID "${id}" is not an application (client) id (a GUID). ${how}`;
  return undefined;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a CLI and collects its output; with `echo`, also streams it so that a long `azd
 * provision` shows progress. On Windows `az` is a .cmd script, which Node only starts through a
 * shell; every argument passed here is a fixed word, an id or a checked name, so none needs quoting.
 */
export function run(command: string, args: string[], { echo = false } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      shell: process.platform === "win32",
      stdio: ["inherit", "pipe", "pipe"],
      env: process.env,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (echo) process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (echo) process.stderr.write(chunk);
    });
    child.on("error", (e) => resolve({ code: 127, stdout, stderr: `${stderr}${command}: ${e.message}\n` }));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** `az ... --output json`, parsed; a failure carries az's own message. */
export async function azJson(args: string[]): Promise<unknown> {
  const r = await run("az", [...args, "--output", "json"]);
  if (r.code !== 0)
    throw new HookError(
      `az ${args.slice(0, 3).join(" ")} failed: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`,
    );
  try {
    return JSON.parse(r.stdout || "null");
  } catch {
    throw new HookError(`az ${args.slice(0, 3).join(" ")} printed no JSON: ${r.stdout.slice(0, 200)}`);
  }
}

/**
 * `azd` arguments for the environment azd runs the hook for: azd sets AZURE_ENV_NAME, and
 * without `-e` a nested azd command would act on the default environment instead.
 */
export function azdArgs(args: string[], env: NodeJS.ProcessEnv): string[] {
  const name = env.AZURE_ENV_NAME?.trim();
  return name ? [...args, "-e", name] : args;
}

export async function azdEnvSet(key: string, value: string, env: NodeJS.ProcessEnv): Promise<void> {
  const r = await run("azd", azdArgs(["env", "set", key, value], env));
  if (r.code !== 0) throw new HookError(`azd env set ${key} failed: ${(r.stderr || r.stdout).trim()}`);
}

/** Seconds from an optional environment override (tests shorten the waits). */
export function seconds(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const v = Number(env[key]);
  return env[key] !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback;
}

export const sleep = (s: number) => new Promise<void>((r) => setTimeout(r, s * 1000));

/** Prefix of every line the hooks print, so they stand out in azd's output. */
export const say = (line: string) => console.log(`aml-steward: ${line}`);
export const fail = (line: string) => console.error(`aml-steward: ${line}`);

/**
 * Runs a hook's main when its file is the process entry (not when a test imports it), turning a
 * HookError into one clear line and exit code 1.
 */
export function runHook(moduleUrl: string, main: () => Promise<number>): void {
  if (!process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      fail(e instanceof HookError ? e.message : String((e as Error)?.stack ?? e));
      process.exitCode = 1;
    },
  );
}
