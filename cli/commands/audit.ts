/**
 * `steward audit --resource ID | --project NAME [--since ISO-TIME]`: every write aml-steward
 * made there (what, when, before -> after, why, correlation id), oldest first, and for a
 * resource its recorded policy violations, open and resolved; for a project its access
 * violations (role assignments and group members that differ from what promotions recorded).
 */
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { AuditLog, type AuditEntry } from "../../shared/ledger/audit.js";
import { ViolationLog, type Violation } from "../../shared/ledger/violations.js";
import { projectAccessViolations } from "../../shared/access/report.js";
import { getPolicy } from "../../shared/policy/index.js";
import { printJson, tableWidth, UsageError, type CommandContext } from "../io.js";
import { renderTable, shortId } from "../table.js";

/** Access rows of a scope are kept under its role-assignment collection; show the scope. */
const ACCESS_SUFFIX = /\/providers\/Microsoft\.Authorization\/roleAssignments$/i;

export interface AuditOptions {
  resource?: string;
  project?: string;
  since?: string;
}

function change(e: AuditEntry): string {
  const show = (v: unknown) => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
  const before = show(e.before);
  const after = show(e.after);
  return before || after ? `${before || "-"} -> ${after || "-"}` : "";
}

export async function audit(ctx: CommandContext, args: string[], opts: AuditOptions): Promise<void> {
  if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
  if (!!opts.resource === !!opts.project)
    throw new UsageError("give exactly one of --resource ID or --project NAME");
  if (opts.resource && !/^\/subscriptions\/[^/]+/i.test(opts.resource)) {
    throw new UsageError(`--resource must be an ARM id (/subscriptions/...), got "${opts.resource}"`);
  }
  if (opts.since && Number.isNaN(Date.parse(opts.since)))
    throw new UsageError(`--since "${opts.since}" is not a date or time`);
  const since = opts.since ? new Date(opts.since).toISOString() : undefined;
  const log = new AuditLog(azure().table(TABLES.audit));
  const entries = opts.resource
    ? await log.byResource(opts.resource, since ? { since } : {})
    : await log.byProject(opts.project!, since ? { since } : {});
  let violations: Violation[] = [];
  if (opts.resource) {
    const sub = /^\/subscriptions\/([^/]+)/i.exec(opts.resource)![1]!;
    violations = await new ViolationLog(azure().table(TABLES.violations)).list({
      subscriptionId: sub,
      resourceId: opts.resource,
      includeResolved: true,
    });
  }
  if (opts.project) {
    const table = new ViolationLog(azure().table(TABLES.violations));
    violations = await projectAccessViolations(table, getPolicy().projectSubscriptionId, opts.project);
  }
  if (ctx.json) return printJson(ctx.io, { entries, violations });
  const out: string[] = [
    `${entries.length} audit entr${entries.length === 1 ? "y" : "ies"} for ${opts.resource ? `resource ${opts.resource}` : `project ${opts.project}`}`,
    renderTable(
      ["at", "actor", "action", "target", "change", "reason"],
      entries.map((e) => [
        e.at.replace(/\.\d+Z$/, "Z"),
        e.actor,
        e.action,
        shortId(e.target),
        change(e),
        e.reason,
      ]),
      // On a narrow terminal the actor goes first, then the reason; what was done, where, and the
      // change wrap rather than vanish.
      { width: tableWidth(ctx), drop: [1, 5], wrap: [2, 3, 4] },
    ),
  ];
  out.push(
    "",
    opts.resource ? "violations:" : "access and data violations:",
    renderTable(
      [opts.resource ? "kind" : "where", "detail", "first seen", "last seen", "resolved"],
      violations.map((v) => [
        opts.resource
          ? v.kind
          : `${v.kind === "access" ? "" : `${v.kind}: `}${shortId(v.resourceId.replace(ACCESS_SUFFIX, ""))}`,
        v.detail,
        v.firstSeen,
        v.lastSeen,
        v.resolvedAt ?? "open",
      ]),
      { width: tableWidth(ctx), drop: [2, 3], wrap: 1 },
    ),
  );
  ctx.io.stdout(out.join("\n"));
}
