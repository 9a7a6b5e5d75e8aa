/**
 * Admission rules that come from the estate's setup (policy `projects`, `teams`): which kinds
 * of workspace this estate hands out at all. Apart from admission.ts so the setup rules stay
 * in one place next to the setup vocabulary (shared/policy/setupRules.ts).
 */
import type { EstatePolicy } from "../policy/schema.js";
import type { PromotionRequest, Refusal } from "./request.js";

export function setupRefusals(policy: EstatePolicy, _request: PromotionRequest): Refusal[] {
  if (!policy.projects)
    return [
      {
        path: "project",
        reason:
          "this estate has no project workspaces (policy projects: false); work stays in the shared workspace",
      },
    ];
  return [];
}
