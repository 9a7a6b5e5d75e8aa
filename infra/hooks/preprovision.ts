/**
 * azd preprovision hook (after `npm run infra:generate -- --check`, see azure.yaml).
 *
 * Azure allows one Microsoft.Resources.Subscriptions system topic per subscription, so creating
 * aml-steward's would fail wherever one exists already (an earlier portal "Events" setup, another
 * tool). This finds them in every governed subscription and hands them to the template, which
 * adopts them instead (main.bicep `adoptedSystemTopics`), and says what it adopted.
 *
 * It runs on every `azd provision`, including the one the postdeploy hook starts, so the value
 * always reflects the subscriptions as they are now; a topic aml-steward created itself is not
 * "adopted" (the template keeps managing it and its resource group).
 */
import {
  apiClientIdProblem,
  azdEnvSet,
  azJson,
  fail,
  HookError,
  isArmName,
  readContract,
  runHook,
  say,
  type HookContract,
} from "./common.js";

export const ADOPTED_TOPICS_KEY = "STEWARD_ADOPTED_SYSTEM_TOPICS";
// main.bicep reads anything without two slashes as "nothing to adopt"; azd env set needs a value.
const NONE = "none";

export interface FoundTopic {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  identityType: string;
}

interface Decision {
  adopt: FoundTopic[];
  problems: string[];
  lines: string[];
}

function str(obj: unknown, key: string): string {
  const v = obj !== null && typeof obj === "object" ? (obj as Record<string, unknown>)[key] : undefined;
  return typeof v === "string" ? v : "";
}

/** Subscription system topics in `az eventgrid system-topic list` output (other topic types skipped). */
export function subscriptionTopics(listed: unknown, subscriptionId: string): FoundTopic[] {
  if (!Array.isArray(listed))
    throw new HookError(`az eventgrid system-topic list: expected a list for ${subscriptionId}`);
  return listed
    .filter((t) => str(t, "topicType").toLowerCase() === "microsoft.resources.subscriptions")
    .map((t) => {
      // resourceGroup is added by the CLI, not an ARM property; the id always carries it.
      const resourceGroup =
        str(t, "resourceGroup") || (/\/resourceGroups\/([^/]+)\//i.exec(str(t, "id"))?.[1] ?? "");
      const identity = (t as Record<string, unknown>).identity;
      return {
        subscriptionId,
        resourceGroup,
        name: str(t, "name"),
        identityType: str(identity, "type") || "None",
      };
    });
}

export function decide(contract: HookContract, found: Map<string, FoundTopic[]>): Decision {
  const out: Decision = { adopt: [], problems: [], lines: [] };
  for (const sub of contract.governedSubscriptionIds) {
    const topics = found.get(sub) ?? [];
    const [topic] = topics;
    if (!topic) {
      out.lines.push(
        `${sub}: no subscription system topic yet; creating ${contract.systemTopic} in ${contract.eventsResourceGroup}`,
      );
      continue;
    }
    const where = `${topic.name} in ${topic.resourceGroup}`;
    if (topics.length > 1) {
      out.problems.push(
        `${sub}: ${topics.length} subscription system topics listed (Azure allows one); adopt one by hand in main.parameters.json existingSystemTopics`,
      );
      continue;
    }
    if (!isArmName(topic.resourceGroup) || !isArmName(topic.name)) {
      out.problems.push(`${sub}: cannot read the resource group and name of its system topic (${where})`);
      continue;
    }
    if (
      topic.name.toLowerCase() === contract.systemTopic.toLowerCase() &&
      topic.resourceGroup.toLowerCase() === contract.eventsResourceGroup.toLowerCase()
    ) {
      out.lines.push(`${sub}: system topic ${where} is aml-steward's own`);
      continue;
    }
    if (/userassigned/i.test(topic.identityType)) {
      // The template gives an adopted topic a system-assigned identity only, which would take the
      // user-assigned one away from whatever delivers or dead-letters with it today.
      out.problems.push(
        `${sub}: system topic ${where} uses a user-assigned identity; adopting it would remove that identity from its other consumers. Talk to its owner, or remove it, then run azd provision again (docs/deploy.md, "Existing system topics")`,
      );
      continue;
    }
    out.adopt.push(topic);
    out.lines.push(
      `${sub}: adopting existing system topic ${where} (it gets a system-assigned identity and aml-steward's tags; its other event subscriptions are left alone)`,
    );
  }
  return out;
}

/** The value main.bicep parses: `<subscriptionId>/<resourceGroup>/<name>` joined with commas. */
export function encodeAdopted(adopt: FoundTopic[]): string {
  return adopt.length ? adopt.map((t) => `${t.subscriptionId}/${t.resourceGroup}/${t.name}`).join(",") : NONE;
}

async function main(env = process.env): Promise<number> {
  const problem = apiClientIdProblem(env);
  if (problem) {
    fail(problem);
    return 1;
  }
  const contract = readContract();
  try {
    await azJson(["account", "show"]);
  } catch (e) {
    throw new HookError(
      `the Azure CLI is not installed or not signed in (${(e as Error).message.split("\n")[0]}). It finds existing Event Grid system topics before provisioning: install it, run az login (same tenant as azd auth login) and try again`,
    );
  }
  const found = new Map<string, FoundTopic[]>();
  for (const sub of contract.governedSubscriptionIds) {
    found.set(
      sub,
      subscriptionTopics(await azJson(["eventgrid", "system-topic", "list", "--subscription", sub]), sub),
    );
  }
  const decision = decide(contract, found);
  for (const line of decision.lines) say(line);
  if (decision.problems.length) {
    for (const p of decision.problems) fail(p);
    return 1;
  }
  const value = encodeAdopted(decision.adopt);
  if ((env[ADOPTED_TOPICS_KEY] ?? "") !== value) await azdEnvSet(ADOPTED_TOPICS_KEY, value, env);
  say(
    decision.adopt.length
      ? `adopted ${decision.adopt.length} existing system topic(s) (${ADOPTED_TOPICS_KEY}=${value})`
      : "no existing system topic to adopt",
  );
  return 0;
}

runHook(import.meta.url, () => main());
