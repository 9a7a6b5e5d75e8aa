/**
 * Moves the use case out of exploration: copies the selected model, data, environment and
 * component versions into the target (dev) workspace under the same names and versions, with
 * tags and description kept and lineage added; then tags the exploration versions
 * `promotedTo=<project>` and archives them. Copy first, archive second: a crash in between
 * leaves the use case usable in both places, never in neither.
 *
 * Production data: a data version (or its container) tagged `dataClassification=production`,
 * or whose data URI is in production storage (shared/segregation/assetData.ts: a datastore or
 * storage URL resolving to a prod environment's or production-classified storage account), is
 * only ever copied into an environment whose policy says `productionData: true`; otherwise it
 * is refused, left active in exploration, and the step's detail names the version, the
 * storage account and the environment.
 */
import type { AzureMachineLearningWorkspaces } from "@azure/arm-machinelearning";
import { isNotFound } from "../../azure/errors.js";
import type { AssetPlan, PromotionPlan } from "../planTypes.js";
import { mapLimit } from "../retry.js";
import { DEFAULT_USE_CASE_TAG, type AssetKind, type AssetRef } from "../request.js";
import { assetOwnershipProblem, OwnershipRefused } from "../ownership.js";
import { WriteTally, type StepContext, type StepResult } from "./context.js";
import { loadEstate, type ManagedEstate } from "../../access/estate.js";
import { TABLES } from "../../config/settings.js";
import { productionDataReason, type AssetDataDeps } from "../../segregation/assetData.js";
import { PromotionRecords } from "../record.js";

export const PRODUCTION_DATA_TAG = "dataClassification";
export const PRODUCTION_DATA_VALUE = "production";
/** Lineage tags on the copies, and the mark on the exploration originals. */
export const LINEAGE_TAGS = {
  sourceWorkspace: "promotedFrom",
  sourceVersion: "promotedFromVersion",
  request: "promotionRequest",
  promotedTo: "promotedTo",
} as const;

// Defined on its own so that ownership checks can extend it without an import cycle.
export { PromotionConflict } from "../conflict.js";
import { PromotionConflict } from "../conflict.js";

interface AssetBody {
  name?: string;
  properties: {
    description?: string;
    tags?: Record<string, string | null>;
    properties?: Record<string, string | null>;
    isArchived?: boolean;
    [k: string]: unknown;
  };
}

interface Ops {
  containers: {
    list(rg: string, ws: string, o?: object): AsyncIterable<AssetBody>;
    get(rg: string, ws: string, name: string): Promise<AssetBody>;
    createOrUpdate(rg: string, ws: string, name: string, body: AssetBody): Promise<AssetBody>;
  };
  versions: {
    list(rg: string, ws: string, name: string, o?: object): AsyncIterable<AssetBody>;
    get(rg: string, ws: string, name: string, v: string): Promise<AssetBody>;
    createOrUpdate(rg: string, ws: string, name: string, v: string, body: AssetBody): Promise<AssetBody>;
  };
}

function ops(ml: AzureMachineLearningWorkspaces, kind: AssetKind): Ops {
  const pairs = {
    model: [ml.modelContainers, ml.modelVersions],
    data: [ml.dataContainers, ml.dataVersions],
    environment: [ml.environmentContainers, ml.environmentVersions],
    component: [ml.componentContainers, ml.componentVersions],
  } as const;
  const [containers, versions] = pairs[kind];
  return { containers, versions } as unknown as Ops;
}

export const ARM_SEGMENT: Record<AssetKind, string> = {
  model: "models",
  data: "data",
  environment: "environments",
  component: "components",
};

export interface SelectedAsset extends AssetRef {
  id: string;
  source: AssetBody;
  /** Why this version is production data; undefined when it is not. */
  productionData?: string;
}

/**
 * The exploration versions the request selects (archived ones included: a retry must still see
 * them), each carrying this use case's tag and not promoted to another project. A selector
 * passes over another project's versions (listed in `notOurs`); an explicitly named one is
 * refused outright (admission already refused it; this is the check at the time of the copy).
 */
export async function selectAssets(
  ctx: StepContext,
): Promise<{ selected: SelectedAsset[]; notOurs: string[] }> {
  const a = ctx.plan.assets;
  const ml = ctx.clients.machineLearning(a.sourceSubscriptionId);
  const out: SelectedAsset[] = [];
  const notOurs: string[] = [];
  // What placing data URIs needs; the managed estate is loaded on the first data version that needs it.
  let estate: Promise<ManagedEstate> | undefined;
  const dataDeps: AssetDataDeps = {
    policy: ctx.policy,
    resources: (sub) => ctx.clients.resources(sub),
    estate: () => (estate ??= loadEstate(new PromotionRecords(ctx.clients.table(TABLES.promotions)))),
    // Versions share datastores and accounts: each is read once per promotion.
    datastoreRefs: new Map(),
    storageAccounts: new Map(),
  };
  const sel = a.selection;
  const refs: AssetRef[] = [];
  if ("versions" in sel) {
    refs.push(...sel.versions);
  } else {
    for (const kind of sel.selector.kinds) {
      const o = ops(ml, kind);
      for await (const c of o.containers.list(a.sourceResourceGroup, a.sourceWorkspace, {
        listViewType: "All",
      })) {
        if (!c.name) continue;
        for await (const v of o.versions.list(a.sourceResourceGroup, a.sourceWorkspace, c.name, {
          listViewType: "All",
        })) {
          if (v.name && v.properties.tags?.[sel.selector.tagName] === a.useCaseId)
            refs.push({ kind, name: c.name, version: v.name });
        }
      }
    }
  }
  for (const ref of refs) {
    const o = ops(ml, ref.kind);
    let source: AssetBody;
    try {
      source = await o.versions.get(a.sourceResourceGroup, a.sourceWorkspace, ref.name, ref.version);
    } catch (e) {
      if (isNotFound(e))
        throw new PromotionConflict(
          `${ref.kind} ${ref.name} version ${ref.version} does not exist in ${a.sourceWorkspaceId}`,
        );
      throw e;
    }
    const problem = assetOwnershipProblem(ref, source.properties.tags, {
      tagName: "versions" in sel ? DEFAULT_USE_CASE_TAG : sel.selector.tagName,
      useCaseId: a.useCaseId,
      project: ctx.plan.project,
      promotedToTag: LINEAGE_TAGS.promotedTo,
    });
    if (problem && "versions" in sel)
      throw new OwnershipRefused({
        target: assetId(a.sourceWorkspaceId, ref),
        subscriptionId: a.sourceSubscriptionId,
        detail: problem,
      });
    if (problem) {
      notOurs.push(`${ref.kind} ${ref.name}:${ref.version}`);
      continue;
    }
    let productionData: string | undefined;
    if (ref.kind === "data") {
      const container = await o.containers
        .get(a.sourceResourceGroup, a.sourceWorkspace, ref.name)
        .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      productionData =
        isProductionData(source.properties.tags) || isProductionData(container?.properties.tags)
          ? `tagged ${PRODUCTION_DATA_TAG}=${PRODUCTION_DATA_VALUE}`
          : // Only worth the reads when the target may not hold production data.
            a.targetProductionData || ctx.policy.dataSegregation.mode === "off"
            ? undefined
            : await productionDataReason(dataDeps, (source.properties as { dataUri?: string }).dataUri, {
                id: a.sourceWorkspaceId,
                subscriptionId: a.sourceSubscriptionId,
                resourceGroup: a.sourceResourceGroup,
                name: a.sourceWorkspace,
              });
    }
    out.push({ ...ref, id: assetId(a.sourceWorkspaceId, ref), source, productionData });
  }
  return { selected: out.sort((x, y) => x.id.localeCompare(y.id)), notOurs };
}

/** Tags of exploration versions by `key(ref)`; undefined for a version that does not exist. */
export async function versionTags(
  clients: StepContext["clients"],
  ex: { subscriptionId: string; resourceGroup: string; workspace: string },
  refs: readonly AssetRef[],
  key: (r: AssetRef) => string,
): Promise<Map<string, Record<string, string | null> | undefined>> {
  const ml = clients.machineLearning(ex.subscriptionId);
  const out = new Map<string, Record<string, string | null> | undefined>();
  await mapLimit(refs, 4, async (ref) => {
    try {
      const v = await ops(ml, ref.kind).versions.get(ex.resourceGroup, ex.workspace, ref.name, ref.version);
      out.set(key(ref), v.properties.tags ?? {});
    } catch (e) {
      if (!isNotFound(e)) throw e;
      out.set(key(ref), undefined);
    }
  });
  return out;
}

export function isProductionData(tags: Record<string, string | null> | undefined): boolean {
  const key = Object.keys(tags ?? {}).find((k) => k.toLowerCase() === PRODUCTION_DATA_TAG.toLowerCase());
  return key !== undefined && (tags![key] ?? "").toLowerCase() === PRODUCTION_DATA_VALUE;
}

function assetId(workspaceId: string, ref: AssetRef): string {
  return `${workspaceId}/${ARM_SEGMENT[ref.kind]}/${ref.name}/versions/${ref.version}`;
}

function target(plan: PromotionPlan): {
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
  workspaceId: string;
} {
  const env = plan.environments.find((e) => e.env === plan.assets.targetEnv)!;
  return {
    subscriptionId: env.subscriptionId,
    resourceGroup: env.workspace.resourceGroup,
    workspace: env.workspace.name,
    workspaceId: env.workspace.id,
  };
}

/** The assets that may go to the target environment, and those held back as production data. */
export function splitByProductionData(
  assets: AssetPlan,
  selected: SelectedAsset[],
): { carry: SelectedAsset[]; held: SelectedAsset[] } {
  if (assets.targetProductionData) return { carry: selected, held: [] };
  return { carry: selected.filter((s) => !s.productionData), held: selected.filter((s) => s.productionData) };
}

export async function copyAssets(ctx: StepContext, selected: SelectedAsset[]): Promise<StepResult> {
  const { carry, held } = splitByProductionData(ctx.plan.assets, selected);
  const t = target(ctx.plan);
  const ml = ctx.clients.machineLearning(t.subscriptionId);
  const src = ctx.plan.assets;
  const tally = new WriteTally(ctx);
  await mapLimit(carry, 4, async (s) => {
    const o = ops(ml, s.kind);
    const id = assetId(t.workspaceId, s);
    let existing: AssetBody | undefined;
    try {
      existing = await o.versions.get(t.resourceGroup, t.workspace, s.name, s.version);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (existing) {
      const from = existing.properties.tags?.[LINEAGE_TAGS.sourceWorkspace];
      if ((from ?? "").toLowerCase() !== src.sourceWorkspaceId.toLowerCase()) {
        throw new PromotionConflict(
          `${id} already exists and was not promoted from ${src.sourceWorkspaceId}; refusing to overwrite it`,
        );
      }
      return;
    }
    await ensureContainer(ctx, tally, o, s, t);
    const tags = { ...(s.source.properties.tags ?? {}) };
    delete tags[LINEAGE_TAGS.promotedTo];
    const body: AssetBody = {
      properties: {
        ...copyable(s.source.properties),
        isArchived: false,
        tags: {
          ...tags,
          [LINEAGE_TAGS.sourceWorkspace]: src.sourceWorkspaceId,
          [LINEAGE_TAGS.sourceVersion]: `${s.name}:${s.version}`,
          [LINEAGE_TAGS.request]: ctx.plan.requestId,
        },
      },
    };
    await o.versions.createOrUpdate(t.resourceGroup, t.workspace, s.name, s.version, body);
    await tally.record(`asset.${s.kind}.copy`, id, body.properties, { subscriptionId: t.subscriptionId });
  });
  const detail = [
    `${carry.length} version(s) in ${src.targetEnv}`,
    ...held.map(
      (h) =>
        `refused as production data for ${src.targetEnv} (no production data): ${h.kind} ${h.name}:${h.version}, ${h.productionData}`,
    ),
  ].join("; ");
  return {
    outcome: selected.length === 0 ? "skipped" : tally.outcome(true),
    writes: tally.count,
    detail: selected.length === 0 ? "no exploration version matches the selection" : detail,
    resources: carry.map((s) => assetId(t.workspaceId, s)),
  };
}

async function ensureContainer(
  ctx: StepContext,
  tally: WriteTally,
  o: Ops,
  s: SelectedAsset,
  t: { subscriptionId: string; resourceGroup: string; workspace: string; workspaceId: string },
): Promise<void> {
  try {
    await o.containers.get(t.resourceGroup, t.workspace, s.name);
    return;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const a = ctx.plan.assets;
  const source = await o.containers
    .get(a.sourceResourceGroup, a.sourceWorkspace, s.name)
    .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  const body: AssetBody = {
    properties: {
      ...copyable(source?.properties ?? {}),
      ...(s.kind === "data"
        ? { dataType: (source?.properties.dataType as string | undefined) ?? s.source.properties.dataType }
        : {}),
      description: source?.properties.description ?? s.source.properties.description,
      tags: source?.properties.tags ?? {},
      isArchived: false,
    },
  };
  await o.containers.createOrUpdate(t.resourceGroup, t.workspace, s.name, body);
  await tally.record(
    `asset.${s.kind}.container.create`,
    `${t.workspaceId}/${ARM_SEGMENT[s.kind]}/${s.name}`,
    body.properties,
    { subscriptionId: t.subscriptionId },
  );
}

/** Drops what the service computes (provisioning state, latest version, ...). */
function copyable(props: AssetBody["properties"]): AssetBody["properties"] {
  const {
    provisioningState: _p,
    latestVersion: _l,
    nextVersion: _n,
    environmentType: _e,
    isAnonymous: _a,
    ...rest
  } = props;
  return rest;
}

export async function archiveAssets(ctx: StepContext, selected: SelectedAsset[]): Promise<StepResult> {
  const { carry } = splitByProductionData(ctx.plan.assets, selected);
  const a = ctx.plan.assets;
  const ml = ctx.clients.machineLearning(a.sourceSubscriptionId);
  const tally = new WriteTally(ctx);
  await mapLimit(carry, 4, async (s) => {
    const o = ops(ml, s.kind);
    const current = await o.versions.get(a.sourceResourceGroup, a.sourceWorkspace, s.name, s.version);
    const tags = current.properties.tags ?? {};
    if (tags[LINEAGE_TAGS.promotedTo] === ctx.plan.project && current.properties.isArchived === true) return;
    const body: AssetBody = {
      properties: {
        ...copyable(current.properties),
        tags: { ...tags, [LINEAGE_TAGS.promotedTo]: ctx.plan.project },
        isArchived: true,
      },
    };
    await o.versions.createOrUpdate(a.sourceResourceGroup, a.sourceWorkspace, s.name, s.version, body);
    await tally.record(
      `asset.${s.kind}.archive`,
      s.id,
      { tags: body.properties.tags, isArchived: true },
      { subscriptionId: a.sourceSubscriptionId, before: { tags, isArchived: current.properties.isArchived } },
    );
  });
  return {
    outcome: carry.length === 0 ? "skipped" : tally.outcome(false),
    writes: tally.count,
    detail: `${carry.length} exploration version(s) tagged ${LINEAGE_TAGS.promotedTo}=${ctx.plan.project} and archived`,
    resources: carry.map((s) => s.id),
  };
}
