/**
 * Violations converge: a resource that is fixed (or deleted) has its open violations resolved,
 * by the next event for it (onResourceWrite's shell, real SDKs against the emulator) or by the
 * next reconciliation, and the rows stay as history. Every Table request of the violation log
 * is counted, so the cost of resolution on the event path is measured, not guessed.
 */
import { randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { parseResourceWriteEvent } from "../../shared/events/resourceWrite.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { silentLogger } from "../../shared/log.js";
import { defaultDeps, runReconcile } from "../../shared/reconcile/index.js";
import { TaggingCaches } from "../../shared/tagging/caches.js";
import { handleResourceWrite, type Outcome } from "../../shared/tagging/handleResourceWrite.js";
import { taggingDeps } from "../../shared/tagging/runtime.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";
import { FRAUD_TAGS, memoryLogger, seedEstate, testPolicy, type Estate } from "./reconcile-harness.js";

const STORAGE_API = "2023-05-01";
const policy = testPolicy({ maxChangeShare: 0.5 });
let stack: TestStack;
const estate: Estate = seedEstate(policy);
let log: ViolationLog;
let tableCalls = 0;

beforeAll(async () => {
  stack = await startTestStack({ seed: estate.seed, policy });
  await stack.control("POST", "/_emulator/faults", { lroDurationMs: 0, lroRetryAfterSeconds: 0 });
  // The violation log on its own table, every request counted.
  const table = TableClient.fromConnectionString(
    stack.storageConnection,
    `viol${randomUUID().replace(/-/g, "").slice(0, 12)}`,
    {
      allowInsecureConnection: true,
      additionalPolicies: [
        {
          position: "perCall",
          policy: { name: "countTableCalls", sendRequest: (req, next) => (tableCalls++, next(req)) },
        },
      ],
    },
  );
  log = new ViolationLog(table);
  await log.list({ subscriptionId: "warm-up" }); // creates the table: not part of any figure
});

afterAll(async () => stack?.stop());

const sub = () => estate.sub;
const arm = () => stack.armAs(PEOPLE.erin.objectId, sub());
const rgId = (rg: string) => `/subscriptions/${sub()}/resourceGroups/${rg}`;
const saId = (rg: string, name: string) => `${rgId(rg)}/providers/Microsoft.Storage/storageAccounts/${name}`;
const kinds = async (id: string) => (await log.list({ resourceId: id })).map((v) => v.kind).sort();

async function putStorage(id: string): Promise<void> {
  await stack
    .armAs(PEOPLE.alice.objectId, sub())
    .resources.beginCreateOrUpdateByIdAndWait(
      id,
      STORAGE_API,
      { location: "westeurope", kind: "StorageV2", sku: { name: "Standard_LRS" } },
      { updateIntervalInMs: 10 },
    );
}

describe("violations on the event path", () => {
  const caches = new TaggingCaches();
  const deps = () => ({ ...taggingDeps(silentLogger), policy, violations: log, caches });

  /** Runs the shell on the latest write event of `id`; returns its outcome and Table calls. */
  async function next(id: string): Promise<{ outcome: Outcome; calls: number; correlationId: string }> {
    const entry = stack.emulator.events
      .events()
      .filter(
        (e) =>
          e.event.subject.toLowerCase() === id.toLowerCase() &&
          e.event.data.operationName !== "Microsoft.Resources/tags/write",
      )
      .at(-1);
    if (!entry) throw new Error(`no write event for ${id}`);
    const parsed = parseResourceWriteEvent(entry.event);
    if (parsed.kind !== "resourceWrite") throw new Error(JSON.stringify(parsed));
    const before = tableCalls;
    const outcome = await handleResourceWrite(parsed.event, deps());
    return {
      outcome,
      calls: tableCalls - before,
      correlationId: parsed.event.correlationId ?? parsed.event.id,
    };
  }

  const rg = "rg-aml-viol-dev";
  const sa = saId(rg, "stvioldev1");
  const fine = saId("rg-aml-fraud-dev", "stfinedev1");

  it("records violations at one query + one write each, and costs nothing when there are none", async () => {
    await arm().resourceGroups.createOrUpdate(rg, {
      location: "westeurope",
      tags: { costCenter: "CC-2100-FRAUD" },
    });
    // A cold process: the subscription's open-violation index (1 query), then the group's
    // missingTags (1 query + 1 write).
    const group = await next(rgId(rg));
    expect(group.calls).toBe(3);
    expect(await kinds(rgId(rg))).toEqual(["missingTags"]);

    await putStorage(fine);
    const compliant = await next(fine);
    expect(compliant.outcome.result).toBe("tagged");
    expect(compliant.calls).toBe(0);

    await putStorage(sa);
    const flagged = await next(sa);
    expect(flagged.outcome).toMatchObject({ result: "tagged", violations: [{ kind: "missingTags" }] });
    expect(flagged.calls).toBe(2);
    expect(await kinds(sa)).toEqual(["missingTags"]);

    // A newer write with the same violations: already recorded by this process.
    await putStorage(sa);
    expect((await next(sa)).calls).toBe(0);
  });

  it("resolves them on the next event once they no longer apply, keeping the history", async () => {
    // The group gets its required tags (its own write event: 1 query + 1 resolve).
    await arm().resourceGroups.createOrUpdate(rg, {
      location: "westeurope",
      tags: { ...FRAUD_TAGS, project: "viol" },
    });
    const group = await next(rgId(rg));
    expect(group.calls).toBe(2);
    expect(await kinds(rgId(rg))).toEqual([]);

    // The account's next write: it inherits the tags, so missingTags is resolved (1 + 1).
    const flaggedAt = (await log.list({ resourceId: sa }))[0]!.firstSeen;
    await putStorage(sa);
    const fixed = await next(sa);
    expect(fixed.outcome).toMatchObject({ result: "tagged", violations: [] });
    expect(fixed.calls).toBe(2);
    expect(await kinds(sa)).toEqual([]);
    expect(await log.list({ resourceId: sa, includeResolved: true })).toMatchObject([
      { kind: "missingTags", firstSeen: flaggedAt, resolvedBy: fixed.correlationId },
    ]);

    // From now on the account costs no Table call, like any compliant resource.
    await putStorage(sa);
    expect((await next(sa)).calls).toBe(0);
    await putStorage(fine);
    expect((await next(fine)).calls).toBe(0);
  });

  it("a row opened elsewhere is seen after the index reloads, and resolved", async () => {
    // The nightly run (another process) flagged the compliant account meanwhile.
    await log.upsert({ resourceId: fine, subscriptionId: sub(), kind: "naming", detail: "stale" });
    caches.openViolations.clear(); // what the TTL does after 10 minutes
    await putStorage(fine);
    const r = await next(fine);
    expect(r.calls).toBe(1 + 1 + 1); // reload the index, the resource's rows, the resolve
    expect(await kinds(fine)).toEqual([]);
  });
});

describe("violations in reconciliation", () => {
  const run = async (opts: { dryRun?: boolean } = {}) => {
    const [r] = await runReconcile({
      subscriptionIds: [sub()],
      policy,
      deps: { ...defaultDeps(), violations: log },
      logger: memoryLogger(),
      ...opts,
    });
    return r!;
  };
  const badName = () => saId("rg-aml-fraud-dev", "badname1");

  it("records what it finds, resource groups included", async () => {
    await stack.control("POST", "/_emulator/seed", {
      resources: [{ id: badName(), location: "westeurope", tags: { ...FRAUD_TAGS } }],
    });
    const r = await run();
    expect(r.status).toBe("completed");
    for (const id of estate.orphaned) expect(await kinds(id)).toEqual(["missingTags"]);
    expect(await kinds(rgId("rg-orphan"))).toEqual(["missingTags", "naming"]);
    expect(await kinds(badName())).toEqual(["naming"]);
    expect(r.violations.missingTags).toBe(estate.orphaned.length + 1);
  });

  it("the next run resolves what was fixed or deleted, and nothing else; a dry run resolves nothing", async () => {
    // Fixed by tagging the group: a tag-only write, which never reaches the event path.
    await arm().tagsOperations.beginUpdateAtScopeAndWait(rgId("rg-orphan"), {
      operation: "Merge",
      properties: { tags: { ...FRAUD_TAGS } },
    });
    await arm().resources.beginDeleteByIdAndWait(badName(), STORAGE_API, { updateIntervalInMs: 10 });

    const dry = await run({ dryRun: true });
    expect(dry.violationsResolved).toBeUndefined();
    expect(await kinds(badName())).toEqual(["naming"]);

    const r = await run();
    expect(r.status).toBe("completed");
    expect(r.violationsResolved).toBe(estate.orphaned.length + 2);
    for (const id of estate.orphaned) {
      expect(await kinds(id)).toEqual([]);
      expect(await log.list({ resourceId: id, includeResolved: true })).toMatchObject([
        { kind: "missingTags", resolvedBy: r.runId },
      ]);
    }
    expect(await kinds(rgId("rg-orphan"))).toEqual(["naming"]); // still misnamed
    expect(await kinds(badName())).toEqual([]);
  });

  it("a run with nothing to resolve costs one query for it", async () => {
    const before = tableCalls;
    const r = await run();
    const found = Object.values(r.violations).reduce((a, b) => a + b, 0);
    expect(r.violationsResolved).toBe(0);
    // Each violation found is refreshed (a read and a write); the sweep is one query.
    expect(tableCalls - before).toBe(2 * found + 1);
  });
});
