/**
 * The demo scenario end to end, as `npm run demo` plays it: its own local stack (Azurite, the
 * emulator, the app's real functions in the local host), every act checked, the summary tables
 * and the HTML report written.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runDemo } from "../../emulator/demo/index.js";

describe("npm run demo", () => {
  it("plays the whole scenario and every step does what it should", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "steward-demo-"));
    const lines: string[] = [];
    const result = await runDemo({
      certPath: process.env.STEWARD_TEST_CERT_PATH!,
      keyPath: process.env.STEWARD_TEST_KEY_PATH!,
      htmlPath: path.join(dir, "demo.html"),
      hostLogPath: path.join(dir, "host.log"),
      print: (l) => lines.push(l),
    });
    const failed = result.acts.flatMap((a) => [
      ...(a.error ? [`${a.id}: ${a.error}`] : []),
      ...a.checks.filter((c) => !c.ok).map((c) => `${a.id}: ${c.what} (${c.detail})`),
      ...(a.status === "unavailable" ? [`${a.id}: ${a.notes.join("; ")}`] : []),
    ]);
    expect(failed, lines.join("\n")).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.acts.map((a) => [a.id, a.status])).toEqual([
      ["explore", "passed"],
      ["promote", "passed"],
      ["drift", "passed"],
      ["refuse", "passed"],
    ]);
    const titles = result.tables.map((t) => t.title);
    for (const t of [
      "Resource groups",
      "ML workspaces",
      "Entra groups",
      "Role assignments",
      "Tags",
      "Policy violations",
    ]) {
      expect(titles.some((x) => x.startsWith(t))).toBe(true);
    }
    expect(result.tables.find((t) => t.title.startsWith("Entra groups"))!.rows).toHaveLength(12);
    const html = readFileSync(path.join(dir, "demo.html"), "utf8");
    expect(html).toContain("Every step did what it should");
    expect(html).toContain("rg-aml-fraud-detection-prod");
    expect(existsSync(path.join(dir, "host.log"))).toBe(true);
    expect(lines.at(-1)).toMatch(/^DEMO PASSED: 4 of 4 acts/);
    expect(result.durationMs).toBeLessThan(60_000);
  }, 120_000);
});
