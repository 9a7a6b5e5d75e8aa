/**
 * The pure part of a reconciliation: what one listed resource means for the run (skipped,
 * compliant or drifted, attributed to a cost centre or not) and the running totals of a run.
 * The decision itself is decideTags, the same core the event path uses, so the nightly run and
 * the event handler can never disagree (and never fight over a tag). No I/O here.
 */
import type { EstatePolicy } from "../policy/schema.js";
import { decideTags, type TagDecision } from "../tagging/decideTags.js";
import type { ViolationKind } from "../ledger/violations.js";
import type { DriftEntry, RunCounts, UnattributedGroup } from "./types.js";
import { emptyCounts } from "./types.js";

/** A resource as the subscription-wide listing returns it. */
export interface ListedResource {
  id: string;
  type: string;
  name: string;
  location?: string;
  tags?: Record<string, string>;
}

export interface Assessment {
  resource: ListedResource;
  resourceGroup: string;
  decision: TagDecision;
  /** Set when the resource needs a write. */
  drift?: DriftEntry;
  /** Governed, and neither the resource nor its resource group names a cost centre. */
  unattributed: boolean;
}

/** Case-insensitive tag lookup; an empty value counts as absent (it attributes nothing). */
export function tagValue(tags: Record<string, string> | undefined, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(tags ?? {})) {
    if (k.toLowerCase() === lower && String(v).trim() !== "") return v;
  }
  return undefined;
}

/** The resource group segment of an ARM id ("" when the id has none). */
export function resourceGroupOf(id: string): string {
  const m = /\/resourcegroups\/([^/]+)/i.exec(id);
  return m ? m[1]! : "";
}

export function assess(
  policy: EstatePolicy,
  resource: ListedResource,
  resourceGroupTags: Record<string, string> | undefined,
  /** Backfilled creator (creators.ts), for a resource missing createdBy/createdOn. */
  creator?: { createdBy: string; createdOn: string },
  /** Kinds of its datastores' and connections' open data violations (tagging/childViolations.ts). */
  childViolations?: readonly ViolationKind[],
): Assessment {
  const tags = resource.tags ?? {};
  const decision = decideTags({
    policy,
    resource: {
      id: resource.id,
      type: resource.type,
      name: resource.name,
      location: resource.location,
      tags,
    },
    resourceGroupTags,
    // Without a backfilled creator decideTags leaves createdBy/createdOn alone; with one it
    // only fills them (it never overwrites either).
    ...(creator ? { createdBy: creator.createdBy, createdOn: creator.createdOn } : {}),
    childViolations,
  });
  const resourceGroup = resourceGroupOf(resource.id);
  const patchKeys = Object.keys(decision.patch);
  const drift: DriftEntry | undefined =
    !decision.skip && patchKeys.length > 0
      ? {
          id: resource.id,
          resourceGroup,
          type: resource.type,
          patch: decision.patch,
          before: Object.fromEntries(patchKeys.map((k) => [k, tagValue(tags, k) ?? ""])),
          reasons: decision.reasons,
          project: tagValue(decision.after, policy.tags.project),
        }
      : undefined;
  const costCenter = policy.tags.costCenter;
  const unattributed =
    !decision.skip && !tagValue(tags, costCenter) && !tagValue(resourceGroupTags, costCenter);
  return { resource, resourceGroup, decision, drift, unattributed };
}

/** Groups unattributed resources by resource group, with a bounded sample of ids per group. */
export class UnattributedTally {
  private readonly groups = new Map<string, { resourceGroup: string; count: number; sample: string[] }>();

  constructor(
    private readonly subscriptionId: string,
    private readonly sampleSize = 5,
  ) {}

  add(resourceGroup: string, resourceId: string): void {
    const key = resourceGroup.toLowerCase();
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { resourceGroup, count: 0, sample: [] }));
    g.count++;
    if (g.sample.length < this.sampleSize) g.sample.push(resourceId);
  }

  /** Largest groups first (where attribution helps most), then by name for a stable order. */
  result(): UnattributedGroup[] {
    return [...this.groups.values()]
      .sort((a, b) => b.count - a.count || a.resourceGroup.localeCompare(b.resourceGroup))
      .map((g) => ({ subscriptionId: this.subscriptionId, ...g }));
  }
}

/** Running totals of the scan phase of one subscription's run. */
export class ScanTally {
  readonly counts: RunCounts = emptyCounts();
  readonly violations: Partial<Record<ViolationKind, number>> = {};
  readonly unattributed: UnattributedTally;
  readonly driftSample: DriftEntry[] = [];

  constructor(
    subscriptionId: string,
    private readonly driftSampleSize = 20,
  ) {
    this.unattributed = new UnattributedTally(subscriptionId);
  }

  add(a: Assessment): void {
    const c = this.counts;
    c.scanned++;
    const { decision } = a;
    if (decision.skip === "untaggableType") c.untaggable++;
    else if (decision.skip) c.skipped++;
    else if (a.drift) c.drifted++;
    else if (decision.violations.some((v) => v.kind === "missingTags")) c.incomplete++;
    else c.compliant++;
    if (decision.overTagLimit) c.overTagLimit++;
    for (const v of decision.violations) this.violations[v.kind] = (this.violations[v.kind] ?? 0) + 1;
    if (a.unattributed) {
      c.unattributed++;
      this.unattributed.add(a.resourceGroup, a.resource.id);
    }
    if (a.drift && this.driftSample.length < this.driftSampleSize) this.driftSample.push(a.drift);
  }
}
