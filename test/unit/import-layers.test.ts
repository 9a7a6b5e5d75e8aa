/**
 * The layering the architecture promises (docs/architecture.md), checked on the sources: no
 * import cycles anywhere; the core (shared/) imports none of its callers; the emulator package
 * (emulator/) imports nothing of the app or the local stack, only Node's built-ins and the
 * dependencies its own package.json declares, so it works when installed from npm alone.
 * Type-only imports count for cycles too: a type cycle is still a design cycle.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FOLDERS = ["functions", "shared", "cli", "emulator", "local"];

function sourcesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "dist" ? [] : sourcesUnder(rel);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [rel] : [];
  });
}

interface Specifier {
  name: string;
  /** `import type` / `export type`: erased, so it loads nothing at run time. */
  typeOnly: boolean;
}

/** Module specifiers of `import ... from`, `export ... from`, `import "x"` and `import("x")`. */
function specifiersOf(source: string): Specifier[] {
  const found: Specifier[] = [];
  for (const m of source.matchAll(/\b(import|export)\s([^;]*?)\sfrom\s*["']([^"']+)["']/g))
    found.push({ name: m[3]!, typeOnly: /^type\s/.test(m[2]!) });
  for (const m of source.matchAll(/\bimport\s*\(?\s*["']([^"']+)["']/g))
    found.push({ name: m[1]!, typeOnly: false });
  return found;
}

const files = FOLDERS.flatMap(sourcesUnder);
/** Repository-relative file -> the repository files and the packages it imports. */
const graph = new Map(
  files.map((file) => {
    const specs = specifiersOf(readFileSync(path.join(ROOT, file), "utf8"));
    const resolve = (s: Specifier): string =>
      path.posix.normalize(path.posix.join(path.posix.dirname(file), s.name)).replace(/\.js$/, ".ts");
    const relative = specs.filter((s) => s.name.startsWith("."));
    const local = relative.map(resolve);
    const runtime = relative.filter((s) => !s.typeOnly).map(resolve);
    const packages = specs.filter((s) => !s.name.startsWith(".")).map((s) => s.name);
    return [file, { local, runtime, packages }];
  }),
);

function cycles(edges: "local" | "runtime"): string[] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file)?.[edges] ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found.map((c) => c.join(" -> "));
}

const top = (file: string): string => file.split("/")[0]!;

describe("import layering", () => {
  it("reads every source folder", () => {
    for (const folder of FOLDERS)
      expect(
        files.some((f) => top(f) === folder),
        folder,
      ).toBe(true);
  });

  it("has no cycles of imports that load modules", () => {
    expect(cycles("runtime")).toEqual([]);
  });

  it("has no cycles through type imports either", () => {
    expect(cycles("local")).toEqual([]);
  });

  it("keeps shared/ free of its callers", () => {
    const wrong = [...graph].flatMap(([file, { local }]) =>
      top(file) === "shared" ? local.filter((t) => top(t) !== "shared").map((t) => `${file} -> ${t}`) : [],
    );
    expect(wrong).toEqual([]);
  });

  it("keeps the app (functions/, cli/) free of the emulator and the local stack", () => {
    const wrong = [...graph].flatMap(([file, { local, packages }]) =>
      top(file) === "functions" || top(file) === "cli"
        ? [
            ...local.filter((t) => top(t) === "emulator" || top(t) === "local"),
            ...packages.filter((p) => p.startsWith("@aml-steward/azure-emulator")),
          ].map((t) => `${file} -> ${t}`)
        : [],
    );
    expect(wrong).toEqual([]);
  });

  it("keeps the emulator package to itself, Node and its declared dependencies", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "emulator/package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    const declared = new Set(Object.keys(pkg.dependencies ?? {}));
    const builtins = new Set(builtinModules);
    const packageName = (s: string): string =>
      s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!;
    const wrong = [...graph].flatMap(([file, { local, packages }]) => {
      if (top(file) !== "emulator") return [];
      return [
        ...local.filter((t) => top(t) !== "emulator"),
        ...packages.filter(
          (p) => !p.startsWith("node:") && !builtins.has(p) && !declared.has(packageName(p)),
        ),
      ].map((t) => `${file} -> ${t}`);
    });
    expect(wrong).toEqual([]);
  });
});
