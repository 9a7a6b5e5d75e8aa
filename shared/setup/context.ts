/** What every setup step shares: the options, the run's context, and how findings are added. */
import { type AzureClients } from "../azure/clients.js";
import { errorFacts } from "../azure/errors.js";
import { type Settings } from "../config/settings.js";
import type { Logger } from "../log.js";
import { type EstatePolicy } from "../policy/index.js";
import { MANAGED_BY } from "../promotion/workspaceBlueprint.js";
import { isProblem, type SetupArea, type SetupItem } from "./report.js";

export interface SetupOptions {
  /** Read only: report what is missing, change nothing. */
  check: boolean;
  logger?: Logger;
  /** Defaults: the process's clients, policy and settings. */
  clients?: AzureClients;
  policy?: EstatePolicy;
  settings?: Settings;
  /** Owner tag on the exploration resources setup creates (default: "aml-steward"). */
  explorationOwner?: string;
  /** LRO polling interval when the service sends no Retry-After (default 2 s). */
  pollIntervalMs?: number;
  /** The clock of the createdOn tag on what setup creates (default: now). */
  now?: () => Date;
}

/** The createdBy tag on what setup creates (the installer runs it, not the app's identity). */
export const SETUP_CREATED_BY = `${MANAGED_BY} setup`;

export interface Ctx {
  opts: SetupOptions;
  clients: AzureClients;
  policy: EstatePolicy;
  settings: Settings;
  items: SetupItem[];
  changes: number;
  log?: Logger;
}

export function add(ctx: Ctx, item: SetupItem): void {
  ctx.items.push(item);
  const level = isProblem(item.status) ? "warn" : "info";
  ctx.log?.[level](
    `setup ${item.area}: ${item.name} ${item.status}`,
    item.detail ? { detail: item.detail } : {},
  );
}

/**
 * A read that failed: "unverified" when aml-steward may not read it (the check cannot say
 * either way), otherwise an error.
 */
export function addReadFailure(ctx: Ctx, area: SetupArea, name: string, e: unknown): void {
  add(ctx, { area, name, status: isForbidden(e) ? "unverified" : "error", detail: describe(e) });
}

export function describe(e: unknown): string {
  const f = errorFacts(e);
  return [f.status, f.code, f.message].filter((x) => x !== undefined && x !== "").join(" ");
}

export function isForbidden(e: unknown): boolean {
  const s = errorFacts(e).status;
  return s === 401 || s === 403;
}

export function identityId(ctx: Ctx): string | undefined {
  return ctx.settings.STEWARD_IDENTITY_OBJECT_ID?.toLowerCase();
}

export const NO_IDENTITY_FIX =
  "set STEWARD_IDENTITY_OBJECT_ID and STEWARD_IDENTITY_CLIENT_ID (after azd provision: azd env get-values)";

// ====================================================================== subscriptions

export function subscriptionsOf(policy: EstatePolicy): Array<{ id: string; name: string }> {
  const out = new Map<string, string>();
  for (const s of policy.governedSubscriptions) out.set(s.id.toLowerCase(), `${s.name} (governed)`);
  const add = (id: string, role: string) => {
    const k = id.toLowerCase();
    out.set(k, out.has(k) ? `${out.get(k)}, ${role}` : role);
  };
  add(policy.projectSubscriptionId, "projects");
  add(policy.exploration.subscriptionId, "exploration");
  return [...out.entries()].map(([id, name]) => ({ id, name }));
}
