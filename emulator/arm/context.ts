/**
 * What every ARM handler gets: the store, the clock, settings, the directory (to resolve
 * principals) and the event bus. Handlers take an ArmRequest: the parsed request plus the
 * correlation id and api-version the router already extracted.
 */
import { randomUUID } from "node:crypto";
import type { EmulatorSeed, FaultSettings, Principal, ResourceWrite } from "../types.js";
import { fail } from "./errors.js";
import type { LroManager } from "./lro.js";
import type { ArmThrottle } from "./throttling.js";
import type { ActivityLog } from "./activityLog.js";
import { isRecord, type ArmRequest } from "./request.js";
import type { ArmState, SystemData } from "./state.js";

/** The part of helper B's Directory the ARM side uses (structural, so either can evolve). */
export interface DirectoryView {
  readonly tenantId: string;
  getPrincipal(objectId: string): Principal | undefined;
  objectCreatedAt(id: string): number | undefined;
  /** Groups with the object as a direct member (authorisation follows them transitively). */
  groupsWithMember(objectId: string): ReadonlyArray<{ id: string }>;
  seed(seed: EmulatorSeed): void;
}

export interface EventSink {
  publish(write: ResourceWrite): void;
}

export interface ArmContext {
  state: ArmState;
  tenantId: string;
  now(): number;
  faults(): FaultSettings;
  /** Largest page any list returns (Azure: 1000 for resources). */
  pageSize: number;
  directory: DirectoryView;
  events: EventSink;
  lro: LroManager;
  /** Authorise every request against role assignments (authorization/authorize.ts). */
  enforceRbac?: boolean;
  /** Azure's request limits (throttling.ts); absent: nothing is throttled. */
  throttle?: ArmThrottle;
  /** The Activity Log the served writes go into (activityLog.ts). */
  activityLog?: ActivityLog;
}

export type { ArmRequest } from "./request.js";

export function newId(): string {
  return randomUUID();
}

/** systemData as Azure fills it from the caller's token. */
export function systemDataFor(caller: Principal | undefined, now: number, previous?: SystemData): SystemData {
  const at = new Date(now).toISOString();
  const by = caller
    ? caller.kind === "user"
      ? (caller.userPrincipalName ?? caller.objectId)
      : (caller.appId ?? caller.objectId)
    : "unknown";
  const byType = caller
    ? caller.kind === "user"
      ? "User"
      : caller.kind === "managedIdentity"
        ? "ManagedIdentity"
        : "Application"
    : "Application";
  return {
    createdBy: previous?.createdBy ?? by,
    createdByType: previous?.createdByType ?? byType,
    createdAt: previous?.createdAt ?? at,
    lastModifiedBy: by,
    lastModifiedByType: byType,
    lastModifiedAt: at,
  };
}

/** Tells the event bus about a successful write (or delete) the way Azure's activity log would. */
export function publishWrite(
  ctx: ArmContext,
  req: ArmRequest,
  subscriptionId: string,
  resourceId: string,
  operationName: string,
): void {
  const clientRequestId = req.headers["x-ms-client-request-id"];
  ctx.events.publish({
    subscriptionId,
    resourceId,
    operationName,
    caller: req.caller,
    correlationId: req.correlationId,
    httpMethod: req.method,
    url: `${req.baseUrl}${req.path}${req.query.size > 0 ? `?${req.query.toString()}` : ""}`,
    eventType: /\/delete$/i.test(operationName)
      ? "Microsoft.Resources.ResourceDeleteSuccess"
      : "Microsoft.Resources.ResourceWriteSuccess",
    ...(typeof clientRequestId === "string" ? { clientRequestId } : {}),
  });
}

export { isRecord } from "./request.js";

/** The request body, or ARM's 400 when it is not a JSON object. */
export function requireBody(req: ArmRequest): Record<string, unknown> {
  return isRecord(req.body)
    ? req.body
    : fail(
        400,
        "InvalidRequestContent",
        "The request content was invalid and could not be deserialized: the body must be a JSON object.",
      );
}

/** The body's `properties` object, or ARM's 400 when there is none. */
export function requireBodyProperties(req: ArmRequest): Record<string, unknown> {
  return isRecord(req.body) && isRecord(req.body.properties)
    ? req.body.properties
    : fail(
        400,
        "InvalidRequestContent",
        "The request content was invalid and could not be deserialized: 'properties' is required.",
      );
}

export function json(
  status: number,
  body?: unknown,
  headers?: Record<string, string>,
): { status: number; body?: unknown; headers?: Record<string, string> } {
  return { status, body, headers };
}
