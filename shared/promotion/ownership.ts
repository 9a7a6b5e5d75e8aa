/**
 * Ownership before action. Names are predictable and anyone in the tenant may create a security
 * group or (with rights in the subscription) a resource group, so "an object with the derived
 * name exists" proves nothing about who made it. aml-steward continues only what a promotion
 * record of the same project says it created; everything else with a derived name stops the
 * promotion before anything is written to it, and leaves a `security` violation behind.
 *
 * Write-ahead claims keep a crash from turning our own half-made resource group into a foreign
 * one: the id goes into the record before the PUT. A group's object id is only known from
 * Graph's answer, so it is claimed right after the create; a crash in that instant leaves a
 * group the next delivery refuses (fail-safe: an operator deletes it or records it).
 */
import { TABLES } from "../config/settings.js";
import { ViolationLog } from "../ledger/violations.js";
import type { AzureClients } from "../azure/clients.js";
import type { PromotionRecords } from "./record.js";
import type { AssetRef } from "./request.js";
import { PromotionConflict } from "./conflict.js";
import { MANAGED_BY } from "./workspaceBlueprint.js";

/** What a refusal for ownership leaves in the violations ledger. */
export interface SecurityFinding {
  /** ARM id, or `group:<uniqueName>` for an Entra group. */
  target: string;
  subscriptionId: string;
  detail: string;
}

/** A permanent refusal: retrying cannot make a foreign object ours. */
export class OwnershipRefused extends PromotionConflict {
  override name = "OwnershipRefused";
  constructor(readonly finding: SecurityFinding) {
    super(finding.detail);
  }
}

/** The record entry of a group aml-steward created (as PromotionRecord.resources spells it). */
export function groupEntry(uniqueName: string, objectId: string): string {
  return `group:${uniqueName}:${objectId}`;
}

/**
 * Everything the promotion records of one project list (any request, failed ones included),
 * plus what the current run claims. Compared case-insensitively, as ARM ids are.
 */
export class ProjectOwnership {
  private readonly owned = new Set<string>();
  private records?: PromotionRecords;

  constructor(
    readonly project: string,
    entries: Iterable<string> = [],
  ) {
    this.claim(entries);
  }

  static async load(
    records: PromotionRecords,
    project: string,
    current: Iterable<string> = [],
  ): Promise<ProjectOwnership> {
    const o = new ProjectOwnership(project, current);
    o.records = records;
    await o.reload();
    return o;
  }

  private async reload(): Promise<void> {
    if (!this.records) return;
    for await (const r of this.records.listProjectResources({ includeFailed: true }))
      if (r.project === this.project) this.claim(r.resources);
  }

  has(entry: string): boolean {
    return this.owned.has(entry.toLowerCase());
  }

  /**
   * `has`, reading the records again on a miss: another request of the same project running at
   * the same time may have created (and claimed) the object since this run loaded them.
   */
  async hasFresh(entry: string): Promise<boolean> {
    if (this.has(entry)) return true;
    await this.reload();
    return this.has(entry);
  }

  claim(entries: Iterable<string>): void {
    for (const e of entries) this.owned.add(e.toLowerCase());
  }
}

function tag(tags: Record<string, string | null> | undefined, name: string): string | undefined {
  const key = Object.keys(tags ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : (tags![key] ?? undefined);
}

/**
 * Why an existing resource group with a derived name may not be continued, or undefined when
 * this project's promotions made it. Tags can be copied by anyone who can write them, so the
 * marker alone is not enough: a record must list the group too.
 */
export function resourceGroupOwnershipProblem(
  tagNames: { managedBy: string; project: string },
  ownership: ProjectOwnership,
  id: string,
  tags: Record<string, string> | undefined,
): string | undefined {
  const managedBy = tag(tags, tagNames.managedBy);
  const project = tag(tags, tagNames.project);
  if (managedBy !== MANAGED_BY || project !== ownership.project || !ownership.has(id)) {
    return `resource group ${id} already exists and aml-steward did not create it for project "${ownership.project}" (${[
      managedBy !== MANAGED_BY ? `no ${tagNames.managedBy}=${MANAGED_BY} tag` : "",
      project !== ownership.project ? `${tagNames.project} tag is ${JSON.stringify(project ?? null)}` : "",
      !ownership.has(id) ? "no promotion record of the project lists it" : "",
    ]
      .filter(Boolean)
      .join("; ")}); aml-steward never adopts a resource group`;
  }
  return undefined;
}

export interface ExistingGroup {
  id: string;
  /** Object ids of its owners. */
  owners: readonly string[];
}

/**
 * Why an existing Entra group with a derived uniqueName may not be used, or undefined when this
 * project's promotions created it and aml-steward is still its only owner (another owner could
 * change its members behind our back, and with them who holds the access matrix).
 */
export function groupOwnershipProblem(
  ownership: ProjectOwnership,
  uniqueName: string,
  group: ExistingGroup,
  stewardObjectId: string,
): string | undefined {
  const others = group.owners.map((o) => o.toLowerCase()).filter((o) => o !== stewardObjectId.toLowerCase());
  const ours = ownership.has(groupEntry(uniqueName, group.id));
  const soleOwner = others.length === 0 && group.owners.length > 0;
  if (ours && soleOwner) return undefined;
  return `Entra group ${uniqueName} (${group.id}) already exists and aml-steward did not create it for project "${ownership.project}" (${[
    ours ? "" : "no promotion record of the project lists it",
    soleOwner
      ? ""
      : `owners other than aml-steward: ${others.join(", ") || "none, and aml-steward is not one"}`,
  ]
    .filter(Boolean)
    .join("; ")}); aml-steward never adds itself to, or changes, a group it did not create`;
}

/** Principal kinds that may be a group's member or owner: nesting a group is never allowed. */
export const MEMBER_KINDS: ReadonlySet<string> = new Set(["user", "servicePrincipal"]);

/**
 * Why an exploration version may not be carried by this promotion, or undefined when it may:
 * it must carry this use case's tag and must not have gone to another project already.
 */
export function assetOwnershipProblem(
  ref: AssetRef,
  tags: Record<string, string | null> | undefined,
  expect: { tagName: string; useCaseId: string; project: string; promotedToTag: string },
): string | undefined {
  const what = `${ref.kind} ${ref.name} version ${ref.version}`;
  const useCase = tag(tags, expect.tagName);
  if (useCase !== expect.useCaseId)
    return `${what} is not tagged ${expect.tagName}=${expect.useCaseId} (it says ${JSON.stringify(useCase ?? null)}); a promotion carries only its own use case's assets`;
  const promotedTo = tag(tags, expect.promotedToTag);
  if (promotedTo && promotedTo !== expect.project)
    return `${what} was already promoted to project "${promotedTo}"; it is not copied again`;
  return undefined;
}

/**
 * Puts each finding in the violations ledger as an open `security` violation (only an operator
 * resolves those). Best effort: the refusal itself is already decided and recorded, and a
 * ledger outage must not turn it into a retry.
 */
export async function recordSecurityFindings(
  clients: AzureClients,
  findings: readonly SecurityFinding[],
  ctx: { project: string; correlationId: string; log?: { warn(msg: string, f?: object): void } },
): Promise<void> {
  if (findings.length === 0) return;
  const log = new ViolationLog(clients.table(TABLES.violations));
  for (const f of findings) {
    try {
      await log.upsert({
        resourceId: f.target,
        subscriptionId: f.subscriptionId,
        kind: "security",
        detail: f.detail.slice(0, 4000),
        project: ctx.project,
        correlationId: ctx.correlationId,
      });
    } catch (e) {
      ctx.log?.warn("could not record a security violation", {
        target: f.target,
        error: (e as Error).message,
      });
    }
  }
}
