/**
 * The whole local stack in one process, shared by `npm start`, the demo and tests: Azurite, the
 * ARM/Graph/Entra emulator seeded with a Contoso-like estate, and the local Functions host
 * running the app's real handlers, wired as in Azure (the emulator's Event Grid subscription
 * delivers resource writes to the host's webhook; the app reads its settings from the
 * environment). The process must already trust the emulator's certificate
 * (NODE_EXTRA_CA_CERTS; see host/trust.ts).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { FunctionDefinition } from "../functions/definition.js";
import { resetAzureClients } from "../shared/azure/clients.js";
import { getSettings, resetSettings } from "../shared/config/settings.js";
import { getPolicy, type EstatePolicy } from "../shared/policy/index.js";
import { resourceWriteEventFilter } from "../shared/setup/contract.js";
import { startAzurite, type AzuriteHandle } from "./azurite.js";
import { loadDefinitions } from "./host/definitions.js";
import { startHost, type LocalHost, type StartHostOptions } from "./host/index.js";
import { HostLog, type HostLogOptions } from "./host/log.js";
import { startEmulator, type EmulatorHandle } from "@aml-steward/azure-emulator";
import { contosoSeed, STEWARD_API, STEWARD_APP } from "./seeds/contoso.js";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";

export const EVENT_SUBSCRIPTION = "steward-resource-writes";

/**
 * The settings that point the app at an emulator, signed in as aml-steward's own identity (the
 * seed's STEWARD_APP), and at a storage account. Trusting the emulator's certificate
 * (NODE_EXTRA_CA_CERTS) is the caller's business: it must be set before the process starts.
 */
export function emulatorAppSettings(
  emulator: Pick<EmulatorHandle, "url" | "tenantId">,
  storageConnection: string,
): Record<string, string> {
  return {
    STEWARD_ARM_ENDPOINT: emulator.url,
    STEWARD_GRAPH_ENDPOINT: emulator.url,
    STEWARD_AUTHORITY_HOST: emulator.url,
    STEWARD_TENANT_ID: emulator.tenantId,
    STEWARD_IDENTITY_OBJECT_ID: STEWARD_APP.objectId,
    STEWARD_IDENTITY_CLIENT_ID: STEWARD_APP.appId,
    // The emulator's own service principal secret: exists only in this local emulator.
    STEWARD_LOCAL_CLIENT_SECRET: STEWARD_APP.clientSecret,
    // The audience of senders' tokens for aml-steward's API (the seed's STEWARD_API).
    STEWARD_API_CLIENT_ID: STEWARD_API.appId,
    AzureWebJobsStorage: storageConnection,
  };
}

export interface LocalStackOptions {
  /** Default: the app's definitions (functions/all.ts, else each module that exists). */
  definitions?: FunctionDefinition[];
  policy?: EstatePolicy;
  /** Default: the Contoso-like seed derived from the policy. */
  seed?: EmulatorSeed;
  /** The emulator's certificate; the process must trust certPath already. */
  certPath: string;
  keyPath: string;
  /** Use this storage instead of starting Azurite. */
  storageConnection?: string;
  emulatorPort?: number;
  hostPort?: number;
  queues?: StartHostOptions["queues"];
  timers?: StartHostOptions["timers"];
  log?: HostLog | HostLogOptions;
  /** Point process.env (and so the app's settings and clients) at this stack. Default true. */
  applyToProcessEnv?: boolean;
}

export interface LocalStack {
  emulator: EmulatorHandle;
  host: LocalHost;
  azurite?: AzuriteHandle;
  policy: EstatePolicy;
  storageConnection: string;
  /** Functions whose modules do not exist yet. */
  missingModules: string[];
  /** Every setting a client (the CLI, your SDK code) needs to use this stack. */
  settings: Record<string, string>;
  /** The settings as an env file (KEY=value lines) for `steward --settings`. */
  envFile(): string;
  writeEnvFile(file: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const policy = opts.policy ?? getPolicy();
  const log = opts.log instanceof HostLog ? opts.log : new HostLog(opts.log);
  const loaded = opts.definitions
    ? { definitions: opts.definitions, missing: [] as string[] }
    : await loadDefinitions();

  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    let azurite: AzuriteHandle | undefined;
    let storageConnection = opts.storageConnection;
    if (!storageConnection) {
      azurite = await startAzurite();
      cleanups.push(() => azurite!.stop());
      storageConnection = azurite.connectionString;
    }
    const emulator = await startEmulator({
      port: opts.emulatorPort ?? 0,
      certPath: opts.certPath,
      keyPath: opts.keyPath,
      seed: opts.seed ?? contosoSeed(policy),
      // The app runs with exactly its generated role set, enforced as in Azure (seeds/contoso.ts).
      enforceRbac: true,
    });
    cleanups.push(() => emulator.stop());

    const settings: Record<string, string> = {
      ...emulatorAppSettings(emulator, storageConnection),
      NODE_EXTRA_CA_CERTS: opts.certPath,
      // steward's --as signs seeded people in here; the app itself never reads it.
      STEWARD_EMULATOR_URL: emulator.url,
      ...(process.env.STEWARD_POLICY_PATH ? { STEWARD_POLICY_PATH: process.env.STEWARD_POLICY_PATH } : {}),
    };
    // Timer bindings reference %STEWARD_RECONCILE_SCHEDULE%; in Azure the deployment sets it,
    // here it comes from the environment or the settings' default.
    settings.STEWARD_RECONCILE_SCHEDULE = getSettings({
      ...process.env,
      ...settings,
    }).STEWARD_RECONCILE_SCHEDULE;
    if (opts.applyToProcessEnv !== false) {
      Object.assign(process.env, settings);
      resetSettings();
      resetAzureClients();
    }

    const host = await startHost({
      definitions: loaded.definitions,
      ...(opts.hostPort !== undefined ? { port: opts.hostPort } : {}),
      env: { ...process.env, ...settings },
      ...(opts.queues ? { queues: opts.queues } : {}),
      ...(opts.timers ? { timers: opts.timers } : {}),
      log,
    });
    cleanups.push(() => host.stop());
    settings.STEWARD_FUNCTIONS_URL = host.url;
    settings.STEWARD_FUNCTION_KEY = host.keys.function;
    // Posting one's own event, or running a timer now, needs these two keys as well.
    settings.STEWARD_EVENTGRID_KEY = host.keys.eventGrid;
    settings.STEWARD_MASTER_KEY = host.keys.master;
    const eventGridDef = loaded.definitions.find((d) => d.trigger === "eventGrid");
    if (eventGridDef) settings.STEWARD_EVENTGRID_URL = host.eventGridWebhookUrl(eventGridDef.name);

    // As the deployment subscribes the app: resource writes only, never tag writes (the app's
    // own tag writes would come straight back), delivered to the Event Grid trigger.
    for (const def of loaded.definitions.filter((d) => d.trigger === "eventGrid")) {
      await emulator.events.putSubscription(
        def.name === "onResourceWrite" ? EVENT_SUBSCRIPTION : `steward-${def.name}`.toLowerCase(),
        {
          properties: {
            destination: {
              endpointType: "WebHook",
              properties: { endpointUrl: host.eventGridWebhookUrl(def.name) },
            },
            eventDeliverySchema: "EventGridSchema",
            filter: resourceWriteEventFilter(STEWARD_APP.objectId),
          },
        },
      );
    }

    const envFile = () =>
      [
        "# aml-steward local stack (npm start). Local-only values: an emulator, not Azure.",
        // Single quotes keep a value whole when a shell sources the file (`set -a; . FILE`): the
        // Event Grid URL's "&" would otherwise end the assignment.
        ...Object.entries(settings).map(
          ([k, v]) =>
            `${k}=${!/[^\w@%+=:,./-]/.test(v) ? v : v.includes("'") ? JSON.stringify(v) : `'${v}'`}`,
        ),
        "",
      ].join("\n");

    return {
      emulator,
      host,
      ...(azurite ? { azurite } : {}),
      policy,
      storageConnection,
      missingModules: loaded.missing,
      settings,
      envFile,
      async writeEnvFile(file) {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, envFile(), { mode: 0o600 });
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
