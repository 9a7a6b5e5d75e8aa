/**
 * One test file's world: its own emulator (seeded with the Contoso estate unless told
 * otherwise), its own Azurite (the promotion records and the project registry are keyed by
 * project name, so files that promote the same project must not share storage), the app's
 * settings pointed at both, and clients acting as the people of the seed. Call `stop()` in
 * afterAll.
 */
import { ResourceManagementClient } from "@azure/arm-resources";
import { AzureMachineLearningWorkspaces } from "@azure/arm-machinelearning";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import type { startEmulator } from "@aml-steward/azure-emulator";
import { startAzurite } from "../../local/azurite.js";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import { emulatorAppSettings } from "../../local/stack.js";
import { contosoSeed, STEWARD_API } from "../../local/seeds/contoso.js";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { resetAzureClients } from "../../shared/azure/clients.js";
import { resetSettings } from "../../shared/config/settings.js";
import { getPolicy, type EstatePolicy } from "../../shared/policy/index.js";
import { armClientOptions, startTestEmulator } from "./emulator.js";

export type Emulator = Awaited<ReturnType<typeof startEmulator>>;

export interface TestStack {
  emulator: Emulator;
  url: string;
  policy: EstatePolicy;
  storageConnection: string;
  /** ARM clients acting as a seeded principal (by object id), e.g. PEOPLE.alice.objectId. */
  armAs(objectId: string, subscriptionId: string): ResourceManagementClient;
  mlAs(objectId: string, subscriptionId: string): AzureMachineLearningWorkspaces;
  authorizationAs(objectId: string, subscriptionId: string): AuthorizationManagementClient;
  /** An access token for aml-steward's own API, as the seeded principal would send it. */
  apiToken(objectId: string): Promise<string>;
  /** GET/POST/DELETE on the emulator's control API (/_emulator/...). */
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export async function startTestStack(
  opts: { seed?: EmulatorSeed; policy?: EstatePolicy; pageSize?: number } = {},
): Promise<TestStack> {
  const certPath = process.env.STEWARD_TEST_CERT_PATH;
  const keyPath = process.env.STEWARD_TEST_KEY_PATH;
  if (!certPath || !keyPath) {
    throw new Error("test/globalSetup.ts did not run: STEWARD_TEST_CERT_PATH/KEY_PATH are unset");
  }
  const azurite = await startAzurite();
  const storageConnection = azurite.connectionString;
  const policy = opts.policy ?? getPolicy();
  const emulator = await startTestEmulator({
    seed: opts.seed ?? contosoSeed(policy),
    pageSize: opts.pageSize,
  });
  const url = emulator.url;

  Object.assign(process.env, emulatorAppSettings(emulator, storageConnection));
  resetSettings();
  resetAzureClients();

  const armOptions = armClientOptions(url, { maxRetries: 5, retryDelayInMs: 50, maxRetryDelayInMs: 2_000 });
  const cred = (objectId: string) => new EmulatorPrincipalCredential(url, { objectId });

  return {
    emulator,
    url,
    policy,
    storageConnection,
    armAs: (objectId, sub) => new ResourceManagementClient(cred(objectId), sub, armOptions),
    mlAs: (objectId, sub) => new AzureMachineLearningWorkspaces(cred(objectId), sub, armOptions),
    authorizationAs: (objectId, sub) => new AuthorizationManagementClient(cred(objectId), sub, armOptions),
    apiToken: async (objectId) =>
      (await cred(objectId).getToken(`api://${STEWARD_API.appId}/.default`)).token,
    async control<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async stop() {
      await emulator.stop();
      await azurite.stop();
    },
  };
}
