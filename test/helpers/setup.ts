/**
 * The estate `steward setup` is tested against, shared by test/integration/setup-emulator.test.ts
 * (runSetup) and test/integration/cli-setup.test.ts (the CLI): the Contoso estate without its
 * exploration resource group (setup has to create it), and what `azd up` deploys before setup
 * runs (the identity's Azure roles, and each governed subscription's Event Grid wiring as
 * infra/modules/event-wiring.bicep makes it, filter from shared/setup/contract.ts).
 */
import { EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
import { contosoSeed, PEOPLE, STEWARD_APP } from "../../local/seeds/contoso.js";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { createAzureClients, type AzureClients } from "../../shared/azure/clients.js";
import { getSettings } from "../../shared/config/settings.js";
import { roleAssignmentName } from "../../shared/ids.js";
import type { EstatePolicy } from "../../shared/policy/index.js";
import { appRoleSet, INFRA_NAMES, resourceWriteEventFilter } from "../../shared/setup/index.js";
import { startTestStack, type TestStack } from "./stack.js";

export interface LogEntry {
  method: string;
  path: string;
  kind: string;
  status: number;
}

/** The function app the event subscriptions deliver to (any id in another subscription). */
const FUNCTION_APP =
  "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-aml-steward-prod/providers/Microsoft.Web/sites/func-aml-steward-x";

/**
 * The Contoso estate without its exploration resource group and what is in it, and without
 * aml-steward's roles (azd deploys them: deployLikeAzd) and Graph permissions (setup grants them).
 */
export function seedWithoutExploration(policy: EstatePolicy): EmulatorSeed {
  const ex = policy.exploration;
  const explorationRg =
    `/subscriptions/${ex.subscriptionId}/resourceGroups/${ex.resourceGroup}`.toLowerCase();
  const seed = contosoSeed(policy);
  seed.resourceGroups = (seed.resourceGroups ?? []).filter((g) => g.name !== ex.resourceGroup);
  seed.resources = (seed.resources ?? []).filter((r) => !r.id.toLowerCase().startsWith(explorationRg));
  seed.roleAssignments = (seed.roleAssignments ?? []).filter((a) => a.principalId !== STEWARD_APP.objectId);
  seed.roleDefinitions = [];
  seed.graphPermissions = [];
  return seed;
}

/**
 * Clients of the installer who runs `steward setup` (Erin, Owner of the governed subscriptions),
 * as in Azure, where the installer runs it with az login and not as the app.
 */
export function installerClients(stack: TestStack): AzureClients {
  return createAzureClients(
    getSettings(),
    new EmulatorPrincipalCredential(stack.url, { objectId: PEOPLE.erin.objectId }),
  );
}

/** A test stack on that estate, with fast LROs. */
export async function startSetupStack(policy: EstatePolicy): Promise<TestStack> {
  const stack = await startTestStack({ seed: seedWithoutExploration(policy), policy });
  await stack.control("POST", "/_emulator/faults", { lroDurationMs: 50, lroRetryAfterSeconds: 0 });
  return stack;
}

/** ARM and Graph requests that change something, since `since` (ISO time). */
export async function writesSince(stack: TestStack, since: string): Promise<LogEntry[]> {
  const log = await stack.control<{ requests: LogEntry[] }>(
    "GET",
    `/_emulator/requests?since=${encodeURIComponent(since)}`,
  );
  return log.requests.filter(
    (r) => (r.kind === "arm" || r.kind === "graph") && r.method !== "GET" && r.method !== "HEAD",
  );
}

/** Erin (an Owner) assigns aml-steward's identity a role on a whole subscription. */
export async function assignStewardRole(
  stack: TestStack,
  subscriptionId: string,
  roleGuid: string,
  extra: Record<string, string> = {},
): Promise<void> {
  const scope = `/subscriptions/${subscriptionId}`;
  await stack
    .authorizationAs(PEOPLE.erin.objectId, subscriptionId)
    .roleAssignments.create(scope, roleAssignmentName(scope, STEWARD_APP.objectId, roleGuid), {
      roleDefinitionId: `${scope}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`,
      principalId: STEWARD_APP.objectId,
      principalType: "ServicePrincipal",
      ...extra,
    });
}

/**
 * What `azd up` makes: the identity's roles (the custom promotion role and every grant of
 * shared/setup/contract.ts appRoleSet except AzureML Data Scientist on the exploration workspace,
 * which setup makes), and each governed subscription's event wiring.
 */
export async function deployLikeAzd(stack: TestStack, policy: EstatePolicy): Promise<void> {
  const set = appRoleSet(policy);
  const project = policy.projectSubscriptionId;
  for (const role of set.customRoles) {
    await stack
      .authorizationAs(PEOPLE.erin.objectId, project)
      .roleDefinitions.createOrUpdate(`/subscriptions/${project}`, role.id, {
        roleName: role.roleName,
        description: role.description,
        roleType: "CustomRole",
        permissions: [{ actions: role.actions.map((a) => a.action) }],
        assignableScopes: role.assignableScopes,
      });
  }
  for (const g of set.grants.filter(
    (x) => x.scope.startsWith("/subscriptions/") && !x.scope.includes("/resourceGroups/"),
  )) {
    const sub = g.scope.split("/")[2]!;
    await assignStewardRole(stack, sub, g.roleId, {
      ...(g.condition !== undefined ? { condition: g.condition, conditionVersion: "2.0" } : {}),
    });
  }
  await stack.control("POST", "/_emulator/seed", {
    resourceGroups: policy.governedSubscriptions.map((s) => ({
      subscriptionId: s.id,
      name: INFRA_NAMES.eventsResourceGroup,
      location: policy.regions.default,
    })),
    resources: policy.governedSubscriptions.flatMap((s) => {
      const topic = `/subscriptions/${s.id}/resourceGroups/${INFRA_NAMES.eventsResourceGroup}/providers/Microsoft.EventGrid/systemTopics/${INFRA_NAMES.systemTopic}`;
      return [
        {
          id: topic,
          location: "global",
          properties: { source: `/subscriptions/${s.id}`, topicType: "Microsoft.Resources.Subscriptions" },
        },
        {
          id: `${topic}/eventSubscriptions/${INFRA_NAMES.eventSubscription}`,
          properties: {
            destination: {
              endpointType: "AzureFunction",
              properties: {
                resourceId: `${FUNCTION_APP}/functions/${INFRA_NAMES.resourceWriteFunction}`,
                maxEventsPerBatch: 1,
              },
            },
            filter: resourceWriteEventFilter(STEWARD_APP.objectId),
            retryPolicy: { maxDeliveryAttempts: 10, eventTimeToLiveInMinutes: 1440 },
            deadLetterWithResourceIdentity: {
              identity: { type: "SystemAssigned" },
              deadLetterDestination: {
                endpointType: "StorageBlob",
                properties: { blobContainerName: INFRA_NAMES.deadLetterContainer },
              },
            },
          },
        },
      ];
    }),
  });
}
