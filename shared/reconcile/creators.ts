/**
 * createdBy/createdOn for resources the event path never saw (made before aml-steward, or
 * while its events were lost), for the nightly run to fill (fill-only: decideTags never
 * overwrites either tag). In order of authority:
 *
 * 1. ARM's `systemData` (createdBy, createdByType, createdAt), set by ARM itself from the
 *    caller's token on resources whose provider supports it. The resources listing does not
 *    carry it (GenericResourceExpanded has no systemData), so it takes one GET of the resource
 *    (the event path's reader, for the types it has an api-version for); at most `maxReads`
 *    a run, since reads share ARM's 25/s bucket with the scan. A page that does carry it is
 *    used as is.
 * 2. The Activity Log's first successful write of the resource (`caller`, `eventTimestamp`),
 *    one paged query per subscription and run for its 90 days, asked only when some resource
 *    lacks systemData.
 * 3. Neither: the resource is reported (`creatorsUnknown`), its tags left as they are.
 *
 * Applications and managed identities are named as the event path names them (display name
 * from Graph, else the client id); users by UPN.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { createPipelineRequest } from "@azure/core-rest-pipeline";
import type { PrincipalRef } from "../azure/principalNames.js";
import { getSettings } from "../config/settings.js";
import { PINNED_API_VERSIONS, readTagTarget } from "../tagging/tagReader.js";
import { parseResourceId } from "../azure/resourceId.js";
import type { Logger } from "../log.js";

export interface Creator {
  createdBy: string;
  /** yyyy-mm-dd, as the event path writes createdOn. */
  createdOn: string;
  source: "systemData" | "activityLog";
}

interface SystemData {
  createdBy?: string;
  createdByType?: string;
  createdAt?: string;
}

interface FirstWrite {
  caller: string;
  at: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACTIVITY_API = "2015-04-01";
const RETENTION_DAYS = 90;

export class CreatorBackfill {
  /** systemData of the resources of the page being assessed, by lower-cased id. */
  private page = new Map<string, SystemData>();
  private firstWrites: Promise<Map<string, FirstWrite> | undefined> | undefined;
  /** What the backfill found and what it cost, for the run's report. */
  readonly summary = {
    fromSystemData: 0,
    fromActivityLog: 0,
    unknown: 0,
    /** GETs of resources for their systemData. */
    reads: 0,
    /** Pages of the Activity Log read. */
    activityLogPages: 0,
    /** First resources whose creator nobody records. */
    unknownSample: [] as string[],
  };

  constructor(
    private readonly resources: (subscriptionId: string) => ResourceManagementClient,
    private readonly client: ResourceManagementClient,
    private readonly subscriptionId: string,
    private readonly principalName: (ref: PrincipalRef) => Promise<string | undefined>,
    private readonly log: Logger,
    private readonly maxReads = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The listing's onResponse: remembers the page's systemData before the SDK drops it. */
  readonly onPage = (raw: { bodyAsText?: string | null }): void => {
    this.page = new Map();
    if (!raw.bodyAsText) return;
    try {
      const body = JSON.parse(raw.bodyAsText) as { value?: Array<{ id?: string; systemData?: SystemData }> };
      for (const r of body.value ?? [])
        if (r.id && r.systemData) this.page.set(r.id.toLowerCase(), r.systemData);
    } catch {
      // A body we cannot read only means no systemData: the Activity Log is asked instead.
    }
  };

  /** Who created the resource and when, or undefined (counted and sampled for the report). */
  async creatorOf(resourceId: string, createdTime?: Date): Promise<Creator | undefined> {
    let sd = this.page.get(resourceId.toLowerCase());
    // Only a type the reader has an api-version for comes back with systemData; for the others
    // a read would cost a token and tell nothing.
    const type = parseResourceId(resourceId)?.type.toLowerCase();
    const readable = type !== undefined && PINNED_API_VERSIONS[type] !== undefined;
    if (!sd && readable && createdTime && this.summary.reads < this.maxReads) {
      this.summary.reads++;
      const target = await readTagTarget(this.resources, resourceId);
      // The listing's createdTime ($expand) is ARM's creation time; the reader gives the creator.
      if (target?.creator) sd = { ...target.creator, createdAt: createdTime.toISOString() };
    }
    if (sd?.createdBy && sd.createdAt) {
      const name = await this.nameOf(sd.createdBy, sd.createdByType ?? "");
      if (name) {
        this.summary.fromSystemData++;
        return { createdBy: name, createdOn: sd.createdAt.slice(0, 10), source: "systemData" };
      }
    }
    const first = (await this.activity())?.get(resourceId.toLowerCase());
    if (first) {
      const name = await this.nameOf(first.caller, GUID.test(first.caller) ? "Application" : "User");
      if (name) {
        this.summary.fromActivityLog++;
        return { createdBy: name, createdOn: first.at.slice(0, 10), source: "activityLog" };
      }
    }
    this.summary.unknown++;
    if (this.summary.unknownSample.length < 20) this.summary.unknownSample.push(resourceId);
    return undefined;
  }

  private async nameOf(by: string, type: string): Promise<string | undefined> {
    switch (type.toLowerCase()) {
      case "user":
        return GUID.test(by) ? ((await this.principalName({ kind: "user", objectId: by })) ?? by) : by;
      case "application":
      case "managedidentity":
        return GUID.test(by)
          ? ((await this.principalName({ kind: "servicePrincipal", appId: by, objectId: by })) ?? by)
          : by;
      default:
        return undefined;
    }
  }

  private activity(): Promise<Map<string, FirstWrite> | undefined> {
    this.firstWrites ??= this.loadActivity().catch((e: unknown) => {
      // Without the Activity Log (no Monitoring Reader, an outage) systemData still serves.
      this.log.warn("reconcile: could not read the Activity Log; creators come from systemData only", {
        subscriptionId: this.subscriptionId,
        error: e instanceof Error ? e.message : String(e),
      });
      return undefined;
    });
    return this.firstWrites;
  }

  private async loadActivity(): Promise<Map<string, FirstWrite>> {
    const first = new Map<string, FirstWrite>();
    const from = new Date(this.now() - RETENTION_DAYS * 24 * 3600 * 1000 + 60_000).toISOString();
    const filter = `eventTimestamp ge '${from}' and eventTimestamp le '${new Date(this.now()).toISOString()}'`;
    const base = getSettings().STEWARD_ARM_ENDPOINT ?? "https://management.azure.com";
    let url: string | undefined =
      `${base.replace(/\/$/, "")}/subscriptions/${this.subscriptionId}` +
      `/providers/microsoft.insights/eventtypes/management/values?api-version=${ACTIVITY_API}` +
      `&$filter=${encodeURIComponent(filter)}&$select=${encodeURIComponent("resourceId,caller,eventTimestamp,operationName,status")}`;
    while (url) {
      const res = await this.client.sendRequest(createPipelineRequest({ url, method: "GET" }));
      this.summary.activityLogPages++;
      if (res.status !== 200) throw new Error(`Activity Log answered ${res.status}`);
      const body = JSON.parse(res.bodyAsText ?? "{}") as {
        value?: Array<{
          resourceId?: string;
          caller?: string;
          eventTimestamp?: string;
          operationName?: { value?: string };
          status?: { value?: string };
        }>;
        nextLink?: string;
      };
      for (const e of body.value ?? []) {
        const op = e.operationName?.value ?? "";
        // The resource's own write, not a tag or role assignment written on it later.
        if (!e.resourceId || !e.caller || !e.eventTimestamp || !/\/write$/i.test(op)) continue;
        if (/^Microsoft\.(Resources\/tags|Authorization)\//i.test(op)) continue;
        if (e.status?.value && e.status.value !== "Succeeded") continue;
        const key = e.resourceId.toLowerCase();
        const seen = first.get(key);
        if (!seen || e.eventTimestamp < seen.at) first.set(key, { caller: e.caller, at: e.eventTimestamp });
      }
      url = body.nextLink;
    }
    return first;
  }
}
