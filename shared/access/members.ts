/**
 * Group membership drift: the members of aml-steward's groups compared with the members the
 * request flow recorded. Nightly, through Microsoft Graph's delta query on groups: the first
 * round reads the directory's groups once; every later round returns only the groups whose
 * members changed since the last one, so its cost follows the changes, not the directory.
 * Only changed groups of ours are read in full (one paged list each) and compared; additions
 * outside the request flow are `access` violations, and in restore mode they are removed from
 * the groups of the environments `access.restoreMembersIn` names.
 */
import type { Client as GraphClient } from "@microsoft/microsoft-graph-client";
import type { TableClient } from "@azure/data-tables";
import type { AuditLog } from "../ledger/audit.js";
import { ensureTable } from "../ledger/tables.js";
import type { ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import type { EstatePolicy } from "../policy/schema.js";
import { ACCESS_ACTOR } from "./check.js";
import type { ManagedEstate, ManagedGroup } from "./estate.js";

/** Groups per delta page asked of Graph (it may send fewer). */
export const DELTA_PAGE_SIZE = 100;

export interface DeltaRound {
  /** Groups that changed (all of them on a first round), lower-case ids. */
  changed: Set<string>;
  deltaLink: string;
  pages: number;
  /** True when there was no usable token and the round read every group. */
  full: boolean;
}

interface DeltaPage {
  value?: Array<{ id?: string }>;
  "@odata.nextLink"?: string;
  "@odata.deltaLink"?: string;
}

/** One delta round from `deltaLink` (or from scratch), following nextLink to the new deltaLink. */
export async function groupsDelta(graph: GraphClient, deltaLink: string | undefined): Promise<DeltaRound> {
  const changed = new Set<string>();
  let url = deltaLink ?? "/groups/delta?$select=displayName,members";
  let full = !deltaLink;
  let pages = 0;
  for (;;) {
    let page: DeltaPage;
    try {
      page = (await graph
        .api(url)
        .header("Prefer", `odata.maxpagesize=${DELTA_PAGE_SIZE}`)
        .get()) as DeltaPage;
    } catch (e) {
      // The token expired (Graph keeps sync state for a limited time): start a full round.
      if ((e as { statusCode?: number }).statusCode === 410 && !full) {
        url = "/groups/delta?$select=displayName,members";
        full = true;
        changed.clear();
        continue;
      }
      throw e;
    }
    pages++;
    for (const g of page.value ?? []) if (g.id) changed.add(g.id.toLowerCase());
    if (page["@odata.nextLink"]) url = page["@odata.nextLink"];
    else if (page["@odata.deltaLink"]) return { changed, deltaLink: page["@odata.deltaLink"], pages, full };
    else throw new Error("Graph's delta page has neither a nextLink nor a deltaLink");
  }
}

/** Where the last round's deltaLink is kept between nightly runs. */
export class DeltaTokenStore {
  private static readonly PARTITION = "accessDelta";
  private static readonly ROW = "groups";
  constructor(private readonly table: TableClient) {}

  async get(): Promise<string | undefined> {
    await ensureTable(this.table);
    try {
      const e = await this.table.getEntity<{ deltaLink?: string }>(
        DeltaTokenStore.PARTITION,
        DeltaTokenStore.ROW,
      );
      return e.deltaLink || undefined;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  }

  async set(deltaLink: string): Promise<void> {
    await this.table.upsertEntity(
      {
        partitionKey: DeltaTokenStore.PARTITION,
        rowKey: DeltaTokenStore.ROW,
        deltaLink,
        at: new Date().toISOString(),
      },
      "Replace",
    );
  }
}

export interface MemberDriftDeps {
  policy: EstatePolicy;
  graph: GraphClient;
  tokens: Pick<DeltaTokenStore, "get" | "set">;
  violations: Pick<ViolationLog, "syncFor">;
  audit: Pick<AuditLog, "record">;
  log: Logger;
}

export interface GroupCheck {
  group: string;
  objectId: string;
  project: string;
  env: string;
  /** Members the request flow did not add. */
  extra: string[];
  removed: string[];
}

export interface MemberDriftResult {
  deltaPages: number;
  full: boolean;
  changedGroups: number;
  checked: GroupCheck[];
}

/** Id of a group's violation row (groups live in no subscription; rows go to the project subscription's partition). */
export const groupViolationId = (objectId: string) => `/groups/${objectId.toLowerCase()}`;

async function membersOf(graph: GraphClient, objectId: string): Promise<string[]> {
  const out: string[] = [];
  let url: string | undefined = `/groups/${objectId}/members?$select=id&$top=999`;
  while (url) {
    const page = (await graph.api(url).get()) as {
      value?: Array<{ id?: string }>;
      "@odata.nextLink"?: string;
    };
    for (const m of page.value ?? []) if (m.id) out.push(m.id.toLowerCase());
    url = page["@odata.nextLink"];
  }
  return out;
}

export async function checkGroupMembers(
  estate: ManagedEstate,
  deps: MemberDriftDeps,
  ctx: { correlationId: string },
): Promise<MemberDriftResult> {
  const round = await groupsDelta(deps.graph, await deps.tokens.get());
  const ours = [...round.changed].map((id) => estate.groups.get(id)).filter((g): g is ManagedGroup => !!g);
  const restoreIn = new Set(deps.policy.access.restoreMembersIn.map((e) => e.toLowerCase()));
  // Prod (or whatever the policy lists first) first: the groups whose drift matters most.
  ours.sort((a, b) => Number(restoreIn.has(b.env)) - Number(restoreIn.has(a.env)));
  const checked: GroupCheck[] = [];
  for (const g of ours) {
    let current: string[];
    try {
      current = await membersOf(deps.graph, g.objectId);
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) continue; // deleted since
      throw e;
    }
    const recorded = new Set(g.members);
    const extra = current.filter((m) => !recorded.has(m));
    const check: GroupCheck = {
      group: g.uniqueName,
      objectId: g.objectId,
      project: g.project,
      env: g.env,
      extra,
      removed: [],
    };
    checked.push(check);
    const id = groupViolationId(g.objectId);
    const sync = (open: boolean) =>
      deps.violations.syncFor(
        id,
        deps.policy.projectSubscriptionId,
        open
          ? [
              {
                kind: "access",
                detail: `members added outside the request flow to ${g.uniqueName}: ${extra.join(", ")}`,
              },
            ]
          : [],
        { project: g.project, correlationId: ctx.correlationId },
      );
    await sync(extra.length > 0);
    if (extra.length === 0) continue;
    deps.log.warn("group members added outside the request flow", { group: g.uniqueName, members: extra });
    if (deps.policy.access.drift !== "restore" || !restoreIn.has(g.env)) continue;
    for (const m of extra) {
      try {
        await deps.graph.api(`/groups/${g.objectId}/members/${m}/$ref`).delete();
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 404) throw e;
      }
      check.removed.push(m);
      await deps.audit.record({
        actor: ACCESS_ACTOR,
        action: "group.removeMember",
        target: g.objectId,
        project: g.project,
        before: { member: m },
        reason: `member of ${g.uniqueName} (${g.env}) added outside the request flow: removed (access.drift: restore)`,
        correlationId: ctx.correlationId,
      });
    }
    if (check.removed.length === extra.length) await sync(false);
  }
  // Saved last: a run that fails half-way sees the same changes again next time.
  await deps.tokens.set(round.deltaLink);
  return { deltaPages: round.pages, full: round.full, changedGroups: round.changed.size, checked };
}
