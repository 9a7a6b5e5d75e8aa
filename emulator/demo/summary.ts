/**
 * What exists at the end of the demo, read back through the same SDKs and stores the app uses
 * (as aml-steward's identity): resource groups, workspaces, groups, role assignments, tags and
 * violations, as tables both the terminal and the HTML report render.
 */
import { azure } from "../../shared/azure/clients.js";
import { principalName } from "../../shared/azure/principalNames.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { builtInRoleById, environmentNames } from "../../shared/policy/index.js";
import type { Cell } from "../../cli/table.js";
import type { DemoContext } from "./acts.js";

export interface SummaryTable {
  title: string;
  headers: string[];
  rows: Cell[][];
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
  const projectRgs: Array<{ sub: string; id: string; name: string }> = [];
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
      if (rg.tags?.[t.managedBy]) projectRgs.push({ sub: s.id, id: rg.id!, name: rg.name! });
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

  const raRows: Cell[][] = [];
  for (const rg of projectRgs) {
    for await (const ra of clients
      .authorization(rg.sub)
      .roleAssignments.listForScope(rg.id, { filter: "atScope()" })) {
      // atScope() includes what is inherited from the subscription (people's and the app's own roles).
      if ((ra.scope ?? "").toLowerCase() !== rg.id.toLowerCase()) continue;
      const roleGuid = last(ra.roleDefinitionId);
      raRows.push([
        rg.name,
        groupNames.get(ra.principalId ?? "") ?? (await principalLabel(ra.principalId, ra.principalType)),
        ra.principalType,
        builtInRoleById(roleGuid)?.name ?? roleGuid,
      ]);
    }
  }
  raRows.sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1])));
  tables.push({
    title: "Role assignments on the project resource groups",
    headers: ["resource group", "principal", "type", "role"],
    rows: raRows,
  });

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
