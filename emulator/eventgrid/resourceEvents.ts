/**
 * The events of the Azure subscription system topic: a `Microsoft.Resources.ResourceWriteSuccess`
 * (or Delete/Action, Success/Failure/Cancel) event for an ARM write, shaped like the documented
 * sample (topic `/subscriptions/{id}`, subject = resource id, dataVersion "2", metadataVersion
 * "1", data {authorization, claims, correlationId, httpRequest, operationName,
 * resourceProvider, resourceUri, status, subscriptionId, tenantId}), and its CloudEvents form.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Principal, ResourceWrite } from "../types.js";
import type { CloudEvent, EventGridEvent } from "./types.js";

const ROLE_DEFINITIONS: Record<string, string> = {
  Owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  Contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
};

function dashless(id: string): string {
  return id.replace(/-/g, "").toLowerCase();
}

function statusOf(eventType: string): string {
  if (/Failure$/.test(eventType)) return "Failed";
  if (/Cancel$/.test(eventType)) return "Canceled";
  return "Succeeded";
}

/** The JWT claims of the caller as ARM puts them into the event (all values strings). */
function claimsOf(
  caller: Principal | undefined,
  tenantId: string,
  nowMs: number,
  ip: string,
): Record<string, string> {
  if (!caller) return {};
  const iat = Math.floor(nowMs / 1000) - 60;
  const common: Record<string, string> = {
    aud: "https://management.azure.com/",
    iss: `https://sts.windows.net/${tenantId}/`,
    iat: String(iat),
    nbf: String(iat),
    exp: String(iat + 3600),
    "http://schemas.microsoft.com/identity/claims/objectidentifier": caller.objectId,
    "http://schemas.microsoft.com/identity/claims/tenantid": tenantId,
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier": caller.objectId,
    name: caller.displayName,
    uti: createHash("sha256").update(`${caller.objectId}:${nowMs}`).digest("base64url").slice(0, 22),
    ver: "1.0",
  };
  if (caller.kind === "user") {
    return {
      ...common,
      appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
      appidacr: "0",
      "http://schemas.microsoft.com/claims/authnmethodsreferences": "pwd",
      ipaddr: ip,
      "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
      "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": caller.userPrincipalName ?? "",
      "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller.userPrincipalName ?? "",
      idtyp: "user",
    };
  }
  return {
    ...common,
    appid: caller.appId ?? "",
    appidacr: "1",
    "http://schemas.microsoft.com/identity/claims/identityprovider": `https://sts.windows.net/${tenantId}/`,
    idtyp: "app",
  };
}

/** Builds the Event Grid event for an ARM write, shaped like the documented subscription-topic sample. */
export function buildResourceEvent(write: ResourceWrite, tenantId: string, nowMs: number): EventGridEvent {
  const eventType = write.eventType ?? "Microsoft.Resources.ResourceWriteSuccess";
  const ip = write.clientIpAddress ?? "127.0.0.1";
  const caller = write.caller;
  const evidence =
    write.evidence ??
    (caller
      ? {
          role: "Contributor",
          roleAssignmentScope: `/subscriptions/${write.subscriptionId}`,
          roleAssignmentId: createHash("sha256")
            .update(`${write.subscriptionId}:${caller.objectId}:Contributor`)
            .digest("hex")
            .slice(0, 32),
          roleDefinitionId: dashless(ROLE_DEFINITIONS.Contributor!),
          principalId: dashless(caller.objectId),
          principalType: caller.kind === "user" ? "User" : "ServicePrincipal",
        }
      : undefined);
  return {
    subject: write.resourceId,
    eventType,
    eventTime: new Date(nowMs).toISOString(),
    id: randomUUID(),
    data: {
      authorization: {
        scope: write.resourceId,
        action: write.operationName,
        evidence: evidence ?? {},
      },
      claims: claimsOf(caller, tenantId, nowMs, ip),
      correlationId: write.correlationId,
      httpRequest: {
        clientRequestId: write.clientRequestId ?? randomUUID(),
        clientIpAddress: ip,
        method: write.httpMethod.toUpperCase(),
        url: write.url,
      },
      resourceProvider: write.operationName.split("/")[0] ?? "",
      resourceUri: write.resourceId,
      operationName: write.operationName,
      status: statusOf(eventType),
      subscriptionId: write.subscriptionId,
      tenantId,
    },
    dataVersion: "2",
    metadataVersion: "1",
    topic: `/subscriptions/${write.subscriptionId}`,
  };
}

/** Event Grid's CloudEvents 1.0 rendering of an Event Grid schema event. */
export function toCloudEvent(e: EventGridEvent): CloudEvent {
  return {
    source: e.topic,
    subject: e.subject,
    type: e.eventType,
    time: e.eventTime,
    id: e.id,
    data: e.data,
    specversion: "1.0",
  };
}
