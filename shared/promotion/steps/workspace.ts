/**
 * The ML workspace (a long-running PUT) and its identity-based data access. A workspace found
 * mid-creation (a crash during the LRO, then redelivery) is waited for, not PUT again.
 */
import type { AzureBlobDatastore, Datastore, Workspace } from "@azure/arm-machinelearning";
import { isNotFound } from "../../azure/errors.js";
import type { EnvironmentPlan } from "../plan.js";
import { sleep } from "../retry.js";
import { mergeTags } from "./resourceGroup.js";
import { keepFillOnlyTags, WriteTally, type StepContext, type StepResult } from "./context.js";

const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
/** How long one delivery waits for a workspace found mid-creation. */
export const WORKSPACE_WAIT_MS = 5 * 60_000;

export async function ensureWorkspace(ctx: StepContext, env: EnvironmentPlan): Promise<StepResult> {
  const ml = ctx.clients.machineLearning(env.subscriptionId);
  const w = env.workspace;
  const tally = new WriteTally(ctx);
  let existing = await getWorkspace(ctx, env);
  const state = () => (existing?.provisioningState ?? "Succeeded").toLowerCase();
  // Bounded in time, well inside host.json's 15-minute functionTimeout so that a stuck
  // workspace ends in a retry (and, after maxDequeueCount, a recorded failure) rather than in
  // a host kill that would leave the record "running". The next delivery resumes the wait.
  const deadline = Date.now() + WORKSPACE_WAIT_MS;
  while (existing && !TERMINAL.has(state()) && Date.now() < deadline) {
    await sleep(ctx.pollIntervalMs);
    existing = await getWorkspace(ctx, env);
  }
  if (existing && !TERMINAL.has(state()))
    throw Object.assign(new Error(`workspace ${w.id} is still ${state()}`), {
      code: "WorkspaceBusy",
      statusCode: 503,
    });
  if (!existing || state() !== "succeeded") {
    const body: Workspace = {
      location: w.location,
      // A failed workspace created again keeps its createdBy/createdOn.
      tags: keepFillOnlyTags(w.tags, existing?.tags, ctx.plan.fillOnlyTags),
      identity: w.identity,
      storageAccount: w.storageAccount,
      keyVault: w.keyVault,
      applicationInsights: w.applicationInsights,
      containerRegistry: w.containerRegistry,
      publicNetworkAccess: w.publicNetworkAccess,
      friendlyName: w.friendlyName,
      description: w.description,
    };
    await ml.workspaces.beginCreateOrUpdateAndWait(w.resourceGroup, w.name, body, {
      updateIntervalInMs: ctx.pollIntervalMs,
    });
    await tally.record(existing ? "workspace.recreate" : "workspace.create", w.id, body, {
      subscriptionId: env.subscriptionId,
    });
    return { outcome: existing ? "updated" : "created", writes: tally.count, resources: [w.id] };
  }
  await mergeTags(ctx, tally, w.id, env.subscriptionId, w.tags, existing.tags);
  return { outcome: tally.outcome(false), writes: tally.count, resources: [w.id] };
}

async function getWorkspace(ctx: StepContext, env: EnvironmentPlan): Promise<Workspace | undefined> {
  try {
    return await ctx.clients
      .machineLearning(env.subscriptionId)
      .workspaces.get(env.workspace.resourceGroup, env.workspace.name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * Identity-based access to the workspace's default blob datastore: no stored account key or
 * SAS (credentials "None"), the workspace's system identity for service-side access.
 */
export async function ensureDataAccess(ctx: StepContext, env: EnvironmentPlan): Promise<StepResult> {
  const ml = ctx.clients.machineLearning(env.subscriptionId);
  const w = env.workspace;
  const want = w.dataAccess;
  const tally = new WriteTally(ctx);
  const id = `${w.id}/datastores/${want.datastore}`;
  let existing: Datastore | undefined;
  try {
    existing = await ml.datastores.get(w.resourceGroup, w.name, want.datastore);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const props = existing?.properties as Partial<AzureBlobDatastore> | undefined;
  if (
    props?.credentials?.credentialsType === want.credentialsType &&
    props.serviceDataAccessAuthIdentity === want.serviceDataAccessAuthIdentity
  ) {
    return { outcome: "unchanged", writes: 0, resources: [id] };
  }
  let containerName = props?.containerName;
  if (!containerName) {
    // Azure names the default container after the workspace's immutable id.
    const ws = await ml.workspaces.get(w.resourceGroup, w.name);
    containerName = `azureml-blobstore-${ws.workspaceId ?? w.name}`;
  }
  const storageName = w.storageAccount.split("/").pop()!;
  const body: Datastore = {
    properties: {
      datastoreType: "AzureBlob",
      accountName: props?.accountName ?? storageName,
      containerName,
      endpoint: props?.endpoint ?? "core.windows.net",
      protocol: props?.protocol ?? "https",
      credentials: { credentialsType: want.credentialsType },
      serviceDataAccessAuthIdentity: want.serviceDataAccessAuthIdentity,
      description: props?.description ?? "Default blob datastore, identity-based access (aml-steward)",
      tags: props?.tags ?? {},
    } as AzureBlobDatastore,
  };
  await ml.datastores.createOrUpdate(w.resourceGroup, w.name, want.datastore, body, { skipValidation: true });
  await tally.record("datastore.identityAccess", id, body.properties, {
    subscriptionId: env.subscriptionId,
    before: props?.credentials,
  });
  return { outcome: existing ? "updated" : "created", writes: tally.count, resources: [id] };
}
