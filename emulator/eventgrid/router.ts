/**
 * The event bus's control API (not an Azure API; docs/emulator.md), all JSON:
 *   PUT    /_emulator/eventSubscriptions/{name}   body: ARM eventSubscription (with or without "properties")
 *   GET    /_emulator/eventSubscriptions[/{name}]
 *   DELETE /_emulator/eventSubscriptions/{name}
 *   GET    /_emulator/events[?subscription=&eventType=&subject=]   published events and delivery attempts
 *   DELETE /_emulator/events                        clears the log
 *   POST   /_emulator/events/flush                  waits until every pending delivery is done
 *   POST   /_emulator/events/{eventId}/redeliver    delivers the same event again (duplicate delivery)
 */
import type { EmuRequest, EmuResponse, Router } from "../types.js";
import type { EventBus } from "./bus.js";
import { subscriptionResource, ValidationError } from "./subscriptions.js";

function jsonRes(status: number, body?: unknown): EmuResponse {
  return body === undefined
    ? { status }
    : { status, headers: { "content-type": "application/json; charset=utf-8" }, body };
}

function armError(status: number, code: string, message: string): EmuResponse {
  return jsonRes(status, { error: { code, message } });
}

export function eventsRouter(bus: EventBus): Router {
  // Paths arrive percent-decoded (server.ts decodes each segment).
  return async (req: EmuRequest) => {
    const segs = req.path.split("/").filter(Boolean);
    if (segs[0] !== "_emulator") return undefined;
    const method = req.method.toUpperCase();

    if (segs[1] === "eventSubscriptions") {
      if (segs.length === 2 && method === "GET") {
        return jsonRes(200, { value: bus.listSubscriptions().map(subscriptionResource) });
      }
      const name = segs[2] ? segs[2] : undefined;
      if (!name || segs.length !== 3)
        return armError(404, "NotFound", "Use /_emulator/eventSubscriptions/{name}.");
      if (method === "PUT") {
        try {
          const { created, subscription } = await bus.putSubscription(name, req.body);
          return jsonRes(created ? 201 : 200, subscriptionResource(subscription));
        } catch (e) {
          if (e instanceof ValidationError) return armError(400, e.code, e.message);
          throw e;
        }
      }
      if (method === "GET") {
        const s = bus.getSubscription(name);
        return s
          ? jsonRes(200, subscriptionResource(s))
          : armError(404, "ResourceNotFound", `Event subscription '${name}' was not found.`);
      }
      if (method === "DELETE") {
        return jsonRes(bus.deleteSubscription(name) ? 200 : 204);
      }
      return armError(405, "MethodNotAllowed", `${method} is not supported here.`);
    }

    if (segs[1] === "events") {
      if (segs.length === 2 && method === "GET") {
        const sub = req.query.get("subscription")?.toLowerCase();
        const type = req.query.get("eventType")?.toLowerCase();
        const subject = req.query.get("subject")?.toLowerCase();
        const value = bus
          .events()
          .filter((e) => !type || e.event.eventType.toLowerCase() === type)
          .filter((e) => !subject || e.event.subject.toLowerCase() === subject)
          .map((e) =>
            sub ? { ...e, deliveries: e.deliveries.filter((d) => d.subscription.toLowerCase() === sub) } : e,
          )
          .filter((e) => !sub || e.deliveries.length > 0);
        return jsonRes(200, { value });
      }
      if (segs.length === 2 && method === "DELETE") {
        bus.clearLog();
        return jsonRes(204);
      }
      if (segs.length === 3 && segs[2] === "flush" && method === "POST") {
        await bus.flush();
        return jsonRes(200, { pending: 0 });
      }
      if (segs.length === 4 && segs[3] === "redeliver" && method === "POST") {
        return bus.redeliver(segs[2]!)
          ? jsonRes(202)
          : armError(404, "NotFound", `No event with id '${segs[2]}' in the log.`);
      }
      return armError(404, "NotFound", "Unknown events endpoint.");
    }
    return undefined;
  };
}
