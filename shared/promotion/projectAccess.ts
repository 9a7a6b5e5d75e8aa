/**
 * Per-solution access: Contoso's guidance says access levels may differ per solution, so a
 * request may narrow the estate's role x environment matrix for its own project. It may only
 * narrow: every Azure role it keeps must be one the estate matrix grants that role in that
 * environment, so the estate matrix stays the upper bound that aml-steward's ABAC-conditioned
 * RBAC Administrator grant is built from (a widening would be refused by Azure half-way
 * through a promotion; refusing it at admission leaves nothing half-built).
 */
import type { AzureRoleRef, EstatePolicy } from "../policy/schema.js";
import type { PromotionRequest, Refusal } from "./request.js";

/** role -> environment -> the Azure roles (id or name, as in the estate matrix) the project keeps. */
export type NarrowAccess = Record<string, Record<string, string[]>>;

/** One narrowed cell of the matrix, as recorded in the plan and shown by `steward status`. */
export interface NarrowedCell {
  role: string;
  env: string;
  granted: string[];
  dropped: string[];
}

const matches = (grant: AzureRoleRef, ref: string) =>
  grant.id.toLowerCase() === ref.toLowerCase() || grant.name.toLowerCase() === ref.toLowerCase();

/** Why a request's `narrowAccess` is refused: unknown roles or environments, or any widening. */
export function narrowAccessRefusals(policy: EstatePolicy, request: PromotionRequest): Refusal[] {
  const out: Refusal[] = [];
  const narrow = request.narrowAccess;
  if (!narrow) return out;
  const roles = policy.roles.map((r) => r.name);
  const envs = policy.environments.map((e) => e.name);
  for (const [role, row] of Object.entries(narrow)) {
    if (!roles.includes(role)) {
      out.push({ path: `narrowAccess.${role}`, reason: `"${role}" is not a role of the estate policy` });
      continue;
    }
    for (const [env, refs] of Object.entries(row)) {
      if (!envs.includes(env)) {
        out.push({
          path: `narrowAccess.${role}.${env}`,
          reason: `"${env}" is not an environment of the estate policy`,
        });
        continue;
      }
      const estate = policy.accessMatrix[role]?.[env] ?? [];
      refs.forEach((ref, i) => {
        if (!estate.some((g) => matches(g, ref)))
          out.push({
            path: `narrowAccess.${role}.${env}.${i}`,
            reason: `"${ref}" widens the estate access matrix: ${role} in ${env} may hold only ${estate.map((g) => g.name).join(", ") || "nothing"}; a project may narrow its access, never widen it`,
          });
      });
    }
  }
  return out;
}

/** The project's matrix: the estate's, with each narrowed cell cut down to what the request keeps. */
export function projectAccessMatrix(
  policy: EstatePolicy,
  narrow: NarrowAccess | undefined,
): EstatePolicy["accessMatrix"] {
  if (!narrow) return policy.accessMatrix;
  const out: EstatePolicy["accessMatrix"] = {};
  for (const [role, row] of Object.entries(policy.accessMatrix)) {
    out[role] = {};
    for (const [env, grants] of Object.entries(row)) {
      const keep = narrow[role]?.[env];
      out[role][env] = keep ? grants.filter((g) => keep.some((ref) => matches(g, ref))) : grants;
    }
  }
  return out;
}

/** The cells a request narrows, for the record; undefined when it keeps the estate matrix. */
export function narrowedCells(
  policy: EstatePolicy,
  narrow: NarrowAccess | undefined,
): NarrowedCell[] | undefined {
  if (!narrow) return undefined;
  const matrix = projectAccessMatrix(policy, narrow);
  const cells: NarrowedCell[] = [];
  for (const [role, row] of Object.entries(narrow))
    for (const env of Object.keys(row)) {
      const estate = policy.accessMatrix[role]?.[env] ?? [];
      const kept = matrix[role]?.[env] ?? [];
      cells.push({
        role,
        env,
        granted: kept.map((g) => g.name),
        dropped: estate.filter((g) => !kept.includes(g)).map((g) => g.name),
      });
    }
  return cells;
}

/**
 * A project's matrix as its promotion record states it (plan.access): what reconciliation of
 * access must hold the project to, rather than the estate's. The record keeps Azure role names,
 * which the estate matrix resolves; a name the estate no longer grants in that cell is dropped,
 * so a policy that narrowed since never widens a project back.
 */
export function recordedProjectMatrix(
  policy: EstatePolicy,
  cells: readonly NarrowedCell[] | undefined,
): EstatePolicy["accessMatrix"] {
  if (!cells?.length) return policy.accessMatrix;
  const narrow: NarrowAccess = {};
  for (const c of cells) (narrow[c.role] ??= {})[c.env] = c.granted;
  return projectAccessMatrix(policy, narrow);
}
