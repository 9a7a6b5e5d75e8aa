/**
 * A project's access violations (role assignments on its scopes, members of its groups) and
 * data violations (datastores, connections and role assignments reaching production storage
 * from its environments without productionData, data used outside its restricted region), open
 * and resolved, for `steward audit --project`. They live in the project subscription's
 * partition: one query of that partition, filtered here (operators ask rarely; the event path
 * writes often and must not pay for a second index).
 */
import type { ViolationLog, Violation, ViolationKind } from "../ledger/violations.js";

/** Kinds recorded under a project: its access, and data reaching it (shared/segregation). */
const PROJECT_KINDS: ReadonlySet<ViolationKind> = new Set(["access", "dataSegregation", "dataResidency"]);

export async function projectAccessViolations(
  log: Pick<ViolationLog, "list">,
  projectSubscriptionId: string,
  project: string,
): Promise<Violation[]> {
  const all = await log.list({ subscriptionId: projectSubscriptionId, includeResolved: true });
  const p = project.toLowerCase();
  return all
    .filter((v) => PROJECT_KINDS.has(v.kind) && v.project?.toLowerCase() === p)
    .sort((a, b) => a.firstSeen.localeCompare(b.firstSeen));
}
