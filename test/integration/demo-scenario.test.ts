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
    const startDay = new Date().toISOString().slice(0, 10);
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
      ["tamper", "passed"],
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
    const table = (title: string) => result.tables.find((t) => t.title.startsWith(title))!;
    // Groups by environment in policy order, then role in policy order.
    expect(table("Entra groups").rows.map((r) => r[0])).toEqual(
      ["dev", "qa", "prod"].flatMap((env) =>
        ["data-scientist", "ml-engineer", "mlops", "reader"].map(
          (role) => `grp-aml-fraud-detection-${env}-${role}`,
        ),
      ),
    );
    // The workspaces' system identities by name, not a bare GUID.
    const sps = table("Role assignments").rows.filter((r) => r[2] === "ServicePrincipal");
    expect(sps.map((r) => [r[0], r[1]]).sort()).toEqual(
      ["dev", "prod", "qa"].map((env) => [`rg-aml-fraud-detection-${env}`, `mlw-fraud-detection-${env}`]),
    );
    // The dev storage account the promotion created says who asked for it, and when.
    const tags = table("Tags");
    const devStorage = tags.rows.find((r) => r[1] === "rg-aml-fraud-detection-dev")!;
    const cell = (name: string) => devStorage[tags.headers.indexOf(name)];
    expect(cell("createdBy")).toBe("alice@contoso.com via aml-steward");
    expect([startDay, new Date().toISOString().slice(0, 10)]).toContain(cell("createdOn"));
    const html = readFileSync(path.join(dir, "demo.html"), "utf8");
    expect(html).toContain("Every step did what it should");
    expect(html).toContain("rg-aml-fraud-detection-prod");
    expect(existsSync(path.join(dir, "host.log"))).toBe(true);
    expect(lines.at(-1)).toMatch(/^DEMO PASSED: 5 of 5 acts/);
    expect(result.durationMs).toBeLessThan(60_000);
  }, 120_000);
});
