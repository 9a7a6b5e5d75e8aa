/**
 * The demo's scenario, one act per function, each acting as a real person would (through the
 * real SDKs, as that person) and then checking its own outcome. An act whose functions the app
 * does not have yet reports "not available yet" instead of pretending.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import { azure } from "../../shared/azure/clients.js";
import { QUEUES, TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { environmentNames } from "../../shared/policy/index.js";
import { CREATED_BY_SUFFIX } from "../../shared/promotion/plan.js";
import { PromotionRecords, type PromotionRecord } from "../../shared/promotion/record.js";
import { envelopeFor } from "../../shared/promotion/envelope.js";
import { enqueuePromotionMessage } from "../../shared/promotion/submit.js";
import { explorationIds, PEOPLE, STEWARD_API, USE_CASE } from "../seeds/contoso.js";
import type { LocalStack } from "../stack.js";
import { as, until, type Act } from "./act.js";
import { tamper } from "./tamperAct.js";

// The vocabulary of acts lives in act.ts, so that acts in their own files need not import this list.
export type { Act, ActResult, Check, DemoContext } from "./act.js";
export { as } from "./act.js";

const EXAMPLE_REQUEST = JSON.parse(
  readFileSync(new URL("../../docs/examples/promotion-request.json", import.meta.url), "utf8"),
) as Record<string, unknown>;

/** Puts a request or decision on the queue in an envelope with `person`'s token for the app's API. */
export async function sendAs(
  stack: LocalStack,
  person: { objectId: string },
  content: Parameters<typeof envelopeFor>[1],
): Promise<void> {
  const credential = new EmulatorPrincipalCredential(stack.emulator.url, person);
  const token = await credential.getToken(`api://${STEWARD_API.appId}/.default`);
  await enqueuePromotionMessage(azure().queue(QUEUES.promotions), envelopeFor(token.token, content));
}

export async function waitForRecord(
  requestId: string,
  timeoutMs: number,
  done: (r: PromotionRecord) => boolean = (r) => ["succeeded", "rejected", "failed"].includes(r.status),
): Promise<PromotionRecord | undefined> {
  const records = new PromotionRecords(azure().table(TABLES.promotions));
  return until(
    () => records.get(requestId),
    (r) => !!r && done(r),
    timeoutMs,
    200,
  );
}

// ---------------------------------------------------------------- act 1

const explore: Act = {
  id: "explore",
  title: "A data scientist experiments in the exploration workspace",
  needs: ["onResourceWrite"],
  async run(ctx, check) {
    const { stack } = ctx;
    const policy = stack.policy;
    const { subscriptionId, rg } = explorationIds(policy);
    const alice = as(stack, PEOPLE.alice, subscriptionId);
    const name = `stalice${randomUUID().replace(/-/g, "").slice(0, 8)}`;
    const id = `${rg}/providers/Microsoft.Storage/storageAccounts/${name}`;
    ctx.say(
      `Alice (data scientist) creates storage account ${name} in ${policy.exploration.resourceGroup}, with no tags`,
    );
    await alice.arm.resources.beginCreateOrUpdateByIdAndWait(id, "2023-01-01", {
      location: policy.regions.default,
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
    });
    const created = Date.now();
    const t = policy.tags;
    const tagged = await until(
      async () => (await alice.arm.tagsOperations.getAtScope(id)).properties?.tags ?? {},
      (tags) => !!tags[t.costCenter] && !!tags[t.createdBy] && !!tags[t.createdOn],
      5000,
      25,
    );
    const elapsed = Date.now() - created;
    ctx.facts.exploredResourceId = id;
    check(
      `inherits the exploration cost centre (${t.costCenter}=${policy.exploration.costCenter})`,
      tagged[t.costCenter] === policy.exploration.costCenter,
      tagged[t.costCenter],
    );
    check(
      `records who created it (${t.createdBy}=${PEOPLE.alice.userPrincipalName})`,
      tagged[t.createdBy] === PEOPLE.alice.userPrincipalName,
      tagged[t.createdBy],
    );
    check(
      `records when (${t.createdOn})`,
      /^\d{4}-\d{2}-\d{2}$/.test(tagged[t.createdOn] ?? ""),
      tagged[t.createdOn],
    );
    check("tagged within the second", elapsed < 1000, `${elapsed} ms after creation`);

    const outside = ["eastus", "westus2", "australiaeast"].find((r) => !policy.regions.allowed.includes(r))!;
    const stray = `${rg}/providers/Microsoft.Storage/storageAccounts/stalicestray${randomUUID().slice(0, 4)}`;
    ctx.say(`Alice also creates a storage account in ${outside}, outside the estate's regions`);
    await alice.arm.resources.beginCreateOrUpdateByIdAndWait(stray, "2023-01-01", {
      location: outside,
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
    });
    ctx.facts.strayResourceId = stray;
    const violations = new ViolationLog(azure().table(TABLES.violations));
    const found = await until(
      () => violations.list({ subscriptionId, resourceId: stray }),
      (v) => v.some((x) => x.kind === "region"),
      5000,
      100,
    );
    check(
      "flags the region violation (and deletes nothing)",
      found.some((x) => x.kind === "region"),
      found.map((v) => v.detail).join("; "),
    );
  },
};

// ---------------------------------------------------------------- act 2

const promote: Act = {
  id: "promote",
  title: "The use case is promoted: its environments are built",
  needs: ["processPromotion"],
  async run(ctx, check) {
    const { stack } = ctx;
    const policy = stack.policy;
    const request: Record<string, unknown> & { requestId: string } = {
      ...EXAMPLE_REQUEST,
      requestId: randomUUID(),
      // Every environment the policy has (the example names Contoso's three).
      environments: policy.environments.map((e) => e.name),
    };
    const project = String(request.project);
    ctx.facts.project = project;
    ctx.say(
      `Alice (data scientist) asks for project ${project} on the '${QUEUES.promotions}' queue, signed with her Entra token`,
    );
    await sendAs(stack, PEOPLE.alice, { request });
    const waiting = await waitForRecord(request.requestId, 15_000, (r) => r.status !== "accepted");
    check(
      "a new project waits for its budget owner's approval; nothing is built yet",
      waiting?.status === "awaitingApproval",
      waiting ? `${waiting.status}, approvers ${waiting.approval?.group.name ?? "-"}` : "no record",
    );
    ctx.say("Alice tries to approve her own request");
    await sendAs(stack, PEOPLE.alice, { approval: { requestId: request.requestId, decision: "approve" } });
    const self = await waitForRecord(request.requestId, 15_000, (r) => (r.decisions ?? []).length > 0);
    const refused = self?.decisions?.[0];
    check(
      "self-approval is refused and recorded",
      refused?.outcome === "refused" && self?.status === "awaitingApproval",
      refused?.reason ?? "no decision recorded",
    );
    ctx.say(
      `Erin (budget owner of ${String(request.costCenter)}) approves plan ${waiting?.planHash?.slice(0, 12)}…`,
    );
    await sendAs(stack, PEOPLE.erin, {
      approval: { requestId: request.requestId, decision: "approve", planHash: waiting?.planHash },
    });
    const record = await waitForRecord(request.requestId, 45_000);
    ctx.facts.promotion = record;
    check(
      "the request succeeds",
      record?.status === "succeeded",
      record ? `${record.status}${record.lastError ? `: ${record.lastError}` : ""}` : "no record",
    );
    if (record?.status !== "succeeded") return;

    const sub = policy.projectSubscriptionId;
    const erin = as(stack, PEOPLE.erin, sub);
    const envs = policy.environments.map((e) => e.name);
    const t = policy.tags;
    const createdBy = `${String(request.requestedBy)}${CREATED_BY_SUFFIX}`;
    let rgOk = 0;
    let createdOk = 0;
    let wsOk = 0;
    let raOk = 0;
    const raDetail: string[] = [];
    for (const env of envs) {
      const n = environmentNames(policy, project, env);
      const rg = await erin.arm.resourceGroups.get(n.resourceGroup).catch(() => undefined);
      if (rg?.tags?.[t.costCenter] === request.costCenter && rg?.tags?.[t.environment] === env) rgOk++;
      if (rg?.tags?.[t.createdBy] === createdBy && rg?.tags?.[t.createdOn] === record.acceptedAt.slice(0, 10))
        createdOk++;
      const ws = await erin.ml.workspaces.get(n.resourceGroup, n.workspace).catch(() => undefined);
      if (ws?.provisioningState === "Succeeded") wsOk++;
      const expected = policy.roles.reduce(
        (sum, r) => sum + (policy.accessMatrix[r.name]?.[env]?.length ?? 0),
        0,
      );
      let groupAssignments = 0;
      for await (const ra of erin.auth.roleAssignments.listForScope(
        rg?.id ?? `/subscriptions/${sub}/resourceGroups/${n.resourceGroup}`,
        { filter: "atScope()" },
      )) {
        if (ra.principalType === "Group") groupAssignments++;
      }
      if (groupAssignments === expected) raOk++;
      raDetail.push(`${env}: ${groupAssignments}/${expected} to groups`);
    }
    check(
      `a resource group per environment, tagged by policy (${envs.join(", ")})`,
      rgOk === envs.length,
      `${rgOk} of ${envs.length}`,
    );
    check(
      `each records its creator (${t.createdBy}=${createdBy}) and the day the request was accepted`,
      createdOk === envs.length,
      `${createdOk} of ${envs.length}`,
    );
    check("an ML workspace per environment, provisioned", wsOk === envs.length, `${wsOk} of ${envs.length}`);
    const groups = record.resources.filter((r) => r.startsWith("group:"));
    check(
      "an Entra group per role and environment",
      groups.length === policy.roles.length * envs.length,
      `${groups.length} groups for ${policy.roles.length} roles x ${envs.length} environments`,
    );
    check(
      "role assignments to groups exactly as the access matrix says",
      raOk === envs.length,
      raDetail.join(", "),
    );

    const dev = environmentNames(policy, project, envs[0]!);
    const { rg: exRg } = explorationIds(policy);
    const exRgName = exRg.split("/").pop()!;
    const explorationMl = as(stack, PEOPLE.erin, policy.exploration.subscriptionId).ml;
    const model = await erin.ml.modelVersions
      .get(dev.resourceGroup, dev.workspace, "fraud-classifier", "3")
      .catch(() => undefined);
    check(
      `the ${USE_CASE.id} model is in the dev workspace`,
      !!model,
      model ? `fraud-classifier v3 in ${dev.workspace}` : "missing",
    );
    const source = await explorationMl.modelVersions.get(
      exRgName,
      policy.exploration.workspace,
      "fraud-classifier",
      "3",
    );
    check(
      "and archived in exploration, marked promotedTo",
      source.properties.isArchived === true && source.properties.tags?.promotedTo === project,
      `isArchived=${source.properties.isArchived}, promotedTo=${source.properties.tags?.promotedTo}`,
    );
  },
};

// ---------------------------------------------------------------- act 3

const drift: Act = {
  id: "drift",
  title: "Someone changes a cost tag by hand; the reconciliation puts it back",
  needs: ["processPromotion", "reconcileCostTags", "reconcileSubscription"],
  async run(ctx, check) {
    const { stack } = ctx;
    const policy = stack.policy;
    const sub = policy.projectSubscriptionId;
    const project = ctx.facts.project;
    const dev = environmentNames(policy, project, policy.environments[0]!.name);
    const dave = as(stack, PEOPLE.dave, sub);
    let target: string | undefined;
    for await (const r of dave.arm.resources.listByResourceGroup(dev.resourceGroup)) {
      if (r.type?.toLowerCase() === "microsoft.storage/storageaccounts") target = r.id;
    }
    check(
      `the dev environment has a storage account to tamper with`,
      !!target,
      target ?? `none in ${dev.resourceGroup}`,
    );
    if (!target) return;
    const t = policy.tags;
    const right = (await dave.arm.tagsOperations.getAtScope(target)).properties?.tags?.[t.costCenter];
    ctx.facts.driftedResourceId = target;
    ctx.say(
      `Dave changes ${t.costCenter} on ${target.split("/").pop()} from ${right} to CC-0000-MISC in the portal`,
    );
    await dave.arm.tagsOperations.beginUpdateAtScopeAndWait(target, {
      operation: "Merge",
      properties: { tags: { [t.costCenter]: "CC-0000-MISC" } },
    });
    const timer = stack.host.functions.find((f) => f.trigger === "timer")!;
    ctx.say(
      `The nightly timer (${timer.name}) runs now, on demand; it fans out one message per subscription`,
    );
    const since = stack.host.invocations.length;
    const fanOut = await stack.host.runTimer(timer.name);
    check("the timer fans out", fanOut.ok, fanOut.error?.message ?? "ok");
    const queueFn = "reconcileSubscription";
    await until(
      async () => stack.host.invocations.slice(since).filter((i) => i.functionName === queueFn).length,
      (n) => n >= policy.governedSubscriptions.length,
      30_000,
      100,
    );
    const runs = stack.host.invocations.slice(since).filter((i) => i.functionName === queueFn);
    check(
      "each governed subscription is reconciled by its own queue invocation",
      runs.length >= policy.governedSubscriptions.length && runs.every((r) => r.ok),
      `${runs.length} invocation(s), ${runs.filter((r) => r.ok).length} succeeded`,
    );
    const after = (await dave.arm.tagsOperations.getAtScope(target)).properties?.tags?.[t.costCenter];
    check(`${t.costCenter} is back to ${right}`, after === right, `now ${after}`);
  },
};

// ---------------------------------------------------------------- act 4

const refuse: Act = {
  id: "refuse",
  title: "A bad promotion request is refused, with its reasons",
  needs: ["processPromotion"],
  async run(ctx, check) {
    const { stack } = ctx;
    const policy = stack.policy;
    const request = {
      ...EXAMPLE_REQUEST,
      requestId: randomUUID(),
      project: "side-quest",
      costCenter: "CC-9999-UNFUNDED",
      region: ["eastus", "westus2"].find((r) => !policy.regions.allowed.includes(r)),
      owners: ["mallory@contoso.com"],
      requestedBy: PEOPLE.bob.userPrincipalName,
    };
    ctx.say(
      "Bob asks for project side-quest: unfunded cost centre, a region outside policy, an unknown owner",
    );
    await sendAs(stack, PEOPLE.bob, { request });
    const record = await waitForRecord(request.requestId, 30_000);
    ctx.facts.refused = record;
    check("the request is rejected", record?.status === "rejected", record?.status ?? "no record");
    const reasons = record?.reasons ?? [];
    check("with every reason", reasons.length >= 2, reasons.map((r) => `${r.path}: ${r.reason}`).join("; "));
    const dev = environmentNames(policy, "side-quest", policy.environments[0]!.name);
    const rg = await as(stack, PEOPLE.erin, policy.projectSubscriptionId)
      .arm.resourceGroups.get(dev.resourceGroup)
      .catch(() => undefined);
    check("and nothing is created", !rg, rg ? `${dev.resourceGroup} exists` : `no ${dev.resourceGroup}`);
  },
};

export const ACTS: Act[] = [explore, promote, drift, tamper, refuse];
