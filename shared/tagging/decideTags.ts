/**
 * The pure core of tag governance: given a resource's current tags, its resource group's tags
 * and the estate policy, which tags should be merged onto it and which policy violations does
 * it show. No I/O, no clock: the event path (onResourceWrite) and the nightly reconciliation
 * both call this and then hand the patch to tagWriter.
 *
 * Tag names are case-insensitive in Azure (values are not), so every lookup goes through a
 * lower-cased view, and a patch key keeps the spelling the resource already uses: writing
 * `costCenter` onto a resource carrying `CostCenter` would only change the value of that tag,
 * but the audit and the reader should see the name the resource actually has.
 */
import { isGovernedSubscription, isUntaggedType } from "../policy/index.js";
import { followsConvention, KIND_BY_RESOURCE_TYPE } from "../policy/naming.js";
import type { EstatePolicy } from "../policy/schema.js";
import { parseResourceId } from "../azure/resourceId.js";
import type { ViolationKind } from "../ledger/violations.js";
import { regionViolation } from "./regionRule.js";
import { hasValue, tagView } from "./tagView.js";

// Callers read tags through decideTags, as before the view had a module of its own.
export { tagValue } from "./tagView.js";

/** Azure's limit of tags per resource, resource group or subscription. */
export const MAX_TAGS = 50;
/** Azure's limit on a tag value's length. */
export const MAX_TAG_VALUE = 256;

export interface TagSubject {
  id: string;
  type: string;
  location?: string;
  tags: Record<string, string>;
  name: string;
}

export interface TagContext {
  policy: EstatePolicy;
  resource: TagSubject;
  /** Tags of the resource's resource group; undefined when the resource IS a resource group or the RG is unknown. */
  resourceGroupTags?: Record<string, string>;
  /** createdBy value when known (event path); undefined in reconciliation (never removes/overwrites an existing createdBy). */
  createdBy?: string;
  /** YYYY-MM-DD (event path); never overwrites an existing createdOn. */
  createdOn?: string;
  /**
   * Kinds of the open violations of the resource's untaggable children (a workspace's
   * datastores and connections, childViolations.ts). Not the resource's own violations (it does
   * not record them); in `violations.mode: tag` its violation tag shows them too, so that
   * deciding the tag from its own violations alone does not take theirs off again.
   */
  childViolations?: readonly ViolationKind[];
}

export type SkipReason = "notGoverned" | "untaggableType" | "childResource" | "notAResource";

export interface TagDecision {
  skip?: SkipReason;
  /** Tags to send with Merge; empty when compliant. Keys use the resource's existing casing when a key exists in another casing. */
  patch: Record<string, string>;
  /**
   * Tags to delete, with the value they must still have (the Tags API's Delete of name/value
   * pairs removes nothing someone changed meanwhile): the violation tag of a resource that no
   * longer shows any violation, in `violations.mode: tag`. Empty otherwise.
   */
  remove: Record<string, string>;
  violations: Array<{ kind: ViolationKind; detail: string }>;
  /** True when applying the patch would exceed 50 tags (patch is then trimmed to what fits, required tags first). */
  overTagLimit: boolean;
  /** Why each patch key is set (same keys as patch), for the audit record. */
  reasons: Record<string, string>;
  /** The resource's tags once the patch is merged (what a compliant resource carries). */
  after: Record<string, string>;
}

const RESOURCE_GROUP_TYPE = "microsoft.resources/resourcegroups";

export function isResourceGroupType(type: string): boolean {
  return type.toLowerCase() === RESOURCE_GROUP_TYPE;
}

/**
 * Why a resource is outside tag governance, or undefined when it is governed. Cheap and pure,
 * so the event path asks it before making any call.
 */
export function skipReason(
  policy: EstatePolicy,
  subject: { id: string; type?: string },
): SkipReason | undefined {
  const parts = parseResourceId(subject.id);
  if (!parts || parts.type === "Microsoft.Resources/subscriptions") return "notAResource";
  if (!isGovernedSubscription(policy, parts.subscriptionId)) return "notGoverned";
  const type = subject.type || parts.type;
  if (isUntaggedType(policy, type) || isUntaggedType(policy, parts.type)) return "untaggableType";
  // Child and extension resources (blob services, workspace assets, role assignments on a
  // resource) are billed and governed through their parent.
  if (parts.isChild || type.split("/").length > 2) return "childResource";
  return undefined;
}

const isDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));

export { normaliseRegion } from "./regionRule.js";

/** Violations of region and naming rules: they do not depend on the tags decided here. */
function placementViolations(
  policy: EstatePolicy,
  r: TagSubject,
  isGroup: boolean,
  resourceGroupTags: Record<string, string> | undefined,
): TagDecision["violations"] {
  const out: TagDecision["violations"] = [];
  const region = regionViolation(policy, r, isGroup, resourceGroupTags);
  if (region) out.push({ kind: "region", detail: region });
  const kind = KIND_BY_RESOURCE_TYPE[r.type.toLowerCase()];
  if (kind && !isExplorationResource(policy, r, isGroup) && !followsConvention(policy, kind, r.name)) {
    out.push({
      kind: "naming",
      detail: `${kind} name "${r.name}" does not follow the convention "${policy.naming[kind]}"`,
    });
  }
  return out;
}

/**
 * The exploration resource group and everything in it are named by the policy itself or by
 * whoever tries an idea there (and by AML's own defaults for a workspace's dependencies); the
 * naming templates describe project environments only.
 */
function isExplorationResource(policy: EstatePolicy, r: TagSubject, isGroup: boolean): boolean {
  const parts = parseResourceId(r.id);
  if (!parts) return false;
  const ex = policy.exploration;
  if (parts.subscriptionId.toLowerCase() !== ex.subscriptionId.toLowerCase()) return false;
  const group = isGroup ? parts.name : parts.resourceGroup;
  return group?.toLowerCase() === ex.resourceGroup.toLowerCase();
}

export function decideTags(ctx: TagContext): TagDecision {
  const { policy, resource } = ctx;
  const skip = skipReason(policy, resource);
  if (skip) {
    return {
      skip,
      patch: {},
      remove: {},
      violations: [],
      overTagLimit: false,
      reasons: {},
      after: { ...resource.tags },
    };
  }
  const isGroup = isResourceGroupType(resource.type);
  const current = tagView(resource.tags);
  // lower-cased name -> [key as written, value, why]
  const wanted = new Map<string, { key: string; value: string; why: string }>();

  const want = (name: string, value: string, why: string) => {
    const lower = name.toLowerCase();
    if (wanted.has(lower)) return;
    const existing = current.get(lower);
    if (existing && existing.value === value) return;
    wanted.set(lower, { key: existing?.key ?? name, value, why });
  };

  if (!isGroup && ctx.resourceGroupTags) {
    const groupTags = tagView(ctx.resourceGroupTags);
    for (const { name, mode } of policy.tags.inherited) {
      const source = groupTags.get(name.toLowerCase());
      if (!hasValue(source)) continue;
      const existing = current.get(name.toLowerCase());
      if (!hasValue(existing)) want(name, source.value, `inherited from the resource group (${mode})`);
      else if (mode === "correct" && existing.value !== source.value)
        want(name, source.value, `corrected to the resource group's value (was "${existing.value}")`);
    }
  }

  const createdBy = ctx.createdBy?.trim().slice(0, MAX_TAG_VALUE);
  if (createdBy && !hasValue(current.get(policy.tags.createdBy.toLowerCase())))
    want(policy.tags.createdBy, createdBy, "creator of the resource (from the write event)");
  if (ctx.createdOn && isDate(ctx.createdOn) && !hasValue(current.get(policy.tags.createdOn.toLowerCase())))
    want(policy.tags.createdOn, ctx.createdOn, "creation date (from the write event)");

  // Required tags, judged on the tags the resource will carry after the merge.
  const violations = placementViolations(policy, resource, isGroup, ctx.resourceGroupTags);
  const willHave = (name: string) => {
    const lower = name.toLowerCase();
    return hasValue(wanted.get(lower)) || hasValue(current.get(lower));
  };
  const missing = policy.tags.required.filter((n) => !willHave(n));
  if (missing.length > 0) {
    violations.push({
      kind: "missingTags",
      detail: isGroup
        ? `resource group lacks required tags: ${missing.join(", ")}`
        : ctx.resourceGroupTags
          ? `missing required tags that the resource group cannot supply: ${missing.join(", ")}`
          : `missing required tags: ${missing.join(", ")}`,
    });
  }

  const remove: Record<string, string> = {};
  if (policy.violations.mode === "tag") {
    const kinds = new Set([...violations.map((v) => v.kind), ...(ctx.childViolations ?? [])]);
    if (kinds.size > 0) {
      const why = ctx.childViolations?.length
        ? "policy violations, its datastores' and connections' included (violations.mode = tag)"
        : "policy violations (violations.mode = tag)";
      want(policy.violations.tagName, [...kinds].sort().join(","), why);
    } else {
      // The tag is the policy's to write in this mode: once nothing is wrong it goes.
      const shown = current.get(policy.violations.tagName.toLowerCase());
      if (hasValue(shown)) remove[shown.key] = shown.value;
    }
  }

  const { kept, dropped } = fitTagLimit(policy, current, wanted);
  const overTagLimit = dropped.length > 0;
  if (overTagLimit) {
    violations.push({
      kind: "tagLimit",
      detail: `needs ${current.size + kept.newKeys + dropped.length} tags, Azure allows ${MAX_TAGS}; not written: ${dropped.join(", ")}`,
    });
  }

  const patch: Record<string, string> = {};
  const reasons: Record<string, string> = {};
  for (const w of kept.entries) {
    patch[w.key] = w.value;
    reasons[w.key] = w.why;
  }
  const after: Record<string, string> = { ...resource.tags };
  for (const [key, value] of Object.entries(patch)) after[key] = value;
  for (const key of Object.keys(remove)) {
    delete after[key];
    reasons[key] = "no policy violation left (violations.mode = tag)";
  }
  return { patch, remove, violations, overTagLimit, reasons, after };
}

/**
 * Keeps the patch within Azure's 50 tags. Changing an existing tag never adds one, so those
 * always stay; new tags are kept in priority order: required, then other inherited, then
 * createdBy/createdOn, then the violation marker.
 */
function fitTagLimit(
  policy: EstatePolicy,
  current: Map<string, unknown>,
  wanted: Map<string, { key: string; value: string; why: string }>,
): {
  kept: { entries: Array<{ key: string; value: string; why: string }>; newKeys: number };
  dropped: string[];
} {
  const priority = [
    ...policy.tags.required,
    ...policy.tags.inherited.map((t) => t.name),
    policy.tags.createdBy,
    policy.tags.createdOn,
    policy.violations.tagName,
  ].map((n) => n.toLowerCase());
  const rank = (lower: string) => {
    const i = priority.indexOf(lower);
    return i === -1 ? priority.length : i;
  };
  const updates = [...wanted].filter(([lower]) => current.has(lower)).map(([, w]) => w);
  const additions = [...wanted]
    .filter(([lower]) => !current.has(lower))
    .sort(([a], [b]) => rank(a) - rank(b));
  const room = Math.max(0, MAX_TAGS - current.size);
  const fits = additions.slice(0, room).map(([, w]) => w);
  return {
    kept: { entries: [...updates, ...fits], newKeys: fits.length },
    dropped: additions.slice(room).map(([, w]) => w.key),
  };
}
