/**
 * What exists at the end of the demo, read back through the same SDKs and stores the app uses
 * (as aml-steward's identity): resource groups, workspaces, groups, role assignments, tags and
 * violations, as tables both the terminal and the HTML report render.
 */
import { azure } from "../../shared/azure/clients.js";
import { principalName } from "../../shared/azure/principalNames.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import {
  builtInRoleById,
  environmentNames,
  NAME_RULES,
  type EstatePolicy,
  type NameKind,
} from "../../shared/policy/index.js";
import type { Cell } from "../../cli/table.js";
import type { DemoContext } from "./acts.js";

export interface SummaryTable {
  title: string;
  headers: string[];
  rows: Cell[][];
  /** What the count beside the title says, when it is not the number of rows. */
  count?: string;
  /** Lines under the title: how to read the table. */
  notes?: string[];
}

const last = (id: string | undefined) => (id ?? "").split("/").pop() ?? "";

/**
 * A principal as people know it: a service principal's display name (a workspace's system
 * identity is named after the workspace) or a user's UPN, from Microsoft Graph as aml-steward
 * reads it; the object id when Graph has no name or cannot be reached.
 */
async function principalLabel(id: string | undefined, type: string | undefined): Promise<string> {
  if (!id) return "";
  const ref =
    type === "User"
      ? ({ kind: "user", objectId: id } as const)
      : type === "ServicePrincipal"
        ? ({ kind: "servicePrincipal", objectId: id } as const)
        : undefined;
  if (!ref) return id;
  const name = await principalName(ref).catch(() => undefined);
  return name ?? id;
}

export async function collectSummary(ctx: DemoContext): Promise<SummaryTable[]> {
  const policy = ctx.stack.policy;
  const t = policy.tags;
  const clients = azure();
  const tables: SummaryTable[] = [];

  const rgRows: Cell[][] = [];
  const projectRgs: Array<{ sub: string; id: string; name: string; project?: string; env?: string }> = [];
  for (const s of policy.governedSubscriptions) {
    for await (const rg of clients.resources(s.id).resourceGroups.list()) {
      rgRows.push([
        rg.name,
        s.name,
        rg.location,
        rg.tags?.[t.costCenter],
        rg.tags?.[t.project],
        rg.tags?.[t.environment],
        rg.tags?.[t.managedBy],
      ]);
      if (rg.tags?.[t.managedBy])
        projectRgs.push({
          sub: s.id,
          id: rg.id!,
          name: rg.name!,
          project: rg.tags?.[t.project],
          env: rg.tags?.[t.environment],
        });
    }
  }
  tables.push({
    title: "Resource groups",
    headers: ["name", "subscription", "region", t.costCenter, t.project, t.environment, t.managedBy],
    rows: rgRows,
  });

  const wsRows: Cell[][] = [];
  for (const s of policy.governedSubscriptions) {
    for await (const ws of clients.machineLearning(s.id).workspaces.listBySubscription()) {
      wsRows.push([
        ws.name,
        ws.id?.split("/")[4],
        ws.location,
        ws.provisioningState,
        ws.identity?.type,
        last(ws.storageAccount),
      ]);
    }
  }
  tables.push({
    title: "ML workspaces",
    headers: ["name", "resource group", "region", "state", "identity", "storage"],
    rows: wsRows,
  });

  const groupNames = new Map<string, string>();
  const groupRows: Cell[][] = [];
  // Environments in the policy's order (dev, qa, prod), then roles in the policy's order.
  const groupOrder = new Map<string, number>();
  for (const env of policy.environments) {
    const names = environmentNames(policy, ctx.facts.project, env.name);
    for (const role of policy.roles) groupOrder.set(names.groups[role.name]!, groupOrder.size);
  }
  const rank = (uniqueName: string) => groupOrder.get(uniqueName) ?? groupOrder.size;
  const groupRefs = (ctx.facts.promotion?.resources ?? [])
    .filter((r) => r.startsWith("group:"))
    .sort((a, b) => rank(a.split(":")[1]!) - rank(b.split(":")[1]!) || a.localeCompare(b));
  for (const ref of groupRefs) {
    const [, uniqueName, objectId] = ref.split(":");
    groupNames.set(objectId!, uniqueName!);
    const members = (await clients
      .graph()
      .api(`/groups/${objectId}/members`)
      .get()
      .catch(() => ({ value: [] }))) as {
      value: Array<{ userPrincipalName?: string; displayName?: string }>;
    };
    groupRows.push([
      uniqueName,
      objectId,
      members.value.map((m) => m.userPrincipalName ?? m.displayName).join(", "),
    ]);
  }
  tables.push({
    title: "Entra groups (one per role and environment)",
    headers: ["group", "object id", "members"],
    rows: groupRows,
  });

  tables.push(...(await roleAssignmentMatrices(ctx, projectRgs, groupNames)));
  const names = shortenedNames(policy, ctx.facts.project);
  if (names) tables.push(names);

  const tagRows: Cell[][] = [];
  const tagged = [
    ctx.facts.exploredResourceId,
    ctx.facts.strayResourceId,
    ctx.facts.driftedResourceId,
  ].filter((x): x is string => !!x);
  for (const id of tagged) {
    const sub = id.split("/")[2]!;
    const tags = (await clients.resources(sub).tagsOperations.getAtScope(id)).properties?.tags ?? {};
    tagRows.push([
      last(id),
      id.split("/")[4],
      tags[t.costCenter],
      tags[t.project],
      tags[t.environment],
      tags[t.createdBy],
      tags[t.createdOn],
    ]);
  }
  tables.push({
    title: "Tags on the resources the scenario touched",
    headers: ["resource", "resource group", t.costCenter, t.project, t.environment, t.createdBy, t.createdOn],
    rows: tagRows,
  });

  const violations = await new ViolationLog(clients.table(TABLES.violations)).list();
  tables.push({
    title: "Policy violations",
    headers: ["resource", "resource group", "kind", "detail"],
    rows: violations.map((v) => [last(v.resourceId), v.resourceId.split("/")[4], v.kind, v.detail]),
  });
  return tables;
}

/**
 * Role assignments on each project's resource groups as the role x environment matrix of
 * `steward policy show`: a row per (who, Azure role), a column per environment. Groups are shown
 * by the project role they stand for; any other principal (the workspace's own identity) is
 * named and marked, so the counts match the acts' "group assignments per environment".
 */
async function roleAssignmentMatrices(
  ctx: DemoContext,
  projectRgs: Array<{ sub: string; id: string; name: string; project?: string; env?: string }>,
  groupNames: Map<string, string>,
): Promise<SummaryTable[]> {
  const policy = ctx.stack.policy;
  const envs = policy.environments.map((e) => e.name);
  const roleOfGroup = new Map<string, string>();
  const projects = [...new Set(projectRgs.map((r) => r.project).filter((p): p is string => !!p))];
  for (const project of projects)
    for (const env of envs)
      for (const [role, group] of Object.entries(environmentNames(policy, project, env).groups))
        roleOfGroup.set(group, role);
  const roleRank = (role: string) => {
    const i = policy.roles.findIndex((r) => r.name === role);
    return i < 0 ? policy.roles.length : i;
  };

  const out: SummaryTable[] = [];
  for (const project of projects) {
    const cells = new Map<
      string,
      { who: string; own: boolean; rank: number; azureRole: string; envs: Set<string> }
    >();
    const perEnv = new Map<string, { groups: number; own: number; other: number }>(
      envs.map((e) => [e, { groups: 0, own: 0, other: 0 }]),
    );
    for (const rg of projectRgs.filter((r) => r.project === project && r.env)) {
      for await (const ra of azure()
        .authorization(rg.sub)
        .roleAssignments.listForScope(rg.id, { filter: "atScope()" })) {
        // atScope() includes what is inherited from the subscription (people's and the app's own roles).
        if ((ra.scope ?? "").toLowerCase() !== rg.id.toLowerCase()) continue;
        const roleGuid = last(ra.roleDefinitionId);
        const azureRole = builtInRoleById(roleGuid)?.name ?? roleGuid;
        const group = groupNames.get(ra.principalId ?? "");
        const role = group ? roleOfGroup.get(group) : undefined;
        const own = ra.principalType === "ServicePrincipal";
        const who = role
          ? role
          : own
            ? "workspace's own identity"
            : (group ?? (await principalLabel(ra.principalId, ra.principalType)));
        const key = `${who}|${azureRole}`;
        const cell = cells.get(key) ?? {
          who,
          own,
          rank: role ? roleRank(role) : policy.roles.length + (own ? 0 : 1),
          azureRole,
          envs: new Set<string>(),
        };
        cell.envs.add(rg.env!);
        cells.set(key, cell);
        const count = perEnv.get(rg.env!);
        if (count) {
          if (ra.principalType === "Group") count.groups++;
          else if (own) count.own++;
          // e.g. the Owner someone grants by hand in the tamper act: shown, never counted as ours.
          else count.other++;
        }
      }
    }
    // Within a role, Azure roles in the access matrix's order, as `steward policy show` lists them.
    const matrixOrder = (who: string, azureRole: string) => {
      const row = policy.accessMatrix[who] ?? {};
      const order = [...new Set(envs.flatMap((e) => (row[e] ?? []).map((g) => g.name)))];
      const i = order.indexOf(azureRole);
      return i < 0 ? order.length : i;
    };
    const sorted = [...cells.values()].sort(
      (a, b) =>
        a.rank - b.rank ||
        a.who.localeCompare(b.who) ||
        matrixOrder(a.who, a.azureRole) - matrixOrder(b.who, b.azureRole) ||
        a.azureRole.localeCompare(b.azureRole),
    );
    const rows: Cell[][] = sorted.map((c, i) => [
      i > 0 && sorted[i - 1]!.who === c.who ? "" : c.who,
      c.azureRole,
      ...envs.map((e) => (c.envs.has(e) ? "x" : "-")),
    ]);
    const totals = envs.map((e) => {
      const n = perEnv.get(e)!;
      return `${e}: ${n.groups} to groups${n.own ? ` + ${n.own} to the workspace's own identity` : ""}${n.other ? ` + ${n.other} made by hand, outside the access matrix` : ""}`;
    });
    out.push({
      title: `Role assignments of ${project} (role x environment, as steward policy show)`,
      headers: ["role", "Azure role", ...envs],
      rows,
      count: `${[...perEnv.values()].reduce((n, c) => n + c.groups + c.own, 0)} assignments`,
      notes: [
        `Each x is one assignment on the environment's resource group: ${totals.join("; ")}.`,
        "Groups are shown by the project role they stand for; the workspace's own identity (its system-assigned " +
          "managed identity, named after the workspace) gets its roles from the workspace, not from the access matrix.",
      ],
    });
  }
  return out;
}

/** The project's names that the naming rules had to shorten, and why. */
function shortenedNames(policy: EstatePolicy, project: string | undefined): SummaryTable | undefined {
  if (!project) return undefined;
  const compact = project.replace(/[^a-z0-9]/gi, "").toLowerCase();
  const rows: Cell[][] = [];
  for (const env of policy.environments) {
    const names = environmentNames(policy, project, env.name);
    for (const kind of Object.keys(NAME_RULES) as NameKind[]) {
      const name =
        kind === "group" ? undefined : (names as unknown as Record<string, string | undefined>)[kind];
      if (!name) continue;
      const plain = name.toLowerCase();
      if (plain.includes(project.toLowerCase()) || plain.includes(compact)) continue;
      rows.push([kind, env.name, name, policy.naming[kind], NAME_RULES[kind].description]);
    }
  }
  if (rows.length === 0) return undefined;
  return {
    title: "Names shortened by the naming rules",
    headers: ["kind", "environment", "name", "template", "Azure's rule"],
    rows,
    notes: [
      `Azure limits these names, so {project} ("${project}") is cut to fit and {hash} (from the project, ` +
        "environment and the policy's uniqueness seed) keeps them unique and stable: the same inputs always give the same name.",
    ],
  };
}
