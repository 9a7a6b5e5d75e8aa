/**
 * Finds the app's function definitions: `functions/all.ts` (`allDefinitions`) when it exists,
 * else each known function module on its own, reporting the ones not written yet. The runner,
 * the demo and `npm start` all load the app this way, so they run exactly what Azure runs.
 */
import type { FunctionDefinition } from "../../functions/definition.js";

/** Function modules the app is made of (functions/<name>.ts), in the order the host lists them. */
export const FUNCTION_MODULES = [
  "onResourceWrite",
  "processPromotion",
  "promotionStatus",
  "reconcileCostTags",
] as const;

export interface LoadedDefinitions {
  definitions: FunctionDefinition[];
  /** Modules that do not exist yet (their functions are simply absent). */
  missing: string[];
  source: "functions/all" | "modules";
}

function isMissingModule(e: unknown, name: string): boolean {
  const err = e as { code?: string; message?: string };
  return (
    (err.code === "ERR_MODULE_NOT_FOUND" ||
      /Cannot find module|Failed to load url|does not exist/i.test(err.message ?? "")) &&
    (err.message ?? "").includes(name)
  );
}

// A variable specifier keeps TypeScript from requiring modules that may not exist yet.
const importModule = (specifier: string): Promise<Record<string, unknown>> =>
  import(specifier) as Promise<Record<string, unknown>>;

export async function loadDefinitions(): Promise<LoadedDefinitions> {
  try {
    const all = await importModule(new URL("../../functions/all.js", import.meta.url).href);
    if (Array.isArray(all.allDefinitions)) {
      return {
        definitions: all.allDefinitions as FunctionDefinition[],
        missing: [],
        source: "functions/all",
      };
    }
  } catch (e) {
    if (!isMissingModule(e, "all")) throw e;
  }
  const definitions: FunctionDefinition[] = [];
  const missing: string[] = [];
  for (const name of FUNCTION_MODULES) {
    try {
      const mod = await importModule(new URL(`../../functions/${name}.js`, import.meta.url).href);
      definitions.push(...((mod.definitions as FunctionDefinition[] | undefined) ?? []));
    } catch (e) {
      if (!isMissingModule(e, name)) throw e;
      missing.push(name);
    }
  }
  return { definitions, missing, source: "modules" };
}
