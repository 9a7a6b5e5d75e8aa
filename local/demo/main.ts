/**
 * `npm run demo [-- --verbose] [--html FILE] [--act ID]... [--policy FILE]`: the one-command demo
 * (with --policy, the acts that apply to that estate policy's setup). Makes the
 * emulator's certificate, re-runs itself trusting it (NODE_EXTRA_CA_CERTS is read at start-up),
 * plays the scenario and exits 0 only if every step did what it should.
 */
import { parseArgs } from "node:util";
import { ensureTrustedCertificate } from "../host/trust.js";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      verbose: { type: "boolean", default: false },
      html: { type: "string", default: "reports/demo.html" },
      act: { type: "string", multiple: true },
      policy: { type: "string" },
    },
  });
  const { certPath, keyPath } = await ensureTrustedCertificate();
  // Loaded only in the process that trusts the certificate: the app and the SDKs are slow to load twice.
  const { runDemo } = await import("./index.js");
  const result = await runDemo({
    certPath,
    keyPath,
    htmlPath: values.html,
    verbose: values.verbose,
    ...(values.act?.length ? { acts: values.act } : {}),
    ...(values.policy ? { policyPath: values.policy } : {}),
  });
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
