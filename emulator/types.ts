/**
 * Contracts shared by the emulator's parts. The HTTPS server (server.ts) parses every request
 * into an EmuRequest and offers it to the routers in turn: the Entra token endpoint, Microsoft
 * Graph, the control API and ARM. A router answers with an EmuResponse, or undefined to pass.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { ThrottleSettings } from "./arm/throttleSettings.js";

export interface EmuRequest {
  method: string;
  /** Path with the leading `//` of scope-taking operations collapsed to `/`; no query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
  /** The principal whose bearer token came with the request (undefined if none or unknown). */
  caller?: Principal;
  /** e.g. https://127.0.0.1:8443, used to build nextLink and LRO URLs. */
  baseUrl: string;
}

export interface EmuResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON unless it is a string. */
  body?: unknown;
}

export type Router = (req: EmuRequest) => Promise<EmuResponse | undefined> | EmuResponse | undefined;

/** A user, service principal or managed identity known to the emulated directory. */
export interface Principal {
  objectId: string;
  kind: "user" | "servicePrincipal" | "managedIdentity";
  displayName: string;
  /** Users only. */
  userPrincipalName?: string;
  /** Service principals and managed identities: the application (client) id. */
  appId?: string;
  /** Service principals: the client secret accepted by the token endpoint. */
  clientSecret?: string;
  /** Users: the password the token endpoint's ROPC grant accepts (emulator-only, from the seed). */
  password?: string;
  /**
   * Service principals of app registrations that expose an API: its application ID URIs
   * (e.g. api://{appId}). Tokens for such an API are v2.0 access tokens whose aud is the appId.
   */
  identifierUris?: string[];
  /** Epoch ms when the principal was created; drives the Entra replication-delay fault. */
  createdAt: number;
  /** Service principals: the app roles the application exposes (e.g. Microsoft Graph's permissions). */
  appRoles?: AppRole[];
  /** Service principals: the tenant that owns the application (default: the emulated tenant). */
  appOwnerOrganizationId?: string;
}

/** An app role of a service principal, as Graph returns it in `appRoles`. */
export interface AppRole {
  id: string;
  value: string;
  displayName: string;
  description: string;
  allowedMemberTypes: Array<"Application" | "User">;
  isEnabled: boolean;
  origin: "Application" | "ServicePrincipal";
}

/** An app role granted to a user, group or service principal (Graph's appRoleAssignment). */
export interface AppRoleAssignmentRecord {
  /** Graph's key: 43 base64url characters. */
  id: string;
  appRoleId: string;
  /** The user, group or service principal granted the role. */
  principalId: string;
  principalType: "User" | "Group" | "ServicePrincipal";
  principalDisplayName: string;
  /** The service principal that defines the role (e.g. Microsoft Graph's). */
  resourceId: string;
  resourceDisplayName: string;
  /** Epoch ms. */
  createdAt: number;
}

/** Everything an ARM write needs to tell the event bus. */
export interface ResourceWrite {
  subscriptionId: string;
  /** Resource id of the written resource (for tag writes: the tagged resource, not .../tags/default). */
  resourceId: string;
  /** e.g. Microsoft.Storage/storageAccounts/write or Microsoft.Resources/tags/write */
  operationName: string;
  caller?: Principal;
  correlationId: string;
  httpMethod: string;
  url: string;
  /** Default Microsoft.Resources.ResourceWriteSuccess; also ...DeleteSuccess, ...ActionSuccess, ...WriteFailure... */
  eventType?: string;
  /** The x-ms-client-request-id the caller sent, if any (goes to data.httpRequest.clientRequestId). */
  clientRequestId?: string;
  /** The caller's address (data.httpRequest.clientIpAddress); default 127.0.0.1. */
  clientIpAddress?: string;
  /** The role assignment that allowed the write (data.authorization.evidence); a plausible one is made up when absent. */
  evidence?: {
    role: string;
    roleAssignmentScope: string;
    roleAssignmentId: string;
    roleDefinitionId: string;
    principalId: string;
    principalType: string;
  };
}

export interface EmulatorSeed {
  tenantId?: string;
  subscriptions?: Array<{ subscriptionId: string; displayName: string }>;
  resourceGroups?: Array<{
    subscriptionId: string;
    name: string;
    location: string;
    tags?: Record<string, string>;
  }>;
  /** Any ARM resource by id; type and name are derived from the id. */
  resources?: Array<{
    id: string;
    location?: string;
    tags?: Record<string, string>;
    properties?: Record<string, unknown>;
    kind?: string;
    sku?: Record<string, unknown>;
    identity?: Record<string, unknown>;
    /** ARM's systemData of the resource (createdBy, createdByType, createdAt...); absent by default. */
    systemData?: { createdBy?: string; createdByType?: string; createdAt?: string };
  }>;
  /** Custom role definitions (built-in roles always exist). `name` is the role definition's GUID. */
  roleDefinitions?: Array<{
    name: string;
    roleName: string;
    description?: string;
    actions?: string[];
    notActions?: string[];
    dataActions?: string[];
    notDataActions?: string[];
    assignableScopes?: string[];
  }>;
  /**
   * Role assignments (ARM authorisation reads them). `roleDefinitionId` is a role GUID or a full
   * role definition id; `name` defaults to a GUID derived from scope, principal and role.
   */
  roleAssignments?: Array<{
    scope: string;
    roleDefinitionId: string;
    principalId: string;
    principalType?: "User" | "Group" | "ServicePrincipal";
    condition?: string;
    conditionVersion?: string;
    description?: string;
    name?: string;
  }>;
  /** Microsoft Graph application permissions granted to service principals (e.g. Group.Create). */
  graphPermissions?: Array<{ principalId: string; permissions: string[] }>;
  /** createdAt (epoch ms) on users, service principals and groups defaults to one day before seeding, so seeded objects are fully replicated. */
  users?: Array<{
    objectId?: string;
    userPrincipalName: string;
    displayName: string;
    mailNickname?: string;
    /** Lets the user sign in with ROPC (grant_type=password). Emulator-only: never a real password. */
    password?: string;
    createdAt?: number;
  }>;
  servicePrincipals?: Array<{
    objectId?: string;
    appId?: string;
    displayName: string;
    clientSecret?: string;
    kind?: "servicePrincipal" | "managedIdentity";
    /** The application ID URIs of an API the app exposes (e.g. api://{appId}). */
    identifierUris?: string[];
    /** App roles the app defines (granted through Graph's appRoleAssignments; the `roles` claim of tokens for its API). */
    appRoles?: Array<Omit<AppRole, "isEnabled" | "origin"> & Partial<Pick<AppRole, "isEnabled" | "origin">>>;
    createdAt?: number;
  }>;
  groups?: Array<{
    id?: string;
    displayName: string;
    mailNickname?: string;
    uniqueName?: string;
    description?: string;
    members?: string[];
    owners?: string[];
    createdAt?: number;
  }>;
}

/** A fault rule, matched against each request before routing (first match wins). */
export interface FaultRule {
  /** Optional HTTP method to match (case-insensitive). */
  method?: string;
  /** Regular expression (source text) matched against the collapsed path, case-insensitive. */
  path?: string;
  /** 429, 500, 503... */
  status: number;
  /** For 429/503: the Retry-After header, in seconds. */
  retryAfterSeconds?: number;
  /** Share of matching requests that fail, 0..1 (default 1). */
  rate?: number;
  /** Fail at most this many matching requests, then stop (default: unlimited). */
  count?: number;
  /**
   * The error code in the body (default: one for the status, e.g. TooManyRequests for 429).
   * The body takes the shape of the matched service's errors: ARM {"error":{code,message}},
   * Graph {"error":{code,message,innerError}}, Entra {error,error_description}.
   */
  code?: string;
  /** The error message in the body (default: a generic one for the status). */
  message?: string;
}

/** Faults and timings, set through POST /_emulator/faults; reset restores the defaults. */
export interface FaultSettings {
  rules: FaultRule[];
  /** Added to every response. */
  latencyMs: number;
  /** How long a long-running operation stays "InProgress"/"Creating". */
  lroDurationMs: number;
  /**
   * Per ARM resource type (case-insensitive, e.g. "Microsoft.MachineLearningServices/workspaces"
   * or "Microsoft.Resources/resourceGroups" for group deletes): overrides lroDurationMs for
   * operations on resources of that type. A POST with this field replaces the whole map.
   */
  lroDurationMsByType?: Record<string, number>;
  /** Graph: a group created less than this long ago is missing from reads/$filter and $ref targets. */
  graphReadAfterWriteDelayMs: number;
  /** ARM: a role assignment for a principal created less than this long ago fails with 400 PrincipalNotFound unless principalType is set. */
  replicationDelayMs: number;
  /**
   * ARM: the Retry-After (seconds) sent on long-running-operation polls. 0 sends no header, so
   * the client's own polling interval (updateIntervalInMs) applies. Default 1.
   */
  lroRetryAfterSeconds?: number;
  /** ARM throttling (emulator/arm/throttling.ts): Azure's token-bucket limits when absent. A POST merges a partial object. */
  throttling?: ThrottleSettings;
}
