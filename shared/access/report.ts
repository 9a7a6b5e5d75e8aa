/**
 * A project's access violations (role assignments on its scopes, members of its groups), open
 * and resolved, for `steward audit --project`. They live in the project subscription's
 * partition: one query of that partition, filtered here (operators ask rarely; the event path
 * writes often and must not pay for a second index).
 */
import type { ViolationLog, Violation } from "../ledger/violations.js";

export async function projectAccessViolations(
  log: Pick<ViolationLog, "list">,
  projectSubscriptionId: string,
  project: string,
): Promise<Violation[]> {
  const all = await log.list({ subscriptionId: projectSubscriptionId, includeResolved: true });
  const p = project.toLowerCase();
  return all
    .filter((v) => v.kind === "access" && v.project?.toLowerCase() === p)
    .sort((a, b) => a.firstSeen.localeCompare(b.firstSeen));
}
