/**
 * Inputs for planning a promotion without Azure: the example request (docs/examples), the
 * principals admission would resolve for it, and a fixed plan context (no clock).
 */
import { readFileSync } from "node:fs";
import type { ResolvedPrincipal } from "../../shared/promotion/admission.js";
import { parsePromotionRequest, type PromotionRequest } from "../../shared/promotion/request.js";

export const EXAMPLE_BODY = JSON.parse(
  readFileSync(new URL("../../docs/examples/promotion-request.json", import.meta.url), "utf8"),
) as Record<string, unknown>;

/** The example request with `over` applied, as sent by Erin. */
export function exampleRequest(over: Record<string, unknown> = {}): PromotionRequest {
  const parsed = parsePromotionRequest({ ...EXAMPLE_BODY, ...over });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.reasons));
  return { ...parsed.request, requestedBy: "erin@contoso.com" };
}

/** Every principal the example request names, resolved. */
export const EXAMPLE_PRINCIPALS = new Map<string, ResolvedPrincipal>(
  ["erin@contoso.com", "alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@contoso.com"].map(
    (upn, i) => [
      upn,
      { objectId: `0000000${i}-0000-4000-8000-000000000000`, kind: "user", userPrincipalName: upn },
    ],
  ),
);
EXAMPLE_PRINCIPALS.set("f1f1f1f1-0000-4000-8000-00000000000f", {
  objectId: "f1f1f1f1-0000-4000-8000-00000000000f",
  kind: "servicePrincipal",
});

export const PLAN_CONTEXT = {
  tenantId: "72f988bf-0000-4e7a-9c3b-2d7cd011db47",
  stewardObjectId: "5a1e7c3d-9b2f-4e8a-8c6d-0f1e2d3c4b5a",
  budgetStartDate: "2026-12-01",
  acceptedOn: "2026-12-05",
};
