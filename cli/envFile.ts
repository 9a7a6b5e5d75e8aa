/**
 * `--settings FILE` (or `--env-file FILE`): KEY=value lines (the file `npm start` writes, or your own for Azure).
 * Blank lines and # comments are skipped; values may be quoted ("..." takes JSON escapes).
 * The file's values override the environment: naming a file on the command line is explicit.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "./io.js";

export function parseEnvFile(text: string, source = "env file"): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new UsageError(`${source}:${i + 1}: expected KEY=value, got "${line.slice(0, 60)}"`);
    let value = m[2]!;
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        value = value.slice(1, -1);
      }
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1);
    }
    out[m[1]!] = value;
  });
  return out;
}

export function readEnvFile(file: string, flag = "--settings"): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file (npm start writes .steward/local.env)" : (e as Error).message;
    throw new UsageError(`cannot read ${flag} ${file}: ${why}`);
  }
  return parseEnvFile(text, file);
}
