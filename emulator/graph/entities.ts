/**
 * The Graph entities the emulator serves, as JSON: users, groups, service principals and app
 * role assignments, with their default properties (what a GET without $select returns), the
 * properties $filter accepts, and how each record of the directory is rendered.
 */
import type { Directory, GroupRecord } from "../directory.js";
import type { AppRoleAssignmentRecord, Principal } from "../types.js";

export type EntityType = "user" | "group" | "servicePrincipal" | "appRoleAssignment";
export type Json = Record<string, unknown>;

interface EntityMeta {
  odataType: string;
  resourceName: string; // as in Request_UnsupportedQuery messages: 'User', 'Group', 'ServicePrincipal'
  defaults: string[];
  filterable: string[];
  /** Collection properties that take lambda filters (any). */
  collections?: string[];
  /** Filterable only with ConsistencyLevel: eventual and $count=true (advanced queries). */
  advancedFilterable: string[];
}

const USER_DEFAULTS = [
  "businessPhones",
  "displayName",
  "givenName",
  "jobTitle",
  "mail",
  "mobilePhone",
  "officeLocation",
  "preferredLanguage",
  "surname",
  "userPrincipalName",
  "id",
];
export const GROUP_PROPS = [
  "id",
  "deletedDateTime",
  "classification",
  "createdDateTime",
  "createdByAppId",
  "description",
  "displayName",
  "expirationDateTime",
  "groupTypes",
  "isAssignableToRole",
  "mail",
  "mailEnabled",
  "mailNickname",
  "membershipRule",
  "membershipRuleProcessingState",
  "onPremisesLastSyncDateTime",
  "onPremisesSecurityIdentifier",
  "onPremisesSyncEnabled",
  "preferredDataLocation",
  "preferredLanguage",
  "proxyAddresses",
  "renewedDateTime",
  "resourceBehaviorOptions",
  "resourceProvisioningOptions",
  "securityEnabled",
  "securityIdentifier",
  "theme",
  "uniqueName",
  "visibility",
  "onPremisesProvisioningErrors",
];
const SP_PROPS = [
  "id",
  "deletedDateTime",
  "accountEnabled",
  "alternativeNames",
  "appDisplayName",
  "appId",
  "appOwnerOrganizationId",
  "appRoles",
  "displayName",
  "servicePrincipalNames",
  "servicePrincipalType",
  "signInAudience",
  "tags",
];

const APP_ROLE_ASSIGNMENT_PROPS = [
  "id",
  "deletedDateTime",
  "appRoleId",
  "createdDateTime",
  "principalDisplayName",
  "principalId",
  "principalType",
  "resourceDisplayName",
  "resourceId",
];

export const META: Record<EntityType, EntityMeta> = {
  user: {
    odataType: "#microsoft.graph.user",
    resourceName: "User",
    defaults: USER_DEFAULTS,
    filterable: [
      "id",
      "displayName",
      "userPrincipalName",
      "mailNickname",
      "mail",
      "givenName",
      "surname",
      "accountEnabled",
      "userType",
    ],
    advancedFilterable: ["createdDateTime"],
  },
  group: {
    odataType: "#microsoft.graph.group",
    resourceName: "Group",
    defaults: GROUP_PROPS,
    filterable: [
      "id",
      "displayName",
      "mailNickname",
      "mail",
      "mailEnabled",
      "securityEnabled",
      "uniqueName",
      "createdDateTime",
      "isAssignableToRole",
      "visibility",
    ],
    advancedFilterable: ["description"],
  },
  servicePrincipal: {
    odataType: "#microsoft.graph.servicePrincipal",
    resourceName: "ServicePrincipal",
    defaults: SP_PROPS,
    filterable: [
      "id",
      "appId",
      "displayName",
      "servicePrincipalType",
      "accountEnabled",
      "appOwnerOrganizationId",
    ],
    collections: ["servicePrincipalNames", "tags", "alternativeNames"],
    advancedFilterable: [],
  },
  appRoleAssignment: {
    odataType: "#microsoft.graph.appRoleAssignment",
    resourceName: "AppRoleAssignment",
    defaults: APP_ROLE_ASSIGNMENT_PROPS,
    filterable: ["principalId", "resourceId", "appRoleId"],
    advancedFilterable: [],
  },
};

/** Users' properties that $select can reach besides the default ones. */
const USER_EXTRA = ["accountEnabled", "createdDateTime", "mailNickname", "userType"];

export function knownProps(entity: EntityType): Set<string> {
  return new Set([...META[entity].defaults, ...(entity === "user" ? USER_EXTRA : [])]);
}

export function userJson(dir: Directory, p: Principal): Json {
  return {
    id: p.objectId,
    businessPhones: [],
    displayName: p.displayName,
    givenName: null,
    jobTitle: null,
    mail: p.userPrincipalName ?? null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: null,
    userPrincipalName: p.userPrincipalName ?? null,
    // Not returned by default; reachable through $select.
    accountEnabled: true,
    createdDateTime: isoSeconds(p.createdAt),
    mailNickname: dir.mailNicknameOf(p.objectId) ?? null,
    userType: "Member",
  };
}

export function spJson(dir: Directory, p: Principal): Json {
  const mi = p.kind === "managedIdentity";
  return {
    id: p.objectId,
    deletedDateTime: null,
    accountEnabled: true,
    alternativeNames: [],
    appDisplayName: mi ? null : p.displayName,
    appId: p.appId ?? null,
    appOwnerOrganizationId: mi ? null : (p.appOwnerOrganizationId ?? dir.tenantId),
    appRoles: (p.appRoles ?? []).map((r) => ({ ...r })),
    displayName: p.displayName,
    servicePrincipalNames: [...(p.appId ? [p.appId] : []), ...(p.identifierUris ?? [])],
    servicePrincipalType: mi ? "ManagedIdentity" : "Application",
    signInAudience: mi ? null : "AzureADMyOrg",
    tags: [],
  };
}

export function appRoleAssignmentJson(a: AppRoleAssignmentRecord): Json {
  return {
    id: a.id,
    deletedDateTime: null,
    appRoleId: a.appRoleId,
    createdDateTime: new Date(a.createdAt).toISOString(),
    principalDisplayName: a.principalDisplayName,
    principalId: a.principalId,
    principalType: a.principalType,
    resourceDisplayName: a.resourceDisplayName,
    resourceId: a.resourceId,
  };
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

function securityIdentifier(id: string): string {
  const hex = id.replace(/-/g, "");
  const parts = [0, 8, 16, 24].map((i) => Buffer.from(hex.slice(i, i + 8), "hex").readUInt32LE(0));
  return `S-1-12-1-${parts.join("-")}`;
}

export function groupJson(g: GroupRecord): Json {
  return {
    id: g.id,
    deletedDateTime: null,
    classification: null,
    createdDateTime: isoSeconds(g.createdAt),
    createdByAppId: g.createdByAppId,
    description: g.description,
    displayName: g.displayName,
    expirationDateTime: null,
    groupTypes: [...g.groupTypes],
    isAssignableToRole: g.isAssignableToRole,
    mail: null,
    mailEnabled: g.mailEnabled,
    mailNickname: g.mailNickname,
    membershipRule: null,
    membershipRuleProcessingState: null,
    onPremisesLastSyncDateTime: null,
    onPremisesSecurityIdentifier: null,
    onPremisesSyncEnabled: null,
    preferredDataLocation: null,
    preferredLanguage: null,
    proxyAddresses: [],
    renewedDateTime: isoSeconds(g.createdAt),
    resourceBehaviorOptions: [],
    resourceProvisioningOptions: [],
    securityEnabled: g.securityEnabled,
    securityIdentifier: securityIdentifier(g.id),
    theme: null,
    uniqueName: g.uniqueName,
    visibility: g.visibility,
    onPremisesProvisioningErrors: [],
  };
}
