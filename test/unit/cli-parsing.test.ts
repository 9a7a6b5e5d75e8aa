/** Pure parts of the CLI: env files, tables, the access-matrix view, and exit codes for usage errors. */
import { describe, expect, it } from "vitest";
import { parseEnvFile } from "../../cli/envFile.js";
import { renderTable, shortId } from "../../cli/table.js";
import { accessMatrix } from "../../cli/commands/policy.js";
import { main, type CliIo } from "../../cli/index.js";
import { getPolicy } from "../../shared/policy/index.js";

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
    expect(shortId("/subscriptions/s/resourceGroups/rg/providers/P/t/name", 2)).toBe("…/t/name");
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
    expect(d.err.join("\n")).toContain("cannot read --env-file");
  });
});
