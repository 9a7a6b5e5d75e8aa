/** The Event Grid wiring the templates deploy, held to what the app and setup expect. */
import { describe, expect, it } from "vitest";
import { eventSubscriptionProblems } from "../../shared/setup/index.js";
import { EVENT_FILTER, INFRA_NAMES, resourceWriteEventFilter } from "../../shared/setup/contract.js";
import { bicepCode, read } from "./infra-helpers.js";

const wiring = bicepCode("infra/modules/event-wiring.bicep");
const subscriptionBlock = /resource eventSubscription [^\n]*\{([\s\S]*?)\n\}/.exec(wiring)?.[1] ?? "";

describe("the event subscription of each governed subscription", () => {
  it("subscribes a Microsoft.Resources.Subscriptions system topic of the subscription itself", () => {
    expect(wiring).toMatch(/topicType: 'Microsoft\.Resources\.Subscriptions'/);
    expect(wiring).toMatch(/source: subscription\(\)\.id/);
    expect(wiring).toMatch(/location: 'global'/);
  });

  it("delivers only ResourceWriteSuccess", () => {
    expect(subscriptionBlock).toMatch(
      /includedEventTypes: \[\s*'Microsoft\.Resources\.ResourceWriteSuccess'\s*\]/,
    );
    expect(EVENT_FILTER.includedEventTypes).toEqual(["Microsoft.Resources.ResourceWriteSuccess"]);
  });

  it("drops tag writes at the source with StringNotIn on data.operationName", () => {
    const filter = /advancedFilters: \[([\s\S]*?)\n {6}\]/.exec(subscriptionBlock)?.[1] ?? "";
    expect(filter).toMatch(/operatorType: 'StringNotIn'/);
    expect(filter).toMatch(/key: 'data\.operationName'/);
    expect(filter).toMatch(/values: \[\s*'Microsoft\.Resources\/tags\/write'\s*\]/);
    // Event Grid: at most 5 values in one string filter.
    expect([...filter.matchAll(/'Microsoft\.[^']+'/g)].length).toBeLessThanOrEqual(5);
    expect(EVENT_FILTER.excludedOperations).toContain("Microsoft.Resources/tags/write");
    // The filter the local stack and the tests subscribe with is this one.
    const built = resourceWriteEventFilter();
    expect(built.advancedFilters).toHaveLength(1);
    const [drop] = built.advancedFilters;
    expect(filter).toContain(`operatorType: '${drop!.operatorType}'`);
    expect(filter).toContain(`key: '${drop!.key}'`);
    for (const op of drop!.values) expect(filter).toContain(`'${op}'`);
    for (const type of built.includedEventTypes) expect(subscriptionBlock).toContain(`'${type}'`);
  });

  it("targets the onResourceWrite function, one event per invocation", () => {
    expect(subscriptionBlock).toMatch(/endpointType: 'AzureFunction'/);
    expect(subscriptionBlock).toMatch(/resourceId: functionResourceId/);
    expect(subscriptionBlock).toMatch(/maxEventsPerBatch: 1/);
    const governed = bicepCode("infra/modules/governed-subscription.bicep");
    expect(governed).toMatch(
      /functionResourceId: '\$\{functionAppResourceId\}\/functions\/\$\{names\.resourceWriteFunction\}'/,
    );
    const contract = JSON.parse(read("infra/generated/app-contract.json")) as {
      names: Record<string, string>;
    };
    expect(contract.names.resourceWriteFunction).toBe("onResourceWrite");
    // ... which is the name the app registers.
    expect(read("functions/onResourceWrite.ts")).toContain(`name: "${INFRA_NAMES.resourceWriteFunction}"`);
  });

  it("retries, then dead-letters to the blob container with the topic's own identity", () => {
    expect(subscriptionBlock).toMatch(
      /retryPolicy: \{\s*maxDeliveryAttempts: maxDeliveryAttempts\s*eventTimeToLiveInMinutes: eventTimeToLiveInMinutes/,
    );
    expect(subscriptionBlock).toMatch(
      /deadLetterWithResourceIdentity: \{\s*identity: \{\s*type: 'SystemAssigned'/,
    );
    expect(subscriptionBlock).toMatch(/endpointType: 'StorageBlob'/);
    expect(subscriptionBlock).toMatch(/blobContainerName: deadLetterContainerName/);
    expect(bicepCode("infra/modules/dead-letter-access.bicep")).toMatch(/scope: container/);
  });

  it("is created only once the function exists (second provision)", () => {
    expect(subscriptionBlock.length).toBeGreaterThan(0);
    expect(wiring).toMatch(/resource eventSubscription '[^']+' = if \(deployEventSubscription\)/);
    expect(read("infra/main.parameters.json")).toContain("${DEPLOY_EVENT_SUBSCRIPTIONS=false}");
    expect(read("infra/hooks/postdeploy.sh")).toContain("infra/hooks/postdeploy.ts");
    expect(read("infra/hooks/postdeploy.ts")).toContain(
      'azdEnvSet("DEPLOY_EVENT_SUBSCRIPTIONS", "true", env)',
    );
  });

  it("setup's check accepts exactly this definition and flags a subscription that lets tag writes through", () => {
    const deployed = {
      destination: {
        endpointType: "AzureFunction",
        properties: {
          resourceId:
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/f/functions/onResourceWrite",
        },
      },
      filter: {
        includedEventTypes: ["Microsoft.Resources.ResourceWriteSuccess"],
        advancedFilters: [
          {
            operatorType: "StringNotIn",
            key: "data.operationName",
            values: ["Microsoft.Resources/tags/write"],
          },
        ],
      },
      retryPolicy: { maxDeliveryAttempts: 10, eventTimeToLiveInMinutes: 1440 },
      deadLetterWithResourceIdentity: { identity: { type: "SystemAssigned" } },
    };
    expect(eventSubscriptionProblems(deployed)).toEqual([]);
    expect(resourceWriteEventFilter()).toEqual(deployed.filter);
    expect(
      eventSubscriptionProblems({ ...deployed, filter: { ...deployed.filter, advancedFilters: [] } }),
    ).toEqual(["tag writes are not filtered out (StringNotIn on data.operationName)"]);
  });
});
