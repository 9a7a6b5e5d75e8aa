/**
 * The emulated Microsoft Entra directory: users, service principals (including managed
 * identities), security groups with members and owners, app role assignments (application
 * permissions granted on a service principal such as Microsoft Graph's, which is always present,
 * as in every Entra tenant), and the access tokens the emulated token endpoint issues. Graph (graph.ts) and the token endpoint (entra.ts) read and write it;
 * ARM resolves callers through principalForToken and asks objectCreatedAt for the replication
 * delay fault.
 *
 * Tokens look like Entra's v1 access tokens (a JWT with oid, tid, appid, upn, name...), but they
 * are signed with HS256 and a key that lives only in this process, so nothing outside the
 * emulator can mint one and a token from one emulator process is worthless in another.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import {
  GRAPH_APP_ID,
  GRAPH_APP_ROLES,
  GRAPH_SERVICE_PRINCIPAL_ID,
  MICROSOFT_SERVICES_TENANT_ID,
} from "./graphAppRoles.js";
import type { AppRoleAssignmentRecord, EmulatorSeed, Principal } from "./types.js";

export { GRAPH_APP_ID, GRAPH_SERVICE_PRINCIPAL_ID } from "./graphAppRoles.js";

/** Azure CLI's public client id: the appid a user's token carries when the user signs in with `az login`. */
export const USER_TOKEN_CLIENT_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

const DAY_MS = 24 * 60 * 60 * 1000;
const TOKEN_LIFETIME_S = 3599;

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

/** Claims of a token this directory issued, as decoded by verifyToken. */
export interface TokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  oid: string;
  sub: string;
  appid: string;
  appidacr: string;
  idtyp: "user" | "app";
  name: string;
  ver: "1.0";
  uti: string;
  upn?: string;
  unique_name?: string;
  scp?: string;
  app_displayname?: string;
  [claim: string]: unknown;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  claims: TokenClaims;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

/** The resource (audience) of a scope: "https://graph.microsoft.com/.default" -> "https://graph.microsoft.com". */
export function resourceOfScope(scope: string): string {
  const first = scope.trim().split(/\s+/)[0] ?? "";
  return first.endsWith("/.default") ? first.slice(0, -"/.default".length) : first;
}

export class Directory {
  readonly tenantId: string;
  /** The directory's clock (epoch ms); tests may inject one. */
  readonly now: () => number;
  /** Signs tokens; kept across reset() so tokens cached by SDK clients stay valid for re-seeded principals. */
  private readonly signingKey = randomBytes(32);
  private principals = new Map<string, Principal>();
  private mailNicknames = new Map<string, string>();
  private groups = new Map<string, GroupRecord>();
  private appRoleAssignments = new Map<string, AppRoleAssignmentRecord>();

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
        if (!group.members.includes(id)) group.members.push(id);
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
      users: this.listUsers().map((p) => ({ ...p, mailNickname: this.mailNicknameOf(p.objectId) })),
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
    return record;
  }

  deleteGroup(id: string): boolean {
    const key = id.toLowerCase();
    if (!this.groups.delete(key)) return false;
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
    return "added";
  }

  removeReference(groupId: string, relation: "members" | "owners", objectId: string): boolean {
    const group = this.groups.get(groupId.toLowerCase());
    if (!group) return false;
    const key = objectId.toLowerCase();
    const before = group[relation].length;
    group[relation] = group[relation].filter((m) => m !== key);
    return group[relation].length !== before;
  }

  // ---------------------------------------------------------------- tokens

  /** Issues an access token for the principal and resource (e.g. https://management.azure.com/). */
  issueToken(principal: Principal, resource: string): IssuedToken {
    const nowS = Math.floor(this.now() / 1000);
    const base = {
      aud: resource,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      iat: nowS - 5,
      nbf: nowS - 5,
      exp: nowS + TOKEN_LIFETIME_S,
      tid: this.tenantId,
      oid: principal.objectId,
      sub: principal.objectId,
      name: principal.displayName,
      ver: "1.0" as const,
      uti: randomBytes(16).toString("base64url"),
      rh: "0.emulator",
    };
    const claims: TokenClaims =
      principal.kind === "user"
        ? {
            ...base,
            appid: USER_TOKEN_CLIENT_APP_ID,
            appidacr: "0",
            idtyp: "user",
            upn: principal.userPrincipalName,
            unique_name: principal.userPrincipalName,
            scp: "user_impersonation",
            amr: ["pwd"],
          }
        : {
            ...base,
            appid: principal.appId ?? "",
            appidacr: "1",
            idtyp: "app",
            app_displayname: principal.displayName,
          };
    // App-only tokens for Microsoft Graph carry the application permissions granted to the app.
    if (principal.kind !== "user" && resource.replace(/\/+$/, "") === "https://graph.microsoft.com") {
      const roles = this.appRoleValues(principal.objectId, GRAPH_SERVICE_PRINCIPAL_ID);
      if (roles.length > 0) claims.roles = roles;
    }
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "HS256", kid: "aml-steward-emulator" }));
    const payload = b64url(JSON.stringify(claims));
    const signature = createHmac("sha256", this.signingKey)
      .update(`${header}.${payload}`)
      .digest("base64url");
    return { accessToken: `${header}.${payload}.${signature}`, expiresIn: TOKEN_LIFETIME_S, claims };
  }

  /** Decodes and checks a token this directory issued: signature, tenant and lifetime. */
  checkToken(
    token: string,
  ):
    | { ok: true; claims: TokenClaims }
    | { ok: false; reason: "malformed" | "signature" | "tenant" | "expired" } {
    const parts = token.split(".");
    if (parts.length !== 3) return { ok: false, reason: "malformed" };
    const [header, payload, signature] = parts as [string, string, string];
    const expected = createHmac("sha256", this.signingKey).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, reason: "signature" };
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as TokenClaims;
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (claims.tid !== this.tenantId) return { ok: false, reason: "tenant" };
    const nowS = this.now() / 1000;
    if (typeof claims.exp !== "number" || claims.exp <= nowS || claims.nbf > nowS + 300)
      return { ok: false, reason: "expired" };
    return { ok: true, claims };
  }

  /** The claims of a valid token this directory issued; undefined otherwise. */
  verifyToken(token: string): TokenClaims | undefined {
    const r = this.checkToken(token);
    return r.ok ? r.claims : undefined;
  }

  /** The principal a bearer token belongs to (token with or without the "Bearer " prefix). */
  principalForToken(token: string): Principal | undefined {
    const raw = token.replace(/^Bearer\s+/i, "").trim();
    const claims = this.verifyToken(raw);
    return claims ? this.principals.get(claims.oid) : undefined;
  }
}
