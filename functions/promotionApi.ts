/**
 * The authenticated HTTP front of promotions, for people and tools that prefer HTTP to the queue:
 *
 *   POST /api/promotions                    a request -> the same envelope on the queue (202)
 *   GET  /api/promotions/{id}               the record, for its requester, owners and approvers
 *   POST /api/promotions/{id}/approvals     {decision, comment?, planHash?} -> envelope (202)
 *
 * Every call needs `Authorization: Bearer <token for aml-steward's API>`; a missing or bad token
 * gets 401 with a `WWW-Authenticate` reason. Function keys are not used: a key says which
 * program calls, not who, and every decision here depends on who. Submissions and approvals go
 * through the queue so the queue handler stays the only place that decides and records.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { bearerToken } from "../shared/auth/bearer.js";
import type { Caller } from "../shared/auth/callerToken.js";
import { memberGroups } from "../shared/auth/membership.js";
import { azure } from "../shared/azure/clients.js";
import { getSettings, QUEUES, TABLES } from "../shared/config/settings.js";
import { loggerFor } from "../shared/log.js";
import { getPolicy } from "../shared/policy/index.js";
import { approvalSchema, envelopeFor } from "../shared/promotion/envelope.js";
import { PromotionRecords, type PromotionRecord } from "../shared/promotion/record.js";
import { asSentBy, isGuid, parsePromotionRequest } from "../shared/promotion/request.js";
import { enqueuePromotionMessage } from "../shared/promotion/submit.js";
import type { FunctionDefinition } from "./definition.js";

type Authenticated = { ok: true; caller: Caller; token: string } | { ok: false; response: HttpResponseInit };

/** The caller of an HTTP request, or the 401 that says why there is none. */
export async function authenticate(request: HttpRequest): Promise<Authenticated> {
  const token = bearerToken(request.headers.get("authorization"));
  if (!token) {
    return {
      ok: false,
      response: unauthorised(
        'Bearer realm="aml-steward"',
        "send an Entra ID access token for aml-steward's API",
      ),
    };
  }
  // jose and the token checks load with the first API call, not at every instance's start.
  const { callerTokens } = await import("../shared/auth/callerToken.js");
  const check = await callerTokens(getSettings()).validate(token);
  if (check.ok) return { ok: true, caller: check.caller, token };
  const description = check.reason.replace(/"/g, "'");
  return {
    ok: false,
    response: unauthorised(
      `Bearer realm="aml-steward", error="invalid_token", error_description="${description}"`,
      check.reason,
    ),
  };
}

/** The caller, and the promotion id of the route (a GUID, lower case). */
async function authenticatedForId(
  request: HttpRequest,
): Promise<(Authenticated & { ok: true; id: string }) | { ok: false; response: HttpResponseInit }> {
  const auth = await authenticate(request);
  if (!auth.ok) return auth;
  const id = request.params.id ?? "";
  if (!isGuid(id))
    return { ok: false, response: { status: 400, jsonBody: { error: "the promotion id must be a GUID" } } };
  return { ...auth, id: id.toLowerCase() };
}

function unauthorised(challenge: string, message: string): HttpResponseInit {
  return { status: 401, headers: { "WWW-Authenticate": challenge }, jsonBody: { error: message } };
}

async function jsonBody(
  request: HttpRequest,
): Promise<{ ok: true; body: unknown } | { ok: false; response: HttpResponseInit }> {
  try {
    return { ok: true, body: await request.json() };
  } catch (e) {
    return {
      ok: false,
      response: { status: 400, jsonBody: { error: `the body is not JSON: ${(e as Error).message}` } },
    };
  }
}

export async function submitPromotion(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const auth = await authenticate(request);
  if (!auth.ok) return auth.response;
  const body = await jsonBody(request);
  if (!body.ok) return body.response;
  // The queue handler checks all of this again; answering here spares the sender a round trip.
  const parsed = parsePromotionRequest(body.body);
  if (!parsed.ok)
    return { status: 400, jsonBody: { error: "not a valid promotion request", reasons: parsed.reasons } };
  const sent = asSentBy(parsed.request, auth.caller);
  if (!sent.ok)
    return { status: 400, jsonBody: { error: "not a valid promotion request", reasons: sent.reasons } };
  await enqueuePromotionMessage(
    azure().queue(QUEUES.promotions),
    envelopeFor(auth.token, { request: body.body }),
  );
  const requestId = parsed.request.requestId.toLowerCase();
  loggerFor(context).info("promotion request queued", { requestId, by: auth.caller.objectId });
  return {
    status: 202,
    headers: { Location: `/api/promotions/${requestId}` },
    jsonBody: { requestId, queued: true, status: `/api/promotions/${requestId}` },
  };
}

export async function promotionStatus(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const auth = await authenticatedForId(request);
  if (!auth.ok) return auth.response;
  const id = auth.id;
  const record = await new PromotionRecords(azure().table(TABLES.promotions)).get(id.toLowerCase());
  // Unknown and not-yours look the same, so ids cannot be probed.
  if (!record || !(await mayRead(record, auth.caller)))
    return { status: 404, jsonBody: { error: `no promotion request ${id.toLowerCase()} that you may read` } };
  loggerFor(context).debug("promotion status read", {
    requestId: record.requestId,
    by: auth.caller.objectId,
  });
  const { lease: _lease, ...visible } = record;
  return { status: 200, jsonBody: visible };
}

/** The requester, the owners, the cost centre's approvers and the platform approvers. */
async function mayRead(r: PromotionRecord, caller: Caller): Promise<boolean> {
  if (r.requester?.objectId === caller.objectId || r.ownerIds?.includes(caller.objectId)) return true;
  const policy = getPolicy();
  const groups = [
    r.approval?.group.id ?? policy.fundedCostCenters.find((c) => c.id === r.costCenter)?.approvers?.id,
    policy.reconcile.approvers?.id,
  ].filter((g): g is string => !!g);
  return (await memberGroups(azure(), caller.objectId, groups)).size > 0;
}

export async function decidePromotion(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const auth = await authenticatedForId(request);
  if (!auth.ok) return auth.response;
  const id = auth.id;
  const body = await jsonBody(request);
  if (!body.ok) return body.response;
  const input = body.body && typeof body.body === "object" ? body.body : {};
  const approval = approvalSchema.safeParse({ ...input, requestId: id.toLowerCase() });
  if (!approval.success) {
    return {
      status: 400,
      jsonBody: {
        error: "not a valid decision: {decision: 'approve'|'reject', comment?, planHash?}",
        reasons: approval.error.issues.map((i) => ({ path: i.path.join("."), reason: i.message })),
      },
    };
  }
  await enqueuePromotionMessage(
    azure().queue(QUEUES.promotions),
    envelopeFor(auth.token, { approval: approval.data }),
  );
  loggerFor(context).info("promotion decision queued", { requestId: id, by: auth.caller.objectId });
  return {
    status: 202,
    jsonBody: {
      requestId: id.toLowerCase(),
      queued: true,
      note: "the decision counts once the request's record lists it as accepted",
      status: `/api/promotions/${id.toLowerCase()}`,
    },
  };
}

export const definitions: FunctionDefinition[] = [
  {
    name: "submitPromotion",
    trigger: "http",
    options: { methods: ["POST"], authLevel: "anonymous", route: "promotions", handler: submitPromotion },
  },
  {
    name: "promotionStatus",
    trigger: "http",
    options: { methods: ["GET"], authLevel: "anonymous", route: "promotions/{id}", handler: promotionStatus },
  },
  {
    name: "decidePromotion",
    trigger: "http",
    options: {
      methods: ["POST"],
      authLevel: "anonymous",
      route: "promotions/{id}/approvals",
      handler: decidePromotion,
    },
  },
];
