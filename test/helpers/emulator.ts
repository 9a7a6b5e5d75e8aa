/**
 * Building blocks of the emulator-level tests: an emulator with the certificate globalSetup
 * made (the test process trusts it), the real ClientSecretCredential against its Entra, and
 * the options every ARM SDK client needs to talk to it.
 */
import type { PipelineRetryOptions } from "@azure/core-rest-pipeline";
import { ClientSecretCredential } from "@azure/identity";
import { startEmulator, type EmulatorHandle, type StartEmulatorOptions } from "@aml-steward/azure-emulator";

/** An emulator on a free port with globalSetup's certificate. */
export function startTestEmulator(
  opts: Omit<StartEmulatorOptions, "port" | "certPath" | "keyPath"> = {},
): Promise<EmulatorHandle> {
  return startEmulator({
    port: 0,
    certPath: process.env.STEWARD_TEST_CERT_PATH,
    keyPath: process.env.STEWARD_TEST_KEY_PATH,
    ...opts,
  });
}

/** The real @azure/identity ClientSecretCredential, signing in at the emulator's token endpoint. */
export function emulatorSecretCredential(
  emulatorUrl: string,
  tenantId: string,
  clientId: string,
  secret: string,
): ClientSecretCredential {
  return new ClientSecretCredential(tenantId, clientId, secret, {
    authorityHost: emulatorUrl,
    disableInstanceDiscovery: true,
  });
}

/**
 * Options of an ARM SDK client pointed at the emulator: `endpoint` (the SDKs ignore `$host`) and
 * the ARM token scope (they would derive it from the endpoint otherwise).
 */
export function armClientOptions(
  emulatorUrl: string,
  retryOptions?: PipelineRetryOptions,
): { endpoint: string; credentialScopes: string[]; retryOptions?: PipelineRetryOptions } {
  return {
    endpoint: emulatorUrl,
    credentialScopes: ["https://management.azure.com/.default"],
    ...(retryOptions ? { retryOptions } : {}),
  };
}
