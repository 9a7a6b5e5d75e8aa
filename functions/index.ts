/**
 * The app's entry point (package.json "main"): checks the settings and the estate policy, so
 * that a bad one stops start-up with a precise error instead of failing every invocation, then
 * registers every function with the Functions host. Outside the host, @azure/functions skips
 * the registrations (test mode); the handlers stay callable from tests and the local runner.
 */
import { app } from "@azure/functions";
import { loadHeavySdks } from "../shared/azure/clients.js";
import { getSettings } from "../shared/config/settings.js";
import { getPolicy } from "../shared/policy/index.js";
import { allDefinitions } from "./all.js";
import type { FunctionDefinition } from "./definition.js";

getSettings();
getPolicy();

/**
 * In the bundle, the SDKs of promotion and reconciliation (queues, blobs, authorization, ML)
 * are a chunk that only an awaited loadHeavySdks() brings in; a client asked for before that
 * fails. Every function but the event path awaits it before its handler, so no handler, today's
 * or a new one, can forget; the event path, which must start fast, never needs those SDKs.
 */
function withHeavySdks(def: FunctionDefinition): FunctionDefinition {
  if (def.trigger === "eventGrid") return def;
  const handler = def.options.handler as (...args: unknown[]) => Promise<unknown>;
  const options = {
    ...def.options,
    handler: async (...args: unknown[]) => {
      await loadHeavySdks();
      return handler(...args);
    },
  };
  return { ...def, options } as FunctionDefinition;
}

for (const def of allDefinitions.map(withHeavySdks)) {
  switch (def.trigger) {
    case "eventGrid":
      app.eventGrid(def.name, def.options);
      break;
    case "storageQueue":
      app.storageQueue(def.name, def.options);
      break;
    case "http":
      app.http(def.name, def.options);
      break;
    case "timer":
      app.timer(def.name, def.options);
      break;
  }
}

export { allDefinitions };
