/**
 * Whether a role definition's permissions allow an action. Azure grants an action through a
 * role when some `actions` entry matches it and no `notActions` entry of the same role does
 * (`dataActions`/`notDataActions` likewise for data-plane actions); notActions subtract from
 * that one role only, never from another role the principal also holds.
 */
import { actionPatternMatches } from "../../../shared/azure/abacCondition.js";

export interface RolePermissions {
  actions: readonly string[];
  notActions?: readonly string[];
  dataActions?: readonly string[];
  notDataActions?: readonly string[];
}

export function roleAllows(role: RolePermissions, action: string, dataAction = false): boolean {
  const allow = dataAction ? (role.dataActions ?? []) : role.actions;
  const deny = dataAction ? (role.notDataActions ?? []) : (role.notActions ?? []);
  return (
    allow.some((p) => actionPatternMatches(p, action)) && !deny.some((p) => actionPatternMatches(p, action))
  );
}
