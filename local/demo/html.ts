/** The demo's HTML report: one self-contained page (no scripts, no external assets). */
import type { ActResult } from "./acts.js";
import type { SummaryTable } from "./summary.js";

const esc = (v: unknown) =>
  String(v ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

function table(t: SummaryTable): string {
  const head = t.headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const notes = (t.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join("");
  const marks = (c: unknown) => (c === "x" ? ' class="mark"' : c === "-" ? ' class="nomark"' : "");
  const rows = t.rows.length
    ? t.rows
        .map((r) => `<tr>${t.headers.map((_, i) => `<td${marks(r[i])}>${esc(r[i])}</td>`).join("")}</tr>`)
        .join("\n")
    : `<tr><td colspan="${t.headers.length}" class="none">(none)</td></tr>`;
  const id = t.title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  return `<h3 id="${id}">${esc(t.title)} <span class="count">${esc(t.count ?? t.rows.length)}</span></h3>\n${notes}<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

export function renderHtml(opts: {
  ok: boolean;
  acts: ActResult[];
  tables: SummaryTable[];
  durationMs: number;
  startedAt: string;
  organisation: string;
}): string {
  const acts = opts.acts
    .map((a) => {
      const checks = a.checks
        .map(
          (c) =>
            `<li class="${c.ok ? "ok" : "bad"}">${c.ok ? "✓" : "✗"} ${esc(c.what)}${c.detail ? ` <span class="detail">${esc(c.detail)}</span>` : ""}</li>`,
        )
        .join("");
      const notes = a.notes.map((n) => `<p class="note">${esc(n)}</p>`).join("");
      return `<section class="act ${a.status}"><h3>${esc(a.title)} <span class="status">${esc(a.status)}</span> <span class="count">${(a.durationMs / 1000).toFixed(1)} s</span></h3>${notes}<ul>${checks}</ul>${a.error ? `<pre>${esc(a.error)}</pre>` : ""}</section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aml-steward demo</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#1b1b1b;padding:0 1rem}
h1{margin-bottom:.2rem}.sub{color:#555;margin-top:0}
.verdict{display:inline-block;padding:.3rem .8rem;border-radius:4px;color:#fff;font-weight:600}
.verdict.ok{background:#2e7d32}.verdict.bad{background:#c62828}
.act{border-left:4px solid #999;padding:.2rem 1rem;margin:1rem 0;background:#fafafa}
.act.passed{border-color:#2e7d32}.act.failed{border-color:#c62828}.act.unavailable{border-color:#ef6c00}
.status{font-size:.8rem;text-transform:uppercase;color:#555}.count{font-size:.8rem;color:#777;font-weight:normal}
li.ok{color:#1b5e20}li.bad{color:#b71c1c}.detail{color:#666;font-size:.85rem}.note{color:#333;margin:.3rem 0}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem;font-size:13px}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}tr:nth-child(even) td{background:#fcfcfc}td.none{color:#888}
td.mark{text-align:center;font-weight:600;color:#1b5e20}td.nomark{text-align:center;color:#bbb}
</style></head><body>
<h1>aml-steward: the ${esc(opts.organisation)} estate, governed by itself</h1>
<p class="sub">Demo run of ${esc(opts.startedAt)} on the local stack (Azure emulator, Azurite, the app's real functions) in ${(opts.durationMs / 1000).toFixed(1)} s.</p>
<p><span class="verdict ${opts.ok ? "ok" : "bad"}">${opts.ok ? "Every step did what it should" : "Some steps did not do what they should"}</span></p>
<h2>The scenario</h2>
${acts}
<h2>What exists now</h2>
${opts.tables.map(table).join("\n")}
</body></html>
`;
}
