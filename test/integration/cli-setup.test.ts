/**
 * `steward setup [--check]` through the CLI's main(argv, io), against the emulator (real ARM,
 * ML, authorization and Graph SDKs over HTTPS) and Azurite, with its output and exit codes:
 * --check changes nothing and reports what is missing (1), setup makes it (0), a second setup
 * changes nothing (the emulator's request log shows no ARM or Graph write), bad input is 2.
 *
 * The estate starts as `azd up` leaves it: the identity's Azure roles and the Event Grid wiring
 * in place (Bicep makes them), the exploration resource group and workspace and the Graph
 * permissions missing (setup makes them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { main, type CliIo } from "../../cli/index.js";
import { getPolicy } from "../../shared/policy/index.js";
import { GRAPH_PERMISSIONS, SETUP_CREATED_BY, type SetupReport } from "../../shared/setup/index.js";
import {
  deployLikeAzd,
  installerClients,
  startSetupStack,
  writesSince as writes,
  type LogEntry,
} from "../helpers/setup.js";
import type { TestStack } from "../helpers/stack.js";

const policy = getPolicy();
const ex = policy.exploration;

let stack: TestStack;

async function steward(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
  const code = await main(argv, io, { setupPollIntervalMs: 20, setupClients: installerClients(stack) });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

const writesSince = (since: string) => writes(stack, since);

beforeAll(async () => {
  stack = await startSetupStack(policy);
  await deployLikeAzd(stack, policy);
});

afterAll(async () => {
  await stack?.stop();
});

describe("steward setup", () => {
  it("--check changes nothing, lists what is missing with its fix, and exits 1", async () => {
    const since = new Date().toISOString();
    const r = await steward("setup", "--check");
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^aml-steward setup --check \(changes nothing\)/);
    expect(r.stdout).toMatch(new RegExp(`\\[MISSING\\] resource group ${ex.resourceGroup}`));
    expect(r.stdout).toMatch(new RegExp(`\\[MISSING\\] workspace ${ex.workspace}`));
    for (const p of GRAPH_PERMISSIONS) expect(r.stdout).toMatch(new RegExp(`\\[MISSING\\] ${p.value}`));
    expect(r.stdout).toContain("fix: ");
    expect(r.stdout).toMatch(/Nothing was changed\.$/);
    // Progress, one line per item, and the verdict go to stderr.
    expect(r.stderr).toContain("steward setup --check: reading only");
    expect(r.stderr).toMatch(/exploration: resource group \S+ missing/);
    // Not a terminal: one numbered line per item, nothing that overwrites itself.
    expect(r.stderr).toMatch(/^ {2}\[1\] \S/m);
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr).toMatch(/steward: setup --check: \d+ missing.*; nothing was changed/);
    expect(await writesSince(since)).toEqual([]);

    const json = await steward("--json", "setup", "--check");
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as SetupReport;
    expect(report).toMatchObject({ mode: "check", ok: false, changes: 0 });
    expect(report.items.filter((i) => i.status === "missing").map((i) => i.area)).toEqual(
      expect.arrayContaining(["exploration", "graph"]),
    );
    // The roles and Event Grid wiring azd made are recognised.
    expect(
      report.items.filter((i) => i.area === "roles" || i.area === "events").map((i) => i.status),
    ).not.toContain("missing");
  });

  it("setup makes what is missing and exits 0", async () => {
    const since = new Date().toISOString();
    const day = () => new Date().toISOString().slice(0, 10);
    const firstDay = day();
    const r = await steward("setup");
    const days = [firstDay, day()];
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\[created\\] resource group ${ex.resourceGroup}`));
    expect(r.stdout).toMatch(new RegExp(`\\[created\\] workspace ${ex.workspace}`));
    for (const p of GRAPH_PERMISSIONS) expect(r.stdout).toMatch(new RegExp(`\\[created\\] ${p.value}`));
    expect(r.stdout).toMatch(/All prerequisites in place.*\d+ change\(s\) made\.$/);
    expect(r.stderr).toContain("steward setup: making what is missing");
    expect(r.stderr).toMatch(/exploration: workspace \S+ created/);
    expect((await writesSince(since)).length).toBeGreaterThanOrEqual(7 + GRAPH_PERMISSIONS.length);
    // What it created says who made it and on which day.
    const ws = await stack
      .mlAs(PEOPLE.erin.objectId, ex.subscriptionId)
      .workspaces.get(ex.resourceGroup, ex.workspace);
    const rg = await stack
      .armAs(PEOPLE.erin.objectId, ex.subscriptionId)
      .resourceGroups.get(ex.resourceGroup);
    for (const tags of [ws.tags, rg.tags]) {
      expect(tags?.[policy.tags.createdBy]).toBe(SETUP_CREATED_BY);
      expect(days).toContain(tags?.[policy.tags.createdOn]);
    }
  }, 60_000);

  it("a second setup changes nothing (no ARM or Graph write), and --check now exits 0", async () => {
    const since = new Date().toISOString();
    const r = await steward("--json", "setup");
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as SetupReport;
    expect(report).toMatchObject({ mode: "apply", ok: true, changes: 0 });
    expect(report.items.filter((i) => i.status === "created")).toEqual([]);
    expect(await writesSince(since)).toEqual([]);

    const check = await steward("setup", "--check");
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toMatch(/All prerequisites in place.*Nothing was changed\.$/);
    expect(await writesSince(since)).toEqual([]);
  }, 60_000);

  it("refuses bad input with exit 2, before reading anything", async () => {
    const since = new Date().toISOString();
    const wrongOption = await steward("setup", "--dry-run");
    expect(wrongOption.code).toBe(2);
    expect(wrongOption.stderr).toContain('--dry-run does not apply to "setup"');
    const extra = await steward("setup", "now");
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unexpected argument "now"');
    expect((await steward("setup", "--check=yes")).code).toBe(2);
    expect((await steward("setup", "--chek")).code).toBe(2);
    expect((await steward("status", "--check", "00000000-0000-0000-0000-000000000000")).code).toBe(2);
    expect((await steward("setup", "--env-file", "/nonexistent/steward.env")).code).toBe(2);
    const help = await steward("--help");
    expect(help.stdout).toContain("setup [--check]");
    const { requests } = await stack.control<{ requests: LogEntry[] }>(
      "GET",
      `/_emulator/requests?since=${encodeURIComponent(since)}`,
    );
    expect(requests.filter((q) => q.kind === "arm" || q.kind === "graph")).toEqual([]);
  });
});
