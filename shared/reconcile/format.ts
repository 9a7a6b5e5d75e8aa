/**
 * A run report as readable text for the CLI and the logs: one summary table across the
 * subscriptions, then per subscription the guard's verdict, unattributed cost by resource
 * group, cost-centre mismatches, the first drift entries and failures.
 */
import type { DriftEntry, ReconcileReport } from "./types.js";

/** The summary table's columns, in order (the CLI fits them to the terminal). */
export const REPORT_COLUMNS: Array<[string, (r: ReconcileReport) => string | number]> = [
  ["subscription", (r) => r.subscriptionName ?? r.subscriptionId],
  ["status", (r) => r.status],
  ["scanned", (r) => r.counts.scanned],
  ["compliant", (r) => r.counts.compliant],
  ["incomplete", (r) => r.counts.incomplete],
  ["drifted", (r) => r.counts.drifted],
  ["fixed", (r) => r.counts.fixed],
  ["failed", (r) => r.counts.failed],
  ["untaggable", (r) => r.counts.untaggable],
  ["gone", (r) => r.counts.disappeared],
  ["settled", (r) => r.counts.settledMeanwhile ?? 0],
  ["blocked", (r) => r.counts.blocked],
  ["pending", (r) => r.counts.pending],
  ["unattributed", (r) => r.counts.unattributed],
  ["ARM reads", (r) => r.calls.armReads],
  ["ARM writes", (r) => r.calls.armWrites],
  ["429s", (r) => r.calls.throttled],
  ["time", (r) => seconds(r.durationMs)],
];

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join(
    "\n",
  );
}

export function formatReport(input: ReconcileReport | readonly ReconcileReport[]): string {
  const reports = Array.isArray(input) ? (input as readonly ReconcileReport[]) : [input as ReconcileReport];
  const out: string[] = [];
  out.push(
    table(
      REPORT_COLUMNS.map(([h]) => h),
      reports.map((r) => REPORT_COLUMNS.map(([, f]) => f(r))),
    ),
  );
  for (const r of reports) out.push("", ...reportDetails(r));
  return out.join("\n");
}

/** Per subscription: the guard's verdict, unattributed cost, mismatches, drift, failures. */
export function reportDetails(r: ReconcileReport): string[] {
  const out = [
    `== ${r.subscriptionName ?? ""} ${r.subscriptionId}  run ${r.runId}${r.dryRun ? "  (dry run)" : ""}`,
  ];
  if (r.approveRunId) out.push(`approving blocked run ${r.approveRunId}`);
  if (r.continuesRunId) out.push(`continues run ${r.continuesRunId}`);
  if (r.error) out.push(`error: ${r.error}`);
  const g = r.guard;
  if (g) {
    const limits = `limits: ${pct(g.maxChangeShare)} or ${g.maxChangeCount} resources`;
    out.push(
      g.allowed
        ? `guard: ok, ${g.drifted} of ${g.scanned} would change (${pct(g.share)}; ${limits})` +
            (g.approvedRunId ? `, approved through run ${g.approvedRunId}` : "")
        : `guard: BLOCKED, ${g.reason}; nothing written.` +
            (r.approval && !r.approval.usedByRunId
              ? ` Approve with: steward reconcile --approve ${r.runId} (before ${r.approval.validUntil})`
              : ""),
    );
  }
  if (r.approval?.usedByRunId) out.push(`approval used by run ${r.approval.usedByRunId}`);
  const v = Object.entries(r.violations);
  if (v.length > 0 || r.violationsResolved)
    out.push(
      `violations: ${v.map(([k, n]) => `${k} ${n}`).join(", ") || "none"}` +
        (r.violationsResolved ? `; ${r.violationsResolved} resolved` : ""),
    );
  if (r.unattributed.length > 0) {
    out.push("", `unattributed cost (no ${"cost centre"} on the resource nor its resource group):`);
    out.push(
      table(
        ["resource group", "resources", "project record", "example"],
        r.unattributed.map((u) => [
          u.resourceGroup || "(none)",
          u.count,
          u.project ? `${u.project.name} ${u.project.costCenter ?? ""}`.trim() : "",
          shortId(u.sample[0] ?? ""),
        ]),
      ),
    );
  }
  if (r.costCenterMismatches.length > 0) {
    out.push("", "resource groups whose cost centre differs from their project's record:");
    out.push(
      table(
        ["resource group", "tagged", "recorded", "project"],
        r.costCenterMismatches.map((m) => [m.resourceGroup, m.tagged, m.recorded, m.project]),
      ),
    );
  }
  if (r.driftSample.length > 0) {
    const more = r.counts.drifted - r.driftSample.length;
    const where = r.driftBlob ? `; all in blob ${r.driftBlob}` : "";
    out.push(
      "",
      `drift${more > 0 ? ` (first ${r.driftSample.length} of ${r.counts.drifted}${where})` : ""}:`,
    );
    out.push(formatDrift(r.driftSample));
  }
  if (r.failures.length > 0) {
    out.push("", "failed writes:");
    for (const f of r.failures) out.push(`  ${f.id}: ${f.error}`);
  }
  return out;
}

/** Drift entries as a table: resource, tag, current value -> wanted value. */
export function formatDrift(entries: readonly DriftEntry[]): string {
  const rows: string[][] = [];
  for (const e of entries) {
    for (const [k, v] of Object.entries(e.patch)) {
      rows.push([shortId(e.id), k, `${e.before[k] || "(none)"} -> ${v}`]);
    }
  }
  return table(["resource", "tag", "change"], rows);
}

/** rg/provider/type/name: the part of an id a reader needs within one subscription. */
function shortId(id: string): string {
  const m = /\/resourcegroups\/([^/]+)\/providers\/[^/]+\/(.+)$/i.exec(id);
  return m ? `${m[1]}/${m[2]}` : id;
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}
