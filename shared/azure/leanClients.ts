/**
 * The event path's lean clients (leanArm.ts, leanTable.ts), built once per client set from the
 * same credential and settings as the SDK clients in clients.ts: tests and the local runner
 * rebuild `azure()` between stacks, and the lean clients follow it.
 */
import { getSettings, type Settings } from "../config/settings.js";
import { AccessTokens } from "./accessTokens.js";
import type { AzureClients } from "./clients.js";
import { LeanArmClient } from "./leanArm.js";
import { LeanTableClient, tableTarget } from "./leanTable.js";

export interface LeanClients {
  arm: LeanArmClient;
  /** Undefined when storage is configured in a way only the SDK speaks (SAS, development storage). */
  table?: LeanTableClient;
}

const built = new WeakMap<AzureClients, LeanClients>();

export function leanClients(clients: AzureClients, settings: Settings = getSettings()): LeanClients {
  let lean = built.get(clients);
  if (!lean) {
    const tokens = new AccessTokens(clients.credential);
    const target = tableTarget(settings);
    lean = {
      arm: new LeanArmClient(settings.STEWARD_ARM_ENDPOINT ?? "https://management.azure.com", tokens),
      table: target ? new LeanTableClient(target, tokens) : undefined,
    };
    built.set(clients, lean);
  }
  return lean;
}
