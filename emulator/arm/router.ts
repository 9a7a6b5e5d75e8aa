/**
 * The ARM entry point: meters the request against Azure's limits (throttling.ts), checks
 * api-version, echoes correlation/request ids, and dispatches to the per-concern routers. Handlers throw ArmFailure for Azure-shaped errors.
 */
import { randomUUID } from "node:crypto";
import type { EmuRequest, EmuResponse, Router } from "../types.js";
import type { ArmContext, ArmRequest } from "./context.js";
import { isActivityLogPath } from "./activityLog.js";
import { discoveryRouter } from "./discovery.js";
import { authorizeArm } from "./authorization/authorize.js";
import { ArmFailure, armError } from "./errors.js";
import { lower, splitPath } from "./ids.js";
import { roleAssignmentsRouter, roleDefinitionsRouter } from "./rbac.js";
import { resourceGroupsRouter } from "./resourceGroups.js";
import { resourcesRouter } from "./resources.js";
import { subscriptionsRouter } from "./subscriptions.js";
import { tagsRouter } from "./tags.js";

/** api-versions the SDKs this project uses send; others are accepted but reported in the request log. */
export const KNOWN_API_VERSIONS = new Set([
  "2025-04-01", // Microsoft.Resources (@azure/arm-resources 7.0.0)
  "2022-04-01", // Microsoft.Authorization (@azure/arm-authorization 9.0.0)
  "2022-10-01", // Microsoft.MachineLearningServices (@azure/arm-machinelearning 2.1.1)
  "2022-12-01", // subscriptions
  "2020-01-01", // subscriptions (older clients)
]);

export function isArmPath(path: string): boolean {
  const first = lower(splitPath(path)[0] ?? "");
  return first === "subscriptions" || first === "providers" || first === "tenants";
}

function dispatch(ctx: ArmContext, req: ArmRequest): EmuResponse | undefined {
  const polled = ctx.lro.poll(req.path, req.baseUrl);
  if (polled) return polled;
  const seg = splitPath(req.path);
  const lowerPath = lower(req.path);
  if (lowerPath.includes("/providers/microsoft.resources/tags")) return tagsRouter(ctx, req);
  if (lowerPath.includes("/providers/microsoft.authorization/roleassignments"))
    return roleAssignmentsRouter(ctx, req);
  if (lowerPath.includes("/providers/microsoft.authorization/roledefinitions"))
    return roleDefinitionsRouter(ctx, req);
  if (lower(seg[0] ?? "") !== "subscriptions") return undefined;
  const activitySub = isActivityLogPath(req.path);
  if (activitySub && ctx.activityLog && req.method === "GET") return ctx.activityLog.query(req, activitySub);
  if (seg.length <= 2) return subscriptionsRouter(ctx, req, seg);
  const discovered = discoveryRouter(ctx, req, seg);
  if (discovered) return discovered;
  if (lower(seg[2]!) === "resourcegroups" && seg.length <= 4) return resourceGroupsRouter(ctx, req, seg);
  return resourcesRouter(ctx, req, seg);
}

export function armRouter(ctx: ArmContext): Router {
  return (raw: EmuRequest) => {
    const correlationId = headerValue(raw.headers["x-ms-correlation-request-id"]) ?? randomUUID();
    const headers = { "x-ms-correlation-request-id": correlationId, "x-ms-request-id": randomUUID() };
    const withIds = (res: EmuResponse): EmuResponse => ({
      ...res,
      headers: { ...headers, ...(res.headers ?? {}) },
    });
    const admission = ctx.throttle?.admit(raw.method, raw.path, raw.caller?.objectId);
    if (admission && !admission.ok) return withIds(admission.response);
    const withLimits = (res: EmuResponse): EmuResponse => {
      const out = withIds(res);
      return admission ? { ...out, headers: { ...admission.headers, ...out.headers } } : out;
    };
    const apiVersion = raw.query.get("api-version");
    if (!apiVersion)
      return withLimits(
        armError(
          400,
          "MissingApiVersionParameter",
          "The api-version query parameter (?api-version=) is required for all requests.",
        ),
      );
    const req: ArmRequest = { ...raw, correlationId, apiVersion };
    try {
      authorizeArm(ctx, req);
      const res = dispatch(ctx, req);
      if (res) return withLimits(res);
      return withLimits(armError(404, "NotFound", `The emulator does not serve ${raw.method} ${raw.path}.`));
    } catch (err) {
      if (err instanceof ArmFailure) return withLimits(err.toResponse());
      throw err;
    }
  };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
