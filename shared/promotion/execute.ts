/**
 * Runs a plan: each environment's steps in parallel with the other environments', and within
 * an environment whatever does not depend on something else in parallel too (the groups and
 * their role assignments proceed while the workspace's LRO runs). Then the asset move.
 *
 * Every step is convergent, so the executor needs no memory of earlier attempts: a redelivery
 * after a crash simply runs every step again, and steps that are already done read, compare
 * and write nothing.
 *
 * `afterStep` is the fault hook for tests and the CLI: throwing from it stops the run at that
 * step boundary, as a crash would. Other branches stop at their next boundary, so a "crashed"
 * run leaves nothing running behind it.
 */
import type { AzureClients } from "../azure/clients.js";
import type { EstatePolicy } from "../policy/schema.js";
import type { AuditLog } from "../ledger/audit.js";
import type { Logger } from "../log.js";
import type { EnvironmentPlan, PromotionPlan } from "./plan.js";
import type { PlannedRegistry } from "./registryPlan.js";
import type { RecordWriter } from "./record.js";
import { GRAPH_VISIBILITY_BACKOFF, REPLICATION_BACKOFF } from "./retry.js";
import { archiveAssets, copyAssets, selectAssets, type SelectedAsset } from "./steps/assets.js";
import { ensureBudget } from "./steps/budget.js";
import type { StepContext, StepResult } from "./steps/context.js";
import { ensureDependencies } from "./steps/dependencies.js";
import { ensureGroups } from "./steps/groups.js";
import { ensureResourceGroup } from "./steps/resourceGroup.js";
import { ensureNamedRegistryReplicas, ensureRegistryReplicas } from "./steps/registryReplicas.js";
import { ensureRoleAssignments } from "./steps/roleAssignments.js";
import { ProjectOwnership, recordSecurityFindings, OwnershipRefused } from "./ownership.js";
import { ensureDataAccess, ensureWorkspace } from "./steps/workspace.js";

export const ENV_STEPS = [
  "resourceGroup",
  "groups",
  "dependencies",
  "budget",
  "roleAssignments",
  "workspace",
  "dataAccess",
] as const;
/** Steps of each further workspace of a region plan, named `<env>/<region>/<step>`. */
export const REGIONAL_STEPS = ["dependencies", "workspace", "dataAccess"] as const;
export const ASSET_STEPS = ["assets/copy", "assets/archive"] as const;
export const REGISTRY_STEPS = ["registry/registry", "registry/roleAssignments"] as const;
export const FINE_TUNING_REGISTRY_STEP = "registry/fineTuning";

export interface ExecuteOptions {
  /** Called after each step has succeeded and been recorded; throwing stops the run there. */
  afterStep?: (step: string) => void | Promise<void>;
  backoff?: Partial<StepContext["backoff"]>;
  /** LRO polling interval when the service sends no Retry-After (default 2 s). */
  pollIntervalMs?: number;
}

export interface ExecuteDeps {
  clients: AzureClients;
  audit: AuditLog;
  writer: RecordWriter;
  log: Logger;
  stewardObjectId: string;
  /** The estate policy the promotion runs under (its data-segregation rules). */
  policy: EstatePolicy;
}

/** Every step name of a plan, in an order consistent with the dependencies between steps. */
export function stepNames(plan: PromotionPlan): string[] {
  return [
    ...plan.environments.flatMap((e) => [
      ...ENV_STEPS.map((s) => `${e.env}/${s}`),
      ...(e.regional ?? []).flatMap((w) => REGIONAL_STEPS.map((s) => `${e.env}/${w.region}/${s}`)),
    ]),
    ...(plan.registry ? REGISTRY_STEPS : []),
    ...(plan.regions?.fineTuningRegistry ? [FINE_TUNING_REGISTRY_STEP] : []),
    ...(plan.kind === "team" ? [] : ASSET_STEPS),
  ];
}

class Halted extends Error {
  override name = "Halted";
}

export async function executePlan(
  plan: PromotionPlan,
  deps: ExecuteDeps,
  opts: ExecuteOptions = {},
): Promise<void> {
  const ownership = await ProjectOwnership.load(
    deps.writer.records,
    plan.project,
    deps.writer.record.resources,
  );
  const ctx: StepContext = {
    ownership,
    claim: async (entries) => {
      ownership.claim(entries);
      await deps.writer.addResources(entries);
    },
    clients: deps.clients,
    audit: deps.audit,
    plan,
    log: deps.log,
    stewardObjectId: deps.stewardObjectId,
    policy: deps.policy,
    pollIntervalMs: opts.pollIntervalMs ?? 2_000,
    backoff: {
      replication: opts.backoff?.replication ?? REPLICATION_BACKOFF,
      graphVisibility: opts.backoff?.graphVisibility ?? GRAPH_VISIBILITY_BACKOFF,
    },
  };
  let halted = false;

  const step = async <R extends StepResult>(name: string, fn: () => Promise<R>): Promise<R> => {
    if (halted) throw new Halted(`stopped before ${name}`);
    const started = Date.now();
    let result: R;
    try {
      result = await fn();
    } catch (e) {
      await deps.writer.step({
        name,
        outcome: "failed",
        writes: 0,
        detail: (e as Error).message?.slice(0, 2000),
      });
      if (e instanceof OwnershipRefused)
        await recordSecurityFindings(deps.clients, [e.finding], {
          project: plan.project,
          correlationId: plan.requestId,
          log: deps.log,
        });
      throw e;
    }
    deps.log.info("promotion step", {
      requestId: plan.requestId,
      step: name,
      outcome: result.outcome,
      writes: result.writes,
      ms: Date.now() - started,
    });
    await deps.writer.step({ name, outcome: result.outcome, writes: result.writes, detail: result.detail });
    if (result.resources?.length) await deps.writer.addResources(result.resources);
    if (opts.afterStep) {
      try {
        await opts.afterStep(name);
      } catch (e) {
        halted = true;
        throw e;
      }
    }
    return result;
  };

  /** Environment -> its groups' object ids, for the registry's role assignments. */
  const groupIds = new Map<string, ReadonlyMap<string, string>>();
  const runEnv = async (env: EnvironmentPlan): Promise<void> => {
    const s = (name: string) => `${env.env}/${name}`;
    const rg = step(s("resourceGroup"), () => ensureResourceGroup(ctx, env));
    const groups = step(s("groups"), () => ensureGroups(ctx, env));
    // The home workspace, and each further workspace of a region plan, in parallel: the same
    // steps on the environment seen through that workspace.
    const infra = (name: (step: string) => string, site: EnvironmentPlan) =>
      rg
        .then(() => step(name("dependencies"), () => ensureDependencies(ctx, site)))
        .then(() => step(name("workspace"), () => ensureWorkspace(ctx, site)))
        .then(() => step(name("dataAccess"), () => ensureDataAccess(ctx, site)));
    const sites = [
      infra(s, env),
      ...(env.regional ?? []).map((w) =>
        infra((n) => s(`${w.region}/${n}`), {
          ...env,
          dependencies: w.dependencies,
          workspace: w.workspace,
        }),
      ),
    ];
    const budget = rg.then(() => step(s("budget"), () => ensureBudget(ctx, env)));
    void groups.then((g) => groupIds.set(env.env, g.groupIds)).catch(() => {});
    const access = Promise.all([rg, groups]).then(([, g]) =>
      step(s("roleAssignments"), () => ensureRoleAssignments(ctx, env, g.groupIds)),
    );
    await settle([rg, groups, ...sites, budget, access]);
  };

  await settle(plan.environments.map(runEnv));
  if (plan.registry) {
    const r = registrySteps(plan.registry, plan, ctx, groupIds);
    await step("registry/registry", r.create);
    await step("registry/roleAssignments", r.access);
  }
  const named = plan.regions?.fineTuningRegistry;
  if (named) await step(FINE_TUNING_REGISTRY_STEP, () => ensureNamedRegistryReplicas(ctx, named));
  // A team workspace starts empty: its members bring their own work into it.
  if (plan.kind === "team") return;

  // Selected inside the copy step, so that a refused asset is a failed step on record.
  let selected: SelectedAsset[] = [];
  await step("assets/copy", async () => {
    const s = await selectAssets(ctx);
    selected = s.selected;
    const r = await copyAssets(ctx, selected);
    if (s.notOurs.length === 0) return r;
    const note = `passed over, promoted to another project: ${s.notOurs.join(", ")}`;
    return { ...r, detail: r.detail ? `${r.detail}; ${note}` : note };
  });
  await step("assets/archive", () => archiveAssets(ctx, selected));
}

/**
 * The project's registry after every environment (its role assignments name groups of all of
 * them): created in the first environment's resource group like a dependency, then each
 * environment's groups get their registry roles on it.
 */
function registrySteps(
  registry: PlannedRegistry,
  plan: PromotionPlan,
  ctx: StepContext,
  groupIds: ReadonlyMap<string, ReadonlyMap<string, string>>,
) {
  const first = plan.environments[0]!;
  return {
    create: async () => {
      const made = await ensureDependencies(ctx, { ...first, dependencies: [registry.resource] });
      // Created just now with every replica; found existing, it may lack a newly planned one.
      if (made.outcome === "created") return made;
      const replicas = await ensureRegistryReplicas(ctx, registry, first.subscriptionId);
      const writes = made.writes + replicas.writes;
      return { ...made, writes, outcome: writes > 0 ? ("updated" as const) : made.outcome };
    },
    access: async () => {
      let writes = 0;
      const resources: string[] = [];
      for (const { env, assignments } of registry.roleAssignments) {
        const e = plan.environments.find((x) => x.env === env)!;
        const r = await ensureRoleAssignments(
          ctx,
          {
            ...e,
            resourceGroup: { ...e.resourceGroup, id: registry.resource.id },
            roleAssignments: assignments,
          },
          groupIds.get(env) ?? new Map(),
        );
        writes += r.writes;
        resources.push(...(r.resources ?? []));
      }
      return { outcome: writes > 0 ? ("created" as const) : ("unchanged" as const), writes, resources };
    },
  };
}

/** Waits for every branch, then throws the most telling failure (a real error over a halt). */
async function settle(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failures = results
    .filter((r): r is PromiseRejectedResult => r.status === "rejected")
    .map((r) => r.reason as unknown);
  if (failures.length === 0) return;
  throw failures.find((e) => !(e instanceof Halted)) ?? failures[0];
}
