/** The setup report: one line per prerequisite, readable by people and by tests. */

export type SetupArea =
  "identity" | "subscriptions" | "roles" | "graph" | "exploration" | "storage" | "events";

/**
 * ok: present as required. created: was missing, setup made it (apply mode only).
 * missing: absent. wrong: present but not as required (e.g. broader than needed).
 * unverified: could not be read (no permission, or not modelled locally); not a failure.
 * error: the check itself failed.
 */
export type ItemStatus = "ok" | "created" | "missing" | "wrong" | "unverified" | "error";

export interface SetupItem {
  area: SetupArea;
  name: string;
  status: ItemStatus;
  detail?: string;
  /** What to do about it (missing/wrong/error). */
  fix?: string;
}

export interface SetupReport {
  mode: "check" | "apply";
  /** True when nothing is missing, wrong or failed. */
  ok: boolean;
  /** Writes setup made (0 in check mode, and on a run that finds everything in place). */
  changes: number;
  items: SetupItem[];
}

const AREA_TITLES: Record<SetupArea, string> = {
  identity: "aml-steward identity",
  subscriptions: "Subscriptions",
  roles: "Azure roles of the identity",
  graph: "Microsoft Graph permissions of the identity",
  exploration: "Exploration resource group and workspace",
  storage: "Storage queues, tables and containers",
  events: "Event Grid wiring",
};

const MARK: Record<ItemStatus, string> = {
  ok: "ok     ",
  created: "created",
  missing: "MISSING",
  wrong: "WRONG  ",
  unverified: "?      ",
  error: "ERROR  ",
};

export function isProblem(status: ItemStatus): boolean {
  return status === "missing" || status === "wrong" || status === "error";
}

/** A plain-text report, grouped by area, problems with their fix, and a one-line verdict. */
export function formatSetupReport(r: SetupReport): string {
  const lines: string[] = [
    `aml-steward setup ${r.mode === "check" ? "--check (changes nothing)" : ""}`.trimEnd(),
    "",
  ];
  for (const area of Object.keys(AREA_TITLES) as SetupArea[]) {
    const items = r.items.filter((i) => i.area === area);
    if (items.length === 0) continue;
    lines.push(AREA_TITLES[area]);
    for (const i of items) {
      lines.push(`  [${MARK[i.status]}] ${i.name}${i.detail ? ` - ${i.detail}` : ""}`);
      if (i.fix && (isProblem(i.status) || i.status === "unverified"))
        lines.push(`             fix: ${i.fix}`);
    }
    lines.push("");
  }
  const problems = r.items.filter((i) => isProblem(i.status)).length;
  const unverified = r.items.filter((i) => i.status === "unverified").length;
  const verdict = r.ok
    ? `All prerequisites in place${unverified ? ` (${unverified} could not be verified)` : ""}.`
    : `${problems} problem(s) to fix${unverified ? `, ${unverified} could not be verified` : ""}.`;
  lines.push(`${verdict} ${r.mode === "check" ? "Nothing was changed." : `${r.changes} change(s) made.`}`);
  return lines.join("\n");
}
