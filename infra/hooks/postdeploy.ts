/**
 * azd postdeploy hook: the second phase of the first install.
 *
 * An Event Grid subscription to an Azure Function can only be created once Event Grid can see
 * the function, and after a deploy the Flex Consumption host takes a while to start and index
 * it; provisioning at once fails with "Destination endpoint not found". So this waits (bounded)
 * until the app lists onResourceWrite, then sets DEPLOY_EVENT_SUBSCRIPTIONS=true and provisions
 * again, retrying that error a few times because ARM and Event Grid may still lag the listing.
 * If it gives up, DEPLOY_EVENT_SUBSCRIPTIONS goes back to false, so the next `azd up` deploys
 * before it provisions the event subscriptions again.
 */
import {
  apiClientIdProblem,
  azdArgs,
  azdEnvSet,
  azJson,
  fail,
  HookError,
  isArmName,
  isGuid,
  readContract,
  run,
  runHook,
  say,
  seconds,
  sleep,
} from "./common.js";

/** Function names in `az functionapp function list` output ("<app>/<function>"). */
export function listedFunctions(listed: unknown): string[] {
  if (!Array.isArray(listed)) return [];
  return listed
    .map((f) => (f !== null && typeof f === "object" ? (f as Record<string, unknown>).name : undefined))
    .filter((n): n is string => typeof n === "string")
    .map((n) => n.split("/").pop()!.toLowerCase());
}

export const ENDPOINT_NOT_FOUND = /endpoint not found/i;

async function waitForFunction(
  app: { subscriptionId: string; resourceGroup: string; name: string },
  fn: string,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  const limit = seconds(env, "STEWARD_HOOK_WAIT_SECONDS", 600);
  const every = seconds(env, "STEWARD_HOOK_POLL_SECONDS", 15);
  const started = Date.now();
  let lastError: string;
  say(
    `waiting up to ${limit} s for ${app.name} to list ${fn} (Event Grid needs the function before it can subscribe it)`,
  );
  for (let poll = 1; ; poll++) {
    try {
      const names = listedFunctions(
        await azJson([
          "functionapp",
          "function",
          "list",
          "--resource-group",
          app.resourceGroup,
          "--name",
          app.name,
          "--subscription",
          app.subscriptionId,
        ]),
      );
      if (names.includes(fn.toLowerCase())) {
        say(`${fn} is listed on ${app.name} (poll ${poll}, ${Math.round((Date.now() - started) / 1000)} s)`);
        return true;
      }
      lastError = names.length ? `listed so far: ${names.join(", ")}` : "no function listed yet";
    } catch (e) {
      // The app answers errors while it restarts after a deploy: keep polling until the limit.
      lastError = (e as Error).message;
    }
    const elapsed = (Date.now() - started) / 1000;
    if (elapsed + every > limit) {
      fail(
        `${fn} is still not listed on ${app.name} after ${Math.round(elapsed)} s (${poll} polls; ${lastError}). ` +
          `The code may not have started: look at the app's log stream or Application Insights, and at ` +
          `az functionapp function list -g ${app.resourceGroup} -n ${app.name}. Once it lists ${fn}: ` +
          `azd env set DEPLOY_EVENT_SUBSCRIPTIONS true && azd provision`,
      );
      return false;
    }
    await sleep(every);
  }
}

async function provisionWithRetries(env: NodeJS.ProcessEnv): Promise<boolean> {
  const attempts = Math.max(1, Math.floor(seconds(env, "STEWARD_HOOK_PROVISION_ATTEMPTS", 3)));
  const pause = seconds(env, "STEWARD_HOOK_RETRY_SECONDS", 60);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    say(`provisioning the Event Grid subscriptions (attempt ${attempt} of ${attempts})`);
    const r = await run("azd", azdArgs(["provision", "--no-prompt"], env), { echo: true });
    if (r.code === 0) return true;
    if (!ENDPOINT_NOT_FOUND.test(r.stdout + r.stderr)) {
      fail(`azd provision failed (exit ${r.code}); not an endpoint-not-found error, so not retried`);
      return false;
    }
    if (attempt < attempts) {
      say(
        `Event Grid does not see the function yet ("Destination endpoint not found"); retrying in ${pause} s`,
      );
      await sleep(pause);
    } else {
      fail(`Event Grid still answers "Destination endpoint not found" after ${attempts} attempts`);
    }
  }
  return false;
}

async function main(env = process.env): Promise<number> {
  const problem = apiClientIdProblem(env);
  if (problem) {
    fail(problem);
    return 1;
  }
  if (env.DEPLOY_EVENT_SUBSCRIPTIONS === "true") {
    say("Event Grid subscriptions are already part of the deployment.");
    return 0;
  }
  const app = {
    subscriptionId: env.AZURE_SUBSCRIPTION_ID?.trim() ?? "",
    resourceGroup: env.AZURE_RESOURCE_GROUP?.trim() ?? "",
    name: env.AZURE_FUNCTION_APP_NAME?.trim() ?? "",
  };
  if (!isGuid(app.subscriptionId) || !isArmName(app.resourceGroup) || !isArmName(app.name))
    throw new HookError(
      "AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and AZURE_FUNCTION_APP_NAME must be in the azd environment (outputs of azd provision); run azd provision first",
    );
  const { resourceWriteFunction } = readContract();
  if (!(await waitForFunction(app, resourceWriteFunction, env))) return 1;
  await azdEnvSet("DEPLOY_EVENT_SUBSCRIPTIONS", "true", env);
  if (await provisionWithRetries(env)) {
    say("Event Grid subscriptions created. Next: steward setup --check (docs/deploy.md, step 4).");
    return 0;
  }
  await azdEnvSet("DEPLOY_EVENT_SUBSCRIPTIONS", "false", env);
  fail(
    "DEPLOY_EVENT_SUBSCRIPTIONS is back to false. Fix the error above, then: azd env set DEPLOY_EVENT_SUBSCRIPTIONS true && azd provision (or azd up again)",
  );
  return 1;
}

runHook(import.meta.url, () => main());
