/**
 * The pure comparison of a scope's role assignments with the access matrix recorded for it.
 * Assignments on resources inside the group are not compared: Azure itself grants roles there
 * (an ML workspace's identity on its storage and key vault), and the matrix is per group.
 */
import { BUILT_IN_ROLES } from "../policy/builtInRoles.js";
import type { ManagedScope, MatrixAssignment } from "./estate.js";

export interface ActualAssignment {
  id: string;
  scope: string;
  principalId: string;
  principalType: string;
  roleDefinitionGuid: string;
  /** ARM's record of who created it (an object id), when it has one. */
  createdBy?: string;
}

export interface ExtraAssignment extends ActualAssignment {
  why: string[];
}

export interface AccessDrift {
  /** On the scope itself, not given by the matrix: removable in restore mode. */
  extra: ExtraAssignment[];
  /** Given by the matrix, absent from the scope: re-created in restore mode. */
  missing: MatrixAssignment[];
  /** From above the scope (subscription, management group), not given by the matrix: reported, never touched. */
  inherited: ExtraAssignment[];
}

/**
 * Roles that grant access or control over everything in the scope (the same four the policy
 * refuses in the matrix; looked up by name here so the event path does not load shared/setup).
 */
const PRIVILEGED_NAMES = [
  "Owner",
  "User Access Administrator",
  "Role Based Access Control Administrator",
  "Contributor",
];
const PRIVILEGED = new Set(
  BUILT_IN_ROLES.filter((r) => PRIVILEGED_NAMES.includes(r.name)).map((r) => r.id.toLowerCase()),
);

export const isPrivileged = (roleGuid: string) => PRIVILEGED.has(roleGuid.toLowerCase());

const lower = (s: string) => s.toLowerCase();
const key = (principalId: string, roleGuid: string) => `${lower(principalId)}|${lower(roleGuid)}`;

/** The GUID at the end of a role definition id. */
export const roleGuidOf = (roleDefinitionId: string) => lower(roleDefinitionId.split("/").pop() ?? "");

function isAbove(candidate: string, scope: string): boolean {
  const c = lower(candidate).replace(/\/$/, "");
  return c === "/" || (lower(scope).startsWith(`${c}/`) && c.length < scope.length);
}

function reasons(a: ActualAssignment): string[] {
  const why = ["not given by the access matrix"];
  if (lower(a.principalType) === "user") why.push("assigned to a user directly");
  if (isPrivileged(a.roleDefinitionGuid)) why.push("privileged role");
  return why;
}

/**
 * `platform`: principals whose non-privileged assignments Azure itself makes on the scope (the
 * workspace's system identity gets Azure AI Administrator on its resource group): neither
 * extra nor expected.
 */
export function compareAccess(
  managed: ManagedScope,
  actual: readonly ActualAssignment[],
  platform: readonly string[] = [],
): AccessDrift {
  const expected = new Set(managed.expected.map((e) => key(e.principalId, e.roleDefinitionGuid)));
  const byAzure = new Set(platform.map(lower));
  const at = actual.filter(
    (a) =>
      lower(a.scope) === lower(managed.scope) &&
      !(byAzure.has(lower(a.principalId)) && !isPrivileged(a.roleDefinitionGuid)),
  );
  const present = new Set(at.map((a) => key(a.principalId, a.roleDefinitionGuid)));
  return {
    extra: at
      .filter((a) => !expected.has(key(a.principalId, a.roleDefinitionGuid)))
      .map((a) => ({ ...a, why: reasons(a) })),
    missing: managed.expected.filter((e) => !present.has(key(e.principalId, e.roleDefinitionGuid))),
    inherited: actual
      .filter(
        (a) => isAbove(a.scope, managed.scope) && !expected.has(key(a.principalId, a.roleDefinitionGuid)),
      )
      .map((a) => ({ ...a, why: reasons(a) })),
  };
}

export const hasDrift = (d: AccessDrift) => d.extra.length > 0 || d.missing.length > 0;

/** The violation's text: what differs, and who made the change when known. */
export function describeDrift(d: AccessDrift, who?: string, roleName?: (guid: string) => string): string {
  const name = (g: string) => roleName?.(g) ?? g;
  const parts = [
    ...d.extra.map(
      (a) =>
        `extra: ${name(a.roleDefinitionGuid)} to ${a.principalType} ${a.principalId} (${a.why.join(", ")}${
          a.createdBy ? `; created by ${a.createdBy}` : ""
        })`,
    ),
    ...d.missing.map((m) => `missing: ${m.roleName} to group ${m.group} (${m.principalId})`),
  ];
  return `${parts.join("; ")}${who ? `; change made by ${who}` : ""}`;
}
