/**
 * Microsoft Graph application permissions, enforced on app-only calls: the caller's app role
 * assignments on Microsoft Graph's service principal (the `roles` of its token in Azure) must
 * include one of the permissions the operation accepts, otherwise Graph answers 403
 * Authorization_RequestDenied. Group.Create is Graph's owner-scoped permission: it creates
 * groups, and reads and changes only the groups whose owners include the caller, which is why
 * the promotion binds aml-steward as an owner of every group it creates.
 *
 * Delegated (user) calls are not checked: Entra decides them by the user's directory roles and
 * the app's consented scopes, which the emulator does not model (docs/emulator.md).
 */
import type { Directory, GroupRecord } from "../directory.js";
import { GRAPH_SERVICE_PRINCIPAL_ID } from "./appRoles.js";
import type { Principal } from "../types.js";

const DIRECTORY_READ = ["Directory.Read.All", "Directory.ReadWrite.All"];
const USER_READ = ["User.Read.All", "User.ReadWrite.All", ...DIRECTORY_READ];
const APPLICATION_READ = ["Application.Read.All", "Application.ReadWrite.All", ...DIRECTORY_READ];
const GROUP_READ = ["Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", ...DIRECTORY_READ];
const GROUP_WRITE = ["Group.ReadWrite.All", "Directory.ReadWrite.All"];
const GROUP_CREATE = ["Group.Create", ...GROUP_WRITE];

export const INSUFFICIENT_PRIVILEGES = "Insufficient privileges to complete the operation.";

/** The Graph application permissions (app role values) the principal holds. */
export function graphPermissionsOf(dir: Directory, principalId: string): Set<string> {
  return new Set(dir.appRoleValues(principalId, GRAPH_SERVICE_PRINCIPAL_ID));
}

function uniqueNameOf(seg: string | undefined): string | undefined {
  const m = seg ? /^groups\(uniqueName='((?:[^']|'')*)'\)$/i.exec(seg) : undefined;
  if (m) return m[1]!.replace(/''/g, "'");
  const bare = seg ? /^\(uniqueName='((?:[^']|'')*)'\)$/i.exec(seg) : undefined;
  return bare ? bare[1]!.replace(/''/g, "'") : undefined;
}

/**
 * Whether an app-only call may proceed. `segs` are the decoded path segments after /v1.0.
 * Requests for objects that do not exist pass when the caller could have read them, so Graph's
 * own 404 answers.
 */
export function graphCallAllowed(dir: Directory, caller: Principal, method: string, segs: string[]): boolean {
  const held = graphPermissionsOf(dir, caller.objectId);
  const any = (perms: readonly string[]) => perms.some((p) => held.has(p));
  const owns = (g: GroupRecord | undefined) =>
    g === undefined || g.owners.includes(caller.objectId.toLowerCase());
  const readGroup = (g: GroupRecord | undefined) => any(GROUP_READ) || (held.has("Group.Create") && owns(g));
  const writeGroup = (g: GroupRecord | undefined, extra: readonly string[] = []) =>
    any([...GROUP_WRITE, ...extra]) || (held.has("Group.Create") && owns(g));
  const m = method.toUpperCase();
  const read = m === "GET" || m === "HEAD";
  const [s0, s1, s2] = segs;

  const alt = uniqueNameOf(s0) ?? (s0 === "groups" ? uniqueNameOf(s1) : undefined);
  if (alt !== undefined) {
    const g = dir.findGroupByUniqueName(alt);
    if (read) return readGroup(g);
    if (m === "PATCH" && !g) return any(GROUP_CREATE);
    return writeGroup(g);
  }
  switch (s0) {
    case "users":
      return read ? any(USER_READ) : any(["User.ReadWrite.All", "Directory.ReadWrite.All"]);
    case "servicePrincipals": {
      const rest = segs.slice(2);
      if (rest[0] === "appRoleAssignments" || rest[0] === "appRoleAssignedTo")
        return read ? any(APPLICATION_READ) : any(["AppRoleAssignment.ReadWrite.All"]);
      return read ? any(APPLICATION_READ) : any(["Application.ReadWrite.All"]);
    }
    case "directoryObjects": {
      if (s1 === "getByIds") return any(DIRECTORY_READ);
      // Membership questions about any object: Graph asks for a group-membership read permission.
      if (s2 === "checkMemberGroups" || s2 === "getMemberGroups" || s2 === "checkMemberObjects")
        return any(GROUP_READ);
      const o = s1 ? dir.getDirectoryObject(s1) : undefined;
      if (!o) return any([...USER_READ, ...APPLICATION_READ, ...GROUP_READ, "Group.Create"]);
      if (o.type === "user") return any(USER_READ);
      if (o.type === "servicePrincipal") return any(APPLICATION_READ);
      return readGroup(o.group);
    }
    case "groups": {
      // A delta round reads every group's members: owning some is not enough.
      if (s1 === "delta") return read && any(GROUP_READ);
      if (!s1) return read ? any(GROUP_READ) : m === "POST" ? any(GROUP_CREATE) : false;
      const g = dir.getGroup(s1);
      if (read) return readGroup(g);
      if (s2 === "members") return writeGroup(g, ["GroupMember.ReadWrite.All"]);
      return writeGroup(g);
    }
    default:
      // Anything else the emulated Graph serves is answered by its own handler (/me is delegated only).
      return true;
  }
}
