/**
 * Which ids the data-segregation checks own, and the workspace whose violation tag shows them:
 * a data version's parent is its data container, not the workspace.
 */
import { describe, expect, it } from "vitest";
import { isDataAccessId } from "../../shared/segregation/dataAccess.js";
import { workspaceOfChild } from "../../shared/tagging/childViolations.js";

const WS =
  "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-dev/providers/Microsoft.MachineLearningServices/workspaces/mlw-dev";

describe("data-segregation child ids", () => {
  it.each([
    `${WS}/datastores/raw`,
    `${WS}/connections/c`,
    `${WS}/data/tx/versions/1`,
    `${WS}/DATA/tx/Versions/2/`,
  ])("%s is checked, under its workspace", (id) => {
    expect(isDataAccessId(id)).toBe(true);
    expect(workspaceOfChild(id.replace(/\/$/, ""))).toBe(WS);
  });

  it.each([
    WS,
    `${WS}/data/tx`,
    `${WS}/models/m/versions/1`,
    `${WS}/data/../versions/1`,
    `${WS}/data/tx/versions/..`,
  ])("%s is not", (id) => expect(isDataAccessId(id)).toBe(false));

  it("a model version has no workspace tag to show", () => {
    expect(workspaceOfChild(`${WS}/models/m/versions/1`)).toBeUndefined();
  });
});
