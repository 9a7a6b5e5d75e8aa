/**
 * Event resource ids become ARM request paths; anything URL handling would rewrite into another
 * target is malformed, and only resource groups and resources in them are ever tagged.
 */
import { describe, expect, it } from "vitest";
import { parseResourceWriteEvent, resourceIdProblem } from "../../shared/events/resourceWrite.js";
import { getPolicy } from "../../shared/policy/index.js";
import { skipReason } from "../../shared/tagging/decideTags.js";

const SUB = getPolicy().projectSubscriptionId;
const RG = `/subscriptions/${SUB}/resourceGroups/rg-aml-fraud-detection-dev`;

function event(resourceUri: string) {
  return {
    id: "e1",
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: "2026-01-02T03:04:05Z",
    subject: resourceUri,
    data: { operationName: "Microsoft.Resources/subscriptions/resourceGroups/write", resourceUri },
  };
}

describe("resource ids from events", () => {
  it.each([
    [`${RG}/..`, "'.' or '..' segment"],
    [`${RG}/../..`, "'.' or '..' segment"],
    [`/subscriptions/${SUB}/resourceGroups/x/../../${SUB}`, "'.' or '..' segment"],
    [`${RG}/.`, "'.' or '..' segment"],
    [`/subscriptions/${SUB}/./resourceGroups/rg`, "'.' or '..' segment"],
    [`${RG}\\..`, "backslash"],
    [`/subscriptions/${SUB}\\resourceGroups\\rg`, "backslash"],
    [`${RG}%2F..`, "percent-encoded separator or dot"],
    [`${RG}%2f%2e%2e`, "percent-encoded separator or dot"],
    [`${RG}%5C..`, "percent-encoded separator or dot"],
    [`${RG}/%2E%2E`, "percent-encoded separator or dot"],
    [`/subscriptions/${SUB}//resourceGroups/rg`, "empty segment"],
    [`${RG}/`, "empty segment"],
    [`//subscriptions/${SUB}/resourceGroups/rg`, "empty segment"],
    [`${RG}?api-version=1`, "query, fragment or control character"],
  ])("%s is malformed (%s)", (id, problem) => {
    expect(resourceIdProblem(id)).toBe(problem);
    const parsed = parseResourceWriteEvent(event(id));
    expect(parsed.kind).toBe("malformed");
  });

  it.each([
    RG,
    `${RG}/providers/Microsoft.Storage/storageAccounts/stfraud01`,
    `${RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw-fraud-dev/models/m.v2/versions/1`,
    `/subscriptions/${SUB}/resourceGroups/rg.with.dots/providers/Microsoft.Web/sites/a.b`,
  ])("%s is well formed", (id) => {
    expect(resourceIdProblem(id)).toBeUndefined();
    expect(parseResourceWriteEvent(event(id)).kind).toBe("resourceWrite");
  });

  it("only resource groups and resources in them are tagged, never the subscription", () => {
    const policy = getPolicy();
    expect(skipReason(policy, { id: `/subscriptions/${SUB}` })).toBe("notAResource");
    expect(skipReason(policy, { id: `/subscriptions/${SUB}/providers/Microsoft.Foo/bars/x` })).toBe(
      "notAResource",
    );
    expect(skipReason(policy, { id: RG })).toBeUndefined();
  });
});
