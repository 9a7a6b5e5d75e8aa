/**
 * The app's entry point (package.json "main"): checks the settings and the estate policy, so
 * that a bad one stops start-up with a precise error instead of failing every invocation, then
 * registers every function with the Functions host. Outside the host, @azure/functions skips
 * the registrations (test mode); the handlers stay callable from tests and the local runner.
 */
import { app } from "@azure/functions";
import { getSettings } from "../shared/config/settings.js";
import { getPolicy } from "../shared/policy/index.js";
import { allDefinitions } from "./all.js";

getSettings();
getPolicy();

for (const def of allDefinitions) {
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
