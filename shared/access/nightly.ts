/**
 * The nightly access comparison: every scope the promotions created against its recorded
 * matrix (one list call each, the same check the event path makes), then the groups' members
 * through one Graph delta round. A scope that fails is logged and the rest go on: one broken
 * scope must not hide drift on all the others.
 */
import { azure } from "../azure/clients.js";
import { getSettings, TABLES } from "../config/settings.js";
import { AuditLog } from "../ledger/audit.js";
import { ViolationLog } from "../ledger/violations.js";
import type { Logger } from "../log.js";
import { getPolicy } from "../policy/index.js";
import { PromotionRecords } from "../promotion/record.js";
import { checkScope, type AccessCheckDeps, type ScopeCheck } from "./check.js";
import { loadEstate, type ManagedEstate } from "./estate.js";
import {
  checkGroupMembers,
  DeltaTokenStore,
  type MemberDriftDeps,
  type MemberDriftResult,
} from "./members.js";
import { accessDeps } from "./runtime.js";
import { runDataAccessReconcile, type DataAccessRunResult } from "../segregation/nightly.js";
import { runRoleGrantReconcile, type RoleGrantRunResult } from "../segregation/roleGrants.js";

export interface AccessRunResult {
  runId: string;
  scopes: ScopeCheck[];
  failedScopes: Array<{ scope: string; error: string }>;
  members?: MemberDriftResult;
  membersError?: string;
  /** Datastores, connections and data versions of the same workspaces (shared/segregation). */
  dataAccess?: DataAccessRunResult;
  /** Data-access role assignments of non-production principals (shared/segregation). */
  roleGrants?: RoleGrantRunResult;
}

export async function runAccessReconcile(
  estate: ManagedEstate,
  deps: AccessCheckDeps &
    Omit<MemberDriftDeps, keyof AccessCheckDeps | "graph" | "tokens"> &
    Pick<MemberDriftDeps, "graph" | "tokens">,
  runId: string,
): Promise<AccessRunResult> {
  const result: AccessRunResult = { runId, scopes: [], failedScopes: [] };
  for (const managed of estate.scopes.values()) {
    try {
      result.scopes.push(await checkScope(managed, deps, { correlationId: runId }));
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      result.failedScopes.push({ scope: managed.scope, error });
      deps.log.error("access check of a scope failed", { scope: managed.scope, error });
    }
  }
  try {
    result.members = await checkGroupMembers(estate, deps, { correlationId: runId });
  } catch (e) {
    result.membersError = e instanceof Error ? e.message : String(e);
    deps.log.error("group membership check failed", { error: result.membersError });
  }
  return result;
}

/** The nightly run with the process's clients, ledgers and policy. */
export async function reconcileAccessNow(log: Logger, runId: string): Promise<AccessRunResult> {
  const clients = azure();
  getSettings();
  const base = accessDeps(log);
  const estate = await loadEstate(new PromotionRecords(clients.table(TABLES.promotions)));
  const access = await runAccessReconcile(
    estate,
    {
      ...base,
      policy: getPolicy(),
      graph: clients.graph(),
      tokens: new DeltaTokenStore(clients.table(TABLES.reconcileRuns)),
      violations: new ViolationLog(clients.table(TABLES.violations)),
      audit: new AuditLog(clients.table(TABLES.audit)),
    },
    runId,
  );
  // The same estate, read once: its workspaces' datastores and connections, and what its
  // non-production principals may reach.
  const segregation = {
    policy: base.policy,
    resources: (s: string) => clients.resources(s),
    estate: async () => estate,
    violations: new ViolationLog(clients.table(TABLES.violations)),
    log,
  };
  access.dataAccess = await runDataAccessReconcile(
    estate,
    { ...segregation, machineLearning: (s) => clients.machineLearning(s) },
    runId,
  );
  access.roleGrants = await runRoleGrantReconcile(
    estate,
    { ...segregation, authorization: base.authorization, workspaceIdentity: base.workspaceIdentity },
    runId,
  );
  return access;
}
