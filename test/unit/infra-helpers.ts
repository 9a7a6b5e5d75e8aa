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

/** The text inside the balanced {...} or [...] that opens at `open` (Bicep '...' strings skipped). */
export function balancedBlock(source: string, open: number): string {
  const pairs: Record<string, string> = { "{": "}", "[": "]", "(": ")" };
  const stack: string[] = [];
  let inString = false;
  for (let i = open; i < source.length; i++) {
    const c = source[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === "'") inString = false;
      continue;
    }
    if (c === "'") inString = true;
    else if (pairs[c]) stack.push(pairs[c]);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return source.slice(open + 1, i);
    }
  }
  throw new Error(`unbalanced block at ${open}`);
}

/** Keys of an object body at its own level (not inside nested objects, arrays or calls). */
export function topLevelKeys(body: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let inString = false;
  let lineStart = true;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (lineStart && depth === 0 && !inString) {
      const m = /^[ \t]*([A-Za-z_]\w*|'[^']+')\s*:/.exec(body.slice(i));
      if (m) keys.push(m[1]!.replace(/'/g, ""));
    }
    lineStart = c === "\n";
    if (inString) {
      if (c === "\\") i++;
      else if (c === "'") inString = false;
    } else if (c === "'") inString = true;
    else if ("{[(".includes(c)) depth++;
    else if ("}])".includes(c)) depth--;
  }
  return keys;
}

export interface BicepParam {
  name: string;
  required: boolean;
}

export function bicepParams(code: string): BicepParam[] {
  return [...code.matchAll(/^param (\w+) ([^\s=]+)(\s*=)?/gm)].map((m) => ({
    name: m[1]!,
    required: !m[3] && !m[2]!.endsWith("?"),
  }));
}

export function bicepOutputs(code: string): string[] {
  return [...code.matchAll(/^output (\w+) /gm)].map((m) => m[1]!);
}

export interface BicepModule {
  symbol: string;
  ref: string;
  params: string[];
}

/** Every `module x '<ref>' = ...` with the keys of its `params` object. */
export function bicepModules(code: string): BicepModule[] {
  return [...code.matchAll(/^module (\w+) '([^']+)' = /gm)].map((m) => {
    const open = code.indexOf("{", m.index);
    const body = balancedBlock(code, open);
    const at = /^ {2,4}params: \{/m.exec(body);
    const params = at ? topLevelKeys(balancedBlock(body, body.indexOf("{", at.index))) : [];
    return { symbol: m[1]!, ref: m[2]!, params };
  });
}

/** Every `resource x '<type>@<apiVersion>'` (including `existing` ones). */
export function bicepResourceTypes(code: string): string[] {
  return [...code.matchAll(/^resource \w+ '([^']+)'/gm)].map((m) => m[1]!);
}
