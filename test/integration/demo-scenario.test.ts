/**
 * The demo scenario end to end, as `npm run demo` plays it: its own local stack (Azurite, the
 * emulator, the app's real functions in the local host), every act checked, the summary tables
 * and the HTML report written.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runDemo } from "../../local/demo/index.js";

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
      ["segregate", "passed"],
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
    // Role assignments as the role x environment matrix of `steward policy show`, the workspace's
    // own identity marked, and counts that match what act 2 claims.
    const matrix = table("Role assignments of fraud-detection");
    expect(matrix.headers).toEqual(["role", "Azure role", "dev", "qa", "prod"]);
    expect(matrix.rows).toContainEqual(["data-scientist", "AzureML Data Scientist", "x", "x", "-"]);
    expect(matrix.rows.some((r) => r[0] === "workspace's own identity")).toBe(true);
    const claims = result.acts
      .find((a) => a.id === "promote")!
      .checks.find((c) => c.what.startsWith("role assignments to groups"))!.detail!;
    const roles = ["data-scientist", "ml-engineer", "mlops", "reader"];
    for (const env of ["dev", "qa", "prod"]) {
      const claimed = new RegExp(`${env}: (\\d+)/\\d+ to groups`).exec(claims)![1];
      const marks = matrix.rows.filter((r, i) => {
        const who = matrix.rows
          .slice(0, i + 1)
          .reverse()
          .find((x) => x[0])![0];
        // The matrix's own rows: the workspace's identity and anything made by hand are not.
        return roles.includes(String(who)) && r[2 + ["dev", "qa", "prod"].indexOf(env)] === "x";
      }).length;
      expect(String(marks)).toBe(claimed);
      expect(matrix.notes!.join(" ")).toContain(
        `${env}: ${claimed} to groups + 1 to the workspace's own identity`,
      );
    }
    // Names cut to fit Azure's limits are listed with the rule that cut them.
    const shortened = table("Names shortened");
    expect(
      shortened.rows.some((r) => r[0] === "storageAccount" && !String(r[2]).includes("frauddetection")),
    ).toBe(true);
    expect(shortened.notes!.join(" ")).toContain("{hash}");
    // The dev storage account the promotion created says who asked for it, and when.
    const tags = table("Tags");
    const devStorage = tags.rows.find((r) => r[1] === "rg-aml-fraud-detection-dev")!;
    const cell = (name: string) => devStorage[tags.headers.indexOf(name)];
    expect(cell("createdBy")).toBe("alice@contoso.com via aml-steward");
    expect([startDay, new Date().toISOString().slice(0, 10)]).toContain(cell("createdOn"));
    const html = readFileSync(path.join(dir, "demo.html"), "utf8");
    expect(html).toContain("Every step did what it should");
    expect(html).toContain("rg-aml-fraud-detection-prod");
    expect(html).toContain("Role assignments of fraud-detection (role x environment");
    expect(html).toContain("Names shortened by the naming rules");
    // As a browser renders it (headless Chromium, when this machine has one).
    const browser = ["chromium", "chromium-browser", "google-chrome"].find(
      (b) => spawnSync("which", [b]).status === 0,
    );
    if (browser) {
      const dom = spawnSync(
        browser,
        [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--dump-dom",
          `file://${path.join(dir, "demo.html")}`,
        ],
        { encoding: "utf8", timeout: 60_000 },
      ).stdout;
      expect(dom).toContain('<h3 id="role-assignments-of-fraud-detection');
      const matrixHtml = dom.slice(
        dom.indexOf('id="role-assignments-of'),
        dom.indexOf('id="names-shortened'),
      );
      expect(matrixHtml.match(/<td class="mark">x<\/td>/g)?.length).toBe(
        matrix.rows.flat().filter((c) => c === "x").length,
      );
      expect(dom).toContain("stfrauddetectio");
    } else console.warn("headless Chromium not found: the demo report was not checked in a browser");
    expect(existsSync(path.join(dir, "host.log"))).toBe(true);
    expect(lines.at(-1)).toMatch(/^DEMO PASSED: 6 of 6 acts/);
    expect(result.durationMs).toBeLessThan(60_000);
  }, 120_000);
});
