/**
 * Wires the data-segregation checks from the process's clients and policy. The estate (what
 * promotions created), the ledger and the workspace identities are the access path's: one
 * place reads the promotion records and caches them.
 */
import { azure } from "../azure/clients.js";
import { accessDeps } from "../access/runtime.js";
import type { Logger } from "../log.js";
import type { DataAccessDeps } from "./dataAccess.js";
import type { RoleGrantDeps } from "./roleGrants.js";

export function roleGrantDeps(log: Logger): RoleGrantDeps {
  const clients = azure();
  const { policy, authorization, workspaceIdentity, estate, violations } = accessDeps(log);
  return {
    policy,
    resources: (s) => clients.resources(s),
    authorization,
    workspaceIdentity,
    estate,
    violations,
    log,
  };
}

/** The datastore and connection checks need a subset of the role-grant wiring. */
export function dataAccessDeps(log: Logger): DataAccessDeps {
  return roleGrantDeps(log);
}
