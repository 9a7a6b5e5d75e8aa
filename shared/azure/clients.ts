/**
 * The one place that builds Azure clients. Each is made lazily, once per process (ARM clients
 * once per subscription, since the SDKs bind one). In Azure they use the managed identity and
 * the public endpoints; locally, STEWARD_*_ENDPOINT settings point them at the emulator, whose
 * CA the process trusts through NODE_EXTRA_CA_CERTS.
 */
import { deadlinePolicy } from "./deadline.js";
import { pacingPolicy, resetPacers } from "./ratePacer.js";
import type { AuthorizationManagementClient } from "@azure/arm-authorization";
import type { AzureMachineLearningWorkspaces } from "@azure/arm-machinelearning";
import { ResourceManagementClient } from "@azure/arm-resources";
import type { TokenCredential } from "@azure/core-auth";
import { TableClient } from "@azure/data-tables";
import { ClientSecretCredential, DefaultAzureCredential } from "@azure/identity";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { BlobServiceClient } from "@azure/storage-blob";
import type { QueueClient } from "@azure/storage-queue";
import { createRequire } from "node:module";
import {
  AuthenticationHandler,
  Client as GraphClient,
  HTTPMessageHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
  type Context,
  type Middleware,
} from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import { getSettings, type Settings } from "../config/settings.js";
import { recordCall } from "./callCounter.js";
import type * as HeavySdksModule from "./heavySdks.js";

type HeavySdks = typeof HeavySdksModule;
let heavy: HeavySdks | undefined;

/**
 * Loads the SDKs of promotion, reconciliation and setup. Their entry points await this first,
 * so that the tagging path's cold start never includes them.
 */
export async function loadHeavySdks(): Promise<void> {
  heavy ??= await import("./heavySdks.js");
}

/**
 * The heavy SDKs, loaded if some caller did not await loadHeavySdks (tests, the demo, the CLI
 * calling the core directly): a synchronous require of the packages themselves. The deployed
 * bundle carries no node_modules, so there this fails loudly; every function awaits the load.
 */
function heavySdks(): HeavySdks {
  if (!heavy) {
    const load = createRequire(import.meta.url);
    heavy = {
      AuthorizationManagementClient: load("@azure/arm-authorization").AuthorizationManagementClient,
      AzureMachineLearningWorkspaces: load("@azure/arm-machinelearning").AzureMachineLearningWorkspaces,
      BlobServiceClient: load("@azure/storage-blob").BlobServiceClient,
      QueueServiceClient: load("@azure/storage-queue").QueueServiceClient,
    } as HeavySdks;
  }
  return heavy;
}

const ARM_SCOPE = "https://management.azure.com/.default";
const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

/** ARM's throttling answers 429 with Retry-After; honour it fully and keep trying for minutes. */
const ARM_RETRY = { maxRetries: 8, retryDelayInMs: 1000, maxRetryDelayInMs: 120_000 };

const countingPolicy: PipelinePolicy = {
  name: "stewardCallCounter",
  async sendRequest(request, next) {
    try {
      const response = await next(request);
      recordCall("arm", request.method, response.status);
      return response;
    } catch (e) {
      recordCall("arm", request.method, (e as { statusCode?: number }).statusCode);
      throw e;
    }
  },
};

class GraphCallCounter implements Middleware {
  private nextMiddleware?: Middleware;
  async execute(context: Context): Promise<void> {
    await this.nextMiddleware!.execute(context);
    recordCall("graph", context.options?.method ?? "GET", context.response?.status);
  }
  setNext(next: Middleware): void {
    this.nextMiddleware = next;
  }
}

export interface AzureClients {
  credential: TokenCredential;
  resources(subscriptionId: string): ResourceManagementClient;
  authorization(subscriptionId: string): AuthorizationManagementClient;
  machineLearning(subscriptionId: string): AzureMachineLearningWorkspaces;
  graph(): GraphClient;
  table(name: string): TableClient;
  queue(name: string): QueueClient;
  blobs(): BlobServiceClient;
}

function memo<K, V>(make: (k: K) => V): (k: K) => V {
  const cache = new Map<K, V>();
  return (k) => {
    let v = cache.get(k);
    if (v === undefined) cache.set(k, (v = make(k)));
    return v;
  };
}

function makeCredential(s: Settings): TokenCredential {
  if (s.STEWARD_AUTHORITY_HOST) {
    // Local emulator only: a service principal of the emulator's seed.
    return new ClientSecretCredential(
      s.STEWARD_TENANT_ID ?? "common",
      s.STEWARD_IDENTITY_CLIENT_ID!,
      s.STEWARD_LOCAL_CLIENT_SECRET ?? "",
      {
        authorityHost: s.STEWARD_AUTHORITY_HOST,
        disableInstanceDiscovery: true,
      },
    );
  }
  // In Azure: the user-assigned managed identity named by its client id.
  return new DefaultAzureCredential({ managedIdentityClientId: s.STEWARD_IDENTITY_CLIENT_ID });
}

/**
 * `credential` replaces the app's own (managed identity, or the emulator's service principal):
 * `steward setup` runs as the installer, and locally tests sign it in as the emulator's installer.
 */
export function createAzureClients(
  settings: Settings = getSettings(),
  credential: TokenCredential = makeCredential(settings),
): AzureClients {
  // New clients mean a new identity or a new ARM (tests switch emulators): forget what the old one said.
  resetPacers();
  const armOptions = {
    ...(settings.STEWARD_ARM_ENDPOINT ? { endpoint: settings.STEWARD_ARM_ENDPOINT } : {}),
    // The default scope is derived from the endpoint; an override must not change the audience.
    credentialScopes: [ARM_SCOPE],
    retryOptions: ARM_RETRY,
    additionalPolicies: [
      { policy: countingPolicy, position: "perRetry" as const },
      { policy: deadlinePolicy, position: "perCall" as const },
      { policy: pacingPolicy, position: "perRetry" as const },
    ],
  };
  const storage = storageClients(settings);

  const graph = memo((_: "graph") => {
    const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: [GRAPH_SCOPE] });
    const baseUrl = settings.STEWARD_GRAPH_ENDPOINT;
    return GraphClient.initWithMiddleware({
      middleware: [
        new AuthenticationHandler(authProvider),
        // (delay in seconds, retries): Graph answers 429 with Retry-After, which the handler honours.
        new RetryHandler(new RetryHandlerOptions(1, 6)),
        new RedirectHandler(new RedirectHandlerOptions()),
        new TelemetryHandler(),
        new GraphCallCounter(),
        new HTTPMessageHandler(),
      ],
      ...(baseUrl
        ? { baseUrl: baseUrl.replace(/\/$/, "") + "/", customHosts: new Set([new URL(baseUrl).hostname]) }
        : {}),
    });
  });

  return {
    credential,
    resources: memo((sub: string) => new ResourceManagementClient(credential, sub, armOptions)),
    authorization: memo(
      (sub: string) => new (heavySdks().AuthorizationManagementClient)(credential, sub, armOptions),
    ),
    machineLearning: memo(
      (sub: string) => new (heavySdks().AzureMachineLearningWorkspaces)(credential, sub, armOptions),
    ),
    graph: () => graph("graph"),
    ...storage,
  };
}

function storageClients(s: Settings): Pick<AzureClients, "table" | "queue" | "blobs"> {
  const conn = s.AzureWebJobsStorage;
  if (conn && conn.includes("=")) {
    const queues = memo((_: "q") => heavySdks().QueueServiceClient.fromConnectionString(conn));
    const allowInsecureConnection = /DefaultEndpointsProtocol=http;|Endpoint=http:/i.test(conn);
    return {
      table: memo((name: string) =>
        TableClient.fromConnectionString(conn, name, { allowInsecureConnection }),
      ),
      queue: memo((name: string) => queues("q").getQueueClient(name)),
      blobs: memo((_: "b") => heavySdks().BlobServiceClient.fromConnectionString(conn)).bind(null, "b"),
    };
  }
  const account = s.AzureWebJobsStorage__accountName;
  if (!account) {
    const missing = () => {
      throw new Error(
        "storage is not configured: set AzureWebJobsStorage (connection string) or AzureWebJobsStorage__accountName",
      );
    };
    return { table: missing, queue: missing, blobs: missing };
  }
  const cred = new DefaultAzureCredential({ managedIdentityClientId: s.STEWARD_IDENTITY_CLIENT_ID });
  const queues = memo(
    (_: "q") => new (heavySdks().QueueServiceClient)(`https://${account}.queue.core.windows.net`, cred),
  );
  const blobs = memo(
    (_: "b") => new (heavySdks().BlobServiceClient)(`https://${account}.blob.core.windows.net`, cred),
  );
  return {
    table: memo((name: string) => new TableClient(`https://${account}.table.core.windows.net`, name, cred)),
    queue: memo((name: string) => queues("q").getQueueClient(name)),
    blobs: () => blobs("b"),
  };
}

let shared: AzureClients | undefined;

/** The process's clients, built on first use from the settings. */
export function azure(): AzureClients {
  return (shared ??= createAzureClients());
}

/** For tests and the local runner, which change settings between stacks. */
export function resetAzureClients(): void {
  shared = undefined;
}
