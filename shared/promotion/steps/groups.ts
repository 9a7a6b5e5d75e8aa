/**
 * One Entra security group per role, create-only: created with its `uniqueName` (POST, which
 * fails when the name is taken), owned by aml-steward alone, requested members added. An
 * existing group is used only when a promotion record of the project lists it and aml-steward
 * is still its sole owner (ownership.ts); anything else stops the promotion, and such a group
 * is never written to. Members are only ever added, never removed: people joining later is normal.
 *
 * Graph is eventually consistent: a group created a moment ago may be missing from reads and
 * from `$ref` for a while, so those are retried with back-off; the uniqueName check of the
 * create always sees the group, which is what makes the create safe to repeat.
 */
import type { Client } from "@microsoft/microsoft-graph-client";
import { errorFacts, isNotFound } from "../../azure/errors.js";
import { odataString } from "../../odata.js";
import type { EnvironmentPlan, PlannedGroup } from "../plan.js";
import { withBackoff } from "../retry.js";
import { WriteTally, type StepContext, type StepResult } from "./context.js";
import { groupEntry, groupOwnershipProblem, OwnershipRefused } from "../ownership.js";

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
      const r = await ensureGroup(ctx, tally, g, env.subscriptionId);
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
  subscriptionId: string,
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
      uniqueName: g.uniqueName,
      "owners@odata.bind": first.filter((b) => b.rel === "owners").map((b) => directoryObjectUrl(b.id)),
      "members@odata.bind": first.filter((b) => b.rel === "members").map((b) => directoryObjectUrl(b.id)),
    };
    try {
      // POST, never the PATCH upsert: a create that finds the uniqueName taken fails instead of
      // writing our name, owner and members into whoever's group holds it.
      const created = (await graph.api("/groups").post(body)) as GroupJson;
      await ctx.claim([groupEntry(g.uniqueName, created.id)]);
      await tally.record("group.create", `group:${g.uniqueName}`, { ...body, id: created.id });
      const rest = binds.slice(MAX_BINDS_ON_CREATE);
      for (const b of rest)
        await addReference(ctx, tally, graph, created.id, b.rel as "owners" | "members", b.id);
      return { id: created.id, created: true };
    } catch (e) {
      if (!isUniqueNameTaken(e)) throw e;
    }
    // Taken: an earlier attempt's group not yet readable, or someone else's. Wait for it; the
    // ownership check below tells which.
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
  await ctx.ownership.hasFresh(groupEntry(g.uniqueName, id));
  const owners = await listRelation(ctx, graph, id, "owners");
  const problem = groupOwnershipProblem(
    ctx.ownership,
    g.uniqueName,
    { id, owners: [...owners] },
    ctx.stewardObjectId,
  );
  if (problem)
    throw new OwnershipRefused({ target: `group:${g.uniqueName}`, subscriptionId, detail: problem });
  if (existing.displayName !== g.displayName || (existing.description ?? "") !== g.description) {
    const patch = { displayName: g.displayName, description: g.description };
    await graph.api(`/groups/${id}`).patch(patch);
    await tally.record("group.update", `group:${g.uniqueName}`, patch, {
      before: { displayName: existing.displayName, description: existing.description },
    });
  }
  if (g.members.length > 0) {
    const have = await listRelation(ctx, graph, id, "members");
    for (const member of g.members)
      if (!have.has(member.toLowerCase())) await addReference(ctx, tally, graph, id, "members", member);
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

/** Object ids (lower case) of a group's owners; all pages. */
export async function readGroupOwners(graph: Client, groupId: string): Promise<string[]> {
  const out: string[] = [];
  let page = (await graph.api(`/groups/${groupId}/owners`).select(["id"]).top(999).get()) as {
    value: { id: string }[];
    "@odata.nextLink"?: string;
  };
  for (;;) {
    for (const o of page.value ?? []) out.push(o.id.toLowerCase());
    const next = page["@odata.nextLink"];
    if (!next) return out;
    page = (await graph.api(next).get()) as typeof page;
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

function isUniqueNameTaken(e: unknown): boolean {
  const f = errorFacts(e);
  return f.status === 400 && /uniqueName already exists/i.test(f.message);
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
