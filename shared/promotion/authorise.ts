/**
 * May this caller ask for this, and does it need an approver? Pure rules over the policy, the
 * validated caller, the project's registry entry and the caller's group memberships (looked up
 * by the shell, which asks only about the groups these rules name).
 *
 * - A new project: the caller is in a requester group allowed for the cost centre; the cost
 *   centre's budget owners approve it.
 * - A change to an existing project: only its recorded owners may ask, under its own cost
 *   centre; it needs an approval when it touches a production-data environment or changes the
 *   owners (so the owner tag and the owner list never change on one person's word).
 * - A dry run creates nothing and needs no approval, but the same right to ask.
 */
import type { Caller } from "../auth/callerToken.js";
import type { EstatePolicy } from "../policy/schema.js";
import type { ProjectEntry } from "./projects.js";
import type { ApprovalRequirement } from "./record.js";
import type { PromotionRequest, Refusal } from "./request.js";

export type Authorisation =
  | {
      ok: true;
      kind: "newProject" | "change";
      /** Absent when the request may run at once. */
      approval?: Omit<ApprovalRequirement, "deadline">;
    }
  | { ok: false; reasons: Refusal[] };

export interface AuthoriseInput {
  policy: EstatePolicy;
  request: PromotionRequest;
  /** The environments the request touches, as admission resolved them. */
  environments: readonly string[];
  /** Object ids the request's owners resolved to. */
  ownerIds: readonly string[];
  caller: Caller;
  project: ProjectEntry | undefined;
  /** Ids of the groups (of those this module asked about) the caller is a member of. */
  callerGroups: ReadonlySet<string>;
  /** The team a project is promoted from (request.fromTeam), as onboarded. */
  team?: TeamOfRequest;
}

export interface TeamOfRequest {
  name: string;
  /** Its registry entry; absent when the team was never onboarded. */
  entry?: ProjectEntry;
  /** Object ids of the groups its onboarding created. */
  groupIds: string[];
}

/** The groups whose membership decides `authorise`: ask the directory about these only. */
export function groupsToCheck(policy: EstatePolicy, costCenter: string): string[] {
  return [...new Set(requesterGroups(policy, costCenter).map((g) => g.id.toLowerCase()))];
}

export function authorise(i: AuthoriseInput): Authorisation {
  const { policy, request, caller } = i;
  // Promoting from a team workspace archives the team's asset versions there: only the team's
  // owners and members may take a use case out of it.
  if (i.team) {
    const t = i.team;
    if (!t.entry)
      return refuse("fromTeam", `team "${t.name}" has no workspace yet: it must be onboarded first`);
    const inTeam =
      t.entry.ownerIds.includes(caller.objectId) ||
      t.groupIds.some((g) => i.callerGroups.has(g.toLowerCase()));
    if (!inTeam)
      return refuse(
        "fromTeam",
        `${who(caller)} is neither an owner nor a member of team "${t.name}", so cannot promote from its workspace`,
      );
  }
  const approvers = policy.fundedCostCenters.find((c) => c.id === request.costCenter)?.approvers;

  if (!i.project) {
    const allowed = requesterGroups(policy, request.costCenter);
    if (!allowed.some((g) => i.callerGroups.has(g.id.toLowerCase()))) {
      return refuse(
        "",
        allowed.length === 0
          ? `nobody may ask for a new project under cost centre "${request.costCenter}": the estate policy names no requester group for it`
          : `${who(caller)} is not a member of a group that may ask for new projects under "${request.costCenter}" (${allowed.map((g) => g.name).join(", ")})`,
      );
    }
    if (!approvers) {
      return refuse(
        "costCenter",
        `cost centre "${request.costCenter}" has no approvers group in the estate policy, so no new project can be approved`,
      );
    }
    return {
      ok: true,
      kind: "newProject",
      approval: request.dryRun
        ? undefined
        : {
            group: approvers,
            reasons: [
              `new ${request.kind === "team" ? "team workspace" : "project"} "${request.project}" under ${request.costCenter}`,
            ],
          },
    };
  }

  const p = i.project;
  if (!p.ownerIds.includes(caller.objectId)) {
    return refuse(
      "",
      `project "${p.project}" exists; only its owners may change it, and ${who(caller)} is not one of them`,
    );
  }
  if (p.costCenter !== request.costCenter) {
    return refuse(
      "costCenter",
      `project "${p.project}" belongs to cost centre "${p.costCenter}"; a change cannot move it to "${request.costCenter}"`,
    );
  }
  const reasons: string[] = [];
  const prodEnvs = i.environments.filter(
    (e) => policy.environments.find((x) => x.name === e)?.productionData,
  );
  if (prodEnvs.length > 0) reasons.push(`touches production-data environment(s) ${prodEnvs.join(", ")}`);
  const same = i.ownerIds.length === p.ownerIds.length && i.ownerIds.every((o) => p.ownerIds.includes(o));
  if (!same) reasons.push("changes the project's owners");
  if (reasons.length === 0 || request.dryRun) return { ok: true, kind: "change" };
  if (!approvers) {
    return refuse(
      "costCenter",
      `this change ${reasons.join(" and ")}, which needs an approval, but cost centre "${request.costCenter}" has no approvers group`,
    );
  }
  return { ok: true, kind: "change", approval: { group: approvers, reasons } };
}

function requesterGroups(policy: EstatePolicy, costCenter: string) {
  return policy.requests.requesters
    .filter((r) => !r.costCenters || r.costCenters.includes(costCenter))
    .map((r) => r.group);
}

function who(c: Caller): string {
  return c.userPrincipalName ?? c.displayName ?? c.objectId;
}

function refuse(path: string, reason: string): Authorisation {
  return { ok: false, reasons: [{ path, reason }] };
}
