/**
 * Which acts the demo plays for a policy, and the acts only some setups have: a team onboarded
 * and a project promoted from its workspace (policy `teams`), a model published to the
 * project's registry from dev and read from prod (`mlRegistry: perProject`), a project request
 * refused where the estate has none (`projects: false`), a project's workspaces in every region
 * of its region plan and a stray outside it flagged (`regionPlans`). `npm run demo -- --policy FILE`
 * plays the acts that apply to that setup, so every example policy runs.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { environmentNames, type EstatePolicy } from "../../shared/policy/index.js";
import { projectRegionPlan, regionsByRole } from "../../shared/policy/regionPlans.js";
import { REGION_ROLES } from "../../shared/policy/schema.js";
import { registryName, TEAM_ENV } from "../../shared/policy/setupRules.js";
import { ML_REGISTRY_API_VERSION } from "../../shared/promotion/registryPlan.js";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { PEOPLE } from "../seeds/contoso.js";
import { ACTS, as, sendAs, waitForRecord, type Act } from "./acts.js";
import { segregate, segregatedEnvironments } from "./segregationAct.js";

const EXAMPLE_REQUEST = JSON.parse(
  readFileSync(new URL("../../docs/examples/promotion-request.json", import.meta.url), "utf8"),
) as Record<string, unknown>;

const act = (id: string) => ACTS.find((a) => a.id === id)!;

/** The acts of the demo for this policy, in order. */
export function actsFor(policy: EstatePolicy): Act[] {
  if (!policy.projects) return [act("explore"), noProjects, act("refuse")];
  return [
    act("explore"),
    act("promote"),
    ...(policy.mlRegistry === "perProject" && policy.environments.length > 1 ? [rollout] : []),
    ...(Object.keys(policy.regionPlans.projects).length > 0 ? [regions] : []),
    ...(policy.teams.length > 0 ? [team] : []),
    act("drift"),
    act("tamper"),
    ...(segregatedEnvironments(policy) ? [segregate] : []),
    act("refuse"),
  ];
}

/** Sends a request as Alice, has Erin approve it, and returns the final record. */
async function promoteAsAlice(
  ctx: Parameters<Act["run"]>[0],
  request: Record<string, unknown> & { requestId: string },
) {
  await sendAs(ctx.stack, PEOPLE.alice, { request });
  const waiting = await waitForRecord(request.requestId, 15_000, (r) => r.status !== "accepted");
  if (waiting?.status !== "awaitingApproval") return waiting;
  await sendAs(ctx.stack, PEOPLE.erin, {
    approval: { requestId: request.requestId, decision: "approve", planHash: waiting.planHash },
  });
  return waitForRecord(request.requestId, 45_000);
}

const team: Act = {
  id: "team",
  title: "A team gets its workspace, and a project is promoted from it",
  needs: ["processPromotion"],
  async run(ctx, check) {
    const { stack } = ctx;
    const policy = stack.policy;
    const t = policy.teams[0]!;
    const { environments: _all, ...base } = EXAMPLE_REQUEST;
    const onboarding = {
      ...base,
      requestId: randomUUID(),
      kind: "team",
      project: t.name,
      costCenter: t.costCenter,
      useCaseId: "onboarding",
    };
    ctx.say(`Alice asks to onboard team ${t.name} (${t.costCenter}); its budget owner approves`);
    const r = await promoteAsAlice(ctx, onboarding);
    check(
      "the team onboarding is approved and built",
      r?.status === "succeeded",
      r ? `${r.status}${r.lastError ? `: ${r.lastError}` : ""}` : "no record",
    );
    if (r?.status !== "succeeded") return;
    const n = environmentNames(policy, t.name, TEAM_ENV);
    const erin = as(stack, PEOPLE.erin, policy.projectSubscriptionId);
    const ws = await erin.ml.workspaces.get(n.resourceGroup, n.workspace).catch(() => undefined);
    check(
      `team workspace ${n.workspace}, tagged with the team`,
      ws?.provisioningState === "Succeeded" && ws.tags?.[policy.tags.project] === t.name,
      ws ? `${policy.tags.project}=${ws.tags?.[policy.tags.project]}` : "missing",
    );
    const groups = r.resources.filter((x) => x.startsWith("group:"));
    check("one Entra group per role", groups.length === policy.roles.length, `${groups.length} groups`);

    const wsId = `/subscriptions/${policy.projectSubscriptionId}/resourceGroups/${n.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${n.workspace}`;
    ctx.say(`Alice registers model card-scorer v1 in ${n.workspace} for use case card-scoring`);
    const alice = as(stack, PEOPLE.alice, policy.projectSubscriptionId);
    await alice.ml.modelContainers.createOrUpdate(n.resourceGroup, n.workspace, "card-scorer", {
      properties: { description: "card scorer" },
    });
    await alice.ml.modelVersions.createOrUpdate(n.resourceGroup, n.workspace, "card-scorer", "1", {
      properties: {
        modelType: "mlflow_model",
        modelUri: "azureml://datastores/workspaceblobstore/paths/models/card-scorer/1",
        tags: { useCase: "card-scoring" },
      },
    });
    const project = `${t.name}-card-scoring`;
    ctx.say(`Alice asks for project ${project}, promoted from team workspace ${n.workspace}`);
    const p = await promoteAsAlice(ctx, {
      ...EXAMPLE_REQUEST,
      requestId: randomUUID(),
      project,
      useCaseId: "card-scoring",
      costCenter: t.costCenter,
      fromTeam: t.name,
      environments: policy.environments.map((e) => e.name),
    });
    check(
      "the project is promoted from the team workspace",
      p?.status === "succeeded" && p.plan?.assets.sourceWorkspaceId.toLowerCase() === wsId.toLowerCase(),
      p ? `${p.status}${p.lastError ? `: ${p.lastError}` : ""}` : "no record",
    );
    const dev = environmentNames(policy, project, policy.environments[0]!.name);
    const copy = await erin.ml.modelVersions
      .get(dev.resourceGroup, dev.workspace, "card-scorer", "1")
      .catch(() => undefined);
    check(
      `card-scorer v1 is in ${dev.workspace}`,
      copy?.properties.tags?.promotedFrom?.toLowerCase() === wsId.toLowerCase(),
      copy ? `promotedFrom ${copy.properties.tags?.promotedFrom}` : "missing",
    );
  },
};

const rollout: Act = {
  id: "rollout",
  title: "A model is published to the project's registry in dev and read from prod",
  needs: ["processPromotion"],
  async run(ctx, check) {
    const { stack } = ctx;
    const policy = stack.policy;
    const project = ctx.facts.project;
    const record = ctx.facts.promotion;
    const dev = environmentNames(policy, project, policy.environments[0]!.name);
    const id = `/subscriptions/${policy.projectSubscriptionId}/resourceGroups/${dev.resourceGroup}/providers/Microsoft.MachineLearningServices/registries/${registryName(policy, project)}`;
    check(
      "the promotion created the project's registry",
      !!record?.resources.includes(id),
      id.split("/").pop(),
    );
    const granted = record?.plan?.registry?.roleAssignments.map((r) => `${r.env}: ${r.assignments.length}`);
    check(
      "each environment's groups hold the registry roles of their matrix cell",
      (record?.plan?.registry?.roleAssignments.length ?? 0) === policy.environments.length,
      granted?.join(", "),
    );
    const alice = as(stack, PEOPLE.alice, policy.projectSubscriptionId).arm;
    const version = `${id}/models/fraud-classifier/versions/3`;
    ctx.say("Alice publishes fraud-classifier v3 from dev to the registry");
    await alice.resources.beginCreateOrUpdateByIdAndWait(
      `${id}/models/fraud-classifier`,
      ML_REGISTRY_API_VERSION,
      { properties: { description: "fraud classifier", tags: {}, properties: {} } },
    );
    await alice.resources.beginCreateOrUpdateByIdAndWait(version, ML_REGISTRY_API_VERSION, {
      properties: {
        modelType: "mlflow_model",
        modelUri: `azureml://registries/${registryName(policy, project)}/models/fraud-classifier/versions/3`,
        tags: { stage: "validated" },
        properties: {},
      },
    });
    const prod = policy.environments.at(-1)!.name;
    ctx.say(`Carol (mlops) reads it for ${prod}, without copying data between workspaces`);
    const read = await as(stack, PEOPLE.carol, policy.projectSubscriptionId)
      .arm.resources.getById(version, ML_REGISTRY_API_VERSION)
      .catch((e: Error) => e);
    check(
      `${prod} reads the version dev published`,
      !(read instanceof Error) &&
        (read.properties as { tags?: Record<string, string> }).tags?.stage === "validated",
      read instanceof Error ? read.message : "fraud-classifier v3",
    );
  },
};

const regions: Act = {
  id: "regions",
  title: "The project spans the regions of its plan, and nothing of it strays outside",
  needs: ["processPromotion", "onResourceWrite"],
  async run(ctx, check) {
    const { stack } = ctx;
    const policy = stack.policy;
    const project = ctx.facts.project;
    const planned = ctx.facts.promotion?.plan?.regions;
    check("the promotion followed the project's region plan", !!planned, planned?.plan ?? "no plan");
    if (!planned) return;
    const sub = policy.projectSubscriptionId;
    const erin = as(stack, PEOPLE.erin, sub);
    for (const env of policy.environments.map((e) => e.name)) {
      const rg = environmentNames(policy, project, env).resourceGroup;
      for (const site of planned.sites) {
        const name = environmentNames(policy, project, env, site.region).workspace;
        const ws = await erin.ml.workspaces.get(rg, name).catch(() => undefined);
        const role = ws?.tags?.[policy.regionPlans.roleTag];
        check(
          `${env}: ${site.roles.join("+")} workspace ${name} in ${site.region}`,
          ws?.location === site.region && role === site.roles.join(","),
          ws ? `${ws.location}, ${policy.regionPlans.roleTag}=${role}` : "missing",
        );
      }
    }
    if (planned.registryReplicas.length > 1) {
      const dev = environmentNames(policy, project, policy.environments[0]!.name).resourceGroup;
      const id = `/subscriptions/${sub}/resourceGroups/${dev}/providers/Microsoft.MachineLearningServices/registries/${registryName(policy, project)}`;
      const reg = await erin.arm.resources.getById(id, ML_REGISTRY_API_VERSION).catch(() => undefined);
      const replicas = (reg?.properties as { regionDetails?: { location: string }[] } | undefined)
        ?.regionDetails;
      check(
        `the registry is replicated to ${planned.registryReplicas.join(", ")}`,
        replicas?.map((r) => r.location).join(",") === planned.registryReplicas.join(","),
        replicas?.map((r) => r.location).join(", ") ?? "missing",
      );
    }
    // A resource claiming a role in an allowed region that does not play that role.
    const byRole = regionsByRole(projectRegionPlan(policy, project)!.plan);
    const wrong = REGION_ROLES.flatMap((role) =>
      policy.regions.allowed.filter((r) => !byRole[role].includes(r)).map((region) => ({ role, region })),
    )[0];
    if (!wrong) return;
    const prod = environmentNames(policy, project, policy.environments.at(-1)!.name).resourceGroup;
    const stray = `/subscriptions/${sub}/resourceGroups/${prod}/providers/Microsoft.Storage/storageAccounts/st${wrong.role.replace("-", "")}${randomUUID().slice(0, 6)}`;
    ctx.say(
      `Alice puts a ${wrong.role} storage account for ${project} in ${wrong.region}, which plays no ${wrong.role} part in the plan`,
    );
    await as(stack, PEOPLE.alice, sub).arm.resources.beginCreateOrUpdateByIdAndWait(stray, "2023-01-01", {
      location: wrong.region,
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
      tags: { [policy.regionPlans.roleTag]: wrong.role },
    });
    const violations = new ViolationLog(azure().table(TABLES.violations));
    const deadline = Date.now() + 5000;
    let found = await violations.list({ subscriptionId: sub, resourceId: stray });
    while (!found.some((v) => v.kind === "region") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      found = await violations.list({ subscriptionId: sub, resourceId: stray });
    }
    check(
      "flags the region violation, naming the plan",
      found.some((v) => v.kind === "region" && v.detail.includes(planned.plan)),
      found.map((v) => v.detail).join("; ") || "none",
    );
  },
};

const noProjects: Act = {
  id: "single-workspace",
  title: "Work stays in the shared workspace: a project request is refused",
  needs: ["processPromotion"],
  async run(ctx, check) {
    const { stack } = ctx;
    const request = { ...EXAMPLE_REQUEST, requestId: randomUUID(), environments: undefined };
    ctx.say("Alice asks for project fraud-detection in an estate with no project workspaces");
    await sendAs(stack, PEOPLE.alice, { request });
    const r = await waitForRecord(request.requestId, 30_000);
    check("the request is rejected", r?.status === "rejected", r?.status ?? "no record");
    check(
      "because the estate has no project workspaces",
      !!r?.reasons?.some((x) => /no project workspaces/.test(x.reason)),
      r?.reasons?.map((x) => x.reason).join("; "),
    );
  },
};
