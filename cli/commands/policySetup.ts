/**
 * The setup part of `policy show` and `policy validate`: which of Microsoft's workspace and
 * environment setups the policy describes, its teams, and the trade-offs the guidance names,
 * so an operator sees what they chose before it is enforced.
 */
import type { EstatePolicy } from "../../shared/policy/index.js";
import { describeSetup } from "../../shared/policy/setupRules.js";

export { describeSetup };

export function setupLines(policy: EstatePolicy): string[] {
  const d = describeSetup(policy);
  return [
    `setup: ${d.workspaces === "single workspace only" ? d.workspaces : `workspace ${d.workspaces}`}; ${d.environments} (${policy.environments.map((e) => `${e.name}${e.productionData ? ": production data" : ": limited data"}`).join(", ")})`,
    ...policy.teams.map(
      (t) => `  team ${t.name}: cost centre ${t.costCenter}${t.description ? `, ${t.description}` : ""}`,
    ),
    "trade-offs:",
    ...d.tradeOffs.map((t) => `  - ${t}`),
  ];
}
