/**
 * The event path inside Event Grid's delivery window: Event Grid waits 30 s for the webhook,
 * so a delivery that cannot finish (Azure keeps answering 503 with a long Retry-After) must
 * fail well inside that and let Event Grid redeliver, without keeping the resource's lock; and
 * duplicates are recognised by what identifies a delivery (id, topic, subject), not the id
 * alone. The real handler, a real InvocationContext, the real SDKs against the emulator.
 */
import { InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { EVENT_BUDGET_MS, onResourceWrite } from "../../functions/onResourceWrite.js";
import type { TestStack } from "../helpers/stack.js";
import { startTaggingStack } from "./tagging-harness.js";

const STORAGE_API = "2023-05-01";
/** The bound: answered inside 25 s, against Event Grid's 30 s. */
const EVENT_GRID_ANSWER_BOUND_MS = 25_000;

let stack: TestStack;
let SUB: string;
let REGION: string;
let seq = 0;

beforeAll(async () => {
  process.env.STEWARD_LOG_LEVEL = "debug";
  stack = await startTaggingStack();
  SUB = stack.policy.projectSubscriptionId;
  REGION = stack.policy.regions.default;
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await stack.control("DELETE", "/_emulator/faults");
  await stack.control("POST", "/_emulator/faults", { lroDurationMs: 0, lroRetryAfterSeconds: 0 });
});

async function groupWithAccounts(count: number) {
  const n = ++seq;
  const rg = `rg-aml-w${n}-dev`;
  await stack.armAs(PEOPLE.erin.objectId, SUB).resourceGroups.createOrUpdate(rg, {
    location: REGION,
    tags: { costCenter: "CC-2100-FRAUD", project: `w${n}`, environment: "dev", owner: "erin@contoso.com" },
  });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/stw${n}x${i}dev`;
    await stack
      .armAs(PEOPLE.alice.objectId, SUB)
      .resources.beginCreateOrUpdateByIdAndWait(
        id,
        STORAGE_API,
        { location: REGION, kind: "StorageV2", sku: { name: "Standard_LRS" } },
        { updateIntervalInMs: 10 },
      );
    ids.push(id);
  }
  return { rg, ids };
}

/** The Event Grid event the emulator published for the account's creation. */
function writeEvent(id: string): Record<string, unknown> & { id: string; subject: string } {
  const e = stack.emulator.events
    .events()
    .find(
      (x) =>
        x.event.subject.toLowerCase() === id.toLowerCase() &&
        x.event.data.operationName === "Microsoft.Storage/storageAccounts/write",
    );
  expect(e).toBeDefined();
  return structuredClone(e!.event) as unknown as Record<string, unknown> & { id: string; subject: string };
}

/** Delivers one event to the real handler as the Functions host would; returns its logs and outcome. */
async function deliver(event: unknown): Promise<{ logs: string[]; error?: Error; ms: number }> {
  const logs: string[] = [];
  const context = new InvocationContext({
    invocationId: `w-${++seq}`,
    functionName: "onResourceWrite",
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(" ")}`),
  });
  const started = Date.now();
  try {
    await onResourceWrite(event, context);
    return { logs, ms: Date.now() - started };
  } catch (e) {
    return { logs, error: e as Error, ms: Date.now() - started };
  }
}

async function tagsOf(id: string): Promise<Record<string, string>> {
  const r = await stack.armAs(PEOPLE.erin.objectId, SUB).tagsOperations.getAtScope(id);
  return r.properties?.tags ?? {};
}

describe("onResourceWrite inside Event Grid's delivery window", () => {
  it(
    "a persistent 503 (with a long Retry-After) is answered inside 25 s as a failure Event Grid redelivers, and the resource is not left locked",
    async () => {
      expect(EVENT_BUDGET_MS).toBeLessThan(EVENT_GRID_ANSWER_BOUND_MS);
      const { ids } = await groupWithAccounts(1);
      const id = ids[0]!;
      const event = writeEvent(id);
      // Every tag write refused, each time asking for two minutes: the SDK alone would wait 16.
      await stack.control("POST", "/_emulator/faults", {
        rules: [
          {
            method: "PATCH",
            path: "providers/Microsoft.Resources/tags/default",
            status: 503,
            retryAfterSeconds: 120,
          },
        ],
      });
      const first = await deliver(event);
      expect(first.error).toBeDefined();
      expect(first.ms).toBeLessThan(EVENT_GRID_ANSWER_BOUND_MS);
      expect(first.logs.join("\n")).toMatch(/Event Grid will redeliver/);

      // The outage ends; Event Grid's redelivery takes the resource's lock at once and converges.
      await stack.control("DELETE", "/_emulator/faults");
      const second = await deliver(event);
      expect(second.error).toBeUndefined();
      expect((await tagsOf(id)).createdBy).toBe(PEOPLE.alice.userPrincipalName);
    },
    EVENT_GRID_ANSWER_BOUND_MS + 20_000,
  );

  it("two events sharing an id but not a subject are both handled; a true duplicate is skipped at info with the reason", async () => {
    const { ids } = await groupWithAccounts(2);
    const [a, b] = ids as [string, string];
    const eventA = writeEvent(a);
    // Microsoft's own samples reuse one id; a sender may too.
    const eventB = { ...writeEvent(b), id: eventA.id };

    expect((await deliver(eventA)).error).toBeUndefined();
    expect((await deliver(eventB)).error).toBeUndefined();
    expect((await tagsOf(a)).createdBy).toBe(PEOPLE.alice.userPrincipalName);
    expect((await tagsOf(b)).createdBy).toBe(PEOPLE.alice.userPrincipalName);

    const again = await deliver(eventA);
    expect(again.error).toBeUndefined();
    const skipped = again.logs.find((l) => l.includes("resource write skipped"));
    expect(skipped).toMatch(/^information: /);
    expect(skipped).toMatch(/already handled/);
    expect(skipped).toContain(a);
  });
});
