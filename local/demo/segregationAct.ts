/**
 * Demo act: live production data must not reach dev. Alice registers, in the project's dev
 * workspace, a datastore on the prod environment's storage account. Its write event is judged
 * within seconds: a dataSegregation violation naming the datastore, the account and why it is
 * production storage. Pointed back at dev's own storage, the violation is resolved.
 */
import { azure } from "../../shared/azure/clients.js";
import { TABLES } from "../../shared/config/settings.js";
import { ViolationLog, type Violation } from "../../shared/ledger/violations.js";
import { environmentNames, type EstatePolicy } from "../../shared/policy/index.js";
import { PEOPLE } from "../seeds/contoso.js";
import { until } from "./act.js";
import { as, type Act } from "./acts.js";

/** The first environment without production data and the last with it, when both exist. */
export function segregatedEnvironments(policy: EstatePolicy): { dev: string; prod: string } | undefined {
  if (policy.dataSegregation.mode === "off") return undefined;
  const dev = policy.environments.find((e) => !e.productionData);
  const prod = [...policy.environments].reverse().find((e) => e.productionData);
  return dev && prod ? { dev: dev.name, prod: prod.name } : undefined;
}

export const segregate: Act = {
  id: "segregate",
  title: "Someone registers a production datastore in dev; it is flagged within seconds",
  needs: ["onResourceWrite", "processPromotion"],
  async run(ctx, check) {
    const { stack } = ctx;
    const policy = stack.policy;
    const envs = segregatedEnvironments(policy)!;
    const sub = policy.projectSubscriptionId;
    const dev = environmentNames(policy, ctx.facts.project!, envs.dev);
    const prod = environmentNames(policy, ctx.facts.project!, envs.prod);
    const id = `/subscriptions/${sub}/resourceGroups/${dev.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${dev.workspace}/datastores/prod_transactions`;
    const alice = as(stack, PEOPLE.alice, sub);
    const put = (accountName: string) =>
      alice.arm.resources.beginCreateOrUpdateByIdAndWait(id, "2022-10-01", {
        properties: {
          datastoreType: "AzureBlob",
          accountName,
          containerName: "transactions",
          credentials: { credentialsType: "None" },
        },
      });
    const violations = new ViolationLog(azure().table(TABLES.violations));
    const row = (done: (v: Violation | undefined) => boolean): Promise<Violation | undefined> =>
      until(
        async () =>
          (await violations.list({ resourceId: id, includeResolved: true })).find(
            (r) => r.kind === "dataSegregation",
          ),
        done,
        15_000,
        100,
      );

    ctx.say(
      `Alice registers datastore prod_transactions in ${dev.workspace}, on ${prod.storageAccount} (${envs.prod}'s storage)`,
    );
    const started = Date.now();
    await put(prod.storageAccount);
    const open = await row((v) => !!v && !v.resolvedAt);
    check(
      `a ${envs.dev} datastore on ${envs.prod} storage is a dataSegregation violation, from its event`,
      !!open && !open.resolvedAt && open.detail.includes(prod.storageAccount),
      open ? `${open.detail} (after ${Date.parse(open.firstSeen) - started} ms)` : "no violation recorded",
    );
    ctx.say(`Alice points it at ${dev.storageAccount}, ${envs.dev}'s own storage`);
    await put(dev.storageAccount);
    const fixed = await row((v) => !!v?.resolvedAt);
    check(
      "pointed at dev storage, the violation is resolved",
      !!fixed?.resolvedAt,
      fixed?.resolvedAt ?? "still open",
    );
  },
};
