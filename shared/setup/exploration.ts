/** Setup of the shared exploration resource group, its workspace and dependencies. */
import type { GenericResource } from "@azure/arm-resources";
import type { Workspace } from "@azure/arm-machinelearning";
import { isNotFound } from "../azure/errors.js";
import { resourceGroupId } from "../azure/resourceId.js";
import { roleAssignmentName } from "../ids.js";
import { deriveName } from "../policy/index.js";
import { MANAGED_BY, managedTags, workspaceBlueprint } from "../promotion/workspaceBlueprint.js";
import { ROLE_IDS } from "./contract.js";
import { SETUP_CREATED_BY, type Ctx, add, identityId, NO_IDENTITY_FIX } from "./context.js";
import { assignmentsOf, roleGuid } from "./roles.js";

// ====================================================================== exploration

function explorationPlan(ctx: Ctx) {
  const { policy } = ctx;
  const ex = policy.exploration;
  const region = policy.regions.default;
  const rgId = resourceGroupId(ex.subscriptionId, ex.resourceGroup);
  // Setup only ever PUTs what does not exist yet and never touches an existing resource's tags,
  // so createdBy/createdOn are filled only on what it creates, on the day it creates it.
  const tags = managedTags(policy, {
    costCenter: ex.costCenter,
    project: "exploration",
    environment: "exploration",
    owner: ctx.opts.explorationOwner ?? MANAGED_BY,
    createdBy: SETUP_CREATED_BY,
    createdOn: (ctx.opts.now?.() ?? new Date()).toISOString().slice(0, 10),
  });
  const inputs = { project: "exploration", region };
  const { dependencies, workspace } = workspaceBlueprint({
    resourceGroupId: rgId,
    region,
    tags,
    tenantId: ctx.settings.STEWARD_TENANT_ID,
    names: {
      workspace: ex.workspace,
      storageAccount: deriveName(policy, "storageAccount", inputs),
      keyVault: deriveName(policy, "keyVault", inputs),
      logAnalytics: deriveName(policy, "logAnalytics", inputs),
      applicationInsights: deriveName(policy, "applicationInsights", inputs),
    },
  });
  return {
    subscriptionId: ex.subscriptionId,
    resourceGroup: ex.resourceGroup,
    rgId,
    workspaceName: ex.workspace,
    workspaceId: workspace.id,
    workspace,
    region,
    tags,
    deps: dependencies,
  };
}

export async function ensureExploration(ctx: Ctx): Promise<void> {
  const plan = explorationPlan(ctx);
  const arm = ctx.clients.resources(plan.subscriptionId);
  const ml = ctx.clients.machineLearning(plan.subscriptionId);

  // Resource group.
  let rgExists = true;
  try {
    await arm.resourceGroups.get(plan.resourceGroup);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    rgExists = false;
  }
  if (rgExists) add(ctx, { area: "exploration", name: `resource group ${plan.resourceGroup}`, status: "ok" });
  else if (ctx.opts.check) {
    add(ctx, {
      area: "exploration",
      name: `resource group ${plan.resourceGroup}`,
      status: "missing",
      fix: "steward setup",
    });
  } else {
    await arm.resourceGroups.createOrUpdate(plan.resourceGroup, { location: plan.region, tags: plan.tags });
    ctx.changes++;
    add(ctx, { area: "exploration", name: `resource group ${plan.resourceGroup}`, status: "created" });
  }

  // Workspace (and, only when it must be created, its dependencies).
  let workspace: Workspace | undefined;
  if (rgExists) {
    try {
      workspace = await ml.workspaces.get(plan.resourceGroup, plan.workspaceName);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  const wsName = `workspace ${plan.workspaceName}`;
  if (workspace) {
    add(ctx, { area: "exploration", name: wsName, status: "ok", detail: workspace.provisioningState });
  } else if (ctx.opts.check) {
    add(ctx, {
      area: "exploration",
      name: wsName,
      status: "missing",
      detail: "with its storage account, key vault, Log Analytics and Application Insights",
      fix: "steward setup",
    });
  } else {
    for (const dep of plan.deps) {
      let existing: GenericResource | undefined;
      try {
        existing = await arm.resources.getById(dep.id, dep.apiVersion);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (existing) {
        add(ctx, { area: "exploration", name: `${dep.kind} ${dep.id.split("/").pop()}`, status: "ok" });
        continue;
      }
      await arm.resources.beginCreateOrUpdateByIdAndWait(
        dep.id,
        dep.apiVersion,
        dep.body as GenericResource,
        {
          updateIntervalInMs: ctx.opts.pollIntervalMs,
        },
      );
      ctx.changes++;
      add(ctx, { area: "exploration", name: `${dep.kind} ${dep.id.split("/").pop()}`, status: "created" });
    }
    await ml.workspaces.beginCreateOrUpdateAndWait(
      plan.resourceGroup,
      plan.workspaceName,
      {
        location: plan.region,
        tags: plan.tags,
        identity: plan.workspace.identity,
        storageAccount: plan.workspace.storageAccount,
        keyVault: plan.workspace.keyVault,
        applicationInsights: plan.workspace.applicationInsights,
        friendlyName: "Exploration",
        description: "Shared exploration workspace; created by aml-steward setup",
      },
      { updateIntervalInMs: ctx.opts.pollIntervalMs },
    );
    ctx.changes++;
    add(ctx, { area: "exploration", name: wsName, status: "created" });
  }

  // The identity archives promoted assets in the exploration workspace.
  const id = identityId(ctx);
  const roleName = `AzureML Data Scientist on workspace ${plan.workspaceName}`;
  if (!id) {
    add(ctx, {
      area: "exploration",
      name: roleName,
      status: "unverified",
      detail: "identity unknown",
      fix: NO_IDENTITY_FIX,
    });
    return;
  }
  const workspaceExists = workspace !== undefined || !ctx.opts.check;
  if (!workspaceExists) {
    add(ctx, {
      area: "exploration",
      name: roleName,
      status: "missing",
      detail: "the workspace does not exist yet",
      fix: "steward setup",
    });
    return;
  }
  const held = (await assignmentsOf(ctx, plan.subscriptionId, plan.workspaceId, id)).some(
    (ra) => roleGuid(ra) === ROLE_IDS.azureMlDataScientist,
  );
  if (held) {
    add(ctx, { area: "exploration", name: roleName, status: "ok", detail: "archive promoted assets" });
  } else if (ctx.opts.check) {
    add(ctx, {
      area: "exploration",
      name: roleName,
      status: "missing",
      detail: "archive promoted assets",
      fix: "steward setup",
    });
  } else {
    await ctx.clients
      .authorization(plan.subscriptionId)
      .roleAssignments.create(
        plan.workspaceId,
        roleAssignmentName(plan.workspaceId, id, ROLE_IDS.azureMlDataScientist),
        {
          roleDefinitionId: `/subscriptions/${plan.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.azureMlDataScientist}`,
          principalId: id,
          principalType: "ServicePrincipal",
          description: "aml-steward: archive promoted assets in the exploration workspace",
        },
      );
    ctx.changes++;
    add(ctx, { area: "exploration", name: roleName, status: "created", detail: "archive promoted assets" });
  }
}
