/**
 * `GET /groups/delta`: the directory's group change log (deltaLog.ts) answered as Graph's
 * delta query, with odata.maxpagesize from the Prefer header.
 */
import type { GroupRecord } from "../directory.js";
import type { EmuResponse } from "../types.js";
import { DEFAULT_DELTA_PAGE, groupsDelta, type DeltaGroup } from "./deltaLog.js";
import { GraphFail, header, ok, type GraphContext } from "./responses.js";

export function delta(ctx: GraphContext): EmuResponse {
  const { dir } = ctx;
  const prefer = header(ctx.req, "prefer") ?? "";
  const max = /odata\.maxpagesize=(\d+)/i.exec(prefer);
  const asDelta = (g: GroupRecord): DeltaGroup => ({
    id: g.id,
    displayName: g.displayName,
    members: [...g.members],
    typeOf: (id) => {
      const o = dir.getDirectoryObject(id);
      return o?.type === "group"
        ? "#microsoft.graph.group"
        : o?.type === "servicePrincipal"
          ? "#microsoft.graph.servicePrincipal"
          : "#microsoft.graph.user";
    },
  });
  const answer = groupsDelta({
    log: dir.groupChanges,
    query: ctx.req.query,
    pageSize: max ? Math.max(1, Number(max[1])) : DEFAULT_DELTA_PAGE,
    link: `${ctx.root}/groups/delta`,
    context: `${ctx.root}/$metadata#groups`,
    group: (id) => {
      const g = dir.getGroup(id);
      return g ? asDelta(g) : undefined;
    },
    all: () => dir.listGroups().map(asDelta),
  });
  if (answer.status !== 200) throw new GraphFail(answer.status, answer.code, answer.message);
  return ok(ctx, 200, answer.body);
}

/**
 * `/servicePrincipals/{id}/appRoleAssignments` (roles granted to the service principal) and
 * `/servicePrincipals/{id}/appRoleAssignedTo` (roles granted on it, the resource): list, get,
 * grant (POST) and revoke (DELETE), with Graph's answers for duplicates and unknown ids.
 */
