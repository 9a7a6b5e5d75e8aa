/**
 * `steward setup [--check]`: the installation steps Bicep does poorly, done idempotently with
 * the SDKs, and a check of every prerequisite with a readable report.
 *
 * - grants aml-steward's identity its Microsoft Graph application permissions (GRAPH_PERMISSIONS);
 * - creates the exploration resource group, its workspace and the workspace's dependencies when
 *   missing, and gives the identity AzureML Data Scientist on that workspace (the promotion
 *   archives promoted assets there);
 * - creates missing storage queues, tables and containers (Bicep creates them in Azure; locally
 *   this prepares Azurite);
 * - checks the subscriptions, the identity's Azure roles (and that none is broader than needed),
 *   and the Event Grid wiring of every governed subscription.
 *
 * Run it as the installer (az login), not as the app: granting Graph permissions needs an Entra
 * administrator (docs/deploy.md). With `check: true` it reads only. Every step reads first and
 * writes only what is missing, so a second run changes nothing.
 */
import { azure } from "../azure/clients.js";
import { getSettings } from "../config/settings.js";
import { getPolicy } from "../policy/index.js";
import { isProblem, type SetupArea, type SetupReport } from "./report.js";
import { add, describe, type Ctx, type SetupOptions } from "./context.js";
import { checkEvents } from "./events.js";
import { ensureExploration } from "./exploration.js";
import { ensureGraphPermissions } from "./graphPermissions.js";
import { checkIdentity, checkSubscriptions } from "./identity.js";
import { checkRoles } from "./roles.js";
import { ensureStorage } from "./storage.js";

export * from "./report.js";
export * from "./contract.js";
export { SETUP_CREATED_BY, type SetupOptions } from "./context.js";
export { eventSubscriptionProblems } from "./events.js";

export async function runSetup(opts: SetupOptions): Promise<SetupReport> {
  const ctx: Ctx = {
    opts,
    clients: opts.clients ?? azure(),
    policy: opts.policy ?? getPolicy(),
    settings: opts.settings ?? getSettings(),
    items: [],
    changes: 0,
    log: opts.logger,
  };
  const steps: Array<[SetupArea, (c: Ctx) => Promise<void>]> = [
    ["identity", checkIdentity],
    ["subscriptions", checkSubscriptions],
    ["roles", checkRoles],
    ["graph", ensureGraphPermissions],
    ["exploration", ensureExploration],
    ["storage", ensureStorage],
    ["events", checkEvents],
  ];
  for (const [area, step] of steps) {
    try {
      await step(ctx);
    } catch (e) {
      add(ctx, { area, name: `${area} check`, status: "error", detail: describe(e) });
    }
  }
  return {
    mode: opts.check ? "check" : "apply",
    ok: !ctx.items.some((i) => isProblem(i.status)),
    changes: ctx.changes,
    items: ctx.items,
  };
}
