/**
 * Demo act: two people tamper with a promoted project by hand. Erin grants Bob Owner on the
 * prod resource group; Dave removes the cost centre tag from a prod resource through the Tags
 * API. Both arrive as events and are caught within seconds: the tag is put back, the Owner
 * is an access violation naming Erin (and removed when the policy says `access.drift: restore`).
 */
import { randomUUID } from "node:crypto";
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog } from "../../shared/ledger/violations.js";
import { environmentNames } from "../../shared/policy/index.js";
import { ROLE_IDS } from "../../shared/setup/contract.js";
import { PEOPLE } from "../seeds/contoso.js";
import { as, until, type Act } from "./act.js";

export const tamper: Act = {
  id: "tamper",
  title:
    "Someone grants Owner on the prod resource group and removes a cost tag by hand; both are caught in seconds",
  needs: ["onResourceWrite", "processPromotion"],
  async run(ctx, check) {
    const { stack } = ctx;
    const policy = stack.policy;
    const sub = policy.projectSubscriptionId;
    const prodEnv =
      [...policy.environments].reverse().find((e) => e.productionData) ?? policy.environments.at(-1)!;
    const prod = environmentNames(policy, ctx.facts.project, prodEnv.name);
    const scope = `/subscriptions/${sub}/resourceGroups/${prod.resourceGroup}`;
    const erin = as(stack, PEOPLE.erin, sub);
    const dave = as(stack, PEOPLE.dave, sub);
    const restore = policy.access.drift === "restore";

    const name = randomUUID();
    ctx.say(`Erin grants Bob Owner on ${prod.resourceGroup} by hand, outside the request flow`);
    const started = Date.now();
    await erin.auth.roleAssignments.create(scope, name, {
      roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.owner}`,
      principalId: PEOPLE.bob.objectId,
      principalType: "User",
    });
    const violations = new ViolationLog(azure().table(TABLES.violations));
    const row = await until(
      async () =>
        (
          await violations.list({
            subscriptionId: sub,
            resourceId: `${scope}/providers/Microsoft.Authorization/roleAssignments`,
            includeResolved: true,
          })
        ).find((v) => v.detail.includes(PEOPLE.bob.objectId) && Date.parse(v.lastSeen) >= started - 1000),
      (v) => !!v,
      15_000,
      100,
    );
    check(
      "the hand-made Owner is an access violation naming who made it",
      !!row && row.detail.includes(PEOPLE.erin.userPrincipalName),
      row ? `${row.detail} (after ${Date.parse(row.firstSeen) - started} ms)` : "no violation recorded",
    );
    const stillThere = async () => {
      for await (const ra of erin.auth.roleAssignments.listForScope(scope, { filter: "atScope()" }))
        if (ra.name === name) return true;
      return false;
    };
    if (restore) {
      const present = await until(stillThere, (p) => !p, 15_000, 100);
      check(
        "access.drift is restore: the Owner assignment is removed",
        !present,
        present ? "still there" : "removed",
      );
    } else {
      check(
        "access.drift is audit: the assignment stays for an operator (steward audit --project)",
        await stillThere(),
        "kept",
      );
    }

    let target: string | undefined;
    for await (const r of dave.arm.resources.listByResourceGroup(prod.resourceGroup))
      if (r.type?.toLowerCase() === "microsoft.storage/storageaccounts") target = r.id;
    check("the prod environment has a storage account", !!target, target ?? "none");
    if (!target) return;
    const key = policy.tags.costCenter;
    const right = (await dave.arm.tagsOperations.getAtScope(target)).properties?.tags?.[key];
    ctx.say(
      `Dave deletes ${key} from ${target.split("/").pop()} with the Tags API (as az tag update --operation delete does)`,
    );
    const removedAt = Date.now();
    await dave.arm.tagsOperations.beginUpdateAtScopeAndWait(target, {
      operation: "Delete",
      properties: { tags: { [key]: right ?? "" } },
    });
    const back = await until(
      async () => (await dave.arm.tagsOperations.getAtScope(target!)).properties?.tags?.[key],
      (v) => v === right,
      15_000,
      100,
    );
    check(
      `${key} is put back from the tag write's event, without waiting for the night`,
      back === right,
      `${back ?? "missing"} after ${Date.now() - removedAt} ms`,
    );
  },
};
