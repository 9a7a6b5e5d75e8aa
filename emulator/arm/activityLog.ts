/**
 * The Activity Log (Microsoft.Insights, api-version 2015-04-01, activityLogs_API.json), built
 * from the writes the emulator served: every successful write or delete ARM would log, with
 * the caller's claims, operation, status and timestamps, so that who-created-this questions
 * (Cloud Custodian's auto-tag-user, aml-steward's nightly createdBy backfill) get the answers
 * Azure would give.
 *
 *   GET /subscriptions/{s}/providers/microsoft.insights/eventtypes/management/values
 *       ?api-version=2015-04-01&$filter=eventTimestamp ge '...' and eventTimestamp le '...'
 *       [and resourceUri eq '...' | resourceGroupName eq '...' | correlationId eq '...'
 *        | resourceType eq '...' | resourceProvider eq '...' | eventChannels eq 'Operation']
 *
 * As in Azure: the filter must give a start time (400 otherwise), only the last 90 days are
 * kept, newest first, pages of up to 200 events with a nextLink.
 */
import { randomUUID } from "node:crypto";
import { buildResourceEvent } from "../eventgrid/resourceEvents.js";
import type { EmuResponse, ResourceWrite } from "../types.js";
import type { ArmRequest } from "./request.js";
import { armError } from "./errors.js";
import { lower, splitPath } from "./ids.js";

export const RETENTION_MS = 90 * 24 * 3600 * 1000;
const PAGE = 200;
const CAPACITY = 200_000;

export interface ActivityEvent {
  [key: string]: unknown;
  eventTimestamp: string;
  subscriptionId: string;
  resourceId: string;
  resourceGroupName: string;
  correlationId: string;
}

export class ActivityLog {
  private events: ActivityEvent[] = [];

  constructor(
    private readonly tenantId: string,
    private readonly now: () => number,
  ) {}

  clear(): void {
    this.events = [];
  }

  record(write: ResourceWrite): void {
    const at = this.now();
    const e = buildResourceEvent(write, this.tenantId, at);
    const d = e.data as Record<string, unknown> & { claims: Record<string, string> };
    const claims = d.claims;
    const rg = /\/resourcegroups\/([^/]+)/i.exec(write.resourceId)?.[1] ?? "";
    const type = write.operationName.replace(/\/(write|delete|action)$/i, "");
    const eventDataId = randomUUID();
    const iso = new Date(at).toISOString();
    this.events.push({
      authorization: { action: write.operationName, scope: write.resourceId },
      caller:
        claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] ||
        claims.appid ||
        write.caller?.objectId ||
        "",
      channels: "Operation",
      claims,
      correlationId: write.correlationId,
      description: "",
      eventDataId,
      eventName: { value: "EndRequest", localizedValue: "End request" },
      category: { value: "Administrative", localizedValue: "Administrative" },
      httpRequest: d.httpRequest,
      id: `${write.resourceId}/events/${eventDataId}/ticks/${at * 10_000}`,
      level: "Informational",
      resourceGroupName: rg,
      resourceProviderName: { value: type.split("/")[0] ?? "", localizedValue: type.split("/")[0] ?? "" },
      resourceId: write.resourceId,
      resourceType: { value: type, localizedValue: type },
      operationId: randomUUID(),
      operationName: { value: write.operationName, localizedValue: write.operationName },
      properties: { statusCode: /\/delete$/i.test(write.operationName) ? "OK" : "Created" },
      status: { value: "Succeeded", localizedValue: "Succeeded" },
      subStatus: { value: "", localizedValue: "" },
      eventTimestamp: iso,
      submissionTimestamp: iso,
      subscriptionId: write.subscriptionId,
      tenantId: this.tenantId,
    });
    if (this.events.length > CAPACITY) this.events.splice(0, this.events.length - CAPACITY);
  }

  /** Seeds an old event (tests of the 90-day window and of backfills older than the emulator). */
  backdate(resourceId: string, to: number): void {
    for (const e of this.events)
      if (lower(e.resourceId) === lower(resourceId)) {
        e.eventTimestamp = e.submissionTimestamp = new Date(to).toISOString();
      }
  }

  query(req: ArmRequest, subscriptionId: string): EmuResponse {
    const parsed = parseFilter(req.query.get("$filter") ?? "");
    if ("error" in parsed) return armError(400, "BadRequest", parsed.error);
    const f = parsed;
    const oldest = this.now() - RETENTION_MS;
    const from = Math.max(f.from, oldest);
    const to = f.to ?? Infinity;
    const matches = this.events
      .filter((e) => {
        const t = Date.parse(e.eventTimestamp);
        if (t < from || t > to) return false;
        if (lower(e.subscriptionId) !== lower(subscriptionId)) return false;
        if (f.resourceUri && lower(e.resourceId) !== lower(f.resourceUri)) return false;
        if (f.resourceGroupName && lower(e.resourceGroupName) !== lower(f.resourceGroupName)) return false;
        if (f.correlationId && lower(e.correlationId) !== lower(f.correlationId)) return false;
        if (
          f.channels &&
          !lower(f.channels)
            .split(/\s*,\s*/)
            .includes("operation")
        )
          return false;
        const type = (e.resourceType as { value: string }).value;
        if (f.resourceType && lower(type) !== lower(f.resourceType)) return false;
        if (f.resourceProvider && lower(type.split("/")[0] ?? "") !== lower(f.resourceProvider)) return false;
        return true;
      })
      .reverse();
    const skip = Number(req.query.get("$skiptoken") ?? "0") || 0;
    const page = matches.slice(skip, skip + PAGE);
    const select = req.query.get("$select");
    const fields = select ? select.split(",").map((s) => s.trim()) : undefined;
    const value = fields
      ? page.map((e) => Object.fromEntries(fields.filter((k) => k in e).map((k) => [k, e[k]])))
      : page;
    const body: Record<string, unknown> = { value };
    if (skip + PAGE < matches.length) {
      const q = new URLSearchParams(req.query);
      q.set("$skiptoken", String(skip + PAGE));
      body.nextLink = `${req.baseUrl}${req.path}?${q.toString()}`;
    }
    return { status: 200, body };
  }
}

interface Filter {
  from: number;
  to?: number;
  resourceUri?: string;
  resourceGroupName?: string;
  correlationId?: string;
  /** Cloud Custodian's auto-tag-user asks for `eventChannels eq 'Operation'`; every event here is one. */
  channels?: string;
  resourceType?: string;
  resourceProvider?: string;
}

function parseFilter(filter: string): Filter | { error: string } {
  const out: Partial<Filter> = {};
  for (const clause of filter.split(/\s+and\s+/i)) {
    // Values may come quoted or bare: the Azure CLI sends timestamps without quotes.
    const m = /^\s*(\w+)\s+(ge|le|eq)\s+(?:'([^']*)'|(\S+))\s*$/i.exec(clause);
    if (!m) {
      if (clause.trim() === "") continue;
      return { error: `The filter clause '${clause.trim()}' is not supported.` };
    }
    const [, field, op] = m as unknown as [string, string, string];
    const value = m[3] ?? m[4] ?? "";
    const name = field.toLowerCase();
    if (name === "eventtimestamp") {
      const t = Date.parse(value);
      if (Number.isNaN(t)) return { error: `'${value}' is not a valid timestamp.` };
      if (op.toLowerCase() === "ge") out.from = t;
      else if (op.toLowerCase() === "le") out.to = t;
      else return { error: "eventTimestamp takes ge and le." };
    } else if (op.toLowerCase() !== "eq") {
      return { error: `${field} takes eq.` };
    } else if (name === "resourceuri" || name === "resourceid") out.resourceUri = value;
    else if (name === "resourcegroupname") out.resourceGroupName = value;
    else if (name === "correlationid") out.correlationId = value;
    else if (name === "eventchannels") out.channels = value;
    else if (name === "resourcetype") out.resourceType = value;
    else if (name === "resourceprovider") out.resourceProvider = value;
    else return { error: `Filtering on '${field}' is not supported.` };
  }
  if (out.from === undefined)
    return { error: "The $filter must include a start time: eventTimestamp ge '<time>'." };
  return out as Filter;
}

/** True for the Activity Log's path under a subscription. */
export function isActivityLogPath(path: string): string | undefined {
  const seg = splitPath(path).map(lower);
  return seg.length === 7 &&
    seg[0] === "subscriptions" &&
    seg[2] === "providers" &&
    seg[3] === "microsoft.insights" &&
    seg[4] === "eventtypes" &&
    seg[5] === "management" &&
    seg[6] === "values"
    ? splitPath(path)[1]
    : undefined;
}
