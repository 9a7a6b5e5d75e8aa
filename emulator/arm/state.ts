/**
 * The ARM store: subscriptions, resource groups, resources and role assignments, with the
 * indexes the list operations need. Every mutation is synchronous so a read-modify-write in a
 * handler can never interleave with another request (Node runs one handler at a time between
 * awaits, and no handler awaits while it holds state).
 */
import { createHash } from "node:crypto";
import type { EmulatorSeed } from "../types.js";
import { lower, parseResourceId, resourceGroupId } from "./ids.js";
import { OrderedIndex } from "./listing.js";
import type { RoleDefinitionData } from "./builtInRoles.js";
import { typeInfo } from "./resourceTypes.js";

export interface SystemData {
  createdBy: string;
  createdByType: string;
  createdAt: string;
  lastModifiedBy: string;
  lastModifiedByType: string;
  lastModifiedAt: string;
}

/** A transitional state that ends by itself at `until` (epoch ms); see lro.ts. */
export interface Busy {
  state: string;
  until: number;
}

export interface SubscriptionRecord {
  subscriptionId: string;
  displayName: string;
  tenantId: string;
  tags: Record<string, string>;
}

export interface ResourceGroupRecord {
  key: string;
  id: string;
  subscriptionId: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  managedBy?: string;
  createdAt: number;
  changedAt: number;
  busy?: Busy;
}

export interface ResourceRecord {
  key: string;
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  type: string;
  name: string;
  parentKey?: string;
  location?: string;
  tags?: Record<string, string>;
  properties: Record<string, unknown>;
  sku?: Record<string, unknown>;
  kind?: string;
  identity?: Record<string, unknown>;
  managedBy?: string;
  plan?: Record<string, unknown>;
  zones?: unknown[];
  /** Absent for seeded resources unless the seed gives it: like Azure resources older than systemData. */
  systemData?: SystemData;
  createdAt: number;
  changedAt: number;
  busy?: Busy;
}

export interface RoleAssignmentRecord {
  key: string;
  id: string;
  name: string;
  scope: string;
  roleDefinitionGuid: string;
  principalId: string;
  principalType: string;
  description?: string;
  condition?: string;
  conditionVersion?: string;
  delegatedManagedIdentityResourceId?: string;
  createdOn: string;
  updatedOn: string;
  createdBy: string;
  updatedBy: string;
}

export const provisioningStateOf = (rec: { busy?: Busy }, now: number): string =>
  rec.busy && rec.busy.until > now ? rec.busy.state : "Succeeded";

const subKey = (sub: string): string => lower(sub);
const rgKey = (sub: string, rg: string): string => lower(resourceGroupId(sub, rg));

export class ArmState {
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  private readonly groups = new Map<string, ResourceGroupRecord>();
  private readonly groupsBySub = new Map<string, OrderedIndex<ResourceGroupRecord>>();
  private readonly resources = new Map<string, ResourceRecord>();
  private readonly topBySub = new Map<string, OrderedIndex<ResourceRecord>>();
  private readonly topByRg = new Map<string, OrderedIndex<ResourceRecord>>();
  /** `${container key}|${lower type}` where the container is a subscription, a group or a parent resource. */
  private readonly collections = new Map<string, OrderedIndex<ResourceRecord>>();
  private readonly children = new Map<string, Set<string>>();
  private readonly globalNames = new Map<string, string>();
  private readonly assignments = new Map<string, RoleAssignmentRecord>();
  private readonly assignmentsByBucket = new Map<string, OrderedIndex<RoleAssignmentRecord>>();
  private readonly assignmentTuples = new Map<string, string>();
  /** Custom role definitions by lower-case GUID (built-ins live in builtInRoles.ts). */
  readonly customRoles = new Map<string, RoleDefinitionData & { assignableScopes: string[] }>();
  /** Bumped by clear(); deferred work scheduled before a reset checks it and gives up. */
  generation = 0;

  constructor(readonly tenantId: string) {}

  clear(): void {
    this.subscriptions.clear();
    this.groups.clear();
    this.groupsBySub.clear();
    this.resources.clear();
    this.topBySub.clear();
    this.topByRg.clear();
    this.collections.clear();
    this.children.clear();
    this.globalNames.clear();
    this.assignments.clear();
    this.assignmentsByBucket.clear();
    this.assignmentTuples.clear();
    this.customRoles.clear();
    this.generation++;
  }

  // ---- subscriptions -------------------------------------------------------------------------

  getSubscription(sub: string): SubscriptionRecord | undefined {
    return this.subscriptions.get(subKey(sub));
  }

  putSubscription(rec: SubscriptionRecord): void {
    this.subscriptions.set(subKey(rec.subscriptionId), rec);
  }

  // ---- resource groups -----------------------------------------------------------------------

  getGroup(sub: string, rg: string): ResourceGroupRecord | undefined {
    return this.groups.get(rgKey(sub, rg));
  }

  putGroup(rec: ResourceGroupRecord): void {
    this.groups.set(rec.key, rec);
    this.index(this.groupsBySub, subKey(rec.subscriptionId)).add(rec.key, rec);
  }

  removeGroup(rec: ResourceGroupRecord): void {
    this.groups.delete(rec.key);
    this.groupsBySub.get(subKey(rec.subscriptionId))?.delete(rec.key);
  }

  groupsIn(sub: string): OrderedIndex<ResourceGroupRecord> {
    return this.index(this.groupsBySub, subKey(sub));
  }

  // ---- resources -----------------------------------------------------------------------------

  getResource(id: string): ResourceRecord | undefined {
    return this.resources.get(lower(id));
  }

  /** Inserts or replaces a resource, keeping every index in step. */
  putResource(rec: ResourceRecord): void {
    const existing = this.resources.get(rec.key);
    this.resources.set(rec.key, rec);
    const typeKey = lower(rec.type);
    if (rec.parentKey) {
      this.index(this.collections, `${rec.parentKey}|${typeKey}`).add(rec.key, rec);
      let set = this.children.get(rec.parentKey);
      if (!set) this.children.set(rec.parentKey, (set = new Set()));
      set.add(rec.key);
    } else {
      const sk = subKey(rec.subscriptionId);
      const gk = rgKey(rec.subscriptionId, rec.resourceGroup);
      this.index(this.topBySub, sk).add(rec.key, rec);
      this.index(this.topByRg, gk).add(rec.key, rec);
      this.index(this.collections, `/subscriptions/${sk}|${typeKey}`).add(rec.key, rec);
      this.index(this.collections, `${gk}|${typeKey}`).add(rec.key, rec);
    }
    if (!existing && typeInfo(rec.type).globallyUnique)
      this.globalNames.set(`${typeKey}|${lower(rec.name)}`, rec.key);
  }

  /** Removes a resource and everything nested below it; returns the removed records, children first. */
  removeResource(key: string): ResourceRecord[] {
    const rec = this.resources.get(key);
    if (!rec) return [];
    const removed: ResourceRecord[] = [];
    for (const childKey of [...(this.children.get(key) ?? [])])
      removed.push(...this.removeResource(childKey));
    this.children.delete(key);
    this.resources.delete(key);
    const typeKey = lower(rec.type);
    if (rec.parentKey) {
      this.collections.get(`${rec.parentKey}|${typeKey}`)?.delete(key);
      this.children.get(rec.parentKey)?.delete(key);
    } else {
      const sk = subKey(rec.subscriptionId);
      const gk = rgKey(rec.subscriptionId, rec.resourceGroup);
      this.topBySub.get(sk)?.delete(key);
      this.topByRg.get(gk)?.delete(key);
      this.collections.get(`/subscriptions/${sk}|${typeKey}`)?.delete(key);
      this.collections.get(`${gk}|${typeKey}`)?.delete(key);
    }
    const nameKey = `${typeKey}|${lower(rec.name)}`;
    if (this.globalNames.get(nameKey) === key) this.globalNames.delete(nameKey);
    // Role assignments scoped to a deleted resource go with it, as in Azure.
    for (const ra of [...this.assignments.values()])
      if (lower(ra.scope) === key) this.removeAssignment(ra.key);
    removed.push(rec);
    return removed;
  }

  topLevelInSubscription(sub: string): OrderedIndex<ResourceRecord> {
    return this.index(this.topBySub, subKey(sub));
  }

  topLevelInGroup(sub: string, rg: string): OrderedIndex<ResourceRecord> {
    return this.index(this.topByRg, rgKey(sub, rg));
  }

  /** Resources of one type directly inside a subscription, a group (top-level types) or a parent resource id. */
  collection(containerId: string, type: string): OrderedIndex<ResourceRecord> {
    return this.index(this.collections, `${lower(containerId)}|${lower(type)}`);
  }

  globalNameOwner(type: string, name: string): string | undefined {
    return this.globalNames.get(`${lower(type)}|${lower(name)}`);
  }

  get resourceCount(): number {
    return this.resources.size;
  }

  // ---- role assignments ----------------------------------------------------------------------

  getAssignment(id: string): RoleAssignmentRecord | undefined {
    return this.assignments.get(lower(id));
  }

  assignmentFor(scope: string, principalId: string, roleGuid: string): RoleAssignmentRecord | undefined {
    const key = this.assignmentTuples.get(tupleKey(scope, principalId, roleGuid));
    return key ? this.assignments.get(key) : undefined;
  }

  putAssignment(rec: RoleAssignmentRecord): void {
    this.assignments.set(rec.key, rec);
    this.index(this.assignmentsByBucket, bucketOf(rec.scope)).add(rec.key, rec);
    this.assignmentTuples.set(tupleKey(rec.scope, rec.principalId, rec.roleDefinitionGuid), rec.key);
  }

  removeAssignment(key: string): RoleAssignmentRecord | undefined {
    const rec = this.assignments.get(key);
    if (!rec) return undefined;
    this.assignments.delete(key);
    this.assignmentsByBucket.get(bucketOf(rec.scope))?.delete(key);
    this.assignmentTuples.delete(tupleKey(rec.scope, rec.principalId, rec.roleDefinitionGuid));
    return rec;
  }

  /** Assignments in one subscription (or "" for tenant-root ones), in creation order. */
  assignmentsInBucket(sub: string): OrderedIndex<RoleAssignmentRecord> {
    return this.index(this.assignmentsByBucket, lower(sub));
  }

  assignmentCountIn(sub: string): number {
    return this.assignmentsByBucket.get(lower(sub))?.size ?? 0;
  }

  // ---- seed & dump ---------------------------------------------------------------------------

  seed(seed: EmulatorSeed, now: number): void {
    for (const r of seed.roleDefinitions ?? []) {
      this.customRoles.set(lower(r.name), {
        guid: lower(r.name),
        roleName: r.roleName,
        description: r.description ?? "",
        actions: r.actions ?? [],
        notActions: r.notActions,
        dataActions: r.dataActions,
        notDataActions: r.notDataActions,
        assignableScopes: r.assignableScopes ?? ["/"],
      });
    }
    for (const s of seed.subscriptions ?? []) {
      const existing = this.getSubscription(s.subscriptionId);
      this.putSubscription({
        subscriptionId: s.subscriptionId,
        displayName: s.displayName,
        tenantId: this.tenantId,
        tags: existing?.tags ?? {},
      });
    }
    for (const g of seed.resourceGroups ?? [])
      this.ensureGroup(g.subscriptionId, g.name, g.location, g.tags, now);
    for (const r of seed.resources ?? []) {
      const parsed = parseResourceId(r.id);
      if (!parsed) throw new Error(`seed: '${r.id}' is not a resource id under a resource group`);
      this.ensureGroup(parsed.subscriptionId, parsed.resourceGroup, r.location ?? "eastus", undefined, now);
      for (let depth = 1; depth <= parsed.typeSegments.length; depth++) {
        const isTarget = depth === parsed.typeSegments.length;
        const partial = isTarget
          ? parsed
          : parseResourceId(
              `/subscriptions/${parsed.subscriptionId}/resourceGroups/${parsed.resourceGroup}/providers/${parsed.namespace}/` +
                parsed.typeSegments
                  .slice(0, depth)
                  .map((t, i) => `${t}/${parsed.names[i]}`)
                  .join("/"),
            )!;
        if (!isTarget && this.getResource(partial.id)) continue;
        const info = typeInfo(partial.type);
        const existing = this.getResource(partial.id);
        // Only what the seed says: a resource made before systemData existed has none in Azure
        // either, and its creator is then the Activity Log's to tell (or nobody's).
        const systemData = isTarget && r.systemData ? { ...seedSystemData(now), ...r.systemData } : undefined;
        this.putResource({
          key: lower(partial.id),
          id: existing?.id ?? partial.id,
          subscriptionId: partial.subscriptionId,
          resourceGroup:
            this.getGroup(partial.subscriptionId, partial.resourceGroup)?.name ?? partial.resourceGroup,
          type: info.type,
          name: partial.name,
          parentKey: partial.parentId ? lower(partial.parentId) : undefined,
          location: isTarget ? normalizeLocation(r.location) : undefined,
          tags: isTarget ? r.tags : undefined,
          properties: isTarget ? { ...(r.properties ?? {}) } : {},
          kind: isTarget ? r.kind : undefined,
          sku: isTarget ? r.sku : undefined,
          identity: isTarget ? r.identity : undefined,
          systemData,
          createdAt: now,
          changedAt: now,
        });
      }
    }
    this.seedAssignments(seed, now);
  }

  private seedAssignments(seed: EmulatorSeed, now: number): void {
    const at = new Date(now).toISOString();
    for (const a of seed.roleAssignments ?? []) {
      const roleGuid = lower(a.roleDefinitionId.split("/").pop() ?? a.roleDefinitionId);
      const scope = a.scope === "/" ? "/" : a.scope.replace(/\/+$/, "");
      if (this.assignmentFor(scope, a.principalId, roleGuid)) continue;
      const name = lower(a.name ?? stableGuid(`${lower(scope)}|${lower(a.principalId)}|${roleGuid}`));
      const id = `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
      this.putAssignment({
        key: lower(id),
        id,
        name,
        scope,
        roleDefinitionGuid: roleGuid,
        principalId: lower(a.principalId),
        principalType: a.principalType ?? "User",
        description: a.description,
        condition: a.condition,
        conditionVersion: a.condition !== undefined ? (a.conditionVersion ?? "2.0") : undefined,
        createdOn: at,
        updatedOn: at,
        createdBy: "seed",
        updatedBy: "seed",
      });
    }
  }

  private ensureGroup(
    sub: string,
    name: string,
    location: string,
    tags: Record<string, string> | undefined,
    now: number,
  ): void {
    if (!this.getSubscription(sub))
      this.putSubscription({ subscriptionId: sub, displayName: sub, tenantId: this.tenantId, tags: {} });
    const existing = this.getGroup(sub, name);
    if (existing && !tags) return;
    this.putGroup({
      key: rgKey(sub, name),
      id: existing?.id ?? resourceGroupId(sub, name),
      subscriptionId: existing?.subscriptionId ?? sub,
      name: existing?.name ?? name,
      location: existing?.location ?? normalizeLocation(location)!,
      tags: tags ?? existing?.tags,
      createdAt: existing?.createdAt ?? now,
      changedAt: now,
    });
  }

  dump(): unknown {
    return {
      tenantId: this.tenantId,
      subscriptions: [...this.subscriptions.values()],
      resourceGroups: [...this.groups.values()],
      resources: [...this.resources.values()],
      roleAssignments: [...this.assignments.values()],
      customRoleDefinitions: [...this.customRoles.values()],
    };
  }

  private index<T>(map: Map<string, OrderedIndex<T>>, key: string): OrderedIndex<T> {
    let idx = map.get(key);
    if (!idx) map.set(key, (idx = new OrderedIndex<T>()));
    return idx;
  }
}

/** A GUID-shaped name derived from its input, so a seed names its assignments the same way every time. */
function stableGuid(input: string): string {
  const h = createHash("sha256").update(input).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function tupleKey(scope: string, principalId: string, roleGuid: string): string {
  return `${lower(scope)}|${lower(principalId)}|${lower(roleGuid)}`;
}

/** Subscription id of a scope, or "" for scopes above subscriptions. */
export function bucketOf(scope: string): string {
  const m = /^\/subscriptions\/([^/]+)/i.exec(scope);
  return m ? lower(m[1]!) : "";
}

/** Azure stores locations as lower-case names without spaces ("East US" -> "eastus"). */
export function normalizeLocation(location: string | undefined): string | undefined {
  return location === undefined ? undefined : location.replace(/\s+/g, "").toLowerCase();
}

/** Known types keep Azure's casing whatever casing the client used. */
export function canonicalType(type: string): string {
  return typeInfo(type).type;
}

function seedSystemData(now: number): SystemData {
  const at = new Date(now).toISOString();
  return {
    createdBy: "seed",
    createdByType: "Application",
    createdAt: at,
    lastModifiedBy: "seed",
    lastModifiedByType: "Application",
    lastModifiedAt: at,
  };
}
