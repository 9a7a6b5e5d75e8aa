/** Setup checks of the identity's Azure roles: the generated set, nothing broader, at any scope or through groups. */
import type { RoleAssignment } from "@azure/arm-authorization";
import { isNotFound } from "../azure/errors.js";
import { odataEq } from "../odata.js";
import { sameCondition } from "../azure/abacCondition.js";
import { appRoleSet, parseAbacCondition, ROLE_IDS } from "./contract.js";
import {
  type Ctx,
  add,
  addReadFailure,
  isForbidden,
  identityId,
  NO_IDENTITY_FIX,
  subscriptionsOf,
} from "./context.js";

// ====================================================================== roles

const ROLE_NAMES: Record<string, string> = {
  [ROLE_IDS.owner]: "Owner",
  [ROLE_IDS.contributor]: "Contributor",
  [ROLE_IDS.reader]: "Reader",
  [ROLE_IDS.userAccessAdministrator]: "User Access Administrator",
  [ROLE_IDS.rbacAdministrator]: "Role Based Access Control Administrator",
  [ROLE_IDS.tagContributor]: "Tag Contributor",
  [ROLE_IDS.azureMlDataScientist]: "AzureML Data Scientist",
};

export function roleGuid(ra: RoleAssignment): string {
  return (ra.roleDefinitionId ?? "").split("/").pop()!.toLowerCase();
}

/** Is `scope` the given scope or one above it (root, management group, subscription)? */
function coversScope(scope: string | undefined, target: string): boolean {
  const s = (scope ?? "").toLowerCase().replace(/\/+$/, "");
  const t = target.toLowerCase();
  return s === "" || s.startsWith("/providers/microsoft.management/") || t === s || t.startsWith(`${s}/`);
}

export async function assignmentsOf(
  ctx: Ctx,
  subscriptionId: string,
  scope: string,
  principalId: string,
): Promise<RoleAssignment[]> {
  const out: RoleAssignment[] = [];
  const iter = ctx.clients
    .authorization(subscriptionId)
    .roleAssignments.listForScope(scope, { filter: odataEq("principalId", principalId) });
  for await (const ra of iter) {
    if ((ra.principalId ?? "").toLowerCase() === principalId && coversScope(ra.scope, scope)) out.push(ra);
  }
  return out;
}

/** Group ids the identity belongs to, directly or through other groups (roles reach it through them). */
async function transitiveGroupsOf(ctx: Ctx, id: string): Promise<string[] | undefined> {
  try {
    const out: string[] = [];
    let page = (await ctx.clients
      .graph()
      .api(`/servicePrincipals/${encodeURIComponent(id)}/transitiveMemberOf`)
      .select(["id"])
      .get()) as { value?: Array<{ id?: string }>; "@odata.nextLink"?: string };
    for (;;) {
      for (const g of page.value ?? []) if (g.id) out.push(g.id.toLowerCase());
      const next = page["@odata.nextLink"];
      if (!next) return out;
      page = (await ctx.clients.graph().api(next).get()) as typeof page;
    }
  } catch (e) {
    if (isForbidden(e) || isNotFound(e)) return undefined;
    throw e;
  }
}

export async function checkRoles(ctx: Ctx): Promise<void> {
  const id = identityId(ctx);
  if (!id) {
    add(ctx, {
      area: "roles",
      name: "role assignments",
      status: "unverified",
      detail: "identity unknown",
      fix: NO_IDENTITY_FIX,
    });
    return;
  }
  const roleSet = appRoleSet(ctx.policy);
  const promotionRole = roleSet.customRoles[0]!;
  const rbacGrant = roleSet.grants.find((g) => g.roleId === ROLE_IDS.rbacAdministrator)!;
  const groups = await transitiveGroupsOf(ctx, id);
  if (groups === undefined)
    add(ctx, {
      area: "roles",
      name: "group memberships of the identity",
      status: "unverified",
      detail: "cannot read its groups: roles granted through a group are not checked",
    });
  const principals = new Set([id, ...(groups ?? [])]);
  const project = ctx.policy.projectSubscriptionId.toLowerCase();
  for (const sub of subscriptionsOf(ctx.policy)) {
    const scope = `/subscriptions/${sub.id}`;
    let assignments: RoleAssignment[];
    // Everything at, above and below the subscription, for the identity or any of its groups.
    const everywhere: RoleAssignment[] = [];
    try {
      assignments = await assignmentsOf(ctx, sub.id, scope, id);
      for await (const ra of ctx.clients.authorization(sub.id).roleAssignments.listForScope(scope))
        if (principals.has((ra.principalId ?? "").toLowerCase())) everywhere.push(ra);
    } catch (e) {
      addReadFailure(ctx, "roles", scope, e);
      continue;
    }
    const held = (guid: string) => assignments.filter((ra) => roleGuid(ra) === guid);
    const need = (guid: string, roleName: string, why: string) => {
      const name = `${roleName} on ${scope}`;
      if (held(guid).length > 0) add(ctx, { area: "roles", name, status: "ok", detail: why });
      else
        add(ctx, {
          area: "roles",
          name,
          status: "missing",
          detail: why,
          fix: "azd provision (infra/main.bicep assigns it)",
        });
    };
    const governed = ctx.policy.governedSubscriptions.some((s) => s.id.toLowerCase() === sub.id);
    if (governed) {
      need(ROLE_IDS.reader, "Reader", "read resources and resource groups");
      need(ROLE_IDS.tagContributor, "Tag Contributor", "write cost tags");
    }
    if (sub.id === project) {
      need(promotionRole.id, promotionRole.roleName, "create project resource groups and resources");
      await checkPromotionRoleDefinition(ctx, sub.id, promotionRole);
      const admins = held(ROLE_IDS.rbacAdministrator);
      const name = `${ROLE_NAMES[ROLE_IDS.rbacAdministrator]} on ${scope}`;
      if (admins.length === 0) {
        add(ctx, {
          area: "roles",
          name,
          status: "missing",
          fix: "azd provision (infra/modules/project-subscription.bicep)",
        });
      }
      for (const ra of admins) {
        if (!ra.condition) {
          add(ctx, {
            area: "roles",
            name,
            status: "wrong",
            detail: "has no ABAC condition: it could grant any role to anyone",
            fix: "remove this assignment; azd provision assigns it with the condition",
          });
        } else if (!sameCondition(ra.condition, rbacGrant.condition!)) {
          // Compared as parsed trees: an extra OR branch or a role added to a set is a different tree.
          add(ctx, {
            area: "roles",
            name,
            status: "wrong",
            detail:
              "its condition is not exactly the access-matrix condition (other roles, principal types or branches)",
            fix: "npm run infra:generate, then azd provision",
          });
        } else {
          const parsed = parseAbacCondition(ra.condition);
          add(ctx, {
            area: "roles",
            name,
            status: "ok",
            detail: `condition allows ${parsed?.writeRoles.length ?? 0} access-matrix role(s), groups only`,
          });
        }
      }
    }
    for (const guid of [ROLE_IDS.owner, ROLE_IDS.userAccessAdministrator, ROLE_IDS.contributor]) {
      for (const ra of everywhere.filter((r) => roleGuid(r) === guid)) {
        const via = (ra.principalId ?? "").toLowerCase() === id ? "" : ` through group ${ra.principalId}`;
        add(ctx, {
          area: "roles",
          name: `${ROLE_NAMES[guid]} on ${ra.scope}${via}`,
          status: "wrong",
          detail: "broader than aml-steward needs",
          fix: `remove role assignment ${ra.name}`,
        });
      }
    }
  }
}

/** The deployed custom role must list exactly the generated actions: no more (privilege), no fewer (failures). */
async function checkPromotionRoleDefinition(
  ctx: Ctx,
  subscriptionId: string,
  role: ReturnType<typeof appRoleSet>["customRoles"][number],
): Promise<void> {
  const name = `role definition ${role.roleName}`;
  try {
    const def = await ctx.clients
      .authorization(subscriptionId)
      .roleDefinitions.get(`/subscriptions/${subscriptionId}`, role.id);
    const have = (def.permissions ?? []).flatMap((p) => p.actions ?? []).map((a) => a.toLowerCase());
    const want = role.actions.map((a) => a.action.toLowerCase());
    const extra = have.filter((a) => !want.includes(a));
    const lacking = want.filter((a) => !have.includes(a));
    const dataActions = (def.permissions ?? []).flatMap((p) => p.dataActions ?? []);
    if (extra.length + lacking.length + dataActions.length === 0)
      add(ctx, { area: "roles", name, status: "ok", detail: `${want.length} action(s), as generated` });
    else
      add(ctx, {
        area: "roles",
        name,
        status: "wrong",
        detail: [
          extra.length ? `extra: ${extra.join(", ")}` : "",
          lacking.length ? `lacking: ${lacking.join(", ")}` : "",
          dataActions.length ? `data actions: ${dataActions.join(", ")}` : "",
        ]
          .filter(Boolean)
          .join("; "),
        fix: "npm run infra:generate, then azd provision",
      });
  } catch (e) {
    if (isNotFound(e))
      add(ctx, {
        area: "roles",
        name,
        status: "missing",
        fix: "azd provision (infra/modules/project-subscription.bicep)",
      });
    else addReadFailure(ctx, "roles", name, e);
  }
}
