/**
 * The app's client wiring, end to end: settings -> credentials -> the real ARM and Graph SDK
 * clients over HTTPS to the emulator, with the call counter seeing every request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countCalls } from "../../shared/azure/callCounter.js";
import { azure } from "../../shared/azure/clients.js";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

describe("Azure client wiring from settings", () => {
  it("reaches ARM through the endpoint override with the management audience", async () => {
    const sub = stack.policy.exploration.subscriptionId;
    const { result, calls } = await countCalls(async () => {
      const groups = [];
      for await (const rg of azure().resources(sub).resourceGroups.list()) groups.push(rg.name);
      return groups;
    });
    expect(result).toContain(stack.policy.exploration.resourceGroup);
    expect(calls).toMatchObject({ armReads: 1, armWrites: 0 });
  });

  it("reuses one client per subscription", () => {
    const sub = stack.policy.exploration.subscriptionId;
    expect(azure().resources(sub)).toBe(azure().resources(sub));
    expect(azure().resources(sub)).not.toBe(azure().resources(stack.policy.projectSubscriptionId));
  });

  it("reaches Graph with its token through customHosts", async () => {
    const { result, calls } = await countCalls(() =>
      azure().graph().api(`/users/${PEOPLE.alice.userPrincipalName}`).get(),
    );
    expect(result).toMatchObject({ id: PEOPLE.alice.objectId, displayName: PEOPLE.alice.displayName });
    expect(calls).toMatchObject({ graphReads: 1, graphWrites: 0 });
  });

  it("counts writes separately from reads", async () => {
    const sub = stack.policy.projectSubscriptionId;
    const { calls } = await countCalls(async () => {
      await azure()
        .resources(sub)
        .resourceGroups.createOrUpdate("rg-wiring-test", { location: stack.policy.regions.default });
      await azure().resources(sub).resourceGroups.get("rg-wiring-test");
    });
    expect(calls).toMatchObject({ armReads: 1, armWrites: 1 });
  });
});
