/**
 * POST /api/reconcile/runs/{runId}/approvals (bearer token): a member of the policy's platform
 * approvers group approves a run the blast-radius guard blocked. The approval (who, when) is
 * recorded on the blocked run first; the queue message that then asks for the approved run
 * carries no authority, and the run applies only the exact change set that was approved.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { memberGroups } from "../shared/auth/membership.js";
import { azure } from "../shared/azure/clients.js";
import { QUEUES } from "../shared/config/settings.js";
import { loggerFor } from "../shared/log.js";
import { getPolicy } from "../shared/policy/index.js";
import { approveBlockedRun } from "../shared/reconcile/approve.js";
import { defaultDeps } from "../shared/reconcile/index.js";
import { encodeMessage } from "../shared/reconcile/messages.js";
import type { FunctionDefinition } from "./definition.js";
import { authenticate } from "./promotionApi.js";

export async function approveReconcileRun(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const auth = await authenticate(request);
  if (!auth.ok) return auth.response;
  const runId = request.params.runId ?? "";
  if (!/^[A-Za-z0-9_-]{6,80}$/.test(runId)) return { status: 400, jsonBody: { error: "not a run id" } };
  const result = await approveBlockedRun(
    {
      policy: getPolicy(),
      runs: defaultDeps().runs,
      memberGroups: (oid, g) => memberGroups(azure(), oid, g),
    },
    auth.caller,
    runId,
  );
  const log = loggerFor(context);
  if (!result.ok) {
    log.warn("reconcile approval refused", { runId, by: auth.caller.objectId, reason: result.reason });
    return { status: result.status, jsonBody: { error: result.reason } };
  }
  const queue = azure().queue(QUEUES.reconcile);
  await queue.createIfNotExists();
  await queue.sendMessage(
    encodeMessage({ v: 1, subscriptionId: result.subscriptionId, approveRunId: runId }),
  );
  log.info("reconcile run approved", {
    runId,
    by: auth.caller.objectId,
    changeSetHash: result.changeSetHash,
  });
  return {
    status: 202,
    jsonBody: { runId, approved: true, changeSetHash: result.changeSetHash, queued: true },
  };
}

export const definitions: FunctionDefinition[] = [
  {
    name: "approveReconcileRun",
    trigger: "http",
    options: {
      methods: ["POST"],
      authLevel: "anonymous",
      route: "reconcile/runs/{runId}/approvals",
      handler: approveReconcileRun,
    },
  },
];
