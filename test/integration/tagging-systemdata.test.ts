/**
 * The event path trusts ARM over the event: createdBy comes from the resource's `systemData`
 * (set by ARM from the real caller's token) and the event's claims only when ARM has none; an
 * id that URL handling would turn into another target (`..`) is dropped without a call to ARM.
 * Real handler, real SDKs, the emulator; events handed to the handler as the host would.
 */
import { InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEOPLE, STEWARD_APP } from "../../local/seeds/contoso.js";
import { onResourceWrite } from "../../functions/onResourceWrite.js";
import type { TestStack } from "../helpers/stack.js";
import { startTaggingStack } from "./tagging-harness.js";

let stack: TestStack;
let SUB: string;
let REGION: string;

beforeAll(async () => {
  stack = await startTaggingStack();
  SUB = stack.policy.projectSubscriptionId;
  REGION = stack.policy.regions.default;
  await stack.control("POST", "/_emulator/faults", { lroDurationMs: 0, lroRetryAfterSeconds: 0 });
});
afterAll(async () => stack?.stop());

async function deliver(event: unknown): Promise<string[]> {
  const logs: string[] = [];
  const context = new InvocationContext({
    invocationId: `inv-${Math.random()}`,
    functionName: "onResourceWrite",
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(" ")}`),
  });
  await onResourceWrite(event, context);
  return logs;
}

function writeEvent(resourceUri: string, claims: Record<string, string>) {
  return {
    id: `forged-${Math.random().toString(36).slice(2)}`,
    topic: `/subscriptions/${SUB}`,
    subject: resourceUri,
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: new Date().toISOString(),
    dataVersion: "2",
    data: {
      operationName: "Microsoft.Storage/storageAccounts/write",
      resourceUri,
      subscriptionId: SUB,
      status: "Succeeded",
      claims,
    },
  };
}

async function requestsSince(since: number) {
  const { requests } = await stack.control<{
    requests: { kind: string; method: string; path: string; caller?: string }[];
  }>("GET", `/_emulator/requests?since=${encodeURIComponent(new Date(since).toISOString())}`);
  // The app's calls only: the test's own read of the tags may share the millisecond `since` is.
  return requests.filter((r) => r.kind === "arm" && r.caller === STEWARD_APP.objectId);
}

describe("createdBy from ARM's systemData", () => {
  it("an event whose claims name someone else tags ARM's creator and logs the disagreement", async () => {
    const rg = "rg-aml-sysdata-dev";
    const id = `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/stsysdata01`;
    await stack.armAs(PEOPLE.erin.objectId, SUB).resourceGroups.createOrUpdate(rg, {
      location: REGION,
      tags: {
        costCenter: "CC-2100-FRAUD",
        project: "sysdata",
        environment: "dev",
        owner: "erin@contoso.com",
      },
    });
    await stack
      .armAs(PEOPLE.alice.objectId, SUB)
      .resources.beginCreateOrUpdateByIdAndWait(
        id,
        "2023-05-01",
        { location: REGION, kind: "StorageV2", sku: { name: "Standard_LRS" } },
        { updateIntervalInMs: 10 },
      );
    const logs = await deliver(
      writeEvent(id, {
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": PEOPLE.bob.userPrincipalName,
        "http://schemas.microsoft.com/identity/claims/objectidentifier": PEOPLE.bob.objectId,
        idtyp: "user",
      }),
    );
    const tags = (await stack.armAs(PEOPLE.erin.objectId, SUB).tagsOperations.getAtScope(id)).properties
      ?.tags;
    expect(tags?.createdBy).toBe(PEOPLE.alice.userPrincipalName);
    const warn = logs.find((l) => l.includes("the event's caller is not the creator ARM recorded"));
    expect(warn, logs.join("\n")).toMatch(/^warning: /);
    expect(warn).toContain(PEOPLE.alice.userPrincipalName);
    expect(warn).toContain(PEOPLE.bob.userPrincipalName);
  });
});

describe("event ids that would address another target", () => {
  it("a '..' id naming the subscription is dropped: no ARM call, the subscription's tags unchanged", async () => {
    const before = await stack
      .armAs(PEOPLE.erin.objectId, SUB)
      .tagsOperations.getAtScope(`/subscriptions/${SUB}`);
    const since = Date.now();
    for (const uri of [
      `/subscriptions/${SUB}/resourceGroups/rg-aml-sysdata-dev/..`,
      `/subscriptions/${SUB}/resourceGroups/rg-aml-sysdata-dev\\..`,
      `/subscriptions/${SUB}/resourceGroups/rg-aml-sysdata-dev%2F..`,
    ]) {
      const logs = await deliver(writeEvent(uri, { upn: PEOPLE.bob.userPrincipalName, idtyp: "user" }));
      expect(logs.join("\n")).toMatch(/malformed event dropped/);
    }
    expect(await requestsSince(since)).toEqual([]);
    const after = await stack
      .armAs(PEOPLE.erin.objectId, SUB)
      .tagsOperations.getAtScope(`/subscriptions/${SUB}`);
    expect(after.properties?.tags ?? {}).toEqual(before.properties?.tags ?? {});
  });
});
