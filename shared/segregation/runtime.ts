/**
 * Wires the data-segregation checks from the process's clients and policy. The estate (what
 * promotions created) is the access path's cached copy: one place reads the promotion records.
 */
import { azure } from "../azure/clients.js";
import { accessDeps } from "../access/runtime.js";
import type { Logger } from "../log.js";
import type { DataAccessDeps } from "./dataAccess.js";
import type { RoleGrantDeps } from "./roleGrants.js";

export function dataAccessDeps(log: Logger): DataAccessDeps {
  const clients = azure();
  const access = accessDeps(log);
  return {
    policy: access.policy,
    resources: (s) => clients.resources(s),
    estate: access.estate,
    violations: access.violations,
    log,
  };
}

export function roleGrantDeps(log: Logger): RoleGrantDeps {
  const clients = azure();
  const access = accessDeps(log);
  return {
    policy: access.policy,
    resources: (s) => clients.resources(s),
    authorization: access.authorization,
    workspaceIdentity: access.workspaceIdentity,
    estate: access.estate,
    violations: access.violations,
    log,
  };
}
