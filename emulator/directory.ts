/**
 * The emulated Microsoft Entra directory: users, service principals (including managed
 * identities), security groups with members and owners, app role assignments (application
 * permissions granted on a service principal such as Microsoft Graph's, which is always present,
 * as in every Entra tenant), and the access tokens the emulated token endpoint issues. Graph (graph/) and the token endpoint (entra/) read and write it;
 * ARM resolves callers through principalForToken and asks objectCreatedAt for the replication
 * delay fault.
 *
 * Tokens for ARM and Graph look like Entra's v1 access tokens (oid, tid, appid, upn, name...);
 * tokens for an API that a seeded app registration exposes (identifierUris) are v2.0 access
 * tokens, as Entra issues them to an app whose manifest accepts v2 tokens. All are RS256 JWTs
 * signed with an RSA key pair made for this directory and published as a JWKS, so code that
 * validates tokens against a tenant's OpenID configuration (jose, MSAL...) runs unchanged here,
 * while the private key never leaves the process: nothing outside the emulator can mint a token
 * and a token from one emulator process is worthless in another.
 */
import {
  createHash,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import {
  GRAPH_APP_ID,
  GRAPH_APP_ROLES,
  GRAPH_SERVICE_PRINCIPAL_ID,
  MICROSOFT_SERVICES_TENANT_ID,
} from "./graph/appRoles.js";
import { GroupChangeLog } from "./graph/deltaLog.js";
import type { AppRoleAssignmentRecord, EmulatorSeed, Principal } from "./types.js";

export { GRAPH_APP_ID, GRAPH_SERVICE_PRINCIPAL_ID } from "./graph/appRoles.js";

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

interface CommonClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  oid: string;
  sub: string;
  idtyp: "user" | "app";
  uti: string;
  rh: string;
  scp?: string;
  roles?: string[];
  [claim: string]: unknown;
}

/** An Entra v1 access token (ARM, Graph): the app is `appid`, the issuer sts.windows.net. */
export interface V1TokenClaims extends CommonClaims {
  ver: "1.0";
  appid: string;
  appidacr: string;
  name: string;
  upn?: string;
  unique_name?: string;
  app_displayname?: string;
}

/**
 * An Entra v2.0 access token for an API exposed by an app registration: aud is the API's client
 * id, the calling app is `azp`, the issuer `{authority}/{tenant}/v2.0`.
 */
export interface V2TokenClaims extends CommonClaims {
  ver: "2.0";
  azp: string;
  /** How the client app authenticated: "0" public client, "1" secret, "2" certificate or managed identity. */
  azpacr: "0" | "1" | "2";
  name?: string;
  preferred_username?: string;
}

/** Claims of a token this directory issued, as decoded by verifyToken. */
export type TokenClaims = V1TokenClaims | V2TokenClaims;

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  claims: TokenClaims;
}

/** How a principal came to ask for a token; only v2 (API) tokens use it. */
export interface IssueOptions {
  /**
   * The emulator's base URL as the client reached it (e.g. https://127.0.0.1:8443): v2 tokens'
   * issuer derives from it, as the openid-configuration's does, so both agree for any port.
   */
  baseUrl?: string;
  /** The application the principal signed in through (`azp`). Default: the principal's own app; Azure CLI for users. */
  clientAppId?: string;
  /** How that application authenticated (`azpacr`). Default: "0" for users, "2" for managed identities, "1" otherwise. */
  clientAuth?: V2TokenClaims["azpacr"];
}

/** A public signing key as the tenant's JWKS publishes it. */
export interface PublicJwk {
  kty: "RSA";
  use: "sig";
  alg: "RS256";
  kid: string;
  n: string;
  e: string;
}

interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: PublicJwk;
}

export type TokenCheckFailure = "malformed" | "algorithm" | "signature" | "tenant" | "expired";

/** The v2.0 issuer of a tenant behind an authority base URL, as Entra spells it: {authority}/{tenant}/v2.0. */
export function v2Issuer(baseUrl: string, tenantId: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/${tenantId}/v2.0`;
}

function makeSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: "jwk" });
  if (!n || !e) throw new Error("node:crypto exported an RSA public key without n or e");
  // RFC 7638 thumbprint: the same key always gets the same kid, whoever computes it.
  const kid = createHash("sha256")
    .update(JSON.stringify({ e, kty: "RSA", n }))
    .digest("base64url");
  return { privateKey, publicKey, jwk: { kty: "RSA", use: "sig", alg: "RS256", kid, n, e } };
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
  /**
   * Signs tokens; kept across reset() so tokens cached by SDK clients (and JWKS cached by
   * validators) stay valid. Made on first use: RSA key generation costs tens of milliseconds and
   * many unit tests build a Directory without ever issuing a token.
   */
  private key: SigningKey | undefined;
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

  // ---------------------------------------------------------------- tokens

  private signingKey(): SigningKey {
    this.key ??= makeSigningKey();
    return this.key;
  }

  /** The tenant's JWKS (what /{tenant}/discovery/v2.0/keys serves). */
  jwks(): { keys: PublicJwk[] } {
    return { keys: [{ ...this.signingKey().jwk }] };
  }

  private signJwt(claims: object): string {
    const key = this.signingKey();
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: key.jwk.kid }));
    const payload = b64url(JSON.stringify(claims));
    const signature = sign("sha256", Buffer.from(`${header}.${payload}`), key.privateKey).toString(
      "base64url",
    );
    return `${header}.${payload}.${signature}`;
  }

  /**
   * Entra gives each application its own `sub` for a user (a pairwise id), so `sub` must not be
   * used to recognise a person across apps; `oid` is the stable id.
   */
  private pairwiseSubject(objectId: string, appId: string): string {
    return createHash("sha256").update(`${this.tenantId}|${appId}|${objectId}`).digest("base64url");
  }

  /**
   * Issues an access token for the principal and resource: a v1 token for ARM, Graph and any
   * other resource (e.g. https://management.azure.com/), a v2.0 token when the resource is an
   * API a seeded app registration exposes (see apiForResource), which needs opts.baseUrl.
   */
  issueToken(principal: Principal, resource: string, opts: IssueOptions = {}): IssuedToken {
    const api = this.apiForResource(resource);
    const claims = api ? this.v2Claims(principal, api, opts) : this.v1Claims(principal, resource);
    return { accessToken: this.signJwt(claims), expiresIn: TOKEN_LIFETIME_S, claims };
  }

  private times(): { iat: number; nbf: number; exp: number } {
    const nowS = Math.floor(this.now() / 1000);
    return { iat: nowS - 5, nbf: nowS - 5, exp: nowS + TOKEN_LIFETIME_S };
  }

  private v1Claims(principal: Principal, resource: string): V1TokenClaims {
    const base = {
      aud: resource,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      ...this.times(),
      tid: this.tenantId,
      oid: principal.objectId,
      sub: principal.objectId,
      name: principal.displayName,
      ver: "1.0" as const,
      uti: randomBytes(16).toString("base64url"),
      rh: "0.emulator",
    };
    const claims: V1TokenClaims =
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
    return claims;
  }

  private v2Claims(principal: Principal, api: Principal, opts: IssueOptions): V2TokenClaims {
    if (!opts.baseUrl)
      throw new Error(
        `a token for ${api.displayName}'s API is a v2.0 token whose issuer needs the emulator's base URL`,
      );
    const user = principal.kind === "user";
    const apiAppId = api.appId ?? "";
    const roles = this.appRoleValues(principal.objectId, api.objectId);
    return {
      aud: apiAppId,
      iss: v2Issuer(opts.baseUrl, this.tenantId),
      ...this.times(),
      azp: opts.clientAppId?.toLowerCase() ?? (user ? USER_TOKEN_CLIENT_APP_ID : (principal.appId ?? "")),
      azpacr: opts.clientAuth ?? (user ? "0" : principal.kind === "managedIdentity" ? "2" : "1"),
      ...(user ? { name: principal.displayName, preferred_username: principal.userPrincipalName ?? "" } : {}),
      oid: principal.objectId,
      sub: user ? this.pairwiseSubject(principal.objectId, apiAppId) : principal.objectId,
      tid: this.tenantId,
      uti: randomBytes(16).toString("base64url"),
      rh: "0.emulator",
      ver: "2.0",
      idtyp: user ? "user" : "app",
      // Delegated tokens carry the delegated permission; app-only tokens only app roles.
      ...(user ? { scp: "user_impersonation" } : {}),
      ...(roles.length > 0 ? { roles } : {}),
    };
  }

  /**
   * A v2.0 ID token for a user signing in to a client app (the ROPC response's id_token, which
   * MSAL reads to build the signed-in account).
   */
  issueIdToken(user: Principal, clientAppId: string, baseUrl: string): string {
    const client = clientAppId.toLowerCase();
    return this.signJwt({
      aud: client,
      iss: v2Issuer(baseUrl, this.tenantId),
      ...this.times(),
      name: user.displayName,
      oid: user.objectId,
      preferred_username: user.userPrincipalName ?? "",
      rh: "0.emulator",
      sub: this.pairwiseSubject(user.objectId, client),
      tid: this.tenantId,
      uti: randomBytes(16).toString("base64url"),
      ver: "2.0",
    });
  }

  /**
   * Decodes and checks a token this directory issued: algorithm, signature, tenant and lifetime.
   * Only RS256 is accepted, whatever the header says, so `alg: none` or an HMAC keyed with the
   * public key (the classic algorithm-confusion forgeries) cannot pass.
   */
  checkToken(token: string): { ok: true; claims: TokenClaims } | { ok: false; reason: TokenCheckFailure } {
    const parts = token.split(".");
    if (parts.length !== 3) return { ok: false, reason: "malformed" };
    const [header, payload, signature] = parts as [string, string, string];
    let head: unknown;
    try {
      head = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (typeof head !== "object" || head === null) return { ok: false, reason: "malformed" };
    const { alg, kid } = head as { alg?: unknown; kid?: unknown };
    if (alg !== "RS256") return { ok: false, reason: "algorithm" };
    const key = this.signingKey();
    if (kid !== undefined && kid !== key.jwk.kid) return { ok: false, reason: "signature" };
    let valid: boolean;
    try {
      valid = verify(
        "sha256",
        Buffer.from(`${header}.${payload}`),
        key.publicKey,
        Buffer.from(signature, "base64url"),
      );
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, reason: "signature" };
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as TokenClaims;
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (typeof claims !== "object" || claims === null) return { ok: false, reason: "malformed" };
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
