/**
 * Event Grid trigger: tag governance on every resource write in a governed subscription.
 * A thin adapter: parse the event (both schemas), hand it to the tagging shell, and turn the
 * outcome into logs and, for failures worth another try, an exception so Event Grid redelivers.
 */
import type { InvocationContext } from "@azure/functions";
import { countCalls } from "../shared/azure/callCounter.js";
import { withDeadline } from "../shared/azure/deadline.js";
import { errorFacts, hasCode, isTransient } from "../shared/azure/errors.js";
import { parseResourceWriteEvent } from "../shared/events/resourceWrite.js";
import { loggerFor, type Logger } from "../shared/log.js";
import { isAccessEvent } from "../shared/access/operations.js";
import { isDataAccessEvent } from "../shared/segregation/operations.js";
import { loadHeavySdks } from "../shared/azure/clients.js";
import { handleResourceWrite, retagParent } from "../shared/tagging/handleResourceWrite.js";
import { workspaceOfChild } from "../shared/tagging/childViolations.js";
import { taggingDeps } from "../shared/tagging/runtime.js";
import type { FunctionDefinition } from "./definition.js";

/** Worth a redelivery: throttling, 5xx, network, and ARM's 409 "another operation is in progress". */
export function isRetryable(e: unknown): boolean {
  if (isTransient(e)) return true;
  const { status } = errorFacts(e);
  if (status === 409) return !hasCode(e, "ScopeLocked");
  // No HTTP status and not a known network code: most likely a bug. Retrying lets Event Grid
  // dead-letter the event where someone will see it, rather than losing it silently.
  return status === undefined;
}

/**
 * Event Grid waits 30 s for an answer, then counts the delivery failed and retries on its own
 * schedule. Answering well inside that (done, or failed so it redelivers) keeps redeliveries
 * from queueing behind a delivery that is still retrying.
 */
export const EVENT_BUDGET_MS = 20_000;

export async function onResourceWrite(event: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context, { invocationId: context.invocationId });
  // The host hands over one event per invocation; a batch (an array) is handled one by one.
  for (const raw of Array.isArray(event) ? event : [event]) await handleOne(raw, log);
}

async function handleOne(raw: unknown, log: Logger): Promise<void> {
  const parsed = parseResourceWriteEvent(raw);
  if (parsed.kind === "ignored") {
    log.debug("ignored event type", { eventId: parsed.id, eventType: parsed.eventType });
    return;
  }
  if (parsed.kind === "malformed") {
    log.warn("malformed event dropped", { eventId: parsed.id, reason: parsed.reason });
    return;
  }
  const ev = parsed.event;
  const fields = { eventId: ev.id, resourceId: ev.resourceId, operationName: ev.operationName };
  try {
    if (isAccessEvent(ev)) {
      // Rare next to resource writes: the access code and the authorization SDK are loaded on
      // the first one, so the tagging path's cold start does not pay for them.
      const [{ handleAccessEvent }, { accessDeps }, { checkAssignmentById }, { roleGrantDeps }] =
        await Promise.all([
          import("../shared/access/event.js"),
          import("../shared/access/runtime.js"),
          import("../shared/segregation/roleGrants.js"),
          import("../shared/segregation/runtime.js"),
          loadHeavySdks(),
        ]);
      const { result, calls } = await countCalls(() =>
        withDeadline(EVENT_BUDGET_MS, async () => {
          const access = await handleAccessEvent(ev, accessDeps(log));
          if (access.result === "guarded") return access;
          // The same assignment may open production storage to a non-production environment.
          const data = await checkAssignmentById(ev.resourceId, roleGrantDeps(log), {
            correlationId: ev.correlationId ?? ev.id,
          });
          return { ...access, dataSegregation: data.result };
        }),
      );
      log[result.result === "checked" ? "info" : "debug"]("role assignment change handled", {
        ...fields,
        ...result,
        calls,
      });
      return;
    }
    if (isDataAccessEvent(ev)) {
      // Datastores, connections and data versions carry no tags of their own; they are checked
      // for production data instead (shared/segregation), loaded on the first such event.
      const [{ handleDataAccessEvent }, { dataAccessDeps }] = await Promise.all([
        import("../shared/segregation/event.js"),
        import("../shared/segregation/runtime.js"),
      ]);
      const { result, calls } = await countCalls(() =>
        withDeadline(EVENT_BUDGET_MS, async () => {
          const data = await handleDataAccessEvent(ev, dataAccessDeps(log));
          // In violations.mode: tag the workspace's violation tag shows what was just recorded
          // (or resolved) for its datastore or data version; retagParent does nothing in the
          // other modes.
          const workspace = workspaceOfChild(ev.resourceId);
          if (!workspace || (data.result !== "checked" && data.result !== "gone")) return data;
          const tagged = await retagParent(workspace, ev, taggingDeps(log));
          return { ...data, workspaceTag: tagged.result };
        }),
      );
      log[result.result === "checked" ? "info" : "debug"](
        "datastore, connection or data version change handled",
        {
          ...fields,
          ...result,
          calls,
        },
      );
      return;
    }
    const { result, calls } = await countCalls(() =>
      withDeadline(EVENT_BUDGET_MS, () => handleResourceWrite(ev, taggingDeps(log))),
    );
    if (result.result === "duplicate") {
      // Said at info so that a write that seems to have been ignored can be traced to its twin.
      log.info("resource write skipped", {
        ...fields,
        source: ev.source,
        subject: ev.subject,
        result: "duplicate",
        reason: "this delivery (event id, topic and subject) was already handled",
        calls,
      });
      return;
    }
    const level = result.result === "tagged" || result.result === "gone" ? "info" : "debug";
    log[level]("resource write handled", { ...fields, ...result, calls });
  } catch (e) {
    const facts = errorFacts(e);
    if (isRetryable(e)) {
      log.warn("resource write failed; Event Grid will redeliver", { ...fields, error: facts });
      throw e;
    }
    // A permanent refusal (403, 400, a read-only lock): retrying cannot help; the nightly
    // reconciliation will report the resource.
    log.error("resource write could not be governed", { ...fields, error: facts });
  }
}

export const definitions: FunctionDefinition[] = [
  { name: "onResourceWrite", trigger: "eventGrid", options: { handler: onResourceWrite } },
];
