/**
 * `steward setup [--check]`: the installation steps Bicep does poorly, done idempotently with
 * the SDKs, and a check of every prerequisite with a readable report.
 *
 * - grants aml-steward's identity its Microsoft Graph application permissions (GRAPH_PERMISSIONS);
 * - creates the exploration resource group, its workspace and the workspace's dependencies when
 *   missing, and gives the identity AzureML Data Scientist on that workspace (the promotion
 *   archives promoted assets there);
 * - creates missing storage queues, tables and containers (Bicep creates them in Azure; locally
 *   this prepares Azurite);
 * - checks the subscriptions, the identity's Azure roles (and that none is broader than needed),
 *   and the Event Grid wiring of every governed subscription.
 *
 * Run it as the installer (az login), not as the app: granting Graph permissions needs an Entra
 * administrator (docs/deploy.md). With `check: true` it reads only. Every step reads first and
 * writes only what is missing, so a second run changes nothing.
 */
import type { RoleAssignment } from "@azure/arm-authorization";
import type { GenericResource } from "@azure/arm-resources";
import type { Workspace } from "@azure/arm-machinelearning";
import { azure, type AzureClients } from "../azure/clients.js";
import { errorFacts, isNotFound } from "../azure/errors.js";
import { resourceGroupId } from "../azure/resourceId.js";
import { getSettings, type Settings } from "../config/settings.js";
import { roleAssignmentName } from "../ids.js";
import type { Logger } from "../log.js";
import { odataEq } from "../odata.js";
import { deriveName, getPolicy, type EstatePolicy } from "../policy/index.js";
import { MANAGED_BY, managedTags, workspaceBlueprint } from "../promotion/workspaceBlueprint.js";
import { sameCondition } from "../azure/abacCondition.js";
import {
  appRoleSet,
  BROAD_GRAPH_PERMISSIONS,
  EVENT_FILTER,
  excludedPrincipalValues,
  GRAPH_APP_ID,
  GRAPH_PERMISSIONS,
  INFRA_NAMES,
  parseAbacCondition,
  ROLE_IDS,
  storageNames,
} from "./contract.js";
import { isProblem, type SetupArea, type SetupItem, type SetupReport } from "./report.js";

export * from "./report.js";
export * from "./contract.js";

export interface SetupOptions {
  /** Read only: report what is missing, change nothing. */
  check: boolean;
  logger?: Logger;
  /** Defaults: the process's clients, policy and settings. */
  clients?: AzureClients;
  policy?: EstatePolicy;
  settings?: Settings;
  /** Owner tag on the exploration resources setup creates (default: "aml-steward"). */
  explorationOwner?: string;
  /** LRO polling interval when the service sends no Retry-After (default 2 s). */
  pollIntervalMs?: number;
  /** The clock of the createdOn tag on what setup creates (default: now). */
  now?: () => Date;
}

/** The createdBy tag on what setup creates (the installer runs it, not the app's identity). */
export const SETUP_CREATED_BY = `${MANAGED_BY} setup`;

/** API version of Microsoft.EventGrid system topics and event subscriptions read by the check. */
const EVENT_GRID_API_VERSION = "2025-02-15";

interface Ctx {
  opts: SetupOptions;
  clients: AzureClients;
  policy: EstatePolicy;
  settings: Settings;
  items: SetupItem[];
  changes: number;
  log?: Logger;
}

export async function runSetup(opts: SetupOptions): Promise<SetupReport> {
  const ctx: Ctx = {
    opts,
    clients: opts.clients ?? azure(),
    policy: opts.policy ?? getPolicy(),
    settings: opts.settings ?? getSettings(),
    items: [],
    changes: 0,
    log: opts.logger,
  };
  const steps: Array<[SetupArea, (c: Ctx) => Promise<void>]> = [
    ["identity", checkIdentity],
    ["subscriptions", checkSubscriptions],
    ["roles", checkRoles],
    ["graph", ensureGraphPermissions],
    ["exploration", ensureExploration],
    ["storage", ensureStorage],
    ["events", checkEvents],
  ];
  for (const [area, step] of steps) {
    try {
      await step(ctx);
    } catch (e) {
      add(ctx, { area, name: `${area} check`, status: "error", detail: describe(e) });
    }
  }
  return {
    mode: opts.check ? "check" : "apply",
    ok: !ctx.items.some((i) => isProblem(i.status)),
    changes: ctx.changes,
    items: ctx.items,
  };
}

function add(ctx: Ctx, item: SetupItem): void {
  ctx.items.push(item);
  const level = isProblem(item.status) ? "warn" : "info";
  ctx.log?.[level](
    `setup ${item.area}: ${item.name} ${item.status}`,
    item.detail ? { detail: item.detail } : {},
  );
}

function describe(e: unknown): string {
  const f = errorFacts(e);
  return [f.status, f.code, f.message].filter((x) => x !== undefined && x !== "").join(" ");
}

function isForbidden(e: unknown): boolean {
  const s = errorFacts(e).status;
  return s === 401 || s === 403;
}

function identityId(ctx: Ctx): string | undefined {
  return ctx.settings.STEWARD_IDENTITY_OBJECT_ID?.toLowerCase();
}

const NO_IDENTITY_FIX =
  "set STEWARD_IDENTITY_OBJECT_ID and STEWARD_IDENTITY_CLIENT_ID (after azd provision: azd env get-values)";

// ====================================================================== identity

async function checkIdentity(ctx: Ctx): Promise<void> {
  const id = identityId(ctx);
  if (!id) {
    add(ctx, {
      area: "identity",
      name: "STEWARD_IDENTITY_OBJECT_ID",
      status: "missing",
      fix: NO_IDENTITY_FIX,
    });
    return;
  }
  try {
    const sp = (await ctx.clients
      .graph()
      .api(`/servicePrincipals/${encodeURIComponent(id)}`)
      .select(["id", "appId", "displayName"])
      .get()) as { appId?: string; displayName?: string };
    const clientId = ctx.settings.STEWARD_IDENTITY_CLIENT_ID?.toLowerCase();
    if (clientId && sp.appId && sp.appId.toLowerCase() !== clientId) {
      add(ctx, {
        area: "identity",
        name: `service principal ${id}`,
        status: "wrong",
        detail: `its appId ${sp.appId} differs from STEWARD_IDENTITY_CLIENT_ID ${clientId}`,
        fix: NO_IDENTITY_FIX,
      });
      return;
    }
    add(ctx, { area: "identity", name: `service principal ${id}`, status: "ok", detail: sp.displayName });
  } catch (e) {
    if (isNotFound(e)) {
      add(ctx, {
        area: "identity",
        name: `service principal ${id}`,
        status: "missing",
        detail: "no service principal with this object id in the tenant",
        fix: "azd provision creates the managed identity; then use its principal id",
      });
    } else if (isForbidden(e)) {
      add(ctx, {
        area: "identity",
        name: `service principal ${id}`,
        status: "unverified",
        detail: describe(e),
      });
    } else throw e;
  }
}

// ====================================================================== subscriptions

function subscriptionsOf(policy: EstatePolicy): Array<{ id: string; name: string }> {
  const out = new Map<string, string>();
  for (const s of policy.governedSubscriptions) out.set(s.id.toLowerCase(), `${s.name} (governed)`);
  const add = (id: string, role: string) => {
    const k = id.toLowerCase();
    out.set(k, out.has(k) ? `${out.get(k)}, ${role}` : role);
  };
  add(policy.projectSubscriptionId, "projects");
  add(policy.exploration.subscriptionId, "exploration");
  return [...out.entries()].map(([id, name]) => ({ id, name }));
}

async function checkSubscriptions(ctx: Ctx): Promise<void> {
  const governed = new Set(ctx.policy.governedSubscriptions.map((s) => s.id.toLowerCase()));
  for (const sub of subscriptionsOf(ctx.policy)) {
    const name = `${sub.id} ${sub.name}`;
    try {
      await ctx.clients.resources(sub.id).resourceGroups.list({ top: 1 }).byPage().next();
      add(ctx, { area: "subscriptions", name, status: "ok" });
    } catch (e) {
      add(ctx, {
        area: "subscriptions",
        name,
        status: "error",
        detail: describe(e),
        fix: "check the subscription id in the policy and that your account can read it",
      });
    }
  }
  for (const [id, what] of [
    [ctx.policy.exploration.subscriptionId, "exploration"],
    [ctx.policy.projectSubscriptionId, "project"],
  ] as const) {
    if (!governed.has(id.toLowerCase())) {
      add(ctx, {
        area: "subscriptions",
        name: `${what} subscription ${id}`,
        status: "wrong",
        detail: "is not in governedSubscriptions: its resources would not be tagged",
        fix: "add it to governedSubscriptions in the policy, npm run infra:generate, azd provision",
      });
    }
  }
}

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

function roleGuid(ra: RoleAssignment): string {
  return (ra.roleDefinitionId ?? "").split("/").pop()!.toLowerCase();
}

/** Is `scope` the given scope or one above it (root, management group, subscription)? */
function coversScope(scope: string | undefined, target: string): boolean {
  const s = (scope ?? "").toLowerCase().replace(/\/+$/, "");
  const t = target.toLowerCase();
  return s === "" || s.startsWith("/providers/microsoft.management/") || t === s || t.startsWith(`${s}/`);
}

async function assignmentsOf(
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

async function checkRoles(ctx: Ctx): Promise<void> {
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
      add(ctx, {
        area: "roles",
        name: scope,
        status: isForbidden(e) ? "unverified" : "error",
        detail: describe(e),
      });
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
    else
      add(ctx, { area: "roles", name, status: isForbidden(e) ? "unverified" : "error", detail: describe(e) });
  }
}

// ====================================================================== Microsoft Graph

interface AppRole {
  id: string;
  value?: string;
  allowedMemberTypes?: string[];
}

async function ensureGraphPermissions(ctx: Ctx): Promise<void> {
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

// ====================================================================== exploration

function explorationPlan(ctx: Ctx) {
  const { policy } = ctx;
  const ex = policy.exploration;
  const region = policy.regions.default;
  const rgId = resourceGroupId(ex.subscriptionId, ex.resourceGroup);
  // Setup only ever PUTs what does not exist yet and never touches an existing resource's tags,
  // so createdBy/createdOn are filled only on what it creates, on the day it creates it.
  const tags = managedTags(policy, {
    costCenter: ex.costCenter,
    project: "exploration",
    environment: "exploration",
    owner: ctx.opts.explorationOwner ?? MANAGED_BY,
    createdBy: SETUP_CREATED_BY,
    createdOn: (ctx.opts.now?.() ?? new Date()).toISOString().slice(0, 10),
  });
  const inputs = { project: "exploration", region };
  const { dependencies, workspace } = workspaceBlueprint({
    resourceGroupId: rgId,
    region,
    tags,
    tenantId: ctx.settings.STEWARD_TENANT_ID,
    names: {
      workspace: ex.workspace,
      storageAccount: deriveName(policy, "storageAccount", inputs),
      keyVault: deriveName(policy, "keyVault", inputs),
      logAnalytics: deriveName(policy, "logAnalytics", inputs),
      applicationInsights: deriveName(policy, "applicationInsights", inputs),
    },
  });
  return {
    subscriptionId: ex.subscriptionId,
    resourceGroup: ex.resourceGroup,
    rgId,
    workspaceName: ex.workspace,
    workspaceId: workspace.id,
    workspace,
    region,
    tags,
    deps: dependencies,
  };
}

async function ensureExploration(ctx: Ctx): Promise<void> {
  const plan = explorationPlan(ctx);
  const arm = ctx.clients.resources(plan.subscriptionId);
  const ml = ctx.clients.machineLearning(plan.subscriptionId);

  // Resource group.
  let rgExists = true;
  try {
    await arm.resourceGroups.get(plan.resourceGroup);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    rgExists = false;
  }
  if (rgExists) add(ctx, { area: "exploration", name: `resource group ${plan.resourceGroup}`, status: "ok" });
  else if (ctx.opts.check) {
    add(ctx, {
      area: "exploration",
      name: `resource group ${plan.resourceGroup}`,
      status: "missing",
      fix: "steward setup",
    });
  } else {
    await arm.resourceGroups.createOrUpdate(plan.resourceGroup, { location: plan.region, tags: plan.tags });
    ctx.changes++;
    add(ctx, { area: "exploration", name: `resource group ${plan.resourceGroup}`, status: "created" });
  }

  // Workspace (and, only when it must be created, its dependencies).
  let workspace: Workspace | undefined;
  if (rgExists) {
    try {
      workspace = await ml.workspaces.get(plan.resourceGroup, plan.workspaceName);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  const wsName = `workspace ${plan.workspaceName}`;
  if (workspace) {
    add(ctx, { area: "exploration", name: wsName, status: "ok", detail: workspace.provisioningState });
  } else if (ctx.opts.check) {
    add(ctx, {
      area: "exploration",
      name: wsName,
      status: "missing",
      detail: "with its storage account, key vault, Log Analytics and Application Insights",
      fix: "steward setup",
    });
  } else {
    for (const dep of plan.deps) {
      let existing: GenericResource | undefined;
      try {
        existing = await arm.resources.getById(dep.id, dep.apiVersion);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (existing) {
        add(ctx, { area: "exploration", name: `${dep.kind} ${dep.id.split("/").pop()}`, status: "ok" });
        continue;
      }
      await arm.resources.beginCreateOrUpdateByIdAndWait(
        dep.id,
        dep.apiVersion,
        dep.body as GenericResource,
        {
          updateIntervalInMs: ctx.opts.pollIntervalMs,
        },
      );
      ctx.changes++;
      add(ctx, { area: "exploration", name: `${dep.kind} ${dep.id.split("/").pop()}`, status: "created" });
    }
    await ml.workspaces.beginCreateOrUpdateAndWait(
      plan.resourceGroup,
      plan.workspaceName,
      {
        location: plan.region,
        tags: plan.tags,
        identity: plan.workspace.identity,
        storageAccount: plan.workspace.storageAccount,
        keyVault: plan.workspace.keyVault,
        applicationInsights: plan.workspace.applicationInsights,
        friendlyName: "Exploration",
        description: "Shared exploration workspace; created by aml-steward setup",
      },
      { updateIntervalInMs: ctx.opts.pollIntervalMs },
    );
    ctx.changes++;
    add(ctx, { area: "exploration", name: wsName, status: "created" });
  }

  // The identity archives promoted assets in the exploration workspace.
  const id = identityId(ctx);
  const roleName = `AzureML Data Scientist on workspace ${plan.workspaceName}`;
  if (!id) {
    add(ctx, {
      area: "exploration",
      name: roleName,
      status: "unverified",
      detail: "identity unknown",
      fix: NO_IDENTITY_FIX,
    });
    return;
  }
  const workspaceExists = workspace !== undefined || !ctx.opts.check;
  if (!workspaceExists) {
    add(ctx, {
      area: "exploration",
      name: roleName,
      status: "missing",
      detail: "the workspace does not exist yet",
      fix: "steward setup",
    });
    return;
  }
  const held = (await assignmentsOf(ctx, plan.subscriptionId, plan.workspaceId, id)).some(
    (ra) => roleGuid(ra) === ROLE_IDS.azureMlDataScientist,
  );
  if (held) {
    add(ctx, { area: "exploration", name: roleName, status: "ok", detail: "archive promoted assets" });
  } else if (ctx.opts.check) {
    add(ctx, {
      area: "exploration",
      name: roleName,
      status: "missing",
      detail: "archive promoted assets",
      fix: "steward setup",
    });
  } else {
    await ctx.clients
      .authorization(plan.subscriptionId)
      .roleAssignments.create(
        plan.workspaceId,
        roleAssignmentName(plan.workspaceId, id, ROLE_IDS.azureMlDataScientist),
        {
          roleDefinitionId: `/subscriptions/${plan.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.azureMlDataScientist}`,
          principalId: id,
          principalType: "ServicePrincipal",
          description: "aml-steward: archive promoted assets in the exploration workspace",
        },
      );
    ctx.changes++;
    add(ctx, { area: "exploration", name: roleName, status: "created", detail: "archive promoted assets" });
  }
}

// ====================================================================== storage

async function ensureStorage(ctx: Ctx): Promise<void> {
  const names = storageNames();
  const noData = (name: string, e: unknown) =>
    add(ctx, {
      area: "storage",
      name,
      status: "unverified",
      detail: `no data-plane access with your credentials (${describe(e)})`,
      fix: "infra/main.bicep creates it; check with an account that has Storage * Data Reader",
    });
  const one = async (name: string, exists: () => Promise<boolean>, create: () => Promise<unknown>) => {
    let present: boolean;
    try {
      present = await exists();
    } catch (e) {
      if (isForbidden(e)) return noData(name, e);
      throw e;
    }
    if (present) return add(ctx, { area: "storage", name, status: "ok" });
    if (ctx.opts.check)
      return add(ctx, { area: "storage", name, status: "missing", fix: "azd provision, or steward setup" });
    await create();
    ctx.changes++;
    add(ctx, { area: "storage", name, status: "created" });
  };
  for (const q of names.queues) {
    const client = ctx.clients.queue(q);
    await one(
      `queue ${q}`,
      () => client.exists(),
      () => client.createIfNotExists(),
    );
  }
  for (const t of names.tables) {
    const client = ctx.clients.table(t);
    await one(
      `table ${t}`,
      async () => {
        try {
          await client
            .listEntities({ queryOptions: { select: ["PartitionKey"] } })
            .byPage({ maxPageSize: 1 })
            .next();
          return true;
        } catch (e) {
          if (isNotFound(e)) return false;
          throw e;
        }
      },
      () => client.createTable(),
    );
  }
  for (const c of names.containers) {
    const client = ctx.clients.blobs().getContainerClient(c);
    await one(
      `container ${c}`,
      () => client.exists(),
      () => client.createIfNotExists(),
    );
  }
}

// ====================================================================== Event Grid

interface EventSubscriptionProps {
  destination?: { endpointType?: string; properties?: { resourceId?: string } };
  filter?: {
    includedEventTypes?: string[];
    advancedFilters?: Array<{ operatorType?: string; key?: string; values?: string[] }>;
  };
  deadLetterDestination?: unknown;
  deadLetterWithResourceIdentity?: unknown;
  retryPolicy?: unknown;
}

/**
 * Problems of an event subscription's definition (empty when it is as infra/ deploys it).
 * `appPrincipalId` is aml-steward's identity, whose own writes the filter must drop; without it
 * only the filter's shape is checked.
 */
export function eventSubscriptionProblems(props: EventSubscriptionProps, appPrincipalId?: string): string[] {
  const problems: string[] = [];
  const types = [...(props.filter?.includedEventTypes ?? [])].sort();
  const expected = [...EVENT_FILTER.includedEventTypes].sort();
  if (JSON.stringify(types) !== JSON.stringify(expected)) {
    problems.push(`includedEventTypes is ${JSON.stringify(types)}, expected ${JSON.stringify(expected)}`);
  }
  const filters = props.filter?.advancedFilters ?? [];
  const own = filters.find(
    (f) =>
      f.operatorType === "StringNotIn" &&
      f.key?.toLowerCase() === EVENT_FILTER.excludedPrincipalKey.toLowerCase() &&
      (!appPrincipalId ||
        excludedPrincipalValues(appPrincipalId).every((p) =>
          (f.values ?? []).some((v) => v.toLowerCase() === p),
        )),
  );
  if (!own)
    problems.push(
      `aml-steward's own writes are not filtered out (StringNotIn on ${EVENT_FILTER.excludedPrincipalKey}${appPrincipalId ? ` with ${appPrincipalId}` : ""})`,
    );
  // The old filter dropped everyone's tag writes: someone removing a cost tag went unseen.
  if (filters.some((f) => f.operatorType === "StringNotIn" && f.key?.toLowerCase() === "data.operationname"))
    problems.push("tag writes by others are filtered out (StringNotIn on data.operationName)");
  const dest = props.destination;
  if (
    dest?.endpointType !== "AzureFunction" ||
    !(dest.properties?.resourceId ?? "")
      .toLowerCase()
      .endsWith(`/functions/${INFRA_NAMES.resourceWriteFunction.toLowerCase()}`)
  ) {
    problems.push(`destination is not the ${INFRA_NAMES.resourceWriteFunction} function`);
  }
  if (!props.deadLetterWithResourceIdentity && !props.deadLetterDestination)
    problems.push("no dead-letter destination");
  if (!props.retryPolicy) problems.push("no retry policy");
  return problems;
}

async function checkEvents(ctx: Ctx): Promise<void> {
  const fix = "azd provision with DEPLOY_EVENT_SUBSCRIPTIONS=true (docs/deploy.md)";
  for (const s of ctx.policy.governedSubscriptions) {
    const sub = s.id.toLowerCase();
    const arm = ctx.clients.resources(sub);
    let topic: GenericResource | undefined;
    try {
      for await (const r of arm.resources.list({
        filter: "resourceType eq 'Microsoft.EventGrid/systemTopics'",
      })) {
        if (!r.id) continue;
        const full = await arm.resources.getById(r.id, EVENT_GRID_API_VERSION);
        const props = (full.properties ?? {}) as { source?: string; topicType?: string };
        if (
          props.topicType?.toLowerCase() === "microsoft.resources.subscriptions" &&
          (props.source ?? "").toLowerCase().replace(/\/+$/, "") === `/subscriptions/${sub}`
        ) {
          topic = full;
          break;
        }
      }
    } catch (e) {
      add(ctx, {
        area: "events",
        name: `system topic in ${sub}`,
        status: isForbidden(e) ? "unverified" : "error",
        detail: describe(e),
      });
      continue;
    }
    if (!topic?.id) {
      add(ctx, { area: "events", name: `system topic in ${sub} (${s.name})`, status: "missing", fix });
      continue;
    }
    add(ctx, { area: "events", name: `system topic ${topic.name} in ${sub}`, status: "ok" });
    const esName = `event subscription ${INFRA_NAMES.eventSubscription} in ${sub}`;
    let es: GenericResource | undefined;
    try {
      es = await arm.resources.getById(
        `${topic.id}/eventSubscriptions/${INFRA_NAMES.eventSubscription}`,
        EVENT_GRID_API_VERSION,
      );
    } catch (e) {
      if (!isNotFound(e)) {
        add(ctx, {
          area: "events",
          name: esName,
          status: isForbidden(e) ? "unverified" : "error",
          detail: describe(e),
        });
        continue;
      }
    }
    if (!es) {
      add(ctx, { area: "events", name: esName, status: "missing", fix });
      continue;
    }
    const problems = eventSubscriptionProblems(
      (es.properties ?? {}) as EventSubscriptionProps,
      identityId(ctx),
    );
    add(ctx, {
      area: "events",
      name: esName,
      status: problems.length ? "wrong" : "ok",
      detail: problems.length
        ? problems.join("; ")
        : "resource writes and deletes except aml-steward's own, retry and dead-letter",
      fix: problems.length ? fix : undefined,
    });
  }
}
