/**
 * Microsoft Graph's delta query for groups (`GET /groups/delta`, with `members` in `$select`),
 * as documented: a first round returns every group and its members over `@odata.nextLink` pages
 * and ends with an `@odata.deltaLink`; following that link later returns only the groups that
 * changed since, each with `members@delta` listing only the members added and removed (removed
 * ones carry `"@removed": {"reason": "deleted"}`), and a deleted group as
 * `{"id", "@removed": {"reason": "changed"}}`. The page size follows
 * `Prefer: odata.maxpagesize=N` (default 100). A token older than what the log still holds
 * answers 410 Gone with `SyncStateNotFound` (the client starts again without a token).
 * Tokens are opaque base64url strings here as in Graph; they encode a position in the log.
 */

interface Change {
  seq: number;
  groupId: string;
  /** Absent for a change of the group itself (created or updated). */
  memberId?: string;
  removed: boolean;
}

/** The directory's ordered record of group and membership changes. */
export class GroupChangeLog {
  private seq = 0;
  private floor = 0;
  private changes: Change[] = [];

  get position(): number {
    return this.seq;
  }

  /** The oldest position a token may still name. */
  get oldest(): number {
    return this.floor;
  }

  groupChanged(groupId: string): void {
    this.changes.push({ seq: ++this.seq, groupId, removed: false });
  }

  groupRemoved(groupId: string): void {
    this.changes.push({ seq: ++this.seq, groupId, removed: true });
  }

  member(groupId: string, memberId: string, removed: boolean): void {
    this.changes.push({ seq: ++this.seq, groupId, memberId, removed });
  }

  /** Forgets the history (tokens issued before now answer 410); the position keeps counting. */
  reset(): void {
    this.changes = [];
    this.floor = this.seq;
  }

  /** Per group changed in (since, upTo]: whether it was removed, and each member's last change. */
  between(since: number, upTo: number): Map<string, { removed: boolean; members: Map<string, boolean> }> {
    const out = new Map<string, { removed: boolean; members: Map<string, boolean> }>();
    for (const c of this.changes) {
      if (c.seq <= since || c.seq > upTo) continue;
      const g = out.get(c.groupId) ?? { removed: false, members: new Map<string, boolean>() };
      if (c.memberId === undefined) g.removed = c.removed;
      else g.members.set(c.memberId, c.removed);
      out.set(c.groupId, g);
    }
    return out;
  }
}

interface Token {
  /** Changes after this position (absent: the first round, everything). */
  since?: number;
  /** The position this round reports up to: the deltaLink's token. */
  upTo: number;
  offset: number;
}

const encode = (t: Token) => Buffer.from(JSON.stringify(t)).toString("base64url");

function decode(s: string): Token | undefined {
  try {
    const t = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as Token;
    if (typeof t.upTo !== "number" || typeof t.offset !== "number") return undefined;
    return t;
  } catch {
    return undefined;
  }
}

export interface DeltaGroup {
  id: string;
  displayName: string;
  members: string[];
  /** "#microsoft.graph.user" etc. for a member id. */
  typeOf(memberId: string): string;
}

export type DeltaAnswer =
  { status: 200; body: Record<string, unknown> } | { status: 400 | 410; code: string; message: string };

export const DEFAULT_DELTA_PAGE = 100;

/**
 * One page of `/groups/delta`. `query` is the request's query string; `group(id)` the group as
 * it is now (undefined once deleted); `all()` every group, for a first round.
 */
export function groupsDelta(opts: {
  log: GroupChangeLog;
  query: URLSearchParams;
  pageSize: number;
  link: string;
  context: string;
  group(id: string): DeltaGroup | undefined;
  all(): DeltaGroup[];
}): DeltaAnswer {
  const { log, query } = opts;
  const select = (query.get("$select") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const withMembers = select.length === 0 || select.includes("members");
  const skip = query.get("$skiptoken") ?? query.get("$skipToken");
  const delta = query.get("$deltatoken") ?? query.get("$deltaToken");
  let token: Token;
  if (skip !== null || delta !== null) {
    const t = decode((skip ?? delta)!);
    if (!t) return { status: 400, code: "Request_BadRequest", message: "Invalid delta or skip token." };
    token = delta !== null ? { since: t.upTo, upTo: log.position, offset: 0 } : t;
    if (token.since !== undefined && token.since < log.oldest)
      return {
        status: 410,
        code: "SyncStateNotFound",
        message:
          "The sync state of this delta token is no longer available; start a new round without a token.",
      };
  } else {
    token = { upTo: log.position, offset: 0 };
  }

  type Row = Record<string, unknown>;
  const rows: Row[] = [];
  const entry = (g: DeltaGroup, members: Array<[string, boolean]>): Row => {
    const row: Row = { id: g.id };
    if (select.length === 0 || select.includes("displayName")) row.displayName = g.displayName;
    if (withMembers)
      row["members@delta"] = members.map(([id, removed]) => ({
        "@odata.type": g.typeOf(id),
        id,
        ...(removed ? { "@removed": { reason: "deleted" } } : {}),
      }));
    return row;
  };
  if (token.since === undefined) {
    for (const g of opts.all())
      rows.push(
        entry(
          g,
          g.members.map((m) => [m, false] as [string, boolean]),
        ),
      );
  } else {
    for (const [id, change] of log.between(token.since, token.upTo)) {
      const g = opts.group(id);
      if (!g || change.removed) {
        rows.push({ id, "@removed": { reason: "changed" } });
        continue;
      }
      rows.push(entry(g, [...change.members]));
    }
  }
  rows.sort((a, b) => String(a.id).localeCompare(String(b.id)));
  const page = rows.slice(token.offset, token.offset + opts.pageSize);
  const body: Record<string, unknown> = { "@odata.context": opts.context };
  const keep = select.length > 0 ? `$select=${select.join(",")}&` : "";
  if (token.offset + opts.pageSize < rows.length)
    body["@odata.nextLink"] =
      `${opts.link}?${keep}$skiptoken=${encode({ ...token, offset: token.offset + opts.pageSize })}`;
  else
    body["@odata.deltaLink"] = `${opts.link}?${keep}$deltatoken=${encode({ upTo: token.upTo, offset: 0 })}`;
  body.value = page;
  return { status: 200, body };
}
