/**
 * One Entra security group per role: upserted by `uniqueName` (PATCH + `Prefer:
 * create-if-missing`, Graph's idempotent create), owned by aml-steward, requested members
 * added. Members are only ever added, never removed: people joining later is normal.
 *
 * Graph is eventually consistent: a group created a moment ago may be missing from reads and
 * from `$ref` for a while, so those are retried with back-off; the PATCH by uniqueName always
 * sees the group, which is what makes the create safe to repeat.
 */
import type { Client } from "@microsoft/microsoft-graph-client";
import { errorFacts, isNotFound } from "../../azure/errors.js";
import { odataString } from "../../odata.js";
import type { EnvironmentPlan, PlannedGroup } from "../plan.js";
import { withBackoff } from "../retry.js";
import { WriteTally, type StepContext, type StepResult } from "./context.js";

/** Graph accepts at most 20 owners and members together in the creating request. */
const MAX_BINDS_ON_CREATE = 20;

export interface GroupsResult extends StepResult {
  /** uniqueName -> object id. */
  groupIds: Map<string, string>;
}

export function directoryObjectUrl(id: string): string {
  return `https://graph.microsoft.com/v1.0/directoryObjects/${id}`;
}

export function groupPath(uniqueName: string): string {
  // Group names come from the policy's naming rules ([a-z0-9._-]); quoting still goes through odataString.
  return `/groups(uniqueName=${odataString(uniqueName)})`;
}

export async function ensureGroups(ctx: StepContext, env: EnvironmentPlan): Promise<GroupsResult> {
  const tally = new WriteTally(ctx);
  const groupIds = new Map<string, string>();
  let created = false;
  await Promise.all(
    env.groups.map(async (g) => {
      const r = await ensureGroup(ctx, tally, g);
      if (r.created) created = true;
      groupIds.set(g.uniqueName, r.id);
    }),
  );
  return {
    outcome: tally.outcome(created),
    writes: tally.count,
    groupIds,
    resources: env.groups.map((g) => `group:${g.uniqueName}:${groupIds.get(g.uniqueName)}`),
  };
}

interface GroupJson {
  id: string;
  displayName?: string;
  description?: string | null;
}

async function ensureGroup(
  ctx: StepContext,
  tally: WriteTally,
  g: PlannedGroup,
): Promise<{ id: string; created: boolean }> {
  const graph = ctx.clients.graph();
  let existing = await readGroup(graph, g.uniqueName);
  if (!existing) {
    const binds = [
      ...g.owners.map((id) => ({ rel: "owners", id })),
      ...g.members.map((id) => ({ rel: "members", id })),
    ];
    const first = binds.slice(0, MAX_BINDS_ON_CREATE);
    const body = {
      displayName: g.displayName,
      description: g.description,
      mailEnabled: false,
      mailNickname: g.mailNickname,
      securityEnabled: true,
      "owners@odata.bind": first.filter((b) => b.rel === "owners").map((b) => directoryObjectUrl(b.id)),
      "members@odata.bind": first.filter((b) => b.rel === "members").map((b) => directoryObjectUrl(b.id)),
    };
    let createdGroup: GroupJson | undefined;
    try {
      createdGroup = (await graph
        .api(groupPath(g.uniqueName))
        .header("Prefer", "create-if-missing")
        .patch(body)) as GroupJson | undefined;
      await tally.record("group.upsert", `group:${g.uniqueName}`, { ...body, id: createdGroup?.id });
    } catch (e) {
      // The group exists but was not yet readable, and some binds were already there.
      if (!isDuplicateReference(e)) throw e;
    }
    if (createdGroup?.id) {
      const rest = binds.slice(MAX_BINDS_ON_CREATE);
      for (const b of rest)
        await addReference(ctx, tally, graph, createdGroup.id, b.rel as "owners" | "members", b.id);
      return { id: createdGroup.id, created: true };
    }
    // 204: it already existed (created by an earlier attempt and not yet visible). Wait for it.
    existing = await withBackoff(
      async () => {
        const found = await readGroup(graph, g.uniqueName);
        if (!found)
          throw Object.assign(new Error(`group ${g.uniqueName} not yet visible`), { statusCode: 404 });
        return found;
      },
      isNotFound,
      ctx.backoff.graphVisibility,
    );
  }
  const id = existing.id;
  if (existing.displayName !== g.displayName || (existing.description ?? "") !== g.description) {
    const patch = { displayName: g.displayName, description: g.description };
    await graph.api(`/groups/${id}`).patch(patch);
    await tally.record("group.update", `group:${g.uniqueName}`, patch, {
      before: { displayName: existing.displayName, description: existing.description },
    });
  }
  for (const rel of ["owners", "members"] as const) {
    const want = rel === "owners" ? g.owners : g.members;
    if (want.length === 0) continue;
    const have = await listRelation(ctx, graph, id, rel);
    for (const member of want)
      if (!have.has(member.toLowerCase())) await addReference(ctx, tally, graph, id, rel, member);
  }
  return { id, created: false };
}

async function readGroup(graph: Client, uniqueName: string): Promise<GroupJson | undefined> {
  try {
    return (await graph
      .api(groupPath(uniqueName))
      .select(["id", "displayName", "description"])
      .get()) as GroupJson;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function listRelation(
  ctx: StepContext,
  graph: Client,
  groupId: string,
  rel: "owners" | "members",
): Promise<Set<string>> {
  const out = new Set<string>();
  let page = (await withBackoff(
    () => graph.api(`/groups/${groupId}/${rel}`).select(["id"]).top(999).get(),
    isNotFound,
    ctx.backoff.graphVisibility,
  )) as {
    value: { id: string }[];
    "@odata.nextLink"?: string;
  };
  for (;;) {
    for (const o of page.value ?? []) out.add(o.id.toLowerCase());
    const next = page["@odata.nextLink"];
    if (!next) return out;
    page = (await graph.api(next).get()) as typeof page;
  }
}

/** POST .../$ref; "already exists" means done; 404 of a just-created group is waited out. */
async function addReference(
  ctx: StepContext,
  tally: WriteTally,
  graph: Client,
  groupId: string,
  rel: "owners" | "members",
  objectId: string,
): Promise<void> {
  try {
    await withBackoff(
      () => graph.api(`/groups/${groupId}/${rel}/$ref`).post({ "@odata.id": directoryObjectUrl(objectId) }),
      (e) => isNotFound(e) || isNotYetThere(e),
      ctx.backoff.graphVisibility,
    );
    await tally.record(`group.${rel}.add`, `group:${groupId}`, { objectId });
  } catch (e) {
    if (!isDuplicateReference(e)) throw e;
  }
}

function isDuplicateReference(e: unknown): boolean {
  const f = errorFacts(e);
  return f.status === 400 && /already exist/i.test(f.message);
}

/** Graph sometimes answers 400 "...do not exist..." for a group it has not replicated yet. */
function isNotYetThere(e: unknown): boolean {
  const f = errorFacts(e);
  return f.status === 400 && /do(es)? not exist/i.test(f.message);
}
