/**
 * `npm start [-- options]`: the local stack (Azurite, the Azure emulator with the Contoso-like
 * estate, the app's functions in the local host) until Ctrl-C, printing the endpoints and
 * writing the settings (and every URL and key needed to call each function) to an env file for
 * `steward --settings` or your own code.
 *
 *   --env-out FILE       where to write the settings (default .steward/local.env)
 *   --emulator-port N    HTTPS port of the emulator (default: a free one)
 *   --host-port N        HTTP port of the functions host (default 7071, Core Tools' port; 0 = free)
 *   --log pretty|json    host log format (default pretty)
 *   --timers schedule|manual   fire timers on schedule (default) or only on demand
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { runCommand, stopOnSignals } from "@aml-steward/azure-emulator/cli";
import { ensureTrustedCertificate } from "./trust.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "env-out": { type: "string", default: ".steward/local.env" },
      "emulator-port": { type: "string", default: "0" },
      "host-port": { type: "string", default: "7071" },
      log: { type: "string", default: "pretty" },
      timers: { type: "string", default: "schedule" },
    },
  });
  const { certPath, keyPath } = await ensureTrustedCertificate();
  // Loaded only in the process that trusts the certificate: the app and the SDKs are slow to load twice.
  const { EVENT_SUBSCRIPTION, startLocalStack } = await import("../stack.js");
  const stack = await startLocalStack({
    certPath,
    keyPath,
    emulatorPort: Number(values["emulator-port"]),
    hostPort: Number(values["host-port"]),
    log: { format: values.log === "json" ? "json" : "pretty" },
    timers: values.timers === "manual" ? "manual" : "schedule",
  });
  const envFile = path.resolve(values["env-out"]!);
  await stack.writeEnvFile(envFile);

  const { stackBanner } = await import("./banner.js");
  process.stdout.write(
    stackBanner(stack, {
      envFile: path.relative(process.cwd(), envFile),
      eventSubscription: EVENT_SUBSCRIPTION,
    }) + "\n",
  );

  stopOnSignals(
    () => stack.stop(),
    (signal) => process.stderr.write(`\n${signal}: stopping the local stack...\n`),
  );
}

runCommand(main);
