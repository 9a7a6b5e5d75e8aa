/**
 * The emulated Microsoft Entra directory: users, service principals (including managed
 * identities), security groups with members and owners, app role assignments (application
 * permissions granted on a service principal such as Microsoft Graph's, which is always present,
 * as in every Entra tenant). Graph (graph/) and the token endpoint (entra/) read and write it;
 * ARM resolves callers through principalForToken and asks objectCreatedAt for the replication
 * delay fault.
 *
 * The tenant's tokens are issued and checked by its token service (entra/tokens.ts); the
 * directory holds it and passes its methods on, since every service that authenticates a
 * caller (ARM, Graph, the token endpoint) already holds the directory.
 */
import { randomBytes, randomUUID } from "node:crypto";
import {
  GRAPH_APP_ID,
  GRAPH_APP_ROLES,
  GRAPH_SERVICE_PRINCIPAL_ID,
  MICROSOFT_SERVICES_TENANT_ID,
} from "./graph/appRoles.js";
import { GroupChangeLog } from "./graph/deltaLog.js";
import type { IssuedToken, IssueOptions, TokenCheckFailure, TokenClaims } from "./entra/claims.js";
import type { PublicJwk } from "./entra/jwt.js";
import { TokenService } from "./entra/tokens.js";
import type { AppRoleAssignmentRecord, EmulatorSeed, Principal } from "./types.js";

export { GRAPH_APP_ID, GRAPH_SERVICE_PRINCIPAL_ID } from "./graph/appRoles.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface GroupRecord {
  id: string;
  displayName: string;
  mailNickname: string;
  mailEnabled: boolean;
  securityEnabled: boolean;
  groupTypes: string[];
  description: string | null;
  uniqueName: string | null;
  visibility: string | null;
  isAssignableToRole: boolean | null;
  /** Epoch ms. */
  createdAt: number;
  /** App id of the caller that created the group through Graph (null for seeded groups). */
  createdByAppId: string | null;
  members: string[];
  owners: string[];
}

export type DirectoryObject =
  | { type: "user"; principal: Principal }
  | { type: "servicePrincipal"; principal: Principal }
  | { type: "group"; group: GroupRecord };

export class Directory {
  readonly tenantId: string;
  /** The directory's clock (epoch ms); tests may inject one. */
  readonly now: () => number;
  /** Issues and checks this tenant's tokens (entra/tokens.ts); its key outlives reset(). */
  private readonly tokens = new TokenService(this);
  private principals = new Map<string, Principal>();
  private mailNicknames = new Map<string, string>();
  private groups = new Map<string, GroupRecord>();
  private appRoleAssignments = new Map<string, AppRoleAssignmentRecord>();
  /** Membership and group changes, in order, for `/groups/delta` (emulator/graph/deltaLog.ts). */
  readonly groupChanges = new GroupChangeLog();

  constructor(opts: { tenantId: string; now?: () => number }) {
    this.tenantId = opts.tenantId;
    this.now = opts.now ?? Date.now;
    this.addBuiltIns();
  }

  // ---------------------------------------------------------------- state

  reset(): void {
    this.principals.clear();
    this.mailNicknames.clear();
    this.groups.clear();
    this.appRoleAssignments.clear();
    this.addBuiltIns();
  }

  /** What every tenant has: Microsoft Graph's service principal with its app roles. */
  private addBuiltIns(): void {
    this.principals.set(GRAPH_SERVICE_PRINCIPAL_ID, {
      objectId: GRAPH_SERVICE_PRINCIPAL_ID,
      kind: "servicePrincipal",
      displayName: "Microsoft Graph",
      appId: GRAPH_APP_ID,
      appOwnerOrganizationId: MICROSOFT_SERVICES_TENANT_ID,
      appRoles: GRAPH_APP_ROLES.map((r) => ({ ...r, allowedMemberTypes: [...r.allowedMemberTypes] })),
      createdAt: this.now() - 365 * DAY_MS,
    });
  }

  /** Adds the seed's users, service principals and groups (ids generated where absent). */
  seed(seed: EmulatorSeed): void {
    const old = this.now() - DAY_MS;
    for (const u of seed.users ?? []) {
      const objectId = (u.objectId ?? randomUUID()).toLowerCase();
      this.principals.set(objectId, {
        objectId,
        kind: "user",
        displayName: u.displayName,
        userPrincipalName: u.userPrincipalName,
        ...(u.password !== undefined ? { password: u.password } : {}),
        createdAt: u.createdAt ?? old,
      });
      this.mailNicknames.set(
        objectId,
        u.mailNickname ?? u.userPrincipalName.split("@")[0] ?? u.userPrincipalName,
      );
    }
    for (const sp of seed.servicePrincipals ?? []) {
      const objectId = (sp.objectId ?? randomUUID()).toLowerCase();
      this.principals.set(objectId, {
        objectId,
        kind: sp.kind ?? "servicePrincipal",
        displayName: sp.displayName,
        appId: (sp.appId ?? randomUUID()).toLowerCase(),
        ...(sp.clientSecret !== undefined ? { clientSecret: sp.clientSecret } : {}),
        ...(sp.identifierUris?.length ? { identifierUris: [...sp.identifierUris] } : {}),
        ...(sp.appRoles?.length
          ? {
              appRoles: sp.appRoles.map((r) => ({
                isEnabled: true,
                origin: "Application" as const,
                ...r,
                id: r.id.toLowerCase(),
                allowedMemberTypes: [...r.allowedMemberTypes],
              })),
            }
          : {}),
        createdAt: sp.createdAt ?? old,
      });
    }
    // Groups in two passes so members/owners may name groups that come later in the seed.
    const pending: Array<{ group: GroupRecord; members: string[]; owners: string[] }> = [];
    for (const g of seed.groups ?? []) {
      const id = (g.id ?? randomUUID()).toLowerCase();
      const group: GroupRecord = {
        id,
        displayName: g.displayName,
        mailNickname:
          g.mailNickname ?? (g.displayName.replace(/[^A-Za-z0-9._-]/g, "").slice(0, 64) || id.slice(0, 8)),
        mailEnabled: false,
        securityEnabled: true,
        groupTypes: [],
        description: g.description ?? null,
        uniqueName: g.uniqueName ?? null,
        visibility: null,
        isAssignableToRole: null,
        createdAt: g.createdAt ?? old,
        createdByAppId: null,
        members: [],
        owners: [],
      };
      this.groups.set(id, group);
      pending.push({ group, members: g.members ?? [], owners: g.owners ?? [] });
    }
    for (const { group, members, owners } of pending) {
      for (const m of members) {
        const id = m.toLowerCase();
        if (!this.exists(id)) throw new Error(`seed: group '${group.displayName}' names unknown member ${m}`);
        if (!group.members.includes(id)) {
          group.members.push(id);
          this.groupChanges.member(group.id, id, false);
        }
      }
      for (const o of owners) {
        const id = o.toLowerCase();
        if (!this.principals.has(id))
          throw new Error(`seed: group '${group.displayName}' names unknown owner ${o}`);
        if (!group.owners.includes(id)) group.owners.push(id);
      }
    }
  }

  dump(): unknown {
    return {
      tenantId: this.tenantId,
      users: this.listUsers().map(({ password, ...p }) => ({
        ...p,
        mailNickname: this.mailNicknameOf(p.objectId),
        hasPassword: password !== undefined,
      })),
      servicePrincipals: this.listServicePrincipals().map(({ clientSecret, ...rest }) => ({
        ...rest,
        hasClientSecret: clientSecret !== undefined,
      })),
      groups: [...this.groups.values()].map((g) => ({
        ...g,
        createdDateTime: new Date(g.createdAt).toISOString(),
      })),
      appRoleAssignments: [...this.appRoleAssignments.values()],
    };
  }

  // ---------------------------------------------------------------- lookups

  getPrincipal(objectId: string): Principal | undefined {
    return this.principals.get(objectId.toLowerCase());
  }

  /** Epoch ms when the user, service principal or group was created; undefined if unknown. */
  objectCreatedAt(id: string): number | undefined {
    const key = id.toLowerCase();
    return this.principals.get(key)?.createdAt ?? this.groups.get(key)?.createdAt;
  }

  listUsers(): Principal[] {
    return [...this.principals.values()].filter((p) => p.kind === "user");
  }

  listServicePrincipals(): Principal[] {
    return [...this.principals.values()].filter((p) => p.kind !== "user");
  }

  getUserByUpn(upn: string): Principal | undefined {
    const want = upn.toLowerCase();
    return this.listUsers().find((p) => p.userPrincipalName?.toLowerCase() === want);
  }

  getServicePrincipalByAppId(appId: string): Principal | undefined {
    const want = appId.toLowerCase();
    return this.listServicePrincipals().find((p) => p.appId === want);
  }

  /**
   * The service principal whose API a resource (audience) names: one of its identifierUris, or
   * its app id, as Entra resolves `api://{appId}/.default` and `{appId}/.default` alike. Only
   * principals that expose an API (have identifierUris) count, so ARM and Graph keep v1 tokens.
   */
  apiForResource(resource: string): Principal | undefined {
    const want = resource.replace(/\/+$/, "").toLowerCase();
    if (want === "") return undefined;
    return this.listServicePrincipals().find(
      (p) =>
        (p.identifierUris?.length ?? 0) > 0 &&
        (p.appId === want ||
          (p.identifierUris ?? []).some((u) => u.replace(/\/+$/, "").toLowerCase() === want)),
    );
  }

  mailNicknameOf(userId: string): string | undefined {
    return this.mailNicknames.get(userId.toLowerCase());
  }

  getGroup(id: string): GroupRecord | undefined {
    return this.groups.get(id.toLowerCase());
  }

  listGroups(): GroupRecord[] {
    return [...this.groups.values()];
  }

  findGroupByUniqueName(uniqueName: string): GroupRecord | undefined {
    const want = uniqueName.toLowerCase();
    return [...this.groups.values()].find((g) => g.uniqueName?.toLowerCase() === want);
  }

  getDirectoryObject(id: string): DirectoryObject | undefined {
    const key = id.toLowerCase();
    const p = this.principals.get(key);
    if (p)
      return p.kind === "user" ? { type: "user", principal: p } : { type: "servicePrincipal", principal: p };
    const g = this.groups.get(key);
    return g ? { type: "group", group: g } : undefined;
  }

  private exists(id: string): boolean {
    return this.principals.has(id) || this.groups.has(id);
  }

  /** Groups whose members include the object (direct membership only). */
  groupsWithMember(objectId: string): GroupRecord[] {
    const key = objectId.toLowerCase();
    return [...this.groups.values()].filter((g) => g.members.includes(key));
  }

  // ---------------------------------------------------------------- writes

  addGroup(
    group: Omit<GroupRecord, "createdAt" | "members" | "owners"> & { members?: string[]; owners?: string[] },
  ): GroupRecord {
    const record: GroupRecord = {
      ...group,
      id: group.id.toLowerCase(),
      createdAt: this.now(),
      members: (group.members ?? []).map((m) => m.toLowerCase()),
      owners: (group.owners ?? []).map((o) => o.toLowerCase()),
    };
    this.groups.set(record.id, record);
    this.groupChanges.groupChanged(record.id);
    for (const m of record.members) this.groupChanges.member(record.id, m, false);
    return record;
  }

  deleteGroup(id: string): boolean {
    const key = id.toLowerCase();
    if (!this.groups.delete(key)) return false;
    this.groupChanges.groupRemoved(key);
    for (const g of this.groups.values()) {
      g.members = g.members.filter((m) => m !== key);
    }
    for (const a of [...this.appRoleAssignments.values()])
      if (a.principalId === key) this.appRoleAssignments.delete(a.id);
    return true;
  }

  // ---------------------------------------------------------------- app role assignments

  /** App role assignments granted to a principal, or (resourceId) on a resource service principal. */
  listAppRoleAssignments(by: { principalId?: string; resourceId?: string }): AppRoleAssignmentRecord[] {
    const principal = by.principalId?.toLowerCase();
    const resource = by.resourceId?.toLowerCase();
    return [...this.appRoleAssignments.values()].filter(
      (a) =>
        (principal === undefined || a.principalId === principal) &&
        (resource === undefined || a.resourceId === resource),
    );
  }

  getAppRoleAssignment(id: string): AppRoleAssignmentRecord | undefined {
    return this.appRoleAssignments.get(id);
  }

  /**
   * Grants an app role; "exists" when the principal already holds it on that resource. The
   * caller checks that the principal, the resource and the role exist.
   */
  addAppRoleAssignment(a: {
    principalId: string;
    principalType: AppRoleAssignmentRecord["principalType"];
    principalDisplayName: string;
    resourceId: string;
    resourceDisplayName: string;
    appRoleId: string;
  }): AppRoleAssignmentRecord | "exists" {
    const principalId = a.principalId.toLowerCase();
    const resourceId = a.resourceId.toLowerCase();
    const appRoleId = a.appRoleId.toLowerCase();
    const duplicate = [...this.appRoleAssignments.values()].some(
      (x) => x.principalId === principalId && x.resourceId === resourceId && x.appRoleId === appRoleId,
    );
    if (duplicate) return "exists";
    // Graph's ids are 43 base64url characters whose first 16 bytes are the principal's object id.
    const id = Buffer.concat([Buffer.from(principalId.replace(/-/g, ""), "hex"), randomBytes(16)]).toString(
      "base64url",
    );
    const record: AppRoleAssignmentRecord = {
      ...a,
      id,
      principalId,
      resourceId,
      appRoleId,
      createdAt: this.now(),
    };
    this.appRoleAssignments.set(id, record);
    return record;
  }

  removeAppRoleAssignment(id: string): boolean {
    return this.appRoleAssignments.delete(id);
  }

  /** Values of the app roles the principal holds on a resource (the `roles` claim of its tokens for it). */
  appRoleValues(principalId: string, resourceId: string): string[] {
    const resource = this.principals.get(resourceId.toLowerCase());
    const values: string[] = [];
    for (const a of this.listAppRoleAssignments({ principalId, resourceId })) {
      const r = resource?.appRoles?.find((x) => x.id === a.appRoleId);
      if (r) values.push(r.value);
    }
    return values;
  }

  /** Adds a member or owner; "exists" if the reference is already there. The caller checks that both objects exist. */
  addReference(groupId: string, relation: "members" | "owners", objectId: string): "added" | "exists" {
    const group = this.groups.get(groupId.toLowerCase());
    if (!group) throw new Error(`unknown group ${groupId}`);
    const key = objectId.toLowerCase();
    if (group[relation].includes(key)) return "exists";
    group[relation].push(key);
    if (relation === "members") this.groupChanges.member(group.id, key, false);
    return "added";
  }

  removeReference(groupId: string, relation: "members" | "owners", objectId: string): boolean {
    const group = this.groups.get(groupId.toLowerCase());
    if (!group) return false;
    const key = objectId.toLowerCase();
    const before = group[relation].length;
    group[relation] = group[relation].filter((m) => m !== key);
    const removed = group[relation].length !== before;
    if (removed && relation === "members") this.groupChanges.member(group.id, key, true);
    return removed;
  }

  // ---------------------------------------------------------------- tokens (entra/tokens.ts)

  /** The tenant's JWKS (what /{tenant}/discovery/v2.0/keys serves). */
  jwks(): { keys: PublicJwk[] } {
    return this.tokens.jwks();
  }

  /** An access token for the principal and resource (v1, or v2.0 for an exposed API). */
  issueToken(principal: Principal, resource: string, opts: IssueOptions = {}): IssuedToken {
    return this.tokens.issueToken(principal, resource, opts);
  }

  /** A v2.0 ID token for a user signing in to a client app. */
  issueIdToken(user: Principal, clientAppId: string, baseUrl: string): string {
    return this.tokens.issueIdToken(user, clientAppId, baseUrl);
  }

  /** Decodes and checks a token this directory issued (algorithm, signature, tenant, lifetime). */
  checkToken(token: string): { ok: true; claims: TokenClaims } | { ok: false; reason: TokenCheckFailure } {
    return this.tokens.checkToken(token);
  }

  /** The claims of a valid token this directory issued; undefined otherwise. */
  verifyToken(token: string): TokenClaims | undefined {
    return this.tokens.verifyToken(token);
  }

  /** The principal a bearer token belongs to (token with or without the "Bearer " prefix). */
  principalForToken(token: string): Principal | undefined {
    const raw = token.replace(/^Bearer\s+/i, "").trim();
    const claims = this.verifyToken(raw);
    return claims ? this.principals.get(claims.oid) : undefined;
  }
}
