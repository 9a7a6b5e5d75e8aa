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

  it("delivers resource writes, and deletes (a deleted role assignment is access drift)", () => {
    expect(subscriptionBlock).toMatch(/includedEventTypes: includedEventTypes/);
    expect(EVENT_FILTER.includedEventTypes).toEqual([
      "Microsoft.Resources.ResourceWriteSuccess",
      "Microsoft.Resources.ResourceDeleteSuccess",
    ]);
    const contract = JSON.parse(read("infra/generated/app-contract.json")) as {
      eventFilter: { includedEventTypes: string[]; excludedPrincipalKey: string };
    };
    expect(contract.eventFilter).toEqual({
      includedEventTypes: [...EVENT_FILTER.includedEventTypes],
      excludedPrincipalKey: EVENT_FILTER.excludedPrincipalKey,
    });
    expect(bicepCode("infra/main.bicep")).toMatch(/eventFilter: contract\.eventFilter/);
  });

  it("drops only aml-steward's own writes at the source, by its principal; never tag writes as such", () => {
    const filter = /advancedFilters: \[([\s\S]*?)\n {6}\]/.exec(subscriptionBlock)?.[1] ?? "";
    expect(filter).toMatch(/operatorType: 'StringNotIn'/);
    expect(filter).toMatch(/key: excludedPrincipalKey/);
    expect(filter).toContain(
      "values: union([replace(toLower(appPrincipalId), '-', '')], [toLower(appPrincipalId)])",
    );
    expect(subscriptionBlock).not.toContain("data.operationName");
    expect(bicepCode("infra/modules/governed-subscription.bicep")).toMatch(/appPrincipalId: principalId/);
    // The filter the local stack and the tests subscribe with is the same one.
    const built = resourceWriteEventFilter("5A1E7C3D-9B2F-4E8A-8C6D-0F1E2D3C4B5A");
    expect(built.advancedFilters).toEqual([
      {
        operatorType: "StringNotIn",
        key: "data.authorization.evidence.principalId",
        values: ["5a1e7c3d9b2f4e8a8c6d0f1e2d3c4b5a", "5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a"],
      },
    ]);
    // Event Grid: at most 25 values in one filter.
    expect(built.advancedFilters[0]!.values.length).toBeLessThanOrEqual(25);
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

  it("setup's check accepts exactly this definition and flags one that drops others' tag writes or not our own", () => {
    const app = "5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a";
    const deployed = {
      destination: {
        endpointType: "AzureFunction",
        properties: {
          resourceId:
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/f/functions/onResourceWrite",
        },
      },
      filter: resourceWriteEventFilter(app),
      retryPolicy: { maxDeliveryAttempts: 10, eventTimeToLiveInMinutes: 1440 },
      deadLetterWithResourceIdentity: { identity: { type: "SystemAssigned" } },
    };
    expect(eventSubscriptionProblems(deployed, app)).toEqual([]);
    const notOurs =
      "aml-steward's own writes are not filtered out (StringNotIn on data.authorization.evidence.principalId with 5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a)";
    expect(
      eventSubscriptionProblems({ ...deployed, filter: { ...deployed.filter, advancedFilters: [] } }, app),
    ).toEqual([notOurs]);
    // Someone else's principal in the filter is not ours.
    expect(eventSubscriptionProblems(deployed, "00000000-0000-4000-8000-000000000000")).toHaveLength(1);
    const old = {
      ...deployed,
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
    };
    expect(eventSubscriptionProblems(old, app)).toEqual([
      'includedEventTypes is ["Microsoft.Resources.ResourceWriteSuccess"], expected ["Microsoft.Resources.ResourceDeleteSuccess","Microsoft.Resources.ResourceWriteSuccess"]',
      notOurs,
      "tag writes by others are filtered out (StringNotIn on data.operationName)",
    ]);
  });
});
