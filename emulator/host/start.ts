/**
 * `npm start [-- options]`: the local stack (Azurite, the Azure emulator with the Contoso-like
 * estate, the app's functions in the local host) until Ctrl-C, printing the endpoints and
 * writing the settings to an env file for `steward --env-file` or your own SDK code.
 *
 *   --env-out FILE       where to write the settings (default .steward/local.env)
 *   --emulator-port N    HTTPS port of the emulator (default: a free one)
 *   --host-port N        HTTP port of the functions host (default 7071, Core Tools' port; 0 = free)
 *   --log pretty|json    host log format (default pretty)
 *   --timers schedule|manual   fire timers on schedule (default) or only on demand
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { runCommand, stopOnSignals } from "../lifecycle.js";
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

  const out = (s = "") => process.stdout.write(s + "\n");
  out("");
  out("aml-steward local stack is running (Ctrl-C stops it).");
  out("");
  out(
    `  Azure emulator (ARM, Graph, Entra)  ${stack.emulator.url}   control API: ${stack.emulator.url}/_emulator/state`,
  );
  out(`  Functions host                      ${stack.host.url}`);
  for (const f of stack.host.functions) {
    const where =
      f.trigger === "http"
        ? `${stack.host.url}/api/${f.options.route ?? f.name}?code=<STEWARD_FUNCTION_KEY>`
        : f.trigger === "storageQueue"
          ? `queue '${f.options.queueName}'`
          : f.trigger === "timer"
            ? `schedule '${f.options.schedule}' (next ${stack.host.nextRun(f.name)?.toISOString() ?? "on demand"})`
            : `Event Grid subscription '${EVENT_SUBSCRIPTION}'`;
    out(`    ${f.name.padEnd(22)} ${f.trigger.padEnd(13)} ${where}`);
  }
  if (stack.missingModules.length > 0) out(`  Not available yet: ${stack.missingModules.join(", ")}`);
  out(`  Azurite (queues, tables, blobs)     ${stack.azurite?.queueUrl ?? "(given connection)"}`);
  out("");
  out(`Settings written to ${envFile}:`);
  for (const [k, v] of Object.entries(stack.settings)) out(`  ${k}=${v}`);
  out("");
  out("Try:");
  out(`  npx steward --env-file ${path.relative(process.cwd(), envFile)} policy show`);
  out(`  npx steward --env-file ${path.relative(process.cwd(), envFile)} reconcile --dry-run`);
  out("");

  stopOnSignals(
    () => stack.stop(),
    (signal) => process.stderr.write(`\n${signal}: stopping the local stack...\n`),
  );
}

runCommand(main);
