/**
 * What a demo act is (acts.ts lists them, some have a file of their own) and the ARM clients an
 * act uses to act as a seeded person.
 */
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { AzureMachineLearningWorkspaces } from "@azure/arm-machinelearning";
import { ResourceManagementClient } from "@azure/arm-resources";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import type { PromotionRecord } from "../../shared/promotion/record.js";
import type { LocalStack } from "../stack.js";

export interface Check {
  what: string;
  ok: boolean;
  detail?: string;
}

export interface ActResult {
  id: string;
  title: string;
  status: "passed" | "failed" | "unavailable";
  checks: Check[];
  notes: string[];
  durationMs: number;
  error?: string;
}

export interface DemoContext {
  stack: LocalStack;
  /** Shared between acts: what earlier acts made. */
  facts: {
    exploredResourceId?: string;
    strayResourceId?: string;
    promotion?: PromotionRecord;
    driftedResourceId?: string;
    refused?: PromotionRecord;
    project: string;
  };
  say(line: string): void;
}

export interface Act {
  id: string;
  title: string;
  /** Functions this act needs the app to have. */
  needs: string[];
  run(ctx: DemoContext, check: (what: string, ok: boolean, detail?: string) => void): Promise<void>;
}

const armOptions = (url: string) => ({
  endpoint: url,
  credentialScopes: ["https://management.azure.com/.default"],
  retryOptions: { maxRetries: 3, retryDelayInMs: 100, maxRetryDelayInMs: 1000 },
});

/** ARM clients acting as a seeded person, as the portal or the CLI would on their behalf. */
export function as(stack: LocalStack, person: { objectId: string }, subscriptionId: string) {
  const cred = new EmulatorPrincipalCredential(stack.emulator.url, person);
  return {
    arm: new ResourceManagementClient(cred, subscriptionId, armOptions(stack.emulator.url)),
    ml: new AzureMachineLearningWorkspaces(cred, subscriptionId, armOptions(stack.emulator.url)),
    auth: new AuthorizationManagementClient(cred, subscriptionId, armOptions(stack.emulator.url)),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads until `done` holds or `timeoutMs` has passed, every `everyMs`; returns the last read. */
export async function until<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await read();
  while (!done(v) && Date.now() < deadline) {
    await sleep(everyMs);
    v = await read();
  }
  return v;
}
