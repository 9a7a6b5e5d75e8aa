/**
 * Every setting the app reads, in one place, validated once. In Azure these come from the
 * Function App's application settings; locally from local.settings.json or the environment.
 * No secret is a setting: Azure access uses the managed identity; the local emulator's
 * credentials are local-only values.
 */
import { z } from "zod";

const url = z
  .string()
  .url()
  .refine((u) => u.startsWith("https://"), "must be an https:// URL (Azure SDKs refuse tokens over http)");
const guid = z.string().regex(/^[0-9a-fA-F-]{36}$/, "must be a GUID");

/**
 * Where an override may point: this machine (the emulator), or the service in a known Azure
 * cloud (public, US Government, China). Anything else could receive the identity's tokens.
 */
const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];
const CLOUD_HOSTS = {
  arm: ["management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn"],
  graph: [
    "graph.microsoft.com",
    "graph.microsoft.us",
    "dod-graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn",
  ],
  authority: ["login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn"],
};
const endpoint = (kind: keyof typeof CLOUD_HOSTS) =>
  url.refine(
    (u) => {
      const host = new URL(u).hostname.toLowerCase();
      return LOOPBACK.includes(host) || CLOUD_HOSTS[kind].includes(host);
    },
    `must be loopback or one of ${CLOUD_HOSTS[kind].join(", ")}`,
  );

const settingsSchema = z.object({
  /** Path of the estate policy file; empty = the bundled Contoso default. */
  STEWARD_POLICY_PATH: z.string().optional(),
  /** The app's own identity: its Entra object id (writes by it are ignored by the event handler). */
  STEWARD_IDENTITY_OBJECT_ID: guid.optional(),
  /** The app's own application (client) id; for a user-assigned managed identity, its client id. */
  STEWARD_IDENTITY_CLIENT_ID: guid.optional(),
  /**
   * Client id of aml-steward's API app registration: the audience of the tokens that
   * requesters and approvers send with promotion requests (v2 tokens carry it as `aud`, v1
   * tokens its `api://` URI). Without it no request can be authenticated, so none is accepted.
   */
  STEWARD_API_CLIENT_ID: guid.optional(),
  /** Entra tenant of the estate. */
  STEWARD_TENANT_ID: guid.optional(),
  /** Local/sovereign overrides; unset in public Azure. */
  STEWARD_ARM_ENDPOINT: endpoint("arm").optional(),
  STEWARD_GRAPH_ENDPOINT: endpoint("graph").optional(),
  STEWARD_AUTHORITY_HOST: endpoint("authority").optional(),
  /**
   * Only with STEWARD_AUTHORITY_HOST (the local emulator): the client secret of the emulator's
   * service principal. Never set in Azure, where the managed identity is used.
   */
  STEWARD_LOCAL_CLIENT_SECRET: z.string().optional(),
  /** Storage for queues, tables and blobs: a connection string (Azurite) ... */
  AzureWebJobsStorage: z.string().optional(),
  /** ... or, in Azure, identity-based: the account name. */
  AzureWebJobsStorage__accountName: z.string().optional(),
  /** NCRONTAB (six fields, with seconds) of the nightly reconciliation. */
  STEWARD_RECONCILE_SCHEDULE: z.string().default("0 0 2 * * *"),
  /**
   * How the tagging event path talks to ARM and writes its audit row: `lean` (its own small
   * HTTPS clients, shared/azure/leanArm.ts and leanTable.ts; cheaper per event) or `sdk` (the
   * Azure SDK clients, as promotion and reconciliation use). A way back without a redeploy.
   */
  STEWARD_TAGGING_HTTP: z.enum(["lean", "sdk"]).default("lean"),
  /** debug | info | warn | error */
  STEWARD_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type Settings = z.infer<typeof settingsSchema>;

export class SettingsError extends Error {
  override name = "SettingsError";
}

let cached: Settings | undefined;

/** The validated settings; reads process.env once. `reset` is for tests and the local runner. */
export function getSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  if (cached && env === process.env) return cached;
  const blank = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  const parsed = settingsSchema.safeParse(blank);
  if (!parsed.success) {
    throw new SettingsError(
      "invalid settings:\n" +
        parsed.error.issues
          .map((i) => `  - ${i.path.join(".")} = ${JSON.stringify(env[String(i.path[0])])}: ${i.message}`)
          .join("\n"),
    );
  }
  if (parsed.data.STEWARD_AUTHORITY_HOST && !parsed.data.STEWARD_IDENTITY_CLIENT_ID) {
    throw new SettingsError(
      "invalid settings:\n  - STEWARD_IDENTITY_CLIENT_ID is required with STEWARD_AUTHORITY_HOST",
    );
  }
  // The Functions host sets these in Azure: there, emulator sign-in would replace the managed identity.
  const inAzure = Boolean(env.WEBSITE_INSTANCE_ID || env.WEBSITE_SITE_NAME);
  const localOnly = (["STEWARD_AUTHORITY_HOST", "STEWARD_LOCAL_CLIENT_SECRET"] as const).filter(
    (k) => parsed.data[k] !== undefined,
  );
  if (inAzure && localOnly.length > 0) {
    throw new SettingsError(
      `invalid settings:\n${localOnly.map((k) => `  - ${k} is for the local emulator only and is refused in Azure (WEBSITE_INSTANCE_ID/WEBSITE_SITE_NAME are set)`).join("\n")}`,
    );
  }
  if (env === process.env) cached = parsed.data;
  return parsed.data;
}

export function resetSettings(): void {
  cached = undefined;
}

export const QUEUES = {
  promotions: "promotion-requests",
  reconcile: "reconcile-subscriptions",
} as const;

export const TABLES = {
  audit: "stewardAudit",
  violations: "stewardViolations",
  promotions: "stewardPromotions",
  reconcileRuns: "stewardReconcileRuns",
  leases: "stewardLeases",
} as const;

export const CONTAINERS = {
  reports: "steward-reports",
} as const;
