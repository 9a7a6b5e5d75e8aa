/** Reading the deployment templates as text: no Bicep compiler can be installed here. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../shared/setup/generateInfra.js";

export { REPO_ROOT };

export function read(rel: string): string {
  return readFileSync(path.join(REPO_ROOT, rel), "utf8");
}

/** Every file under infra/ (relative paths). */
export function infraFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(REPO_ROOT, dir))) {
      const rel = path.join(dir, name);
      if (statSync(path.join(REPO_ROOT, rel)).isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk("infra");
  return out.sort();
}

/** Bicep source without // comments (so tests look at what is deployed, not at prose). */
export function bicepCode(rel: string): string {
  return read(rel)
    .split("\n")
    .map((line) => {
      // Strip a // comment that is not inside a '...' string.
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === "\\" && inString) {
          i++;
          continue;
        }
        if (c === "'") inString = !inString;
        if (!inString && c === "/" && line[i + 1] === "/") return line.slice(0, i);
      }
      return line;
    })
    .join("\n");
}

/** The literal of `var <name> = '...'` (single line), with Bicep's \' escapes undone. */
export function bicepStringVar(source: string, name: string): string {
  const m = new RegExp(`^var ${name} = '((?:[^'\\\\]|\\\\.)*)'\\s*$`, "m").exec(source);
  if (!m) throw new Error(`var ${name} = '...' not found`);
  return m[1]!.replace(/\\'/g, "'").replace(/\\\\/g, "\\");
}

/** Every GUID in a text, lower case. */
export function guids(text: string): string[] {
  return [...text.matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi)].map((m) =>
    m[0].toLowerCase(),
  );
}
