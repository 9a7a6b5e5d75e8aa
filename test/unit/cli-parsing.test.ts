/** Pure parts of the CLI: env files, tables, the access-matrix view, and exit codes for usage errors. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnvFile } from "../../cli/envFile.js";
import { renderTable, shortId } from "../../cli/table.js";
import { accessMatrix } from "../../cli/commands/policy.js";
import { main, type CliIo } from "../../cli/index.js";
import { getPolicy } from "../../shared/policy/index.js";
import { contractSkipNotice } from "../contract/notice.js";

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
  return { io, out, err };
};

describe("env files", () => {
  it("reads KEY=value lines, quotes, export prefixes and comments", () => {
    expect(
      parseEnvFile(
        [
          "# comment",
          "",
          "A=1",
          'B="two words"',
          "export C='x=y'",
          "AzureWebJobsStorage=DefaultEndpointsProtocol=http;AccountName=dev;BlobEndpoint=http://127.0.0.1:1/dev",
        ].join("\n"),
      ),
    ).toEqual({
      A: "1",
      B: "two words",
      C: "x=y",
      AzureWebJobsStorage:
        "DefaultEndpointsProtocol=http;AccountName=dev;BlobEndpoint=http://127.0.0.1:1/dev",
    });
    expect(() => parseEnvFile("not a setting")).toThrow(/expected KEY=value/);
  });
});

describe("tables", () => {
  it("pads columns, right-aligns numbers and cuts long cells", () => {
    expect(
      renderTable(
        ["name", "n"],
        [
          ["a", 1],
          ["bbb", 22],
        ],
      ),
    ).toBe("name   n\n----  --\na      1\nbbb   22");
    expect(renderTable(["x"], [])).toBe("x\n(none)");
    expect(renderTable(["x"], [["abcdef"]], { maxWidth: 4 })).toContain("abc…");
  });

  it("shortens ARM ids to rg/NAME, RG/TYPE/NAME and sub/ID forms", () => {
    const sub = "/subscriptions/00000000-0000-0000-0000-000000000001";
    expect(shortId(`${sub}/resourceGroups/rg-aml-fraud-dev`)).toBe("rg/rg-aml-fraud-dev");
    expect(shortId(`${sub}/resourceGroups/rg-a/providers/Microsoft.Storage/storageAccounts/sta`)).toBe(
      "rg-a/storageAccounts/sta",
    );
    expect(
      shortId(`${sub}/resourceGroups/rg-a/providers/Microsoft.MachineLearningServices/workspaces/w/models/m`),
    ).toBe("rg-a/workspaces/w/models/m");
    expect(shortId(sub)).toBe("sub/00000000-0000-0000-0000-000000000001");
    expect(shortId("group:grp-x:123")).toBe("group:grp-x:123");
  });

  it("fits the terminal: drops optional columns first, then wraps one, and says so", () => {
    const rows = [
      [
        "2026-01-01T00:00:00Z",
        "onResourceWrite",
        "tags",
        "rg/rg-aml-fraud-detection-dev",
        "a long reason ".repeat(8).trim(),
      ],
    ];
    const headers = ["at", "actor", "action", "target", "reason"];
    const full = renderTable(headers, rows);
    expect(full.split("\n")[0]!.length).toBeLessThan(full.split("\n")[2]!.length + 1);
    expect(full.split("\n")[2]!.length).toBeGreaterThan(100);
    const fitted = renderTable(headers, rows, { width: 80, drop: [1], wrap: 4 });
    for (const line of fitted.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    expect(fitted).not.toContain("onResourceWrite");
    expect(fitted).toContain("rg/rg-aml-fraud-detection-dev");
    expect(fitted).toContain("(actor not shown to fit 80 columns; --wide shows all)");
    // Every word of the wrapped column is still there.
    expect(fitted.replace(/\s+/g, " ")).toContain("a long reason a long");
  });

  it("shows the access matrix as one row per Azure role with a column per environment", () => {
    const text = accessMatrix(getPolicy());
    expect(text.split("\n")[0]).toMatch(/^role\s+Azure role\s+dev\s+qa\s+prod$/);
    expect(text).toMatch(/reader\s+Storage Blob Data Reader\s+x\s+-\s+-/);
  });
});

describe("command line", () => {
  it("returns 2 with a message for usage errors and prints help with 0", async () => {
    const a = capture();
    expect(await main(["promote"], a.io)).toBe(2);
    expect(a.err.join("\n")).toContain("usage: steward promote FILE");
    const b = capture();
    expect(await main(["status", "x", "--timeout", "3"], b.io)).toBe(2);
    expect(b.err.join("\n")).toContain("--timeout does not apply");
    const c = capture();
    expect(await main(["--help"], c.io)).toBe(0);
    expect(c.out.join("\n")).toContain("exit codes: 0 ok, 1 the operation failed, 2 bad input");
    const d = capture();
    expect(await main(["--env-file", "/no/such/file", "policy", "show"], d.io)).toBe(2);
    expect(d.err.join("\n")).toContain("cannot read --env-file /no/such/file: no such file");
    const e = capture();
    expect(await main(["--settings", "/no/such/file", "policy", "show"], e.io)).toBe(2);
    expect(e.err.join("\n")).toBe(
      "steward: cannot read --settings /no/such/file: no such file (npm start writes .steward/local.env)",
    );
  });

  it("has help per command with examples, a version, and names unknown flags and commands with a suggestion", async () => {
    const help = capture();
    expect(await main(["help", "promote"], help.io)).toBe(0);
    const text = help.out.join("\n");
    expect(text).toMatch(/^usage: steward promote FILE/);
    expect(text).toContain("examples:");
    expect(text).toContain("--dry-run");
    const flag = capture();
    expect(await main(["reconcile", "--help"], flag.io)).toBe(0);
    expect(flag.out.join("\n")).toMatch(/^usage: steward reconcile/);
    const pol = capture();
    expect(await main(["policy", "validate", "--help"], pol.io)).toBe(0);
    expect(pol.out.join("\n")).toMatch(/^usage: steward policy validate FILE/);
    const v = capture();
    expect(await main(["--version"], v.io)).toBe(0);
    expect(v.out.join("\n")).toMatch(/^steward \d+\.\d+\.\d+ \(aml-steward, Node /);
    const typo = capture();
    expect(await main(["promote", "x.json", "--dryrun"], typo.io)).toBe(2);
    expect(typo.err.join("\n")).toBe(
      "steward: unknown option --dryrun (did you mean --dry-run?); steward --help lists them",
    );
    const cmd = capture();
    expect(await main(["reconsile"], cmd.io)).toBe(2);
    expect(cmd.err.join("\n")).toContain('unknown command "reconsile" (did you mean reconcile?)');
    const topic = capture();
    expect(await main(["help", "nope"], topic.io)).toBe(2);
    // A value that looks like an option is not taken for an unknown one; parseArgs says how to pass it.
    const value = capture();
    expect(await main(["approve", "not-a-guid", "--comment", "-looks-like-a-flag"], value.io)).toBe(2);
    expect(value.err.join("\n")).toContain("--comment=-XYZ");
    expect(value.err.join("\n")).not.toContain("unknown option");
  });
});

describe("steward policy validate", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "steward-policy-"));
  const base = readFileSync(
    path.join(import.meta.dirname, "../../shared/policy/default-policy.yaml"),
    "utf8",
  );
  const validate = async (text: string) => {
    const file = path.join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    const c = capture();
    const code = await main(["policy", "validate", file], c.io);
    return { code, stdout: c.out.join("\n"), stderr: c.err.join("\n") };
  };

  it("reports structural and cross-field problems in one pass, in the product's words", async () => {
    const text = base
      .replace(/^organisation: .*$/m, "organisation: ''")
      .replace(/default: westeurope/, "default: northeurope")
      .replace(/^version: .*$/m, "version: 7");
    const r = await validate(text);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/INVALID, \d+ problems?:/);
    expect(r.stdout).toContain('  organisation = "": must not be empty');
    // A cross-field rule, reported while a structural problem remains.
    expect(r.stdout).toContain(
      '  regions.default = "northeurope": must be one of regions.allowed (westeurope)',
    );
    expect(r.stdout).toMatch(/ {2}version = 7: must be 1/);
    expect(r.stdout).not.toMatch(/Invalid input|Too small|expected string/);
    expect(r.stderr).toContain("is not a valid estate policy");
  });

  it("names a YAML syntax error's line and column", async () => {
    const lines = base.split("\n");
    const at = lines.findIndex((l) => l.startsWith("organisation:"));
    lines[at] = "organisation: [Contoso";
    const r = await validate(lines.join("\n"));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ {2}line \d+, column \d+ = .*: YAML syntax: /);
  });

  it("names an unknown field, and keeps valid files valid", async () => {
    const r = await validate(base.replace(/^organisation: /m, "organisaton: "));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("organisaton = ");
    expect(r.stdout).toContain("organisation = (missing): is required");
    expect((await validate(base)).code).toBe(0);
  });
});

describe("npm test's notice about contract tests", () => {
  it("says once why they are skipped and how to enable them", () => {
    const notice = contractSkipNotice("/nowhere/specs", {});
    expect(notice).toContain("Contract tests (test/contract) are SKIPPED: no REST specs at /nowhere/specs");
    expect(notice).toContain("STEWARD_SPECS_DIR");
    expect(contractSkipNotice("/nowhere/specs", { STEWARD_SPECS_DIR: "/nowhere/specs" })).toContain(
      "STEWARD_SPECS_DIR=/nowhere/specs holds no REST specs",
    );
  });
});
