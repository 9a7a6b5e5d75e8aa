/**
 * Every `steward` command through the real local stack (its own Azurite, the emulator, the local
 * Functions host running the app's real functions), in process through main(argv, io) — with
 * their output, their errors for bad input and their exit codes — and once through the
 * `bin/steward.js` launcher in a child process with `--env-file`.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResourceManagementClient } from "@azure/arm-resources";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import { explorationIds, PEOPLE, STEWARD_API } from "../../local/seeds/contoso.js";
import { EVENT_SUBSCRIPTION, startLocalStack, type LocalStack } from "../../local/stack.js";
import { main, type CliIo } from "../../cli/index.js";

let stack: LocalStack;
let dir: string;
const repo = path.resolve(import.meta.dirname, "../..");
const example = JSON.parse(
  readFileSync(path.join(repo, "docs/examples/promotion-request.json"), "utf8"),
) as Record<string, unknown>;

async function steward(...argv: string[]) {
  return stewardIn({}, ...argv);
}

/** As a user sees it in a terminal of this many columns (stdout and stderr separately). */
async function stewardIn(
  terminal: { columns?: number; isTTY?: boolean; status?: (t: string) => void },
  ...argv: string[]
) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), ...terminal };
  const code = await main(argv, io, { pollMs: 100 });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

function file(name: string, content: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return p;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "steward-cli-"));
  stack = await startLocalStack({
    certPath: process.env.STEWARD_TEST_CERT_PATH!,
    keyPath: process.env.STEWARD_TEST_KEY_PATH!,
    queues: { visibilityTimeoutMs: 1000, minPollingIntervalMs: 50, maxPollingIntervalMs: 250 },
    timers: "manual",
    log: { format: "silent" },
  });
  // On the local stack steward acts as a seeded person; Alice asks, unless a test says otherwise.
  process.env.STEWARD_AS = PEOPLE.alice.userPrincipalName;
}, 60_000);
afterAll(async () => stack?.stop());

describe("steward policy", () => {
  it("shows the effective policy with the access matrix, as a table and as JSON", async () => {
    const r = await steward("policy", "show");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Access matrix");
    expect(r.stdout).toMatch(/data-scientist\s+AzureML Data Scientist\s+x\s+x\s+-/);
    const j = await steward("--json", "policy", "show");
    expect(JSON.parse(j.stdout).policy.organisation).toBe("Contoso");
  });

  it("validates a policy file: 0 valid, 1 with every problem listed, 2 unreadable", async () => {
    const good = await steward("policy", "validate", path.join(repo, "shared/policy/default-policy.yaml"));
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("valid");
    const text = readFileSync(path.join(repo, "shared/policy/default-policy.yaml"), "utf8")
      .replace(/default: westeurope/, 'default: "Mars Base"')
      .replace(/^organisation: .*$/m, "organisation: ''");
    const bad = await steward("policy", "validate", file("bad-policy.yaml", text));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("INVALID");
    expect(bad.stdout).toContain("regions.default");
    expect(bad.stdout).toContain("organisation");
    const missing = await steward("policy", "validate", path.join(dir, "nope.yaml"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read");
  });

  it("refuses bad command lines with exit code 2", async () => {
    expect((await steward()).code).toBe(2);
    expect((await steward("policy")).code).toBe(2);
    const unknown = await steward("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badOption = await steward("status", "--dry-run", randomUUID());
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("--dry-run does not apply");
    expect((await steward("--nope", "policy", "show")).code).toBe(2);
    expect((await steward("--help")).code).toBe(0);
  });
});

describe("steward promote and status", () => {
  const requestId = randomUUID();

  it("queues a signed request, which waits for the budget owner; self-approval is refused; the owner's approval builds it", async () => {
    const r = await steward("promote", file("request.json", { ...example, requestId }), "--timeout", "90");
    expect(r.stderr).toContain(`queued promotion ${requestId}`);
    expect(r.code, r.stderr).toBe(0);
    // Not a terminal: one progress line per change, never a stream of counters.
    expect(r.stderr).toContain("  status: awaitingApproval");
    expect(r.stdout).toContain("AWAITINGAPPROVAL");
    expect(r.stdout).toContain("requested by alice@contoso.com");
    expect(r.stdout).toMatch(/needs approval by a member of grp-budget-fraud-analytics/);
    expect(r.stdout).toMatch(new RegExp(`approve with: steward approve ${requestId} --plan [0-9a-f]{64}`));

    const self = await steward("approve", requestId, "--timeout", "30");
    expect(self.code).toBe(1);
    expect(self.stderr).toContain(
      "your decision was refused: an approver may not decide on their own request",
    );

    const ok = await steward("approve", requestId, "--as", PEOPLE.erin.userPrincipalName, "--timeout", "90");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("SUCCEEDED");
    expect(ok.stdout).toContain("dev/resourceGroup");
    expect(ok.stdout).toMatch(/approve\s+erin@contoso.com\s+\S+\s+counted/);
    // Progress per environment and step, on stderr.
    expect(ok.stderr).toMatch(/ {2}\[\d+\] dev: resourceGroup (created|updated|unchanged)/);
    expect(ok.stderr).toMatch(/ {2}\[\d+\] prod: \S+/);
    expect(ok.stderr).toContain("  status: succeeded");
  }, 120_000);

  it("prints the status of a request, as text and JSON; 1 for an unknown id, 2 for a malformed one", async () => {
    const text = await steward("status", requestId);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`promotion ${requestId}: SUCCEEDED`);
    const json = await steward("status", requestId, "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({
      requestId,
      status: "succeeded",
      project: "fraud-detection",
    });
    const unknown = await steward("status", randomUUID());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no promotion request");
    const malformed = await steward("status", "not-a-guid");
    expect(malformed.code).toBe(2);
  });

  it("shows the plan of a dry run", async () => {
    const r = await steward(
      "promote",
      file("dry.json", {
        ...example,
        requestId: randomUUID(),
        project: "demand-forecast",
        costCenter: "CC-2300-FORECAST",
      }),
      "--dry-run",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("(dry run)");
    expect(r.stdout).toMatch(/plan:[\s\S]*rg-aml-demand-forecast-dev/);
  }, 60_000);

  it("plans a dry run even under the id of a request that already finished", async () => {
    // Erin owns the project now, so she may ask for a change to it.
    const r = await steward(
      "promote",
      file("again.json", { ...example, requestId, requestedBy: PEOPLE.erin.userPrincipalName }),
      "--dry-run",
      "--as",
      PEOPLE.erin.userPrincipalName,
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain(`dry run of request ${requestId}`);
    expect(r.stderr).not.toContain("had already finished");
    expect(r.stdout).toMatch(/^promotion \S+: SUCCEEDED \(dry run\)/);
    expect(r.stdout).toContain("requested by erin@contoso.com");
    expect(r.stdout).not.toContain(`promotion ${requestId}:`);
    expect(r.stdout).toMatch(/plan:[\s\S]*rg-aml-fraud-detection-dev/);
  }, 60_000);

  it("refuses a malformed request before queueing it (exit 2) and reports a refused one (exit 1)", async () => {
    const malformed = await steward(
      "promote",
      file("bad.json", { ...example, requestId: randomUUID(), roles: ["Owner"] }),
    );
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("roles, scopes and permissions come only from the estate policy");
    expect(malformed.stderr).toContain("nothing was queued");
    expect((await steward("promote", path.join(dir, "missing.json"))).code).toBe(2);
    expect((await steward("promote", file("notjson.json", "{oops"))).code).toBe(2);

    const unfunded = await steward(
      "promote",
      file("unfunded.json", {
        ...example,
        requestId: randomUUID(),
        project: "side-quest",
        costCenter: "CC-9999-NOPE",
      }),
    );
    expect(unfunded.code).toBe(1);
    expect(unfunded.stdout).toContain("REJECTED");
    expect(unfunded.stdout).toContain("CC-9999-NOPE");
  }, 60_000);
});

describe("the HTTP front (bearer tokens, through the local Functions host)", () => {
  const token = async (p: { objectId: string }) =>
    (
      await new EmulatorPrincipalCredential(stack.emulator.url, p).getToken(
        `api://${STEWARD_API.appId}/.default`,
      )
    ).token;
  const call = async (method: string, route: string, as?: { objectId: string }, body?: unknown) => {
    const res = await fetch(`${stack.host.url}/api/${route}`, {
      method,
      headers: {
        ...(as ? { authorization: `Bearer ${await token(as)}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const waitFor = async (id: string, as: { objectId: string }, done: (r: { status: string }) => boolean) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await call("GET", `promotions/${id}`, as);
      if (r.status === 200 && done(r.body)) return r.body;
      if (Date.now() > deadline) throw new Error(`promotion ${id}: ${JSON.stringify(r.body)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  };

  it("submits, reads and approves a promotion; refuses callers without a valid token or the right", async () => {
    const requestId = randomUUID();
    const request = {
      ...example,
      requestId,
      project: "churn-model",
      useCaseId: "customer-churn",
      costCenter: "CC-2200-CHURN",
      environments: ["dev"],
      requestedBy: undefined,
    };
    const none = await call("POST", "promotions", undefined, request);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="aml-steward"');
    const forged = await fetch(`${stack.host.url}/api/promotions`, {
      method: "POST",
      headers: {
        authorization: "Bearer eyJhbGciOiJub25lIn0.eyJvaWQiOiJ4In0.",
        "content-type": "application/json",
      },
      body: JSON.stringify(request),
    });
    expect(forged.status).toBe(401);
    expect(forged.headers.get("www-authenticate")).toMatch(
      /error="invalid_token", error_description="the access token is not signed with RS256"/,
    );

    const queued = await call("POST", "promotions", PEOPLE.bob, request);
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ requestId, queued: true });
    const waiting = await waitFor(requestId, PEOPLE.bob, (r) => r.status !== "accepted");
    expect(waiting).toMatchObject({
      status: "awaitingApproval",
      requester: { objectId: PEOPLE.bob.objectId },
    });
    // Dave is neither requester, owner nor approver: the record does not exist for him.
    expect((await call("GET", `promotions/${requestId}`, PEOPLE.dave)).status).toBe(404);
    expect(
      (await call("POST", `promotions/${requestId}/approvals`, PEOPLE.erin, { decision: "maybe" })).status,
    ).toBe(400);

    const approved = await call("POST", `promotions/${requestId}/approvals`, PEOPLE.erin, {
      decision: "approve",
      planHash: (waiting as { planHash: string }).planHash,
    });
    expect(approved.status).toBe(202);
    const done = await waitFor(requestId, PEOPLE.erin, (r) =>
      ["succeeded", "failed", "rejected"].includes(r.status),
    );
    expect(done).toMatchObject({ status: "succeeded" });

    // Blocked reconcile runs are approved by the platform group only.
    expect((await call("POST", "reconcile/runs/20990101T000000Z-abcdef/approvals")).status).toBe(401);
    const notPlatform = await call("POST", "reconcile/runs/20990101T000000Z-abcdef/approvals", PEOPLE.bob);
    expect(notPlatform.status).toBe(403);
    expect(notPlatform.body.error).toMatch(/not a member of grp-aml-platform/);
  }, 120_000);
});

describe("steward audit", () => {
  it("lists what aml-steward wrote for a project; 2 without exactly one selector", async () => {
    const r = await steward("audit", "--project", "fraud-detection");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\d+ audit entr/);
    expect(r.stdout).toContain("promotion");
    const json = await steward("audit", "--project", "fraud-detection", "--json");
    expect(JSON.parse(json.stdout).entries.length).toBeGreaterThan(5);
    // In an 100-column terminal: ids as rg/NAME or RG/TYPE/NAME, every line fits, --wide shows all.
    const narrow = await stewardIn({ columns: 100 }, "audit", "--project", "fraud-detection");
    expect(narrow.code).toBe(0);
    expect(narrow.stdout).toContain("rg/rg-aml-");
    expect(narrow.stdout).not.toMatch(/^\S+\s+\S+\s+\/subscriptions\//m);
    for (const line of narrow.stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(narrow.stdout).toContain("--wide shows all");
    const wide = await stewardIn({ columns: 100 }, "--wide", "audit", "--project", "fraud-detection");
    expect(wide.stdout).not.toContain("--wide shows all");
    expect(wide.stdout).toMatch(/ rg\/rg-aml-fraud-detection-(dev|qa|prod) /);
    expect(Math.max(...wide.stdout.split("\n").map((l) => l.length))).toBeGreaterThan(100);
    expect((await steward("audit")).code).toBe(2);
    expect((await steward("audit", "--project", "x", "--resource", "/subscriptions/x")).code).toBe(2);
    expect((await steward("audit", "--resource", "not-an-id")).code).toBe(2);
  });
});

describe("steward replay-event", () => {
  it("runs the Event Grid function on a saved event, and audit shows its write", async () => {
    // Stop live delivery so that the replay is what tags the new resource.
    stack.emulator.events.deleteSubscription(EVENT_SUBSCRIPTION);
    const { subscriptionId, rg } = explorationIds(stack.policy);
    const arm = new ResourceManagementClient(
      new EmulatorPrincipalCredential(stack.emulator.url, PEOPLE.alice),
      subscriptionId,
      {
        endpoint: stack.emulator.url,
        credentialScopes: ["https://management.azure.com/.default"],
      },
    );
    const name = `stcli${randomUUID().slice(0, 6)}`;
    const id = `${rg}/providers/Microsoft.Storage/storageAccounts/${name}`;
    await arm.resources.beginCreateOrUpdateByIdAndWait(id, "2023-01-01", {
      location: stack.policy.regions.default,
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
    });
    const logged = stack.emulator.events
      .events()
      .filter((e) => e.event.subject.toLowerCase() === id.toLowerCase());
    expect(logged.length).toBeGreaterThan(0);
    const events = file(
      "events.json",
      logged.map((e) => e.event),
    );

    const r = await steward("replay-event", events);
    expect(r.code, r.stderr).toBe(0);
    // One line per event with its outcome; the first one wrote the tags, and says which.
    expect(r.stdout.split("\n")).toHaveLength(logged.length);
    expect(r.stdout).toMatch(
      new RegExp(
        `^1/${logged.length} \\S+ {2}${rg.split("/").pop()}/storageAccounts/${name}: tagged: .*costCenter=${stack.policy.exploration.costCenter}`,
      ),
    );
    const tags = (await arm.resources.getById(id, "2023-01-01")).tags ?? {};
    expect(tags.costCenter).toBe(stack.policy.exploration.costCenter);
    expect(tags.createdBy).toBe(PEOPLE.alice.userPrincipalName);

    const audit = await steward("audit", "--resource", id);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/[1-9]\d* audit entr/);
    expect(audit.stdout).toContain("tags");

    // Every other outcome, each on its line; a malformed event makes it exit 1.
    const first = logged[0]!.event as unknown as Record<string, unknown>;
    const other = randomUUID();
    const mixed = file("mixed.json", [
      first,
      { ...first, id: randomUUID(), eventType: "Microsoft.Resources.ResourceDeleteSuccess" },
      JSON.parse(JSON.stringify({ ...first, id: randomUUID() }).replaceAll(subscriptionId, other)),
      { id: "broken-1", eventType: "Microsoft.Resources.ResourceWriteSuccess", subject: id },
    ]);
    const m = await steward("replay-event", mixed);
    expect(m.code).toBe(1);
    const lines = m.stdout.split("\n");
    expect(lines[0]).toMatch(/: duplicate$/);
    expect(lines[1]).toMatch(/: ignored: delete event$/);
    expect(lines[2]).toMatch(/: skipped: not governed$/);
    expect(lines[3]).toMatch(/^4\/4 broken-1 {2}\S+: malformed: .+/);
    expect(m.stderr).toMatch(
      /steward: 1 of 4 event\(s\) malformed or failed \(1 duplicate, 1 ignored, 1 skipped, 1 malformed\)/,
    );
    // --verbose: the handler's own log under each event.
    const v = await steward("--verbose", "replay-event", file("one.json", [{ ...first, id: randomUUID() }]));
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/: unchanged$/);
    expect(v.stderr).toMatch(/\[debug\] resource write handled .*"result":"compliant"/);

    expect((await steward("replay-event", file("empty.json", "[]"))).code).toBe(2);
    expect((await steward("replay-event", file("garbage.json", "nope"))).code).toBe(2);
  }, 60_000);
});

describe("steward reconcile", () => {
  it("lists drift in a dry run, fixes a hand-changed cost tag, and refuses bad input", async () => {
    const sub = stack.policy.projectSubscriptionId;
    const arm = new ResourceManagementClient(
      new EmulatorPrincipalCredential(stack.emulator.url, PEOPLE.dave),
      sub,
      {
        endpoint: stack.emulator.url,
        credentialScopes: ["https://management.azure.com/.default"],
      },
    );
    const rg = "rg-aml-fraud-detection-dev";
    let target: string | undefined;
    for await (const r of arm.resources.listByResourceGroup(rg))
      if (r.type === "Microsoft.Storage/storageAccounts") target = r.id;
    expect(target).toBeDefined();
    await arm.tagsOperations.beginUpdateAtScopeAndWait(target!, {
      operation: "Merge",
      properties: { tags: { costCenter: "CC-WRONG" } },
    });

    const dry = await steward("reconcile", "--subscription", sub, "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("(dry run)");
    expect((await arm.tagsOperations.getAtScope(target!)).properties?.tags?.costCenter).toBe("CC-WRONG");

    const run = await steward("reconcile", "--subscription", sub);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    // Progress without a terminal: a line per phase (scan, writes, result), no counters.
    const name = stack.policy.governedSubscriptions.find((g) => g.id === sub)!.name;
    expect(run.stderr).toContain(`  ${name}: scanning`);
    expect(run.stderr).toMatch(
      new RegExp(
        `${name}: scanned \\d+ in \\d+ page\\(s\\), [1-9]\\d* drifted; writing \\(at most \\d+ at once\\)`,
      ),
    );
    expect(run.stderr).toMatch(new RegExp(`${name}: completed, \\d+ scanned, [1-9]\\d* written in`));
    // A narrow terminal still gets the whole report, without the rarely needed columns.
    expect(run.stdout).toContain("ARM writes");
    expect(run.stdout).toContain("completed");
    expect((await arm.tagsOperations.getAtScope(target!)).properties?.tags?.costCenter).toBe("CC-2100-FRAUD");

    // On a terminal: a status line that overwrites itself with pages, counts and rates.
    const status: string[] = [];
    const tty = await stewardIn(
      { isTTY: true, status: (t) => status.push(t) },
      "reconcile",
      "--subscription",
      sub,
      "--dry-run",
    );
    expect(tty.code).toBe(0);
    expect(
      status.some((l) =>
        new RegExp(`${name}: page \\d+, scanned \\d+ \\([\\d.]+/s\\), drifted \\d+`).test(l),
      ),
    ).toBe(true);
    expect(tty.stderr).toContain(`${name}: scanning`);

    const narrow = await stewardIn({ columns: 80 }, "reconcile", "--subscription", sub, "--dry-run");
    expect(narrow.code).toBe(0);
    expect(narrow.stdout.split("\n")[0]!.length).toBeLessThanOrEqual(80);
    expect(narrow.stdout).toContain("not shown to fit 80 columns; --wide shows all");

    const json = await steward("reconcile", "--subscription", sub, "--json");
    expect(JSON.parse(json.stdout)[0]).toMatchObject({
      subscriptionId: sub,
      status: "completed",
      counts: { fixed: 0 },
    });

    expect((await steward("reconcile", "--subscription", randomUUID())).code).toBe(2);
    expect((await steward("reconcile", "--subscription", "nope")).code).toBe(2);
    expect((await steward("reconcile", "--approve", "20990101T000000Z-00000000-abcdef")).code).toBe(2);
  }, 90_000);
});

describe("bin/steward.js", () => {
  it("runs the TypeScript CLI through tsx with --env-file, trusting the emulator's certificate", async () => {
    const envFile = path.join(dir, "local.env");
    await stack.writeEnvFile(envFile);
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS; // the launcher must set it from the env file
    for (const k of Object.keys(stack.settings)) delete env[k];
    const child = spawn(
      process.execPath,
      [
        path.join(repo, "bin/steward.js"),
        "--env-file",
        envFile,
        "--json",
        "audit",
        "--project",
        "fraud-detection",
      ],
      {
        cwd: repo,
        env,
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout).entries.length).toBeGreaterThan(0);

    // A missing settings file is steward's bad input (2), with steward's message, not Node's.
    const missing = spawn(
      process.execPath,
      [path.join(repo, "bin/steward.js"), "--settings", path.join(dir, "nope.env"), "policy", "show"],
      { cwd: repo, env },
    );
    let err = "";
    missing.stderr.on("data", (c: Buffer) => (err += c.toString()));
    expect(await new Promise<number | null>((resolve) => missing.on("exit", resolve))).toBe(2);
    expect(err).toBe(
      `steward: cannot read --settings ${path.join(dir, "nope.env")}: no such file (npm start writes .steward/local.env)\n`,
    );
  }, 60_000);
});
