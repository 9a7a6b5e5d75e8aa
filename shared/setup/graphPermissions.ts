/** Setup grants and checks of the identity's Microsoft Graph application permissions. */
import { errorFacts } from "../azure/errors.js";
import { BROAD_GRAPH_PERMISSIONS, GRAPH_APP_ID, GRAPH_PERMISSIONS } from "./contract.js";
import { type Ctx, add, describe, isForbidden, identityId, NO_IDENTITY_FIX } from "./context.js";

// ====================================================================== Microsoft Graph

interface AppRole {
  id: string;
  value?: string;
  allowedMemberTypes?: string[];
}

export async function ensureGraphPermissions(ctx: Ctx): Promise<void> {
  const id = identityId(ctx);
  if (!id) {
    add(ctx, {
      area: "graph",
      name: "application permissions",
      status: "unverified",
      detail: "identity unknown",
      fix: NO_IDENTITY_FIX,
    });
    return;
  }
  const graph = ctx.clients.graph();
  let graphSp: { id: string; appRoles?: AppRole[] };
  try {
    graphSp = (await graph
      .api(`/servicePrincipals(appId='${GRAPH_APP_ID}')`)
      .select(["id", "appId", "appRoles"])
      .get()) as { id: string; appRoles?: AppRole[] };
  } catch (e) {
    const s = errorFacts(e).status;
    if (s === 404 || s === 400 || isForbidden(e)) {
      for (const p of GRAPH_PERMISSIONS) {
        add(ctx, {
          area: "graph",
          name: p.value,
          status: "unverified",
          detail: `cannot read Microsoft Graph's service principal (${describe(e)})`,
          fix: "run setup as an Entra administrator in the tenant (docs/deploy.md)",
        });
      }
      return;
    }
    throw e;
  }
  const roleIdOf = (value: string, fallback: string) =>
    graphSp.appRoles?.find(
      (r) => r.value === value && (r.allowedMemberTypes ?? ["Application"]).includes("Application"),
    )?.id ?? fallback;
  const assigned = new Map<string, string>();
  let url: string | undefined = `/servicePrincipals/${encodeURIComponent(id)}/appRoleAssignments`;
  while (url) {
    const page = (await graph.api(url).get()) as {
      value: Array<{ id: string; appRoleId: string; resourceId: string }>;
      "@odata.nextLink"?: string;
    };
    for (const a of page.value)
      if (a.resourceId.toLowerCase() === graphSp.id.toLowerCase())
        assigned.set(a.appRoleId.toLowerCase(), a.id);
    url = page["@odata.nextLink"];
  }
  for (const p of GRAPH_PERMISSIONS) {
    const appRoleId = roleIdOf(p.value, p.id).toLowerCase();
    if (assigned.has(appRoleId)) {
      add(ctx, { area: "graph", name: p.value, status: "ok", detail: p.why });
      continue;
    }
    if (ctx.opts.check) {
      add(ctx, {
        area: "graph",
        name: p.value,
        status: "missing",
        detail: p.why,
        fix: "steward setup (without --check) as an Entra administrator",
      });
      continue;
    }
    await graph
      .api(`/servicePrincipals/${encodeURIComponent(graphSp.id)}/appRoleAssignedTo`)
      .post({ principalId: id, resourceId: graphSp.id, appRoleId });
    ctx.changes++;
    add(ctx, { area: "graph", name: p.value, status: "created", detail: p.why });
  }
  for (const broad of BROAD_GRAPH_PERMISSIONS) {
    const roleId = graphSp.appRoles?.find((r) => r.value === broad)?.id?.toLowerCase();
    if (roleId && assigned.has(roleId)) {
      add(ctx, {
        area: "graph",
        name: broad,
        status: "wrong",
        detail: "broader than aml-steward needs",
        fix: `remove app role assignment ${assigned.get(roleId)} from the identity`,
      });
    }
  }
}
