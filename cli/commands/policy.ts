/**
 * `steward policy validate FILE`: every problem of a policy file at once (exit 1 when it has
 * any, 2 when the file cannot be read). `steward policy show`: the effective policy
 * (STEWARD_POLICY_PATH, else the bundled default), with the role x environment access matrix.
 */
import { regionPlanLines } from "../../shared/policy/regionPlans.js";
import { DEFAULT_POLICY_PATH, getPolicy, type EstatePolicy } from "../../shared/policy/index.js";
import { checkPolicyFile } from "./policyCheck.js";
import { CommandFailed, printJson, tableWidth, UsageError, type CommandContext } from "../io.js";
import { renderTable } from "../table.js";
import { environmentHardening } from "../../shared/promotion/workspaceBlueprint.js";
import { describeSetup, setupLines } from "./policySetup.js";

export async function policyValidate(ctx: CommandContext, args: string[]): Promise<void> {
  const file = args[0];
  if (!file || args.length > 1) throw new UsageError("usage: steward policy validate FILE");
  const { problems, policy } = checkPolicyFile(file);
  if (problems.length > 0) {
    if (ctx.json) printJson(ctx.io, { file, valid: false, problems });
    else {
      ctx.io.stdout(`${file}: INVALID, ${problems.length} problem${problems.length === 1 ? "" : "s"}:`);
      // field = value: rule, one per line, so a long rule or value is never cut.
      for (const p of problems) ctx.io.stdout(`  ${p.path || "(root)"} = ${showValue(p.value)}: ${p.rule}`);
    }
    throw new CommandFailed(`${file} is not a valid estate policy`);
  }
  if (ctx.json)
    printJson(ctx.io, { file, valid: true, summary: summary(policy!), setup: describeSetup(policy!) });
  else ctx.io.stdout(`${file}: valid. ${describe(policy!)}\n${setupLines(policy!).join("\n")}\n`);
}

function showValue(v: unknown): string {
  if (v === undefined) return "(missing)";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export async function policyShow(ctx: CommandContext, args: string[]): Promise<void> {
  if (args.length > 0) throw new UsageError("usage: steward policy show");
  const source = process.env.STEWARD_POLICY_PATH || DEFAULT_POLICY_PATH;
  const policy = getPolicy(source);
  if (ctx.json) return printJson(ctx.io, { source, policy, setup: describeSetup(policy) });
  const out: string[] = [];
  out.push(`Estate policy of ${policy.organisation} (version ${policy.version})`, `source: ${source}`, "");
  out.push(...setupLines(policy), "");
  out.push(`regions: ${policy.regions.allowed.join(", ")} (default ${policy.regions.default})`);
  out.push(...regionPlanLines(policy), "");
  out.push(
    renderTable(
      ["environment", "production data", "budget", "public network", "key vault purge protection"],
      policy.environments.map((e) => {
        const h = environmentHardening(policy, e.name);
        return [
          e.name,
          e.productionData ? "yes" : "no",
          e.budget ? `${e.budget.monthlyAmount} ${e.budget.currency}/month` : "none",
          h.publicNetworkAccess,
          h.purgeProtection ? "on" : "off",
        ];
      }),
    ),
    "",
  );
  out.push(
    renderTable(
      ["role", "description"],
      policy.roles.map((r) => [r.name, r.description]),
      { width: tableWidth(ctx), wrap: 1 },
    ),
    "",
  );
  out.push("Access matrix (Azure roles granted to each role's group on the environment's resource group):");
  out.push(accessMatrix(policy), "");
  const t = policy.tags;
  out.push(
    renderTable(
      ["tag", "purpose"],
      [
        ...t.required.map((name) => [name, purposeOf(policy, name)]),
        [t.createdBy, "who created the resource"],
        [t.createdOn, "creation date (never overwritten)"],
        [t.managedBy, "made by aml-steward"],
      ],
    ),
    "",
  );
  out.push(
    renderTable(
      ["name kind", "template"],
      Object.entries(policy.naming)
        .filter(([k]) => !["projectPattern", "hashLength", "uniquenessSeed"].includes(k))
        .map(([k, v]) => [k, String(v)]),
    ),
    `project names must match ${policy.naming.projectPattern}`,
    "",
  );
  out.push(
    renderTable(
      ["funded cost centre", "name", "approved by (budget owners)"],
      policy.fundedCostCenters.map((c) => [
        c.id,
        c.name,
        c.approvers ? `${c.approvers.name} (${c.approvers.id})` : "(nobody)",
      ]),
    ),
    "",
    "who may ask for a new project (changes come from a project's owners; nobody approves their own request):",
    ...(policy.requests.requesters.length
      ? policy.requests.requesters.map(
          (r) =>
            `  ${r.group.name} (${r.group.id}): ${r.costCenters ? r.costCenters.join(", ") : "any funded cost centre"}`,
        )
      : ["  nobody (requests.requesters is empty)"]),
    `approvals expire after ${policy.requests.approvalTimeoutDays} days`,
    "",
  );
  out.push(
    renderTable(
      ["governed subscription", "name"],
      policy.governedSubscriptions.map((s) => [s.id, s.name]),
    ),
    "",
  );
  out.push(
    `exploration: ${policy.exploration.workspace} in ${policy.exploration.resourceGroup} (cost centre ${policy.exploration.costCenter})`,
    `violations: ${policy.violations.mode}` +
      (policy.violations.mode === "tag" ? ` (tag ${policy.violations.tagName})` : ""),
    dataSegregationLine(policy),
    `data residency: ${policy.regions.restricted.length ? `data in ${policy.regions.restricted.join(", ")} is used only from workspaces in the same region` : "no restricted regions"}`,
    "storage accounts: no shared-key access, TLS 1.2 at least, no public blob access",
    `quotas: ${policy.quotas.maxProjectsPerCostCenter === undefined ? "no project cap per cost centre" : `at most ${policy.quotas.maxProjectsPerCostCenter} project(s) per cost centre`}, ${policy.quotas.roleAssignmentsPerSubscription} role assignments per subscription`,
    `reconcile guard: at most ${Math.round(policy.reconcile.maxChangeShare * 100)}% or ${policy.reconcile.maxChangeCount} resources per run, ${policy.reconcile.concurrency} writes at once`,
    `blocked runs approved by: ${policy.reconcile.approvers ? `${policy.reconcile.approvers.name} (${policy.reconcile.approvers.id})` : "nobody (reconcile.approvers unset)"}`,
  );
  ctx.io.stdout(out.join("\n"));
}

function dataSegregationLine(policy: EstatePolicy): string {
  const d = policy.dataSegregation;
  if (d.mode === "off") return "data segregation: off";
  const without = policy.environments.filter((e) => !e.productionData).map((e) => e.name);
  return (
    `data segregation: production storage (resource groups of ${
      policy.environments
        .filter((e) => e.productionData)
        .map((e) => e.name)
        .join(", ") || "no environment"
    }, ` +
    `or tagged ${d.classificationTag}=${d.productionValues.join("|")}) may not be reached from ${without.join(", ") || "no environment"}`
  );
}

/** One row per (project role, Azure role); a column per environment marks where it is granted. */
export function accessMatrix(policy: EstatePolicy): string {
  const envs = policy.environments.map((e) => e.name);
  const rows: string[][] = [];
  for (const r of policy.roles) {
    const row = policy.accessMatrix[r.name] ?? {};
    const azureRoles = [...new Set(envs.flatMap((env) => (row[env] ?? []).map((g) => g.name)))];
    if (azureRoles.length === 0) rows.push([r.name, "(nothing)", ...envs.map(() => "-")]);
    azureRoles.forEach((name, i) =>
      rows.push([
        i === 0 ? r.name : "",
        name,
        ...envs.map((env) => ((row[env] ?? []).some((g) => g.name === name) ? "x" : "-")),
      ]),
    );
  }
  return renderTable(["role", "Azure role", ...envs], rows);
}

function purposeOf(policy: EstatePolicy, name: string): string {
  const t = policy.tags;
  const inherited = policy.tags.inherited.find((i) => i.name.toLowerCase() === name.toLowerCase());
  const role =
    name === t.costCenter
      ? "cost centre"
      : name === t.project
        ? "project"
        : name === t.environment
          ? "environment"
          : name === t.owner
            ? "owner"
            : "required";
  return inherited ? `${role}; inherited from the resource group (${inherited.mode})` : role;
}

function summary(p: EstatePolicy) {
  return {
    organisation: p.organisation,
    environments: p.environments.map((e) => e.name),
    roles: p.roles.map((r) => r.name),
    governedSubscriptions: p.governedSubscriptions.length,
  };
}

function describe(p: EstatePolicy): string {
  return `${p.organisation}: ${p.environments.length} environments (${p.environments.map((e) => e.name).join(", ")}), ${p.roles.length} roles, ${p.governedSubscriptions.length} governed subscription(s).`;
}
