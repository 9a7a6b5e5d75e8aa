/**
 * The azd hooks, run through their real POSIX entry points (sh -> npx tsx) against a fake `az`
 * and `azd` on PATH. The fakes are small Node scripts written into a temp dir: they answer from a
 * scenario file (the nth call of a command gets the nth answer, the last one repeats) and record
 * every call, so the tests see what the hooks would have asked of Azure and of azd.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readContract } from "../../infra/hooks/common.js";
import { decide, encodeAdopted, subscriptionTopics } from "../../infra/hooks/preprovision.js";
import { listedFunctions } from "../../infra/hooks/postdeploy.js";
import { read, REPO_ROOT } from "./infra-helpers.js";

interface Answer {
  stdout?: unknown;
  stderr?: string;
  code?: number;
}
/** Per tool, per command ("functionapp function list", "provision"; "<command> <--subscription>" first). */
type Scenario = Partial<Record<"az" | "azd", Record<string, Answer[]>>>;
interface Call {
  tool: string;
  args: string[];
}

const FAKE = `#!/usr/bin/env node
const fs = require("fs");
const path = require("path");
const tool = path.basename(process.argv[1]);
const args = process.argv.slice(2);
const log = process.env.FAKE_LOG;
const prior = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
fs.appendFileSync(log, JSON.stringify({ tool, args }) + "\\n");
const words = args.slice(0, args.findIndex((a) => a.startsWith("-")) === -1 ? args.length : args.findIndex((a) => a.startsWith("-"))).join(" ");
const sub = args.includes("--subscription") ? args[args.indexOf("--subscription") + 1] : undefined;
const table = (JSON.parse(fs.readFileSync(process.env.FAKE_SCENARIO, "utf8"))[tool]) || {};
const key = sub && table[words + " " + sub] ? words + " " + sub : words;
const answers = table[key] || [{}];
const n = prior.filter((c) => c.tool === tool && c.args.slice(0, words.split(" ").length).join(" ") === words && (key === words || c.args.includes(sub))).length;
const a = answers[Math.min(n, answers.length - 1)];
if (a.stdout !== undefined) process.stdout.write(typeof a.stdout === "string" ? a.stdout : JSON.stringify(a.stdout));
if (a.stderr) process.stderr.write(a.stderr);
process.exit(a.code || 0);
`;

const SUB_ID = "11111111-2222-4333-8444-555555555555";
const API_ID = "9e0a1000-0000-4000-8000-0000000000ff";
const contract = readContract();
const [subA, subB] = contract.governedSubscriptionIds;

let work: string;
let bin: string;

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "steward-hooks-"));
  bin = path.join(work, "bin");
  spawnSync("mkdir", ["-p", bin]);
  for (const tool of ["az", "azd"]) {
    writeFileSync(path.join(bin, tool), FAKE);
    chmodSync(path.join(bin, tool), 0o755);
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let runs = 0;
function runHook(
  hook: "preprovision" | "postdeploy",
  scenario: Scenario,
  env: Record<string, string | undefined> = {},
) {
  const dir = path.join(work, `run-${++runs}`);
  spawnSync("mkdir", ["-p", dir]);
  const log = path.join(dir, "calls.jsonl");
  // Unless a test says otherwise: signed in, and no system topic anywhere.
  const defaults: Record<string, Answer[]> = {
    "account show": [{ stdout: { id: SUB_ID } }],
    "eventgrid system-topic list": [{ stdout: [] }],
  };
  writeFileSync(
    path.join(dir, "scenario.json"),
    JSON.stringify({ ...scenario, az: { ...defaults, ...scenario.az } }),
  );
  const fullEnv: Record<string, string> = {
    PATH: `${bin}${path.delimiter}${process.env.PATH}`,
    HOME: process.env.HOME ?? work,
    FAKE_LOG: log,
    FAKE_SCENARIO: path.join(dir, "scenario.json"),
    AZURE_ENV_NAME: "steward-test",
    AZURE_SUBSCRIPTION_ID: SUB_ID,
    AZURE_RESOURCE_GROUP: "rg-aml-steward-test",
    AZURE_FUNCTION_APP_NAME: "func-aml-steward-abc",
    STEWARD_API_CLIENT_ID: API_ID,
    STEWARD_HOOK_POLL_SECONDS: "0.05",
    STEWARD_HOOK_RETRY_SECONDS: "0.05",
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete fullEnv[k];
    else fullEnv[k] = v;
  }
  const started = Date.now();
  const r = spawnSync("sh", [path.join(REPO_ROOT, `infra/hooks/${hook}.sh`)], {
    env: fullEnv,
    encoding: "utf8",
    timeout: 60_000,
  });
  const calls: Call[] = existsSync(log)
    ? readFileSync(log, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Call)
    : [];
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    calls,
    seconds: (Date.now() - started) / 1000,
  };
}

const line = (c: Call) => `${c.tool} ${c.args.join(" ")}`;
const fnList = (...names: string[]) => ({
  stdout: names.map((n) => ({ name: `func-aml-steward-abc/${n}` })),
});

describe("postdeploy: wait for onResourceWrite, then provision the event subscriptions", () => {
  it("polls until the function is listed (after 3 polls), then provisions once with the subscriptions on", () => {
    const r = runHook("postdeploy", {
      az: {
        "functionapp function list": [
          fnList(),
          fnList("onPromotionQueue"),
          fnList("onPromotionQueue", "onResourceWrite"),
        ],
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls.map(line)).toEqual([
      ...Array(3).fill(
        `az functionapp function list --resource-group rg-aml-steward-test --name func-aml-steward-abc --subscription ${SUB_ID} --output json`,
      ),
      "azd env set DEPLOY_EVENT_SUBSCRIPTIONS true -e steward-test",
      "azd provision --no-prompt -e steward-test",
    ]);
    expect(r.stdout).toMatch(/onResourceWrite is listed on func-aml-steward-abc \(poll 3/);
    expect(r.stdout).toContain("steward setup --check");
  });

  it("keeps polling through errors while the app restarts", () => {
    const r = runHook("postdeploy", {
      az: {
        "functionapp function list": [
          { code: 1, stderr: "ERROR: (NotFound) The resource was not found" },
          fnList("onResourceWrite"),
        ],
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls.filter((c) => c.tool === "azd" && c.args[0] === "provision")).toHaveLength(1);
  });

  it("gives up after the time limit with a clear message, and provisions nothing", () => {
    const r = runHook(
      "postdeploy",
      { az: { "functionapp function list": [fnList("onPromotionQueue")] } },
      { STEWARD_HOOK_WAIT_SECONDS: "0.5", STEWARD_HOOK_POLL_SECONDS: "0.1" },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /onResourceWrite is still not listed on func-aml-steward-abc after \d+ s \(\d+ polls; listed so far: onpromotionqueue\)/,
    );
    expect(r.stderr).toContain("azd env set DEPLOY_EVENT_SUBSCRIPTIONS true && azd provision");
    const polls = r.calls.filter((c) => c.tool === "az").length;
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(7);
    expect(r.calls.filter((c) => c.tool === "azd")).toEqual([]);
  });

  it('retries "Destination endpoint not found" and succeeds', () => {
    const notFound = {
      code: 1,
      stderr:
        'ERROR: deployment failed: {"code":"Endpoint validation","message":"Destination endpoint not found."}',
    };
    const r = runHook("postdeploy", {
      az: { "functionapp function list": [fnList("onResourceWrite")] },
      azd: { provision: [notFound, notFound, { stdout: "SUCCESS" }] },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls.filter((c) => c.tool === "azd").map(line)).toEqual([
      "azd env set DEPLOY_EVENT_SUBSCRIPTIONS true -e steward-test",
      "azd provision --no-prompt -e steward-test",
      "azd provision --no-prompt -e steward-test",
      "azd provision --no-prompt -e steward-test",
    ]);
    expect(r.stdout).toMatch(/Destination endpoint not found.*retrying/);
  });

  it("stops after the last attempt and turns DEPLOY_EVENT_SUBSCRIPTIONS back off", () => {
    const r = runHook(
      "postdeploy",
      {
        az: { "functionapp function list": [fnList("onResourceWrite")] },
        azd: { provision: [{ code: 1, stderr: "Destination endpoint not found." }] },
      },
      { STEWARD_HOOK_PROVISION_ATTEMPTS: "2" },
    );
    expect(r.code).toBe(1);
    expect(r.calls.filter((c) => c.tool === "azd").map(line)).toEqual([
      "azd env set DEPLOY_EVENT_SUBSCRIPTIONS true -e steward-test",
      "azd provision --no-prompt -e steward-test",
      "azd provision --no-prompt -e steward-test",
      "azd env set DEPLOY_EVENT_SUBSCRIPTIONS false -e steward-test",
    ]);
    expect(r.stderr).toContain('still answers "Destination endpoint not found" after 2 attempts');
  });

  it("does not retry another provisioning error", () => {
    const r = runHook("postdeploy", {
      az: { "functionapp function list": [fnList("onResourceWrite")] },
      azd: { provision: [{ code: 1, stderr: "AuthorizationFailed" }] },
    });
    expect(r.code).toBe(1);
    expect(r.calls.filter((c) => c.tool === "azd" && c.args[0] === "provision")).toHaveLength(1);
    expect(r.stderr).toContain("not retried");
  });

  it("does nothing once the event subscriptions are part of the deployment", () => {
    const r = runHook("postdeploy", {}, { DEPLOY_EVENT_SUBSCRIPTIONS: "true" });
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([]);
  });

  it("refuses to go on without STEWARD_API_CLIENT_ID and says how to set it", () => {
    for (const value of [undefined, "", "api://aml-steward"]) {
      const r = runHook("postdeploy", {}, { STEWARD_API_CLIENT_ID: value });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("azd env set STEWARD_API_CLIENT_ID");
      expect(r.stderr).toContain("The API app registration");
      expect(r.calls).toEqual([]);
    }
  });
});

const topic = (name: string, resourceGroup: string, sub: string, identity?: string) => ({
  id: `/subscriptions/${sub}/resourceGroups/${resourceGroup}/providers/Microsoft.EventGrid/systemTopics/${name}`,
  name,
  resourceGroup,
  location: "global",
  topicType: "Microsoft.Resources.Subscriptions",
  source: `/subscriptions/${sub}`,
  ...(identity ? { identity: { type: identity } } : {}),
});
const storageTopic = (sub: string) => ({
  ...topic("evgt-blobs", "rg-data", sub),
  topicType: "Microsoft.Storage.StorageAccounts",
});

describe("preprovision: existing subscription system topics are adopted", () => {
  it("finds an existing topic, passes it on to the template and says so", () => {
    const r = runHook("preprovision", {
      az: {
        "account show": [{ stdout: { id: SUB_ID } }],
        [`eventgrid system-topic list ${subA}`]: [
          { stdout: [storageTopic(subA!), topic("portal-events", "rg-ops", subA!)] },
        ],
        [`eventgrid system-topic list ${subB}`]: [{ stdout: [] }],
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls.map(line)).toEqual([
      "az account show --output json",
      `az eventgrid system-topic list --subscription ${subA} --output json`,
      `az eventgrid system-topic list --subscription ${subB} --output json`,
      `azd env set STEWARD_ADOPTED_SYSTEM_TOPICS ${subA}/rg-ops/portal-events -e steward-test`,
    ]);
    expect(r.stdout).toContain(`${subA}: adopting existing system topic portal-events in rg-ops`);
    expect(r.stdout).toContain(`${subB}: no subscription system topic yet`);
    expect(r.stdout).toContain("adopted 1 existing system topic(s)");
  });

  it("with none found, clears what an earlier run adopted", () => {
    const r = runHook(
      "preprovision",
      { az: { "eventgrid system-topic list": [{ stdout: [storageTopic(subA!)] }] } },
      { STEWARD_ADOPTED_SYSTEM_TOPICS: `${subA}/rg-ops/portal-events` },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls.filter((c) => c.tool === "azd").map(line)).toEqual([
      "azd env set STEWARD_ADOPTED_SYSTEM_TOPICS none -e steward-test",
    ]);
    expect(r.stdout).toContain("no existing system topic to adopt");
  });

  it("with none found and nothing adopted before, changes nothing", () => {
    const r = runHook("preprovision", {}, { STEWARD_ADOPTED_SYSTEM_TOPICS: "none" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls.filter((c) => c.tool === "azd")).toEqual([]);
  });

  it("does not adopt aml-steward's own topic (the second provision sees it)", () => {
    const r = runHook("preprovision", {
      az: {
        "eventgrid system-topic list": [
          { stdout: [topic("evgt-aml-steward", "rg-aml-steward-events", subA!, "SystemAssigned")] },
        ],
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("is aml-steward's own");
    expect(r.stdout).toContain("no existing system topic to adopt");
  });

  it("refuses a topic with a user-assigned identity, which adopting would take away", () => {
    const r = runHook("preprovision", {
      az: {
        [`eventgrid system-topic list ${subA}`]: [
          { stdout: [topic("shared-events", "rg-ops", subA!, "SystemAssigned, UserAssigned")] },
        ],
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("shared-events in rg-ops uses a user-assigned identity");
    expect(r.calls.filter((c) => c.tool === "azd")).toEqual([]);
  });

  it("asks for az login when the Azure CLI is not signed in", () => {
    const r = runHook("preprovision", {
      az: { "account show": [{ code: 1, stderr: "Please run 'az login' to setup account." }] },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not installed or not signed in .* run az login/);
    expect(r.calls.map(line)).toEqual(["az account show --output json"]);
  });

  it("stops when a governed subscription cannot be read", () => {
    const r = runHook("preprovision", {
      az: { [`eventgrid system-topic list ${subB}`]: [{ code: 1, stderr: "AuthorizationFailed" }] },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("AuthorizationFailed");
  });

  it("refuses to go on without STEWARD_API_CLIENT_ID and says how to set it", () => {
    const r = runHook("preprovision", {}, { STEWARD_API_CLIENT_ID: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("azd env set STEWARD_API_CLIENT_ID");
    expect(r.calls).toEqual([]);
  });
});

describe("hook helpers", () => {
  it("read only the contract fields they need, whatever else the generator adds or changes", () => {
    const file = path.join(work, "contract.json");
    const real = JSON.parse(readFileSync(path.join(REPO_ROOT, "infra/generated/app-contract.json"), "utf8"));
    writeFileSync(
      file,
      JSON.stringify({
        ...real,
        eventFilter: { advancedFilters: [{ key: "data.x" }] },
        somethingNew: [1, 2],
      }),
    );
    expect(readContract(file)).toEqual(contract);
    writeFileSync(file, JSON.stringify({ governedSubscriptionIds: [subA!.toUpperCase()] }));
    expect(readContract(file)).toMatchObject({
      governedSubscriptionIds: [subA],
      resourceWriteFunction: "onResourceWrite",
    });
    writeFileSync(file, JSON.stringify({ governedSubscriptionIds: ["not-a-guid"] }));
    expect(() => readContract(file)).toThrow(/governedSubscriptionIds/);
  });

  it("the adopted list parses the way main.bicep reads it", () => {
    const found = subscriptionTopics([topic("portal-events", "rg-ops.(1)", subA!)], subA!);
    const { adopt } = decide(contract, new Map([[subA!, found]]));
    const value = encodeAdopted(adopt);
    // main.bicep: split on ',', then '/', keep the three-part entries, key = lower-case subscription id.
    const parsed = Object.fromEntries(
      value
        .split(",")
        .map((e) => e.trim().split("/"))
        .filter((p) => p.length === 3)
        .map(([s, resourceGroup, name]) => [s!.toLowerCase(), { resourceGroup, name }]),
    );
    expect(parsed).toEqual({ [subA!]: { resourceGroup: "rg-ops.(1)", name: "portal-events" } });
    expect(encodeAdopted([])).toBe("none");
    expect("none".split("/")).toHaveLength(1);
    const main = read("infra/main.bicep");
    expect(main).toMatch(
      /split\(adoptedSystemTopics, ','\), entry => split\(trim\(entry\), '\/'\)\), parts => length\(parts\) == 3/,
    );
    expect(main).toMatch(/parts => toLower\(parts\[0\]\)/);
    // A hand-written existingSystemTopics entry wins, and each governed subscription looks itself up.
    expect(main).toMatch(/var systemTopicsToAdopt = union\(adoptedTopics, existingSystemTopics\)/);
    expect(main).toMatch(/existingSystemTopic: systemTopicsToAdopt\[\?subscriptionId\] \?\? \{\}/);
    expect(read("infra/main.parameters.json")).toContain(
      '"adoptedSystemTopics": { "value": "${STEWARD_ADOPTED_SYSTEM_TOPICS=}" }',
    );
  });

  it("name a function by its last segment, case-insensitively", () => {
    expect(listedFunctions([{ name: "app/onResourceWrite" }, { name: "app/OnPromotionQueue" }, {}])).toEqual([
      "onresourcewrite",
      "onpromotionqueue",
    ]);
    expect(listedFunctions(null)).toEqual([]);
  });
});
