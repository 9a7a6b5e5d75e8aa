/**
 * What aml-steward created and the access it gave, read back from its own promotion records:
 * the environments' resource groups (the only scopes access drift is ever corrected on), the
 * access matrix each one got, and the groups with the members the request flow put in them.
 * Never from tags or names, which anyone with write access can set.
 */
import type { PromotionRecord, PromotionRecords } from "../promotion/record.js";

/** One assignment the project's recorded matrix gives at a scope. */
export interface MatrixAssignment {
  principalId: string;
  roleDefinitionGuid: string;
  roleName: string;
  /** The group's unique name, for reports. */
  group: string;
}

export interface ManagedScope {
  /** The environment's resource group id, as recorded. */
  scope: string;
  subscriptionId: string;
  project: string;
  env: string;
  /** The promotion that last defined it. */
  requestId: string;
  expected: MatrixAssignment[];
  /** The environment's workspace: Azure grants its system identity a role on the group. */
  workspaceId?: string;
}

export interface ManagedGroup {
  objectId: string;
  uniqueName: string;
  project: string;
  env: string;
  /** Object ids the request flow added (the union over the project's promotions). */
  members: string[];
}

export interface ManagedEstate {
  /** By lower-case scope id. */
  scopes: Map<string, ManagedScope>;
  /** By lower-case object id. */
  groups: Map<string, ManagedGroup>;
}

const GROUP_ENTRY = /^group:([^:]+):([0-9a-f-]{36})$/i;

/** Folds records (any order) into the estate; a later promotion of a project redefines its scopes. */
export function estateFromRecords(records: readonly PromotionRecord[]): ManagedEstate {
  const scopes = new Map<string, ManagedScope>();
  const groups = new Map<string, ManagedGroup>();
  const sorted = [...records].sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));
  for (const r of sorted) {
    const plan = r.plan;
    if (!plan || r.dryRun || r.status !== "succeeded") continue;
    const ids = new Map<string, string>();
    for (const entry of r.resources) {
      const m = GROUP_ENTRY.exec(entry);
      if (m) ids.set(m[1]!.toLowerCase(), m[2]!.toLowerCase());
    }
    for (const env of plan.environments) {
      const expected: MatrixAssignment[] = [];
      for (const ra of env.roleAssignments) {
        const principalId = ra.principalId ?? ids.get(ra.groupUniqueName.toLowerCase());
        // A group the record does not name was never created: nothing to compare it with.
        if (!principalId) continue;
        expected.push({
          principalId: principalId.toLowerCase(),
          roleDefinitionGuid: ra.roleDefinitionGuid.toLowerCase(),
          roleName: ra.roleName,
          group: ra.groupUniqueName,
        });
      }
      scopes.set(env.resourceGroup.id.toLowerCase(), {
        scope: env.resourceGroup.id,
        subscriptionId: env.subscriptionId,
        project: plan.project,
        env: env.env,
        requestId: r.requestId,
        expected,
        // Records written before the workspace step existed have none.
        workspaceId: (env.workspace as { id?: string } | undefined)?.id,
      });
      for (const g of env.groups) {
        const objectId = ids.get(g.uniqueName.toLowerCase());
        if (!objectId) continue;
        const known = groups.get(objectId);
        const members = new Set([...(known?.members ?? []), ...g.members.map((m) => m.toLowerCase())]);
        groups.set(objectId, {
          objectId,
          uniqueName: g.uniqueName,
          project: plan.project,
          env: env.env,
          members: [...members],
        });
      }
    }
  }
  return { scopes, groups };
}

/** Reads every finished promotion's record: one list, then one read per promotion. */
export async function loadEstate(records: PromotionRecords): Promise<ManagedEstate> {
  const full: PromotionRecord[] = [];
  for await (const p of records.listProjectResources()) {
    const r = await records.get(p.requestId);
    if (r) full.push(r);
  }
  return estateFromRecords(full);
}

/** The managed scope an assignment id sits on exactly, if any. */
export function scopeOfAssignment(assignmentId: string): string | undefined {
  const i = assignmentId.toLowerCase().lastIndexOf("/providers/microsoft.authorization/roleassignments/");
  return i > 0 ? assignmentId.slice(0, i) : undefined;
}
