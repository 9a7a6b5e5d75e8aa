/** Setup checks of the Event Grid wiring of every governed subscription. */
import type { GenericResource } from "@azure/arm-resources";
import { isNotFound } from "../azure/errors.js";
import { EVENT_FILTER, excludedPrincipalValues, INFRA_NAMES } from "./contract.js";
import { type Ctx, add, addReadFailure, identityId } from "./context.js";

/** API version of Microsoft.EventGrid system topics and event subscriptions read by the check. */
const EVENT_GRID_API_VERSION = "2025-02-15";

// ====================================================================== Event Grid

interface EventSubscriptionProps {
  destination?: { endpointType?: string; properties?: { resourceId?: string } };
  filter?: {
    includedEventTypes?: string[];
    advancedFilters?: Array<{ operatorType?: string; key?: string; values?: string[] }>;
  };
  deadLetterDestination?: unknown;
  deadLetterWithResourceIdentity?: unknown;
  retryPolicy?: unknown;
}

/**
 * Problems of an event subscription's definition (empty when it is as infra/ deploys it).
 * `appPrincipalId` is aml-steward's identity, whose own writes the filter must drop; without it
 * only the filter's shape is checked.
 */
export function eventSubscriptionProblems(props: EventSubscriptionProps, appPrincipalId?: string): string[] {
  const problems: string[] = [];
  const types = [...(props.filter?.includedEventTypes ?? [])].sort();
  const expected = [...EVENT_FILTER.includedEventTypes].sort();
  if (JSON.stringify(types) !== JSON.stringify(expected)) {
    problems.push(`includedEventTypes is ${JSON.stringify(types)}, expected ${JSON.stringify(expected)}`);
  }
  const filters = props.filter?.advancedFilters ?? [];
  const own = filters.find(
    (f) =>
      f.operatorType === "StringNotIn" &&
      f.key?.toLowerCase() === EVENT_FILTER.excludedPrincipalKey.toLowerCase() &&
      (!appPrincipalId ||
        excludedPrincipalValues(appPrincipalId).every((p) =>
          (f.values ?? []).some((v) => v.toLowerCase() === p),
        )),
  );
  if (!own)
    problems.push(
      `aml-steward's own writes are not filtered out (StringNotIn on ${EVENT_FILTER.excludedPrincipalKey}${appPrincipalId ? ` with ${appPrincipalId}` : ""})`,
    );
  // The old filter dropped everyone's tag writes: someone removing a cost tag went unseen.
  if (filters.some((f) => f.operatorType === "StringNotIn" && f.key?.toLowerCase() === "data.operationname"))
    problems.push("tag writes by others are filtered out (StringNotIn on data.operationName)");
  const dest = props.destination;
  if (
    dest?.endpointType !== "AzureFunction" ||
    !(dest.properties?.resourceId ?? "")
      .toLowerCase()
      .endsWith(`/functions/${INFRA_NAMES.resourceWriteFunction.toLowerCase()}`)
  ) {
    problems.push(`destination is not the ${INFRA_NAMES.resourceWriteFunction} function`);
  }
  if (!props.deadLetterWithResourceIdentity && !props.deadLetterDestination)
    problems.push("no dead-letter destination");
  if (!props.retryPolicy) problems.push("no retry policy");
  return problems;
}

export async function checkEvents(ctx: Ctx): Promise<void> {
  const fix = "azd provision with DEPLOY_EVENT_SUBSCRIPTIONS=true (docs/deploy.md)";
  for (const s of ctx.policy.governedSubscriptions) {
    const sub = s.id.toLowerCase();
    const arm = ctx.clients.resources(sub);
    let topic: GenericResource | undefined;
    try {
      for await (const r of arm.resources.list({
        filter: "resourceType eq 'Microsoft.EventGrid/systemTopics'",
      })) {
        if (!r.id) continue;
        const full = await arm.resources.getById(r.id, EVENT_GRID_API_VERSION);
        const props = (full.properties ?? {}) as { source?: string; topicType?: string };
        if (
          props.topicType?.toLowerCase() === "microsoft.resources.subscriptions" &&
          (props.source ?? "").toLowerCase().replace(/\/+$/, "") === `/subscriptions/${sub}`
        ) {
          topic = full;
          break;
        }
      }
    } catch (e) {
      addReadFailure(ctx, "events", `system topic in ${sub}`, e);
      continue;
    }
    if (!topic?.id) {
      add(ctx, { area: "events", name: `system topic in ${sub} (${s.name})`, status: "missing", fix });
      continue;
    }
    add(ctx, { area: "events", name: `system topic ${topic.name} in ${sub}`, status: "ok" });
    const esName = `event subscription ${INFRA_NAMES.eventSubscription} in ${sub}`;
    let es: GenericResource | undefined;
    try {
      es = await arm.resources.getById(
        `${topic.id}/eventSubscriptions/${INFRA_NAMES.eventSubscription}`,
        EVENT_GRID_API_VERSION,
      );
    } catch (e) {
      if (!isNotFound(e)) {
        addReadFailure(ctx, "events", esName, e);
        continue;
      }
    }
    if (!es) {
      add(ctx, { area: "events", name: esName, status: "missing", fix });
      continue;
    }
    const problems = eventSubscriptionProblems(
      (es.properties ?? {}) as EventSubscriptionProps,
      identityId(ctx),
    );
    add(ctx, {
      area: "events",
      name: esName,
      status: problems.length ? "wrong" : "ok",
      detail: problems.length
        ? problems.join("; ")
        : "resource writes and deletes except aml-steward's own, retry and dead-letter",
      fix: problems.length ? fix : undefined,
    });
  }
}
