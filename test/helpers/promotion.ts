/**
 * A promotion test world: the test stack (emulator + Azurite + app settings), the local
 * Functions host running the real `processPromotion` handler on a queue of this file's own
 * (files run in parallel against one Azurite), and helpers to send requests, wait for their
 * records and count what reached ARM and Graph.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { QueueServiceClient, type QueueClient } from "@azure/storage-queue";
import { startHost, type LocalHost } from "../../local/host/index.js";
import type { RequestLogEntry } from "@aml-steward/azure-emulator";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { AuditLog } from "../../shared/ledger/audit.js";
import type { ExecuteOptions } from "../../shared/promotion/execute.js";
import { PromotionRecords, type PromotionRecord } from "../../shared/promotion/record.js";
import { createPromotionHandler, definitions } from "../../functions/processPromotion.js";
import type { FunctionDefinition } from "../../functions/definition.js";
import { PEOPLE } from "../../local/seeds/contoso.js";
import { envelopeFor } from "../../shared/promotion/envelope.js";
import { startTestStack, type TestStack } from "./stack.js";
import { DEFAULT_POLICY_PATH } from "../../shared/policy/index.js";
import { resetAccessState } from "../../shared/access/runtime.js";
import { startWebhook, subscribeToWrites, type WebhookHarness } from "../integration/tagging-harness.js";

/** The seeded person a request's requestedBy names (UPN or object id). */
export function personNamed(ref: unknown): { objectId: string } | undefined {
  if (typeof ref !== "string") return undefined;
  const r = ref.toLowerCase();
  return Object.values(PEOPLE).find((p) => p.userPrincipalName === r || p.objectId === r);
}

export const EXAMPLE_REQUEST = JSON.parse(
  readFileSync(new URL("../../docs/examples/promotion-request.json", import.meta.url), "utf8"),
) as Record<string, unknown>;

/** Back-off and polling shortened for tests; the logic is the production one. */
export const FAST: ExecuteOptions = {
  pollIntervalMs: 50,
  backoff: {
    replication: { delaysMs: [100, 200, 400, 800, 1600, 3200] },
    graphVisibility: { delaysMs: [100, 200, 400, 800, 1600, 3200] },
  },
};

export interface PromotionWorld {
  stack: TestStack;
  queueName: string;
  queue: QueueClient;
  poison: QueueClient;
  records: PromotionRecords;
  audit: AuditLog;
  host?: LocalHost;
  /** (Re)starts the host with a handler built from these executor options. */
  startHost(options?: ExecuteOptions): Promise<LocalHost>;
  stopHost(): Promise<void>;
  /** Puts exactly this on the queue (for malformed and forged messages). */
  send(message: unknown): Promise<void>;
  /** Sends a request in an envelope with `as`'s token (default: the person its requestedBy names, else Alice). */
  submit(body: Record<string, unknown>, as?: { objectId: string }): Promise<void>;
  /** Sends an approval decision in an envelope with `as`'s token (default: Erin, the budget owner). */
  decide(
    requestId: string,
    as?: { objectId: string },
    over?: { decision?: "approve" | "reject"; comment?: string; planHash?: string },
  ): Promise<void>;
  /** Removes a project from aml-steward's registry (a test that starts the estate afresh). */
  forgetProject(project: string): Promise<void>;
  /** submit, wait until it awaits approval, and approve it as Erin. */
  promote(body: Record<string, unknown>, as?: { objectId: string }): Promise<PromotionRecord>;
  request(over?: Record<string, unknown>): Record<string, unknown> & { requestId: string };
  waitForRecord(
    requestId: string,
    until: (r: PromotionRecord) => boolean,
    timeoutMs?: number,
  ): Promise<PromotionRecord>;
  /** ARM and Graph requests the emulator saw since `since` (ms epoch). */
  azureRequests(since: number): Promise<RequestLogEntry[]>;
  stop(): Promise<void>;
}

export async function startPromotionWorld(): Promise<PromotionWorld> {
  const stack = await startTestStack();
  // Fast LROs without Retry-After, so the executor's short polling interval applies.
  await stack.control("POST", "/_emulator/faults", { lroDurationMs: 150, lroRetryAfterSeconds: 0 });
  const queueName = `promotion-requests-${randomUUID().slice(0, 8)}`;
  const service = QueueServiceClient.fromConnectionString(stack.storageConnection);
  const queue = service.getQueueClient(queueName);
  const poison = service.getQueueClient(`${queueName}-poison`);
  await queue.createIfNotExists();
  await poison.createIfNotExists();

  const world: PromotionWorld = {
    stack,
    queueName,
    queue,
    poison,
    records: new PromotionRecords(azure().table(TABLES.promotions)),
    audit: new AuditLog(azure().table(TABLES.audit)),
    async startHost(options = FAST) {
      await world.stopHost();
      const base = definitions[0]!;
      if (base.trigger !== "storageQueue") throw new Error("processPromotion must be a queue function");
      const handler = createPromotionHandler(options);
      const def: FunctionDefinition = {
        name: base.name,
        trigger: "storageQueue",
        options: { ...base.options, queueName, handler: async (m, c) => void (await handler(m, c)) },
      };
      world.host = await startHost({
        definitions: [def],
        queues: { visibilityTimeoutMs: 200, minPollingIntervalMs: 50, maxPollingIntervalMs: 200 },
        timers: "manual",
        log: {
          write: process.env.STEWARD_TEST_HOST_LOG ? (line) => process.stderr.write(line + "\n") : () => {},
        },
      });
      return world.host;
    },
    async stopHost() {
      await world.host?.stop();
      world.host = undefined;
    },
    async send(message) {
      const text = typeof message === "string" ? message : JSON.stringify(message);
      await queue.sendMessage(Buffer.from(text, "utf8").toString("base64"));
    },
    async submit(body, as) {
      const who = as ?? personNamed(body.requestedBy) ?? PEOPLE.alice;
      await world.send(envelopeFor(await stack.apiToken(who.objectId), { request: body }));
    },
    async decide(requestId, as = PEOPLE.erin, over = {}) {
      const approval = { requestId, decision: over.decision ?? "approve", ...over };
      await world.send(envelopeFor(await stack.apiToken(as.objectId), { approval }));
    },
    async forgetProject(project) {
      await azure()
        .table(TABLES.promotions)
        .deleteEntity("project", project.toLowerCase())
        .catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 404) throw e;
        });
    },
    async promote(body, as) {
      await world.submit(body, as);
      const waiting = await world.waitForRecord(body.requestId as string, (r) =>
        ["awaitingApproval", "rejected", "failed"].includes(r.status),
      );
      if (waiting.status !== "awaitingApproval")
        throw new Error(`promotion was ${waiting.status}: ${JSON.stringify(waiting.reasons)}`);
      await world.decide(waiting.requestId);
      return waiting;
    },
    request(over = {}) {
      return { ...EXAMPLE_REQUEST, requestId: randomUUID(), ...over } as Record<string, unknown> & {
        requestId: string;
      };
    },
    async waitForRecord(requestId, until, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: PromotionRecord | undefined;
      while (Date.now() < deadline) {
        last = await world.records.get(requestId);
        if (last && until(last)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(
        `promotion ${requestId} did not reach the expected state; last record: ${JSON.stringify(last, null, 1)?.slice(0, 3000)}`,
      );
    },
    async azureRequests(since) {
      const log = await stack.control<{ requests: RequestLogEntry[] }>(
        "GET",
        `/_emulator/requests?since=${encodeURIComponent(new Date(since).toISOString())}`,
      );
      return log.requests.filter((r) => r.kind === "arm" || r.kind === "graph");
    },
    async stop() {
      await world.stopHost();
      await queue.deleteIfExists();
      await poison.deleteIfExists();
      await stack.stop();
    },
  };
  return world;
}

/** Graph's read-only POST actions (they answer questions, they change nothing). */
const READ_ONLY_POST = /\/(checkMemberGroups|getMemberGroups|getByIds)$/i;

export const isWrite = (r: RequestLogEntry) =>
  !["GET", "HEAD", "OPTIONS"].includes(r.method.toUpperCase()) &&
  !(r.method.toUpperCase() === "POST" && READ_ONLY_POST.test(r.path));

/**
 * Points STEWARD_POLICY_PATH at an edited copy of a policy file (YAML in, JSON out, in a
 * temporary directory): the tests that need one rule changed start from the real policy.
 */
export function useEditedPolicy(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a policy document edited freely, then validated on load
  edit: (doc: Record<string, any>) => void,
  from: string = DEFAULT_POLICY_PATH,
): string {
  const doc = parseYaml(readFileSync(from, "utf8")) as Record<string, unknown>;
  edit(doc);
  const file = join(mkdtempSync(join(tmpdir(), "steward-policy-")), "policy.json");
  writeFileSync(file, JSON.stringify(doc));
  process.env.STEWARD_POLICY_PATH = file;
  return file;
}

/**
 * A world under the current policy whose example project is promoted (dev, qa, prod), with the
 * project subscription's writes delivered to the real onResourceWrite handler as deployed (the
 * event subscription `name`, filtered like infra's).
 */
export async function promotedWorldWithEvents(
  name: string,
): Promise<{ w: PromotionWorld; hook: WebhookHarness; sub: string }> {
  const w = await startPromotionWorld();
  await w.startHost();
  const { requestId } = await w.promote(w.request());
  const record = await w.waitForRecord(requestId, (r) =>
    ["succeeded", "failed", "rejected"].includes(r.status),
  );
  if (record.status !== "succeeded") throw new Error(`the example promotion ${record.status}`);
  const sub = w.stack.policy.projectSubscriptionId;
  const hook = await startWebhook();
  resetAccessState();
  await subscribeToWrites(w.stack, name, hook.url, sub);
  return { w, hook, sub };
}
