/**
 * `npm run emulator -- [--port N] [--seed FILE | --empty] [--cert-dir DIR] [--page-size N] [--no-rbac]`:
 * the emulator package's command line (emulator/cli.ts), except that without --seed it starts
 * with the Contoso estate and an outside client's service principal (seeds/outsideClient.ts),
 * whose credentials it prints; --empty starts bare.
 */
import { runCommand, runEmulatorCli } from "@aml-steward/azure-emulator/cli";
import { defaultCliSeed, OUTSIDE_CLIENT } from "./seeds/outsideClient.js";

runCommand(() =>
  runEmulatorCli(process.argv.slice(2), {
    defaultSeed: defaultCliSeed,
    describeDefaultSeed: (emulator) =>
      console.log(
        `\nOutside clients (Azure CLI, Python SDK, Cloud Custodian; docs/emulator.md) sign in as a service principal, Owner of the governed subscriptions:\n` +
          `export AZURE_TENANT_ID=${JSON.stringify(emulator.tenantId)}\n` +
          `export AZURE_CLIENT_ID=${JSON.stringify(OUTSIDE_CLIENT.appId)}\n` +
          `export AZURE_CLIENT_SECRET=${JSON.stringify(OUTSIDE_CLIENT.clientSecret)}\n` +
          `export REQUESTS_CA_BUNDLE=${JSON.stringify(emulator.caCertPath)}   # Python clients`,
      ),
  }),
);
