/**
 * What `npm run emulator` starts with unless told otherwise: the Contoso estate of the bundled
 * policy, plus a service principal for outside clients (the Azure CLI, the Python SDK, Cloud
 * Custodian) to sign in with. Without one, nobody outside the test suite could get a token.
 * It is Owner of every governed subscription and may read the directory, like the operator
 * account such tools usually run as; the secret exists only in this local emulator.
 */
import { getPolicy } from "../../shared/policy/index.js";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { contosoSeed } from "./contoso.js";

export const OUTSIDE_CLIENT = {
  objectId: "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
  appId: "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a",
  displayName: "emulator-outside-client",
  clientSecret: "local-emulator-only-outside-client-secret",
} as const;

const OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

export function defaultCliSeed(): EmulatorSeed {
  const policy = getPolicy();
  const seed = contosoSeed(policy);
  return {
    ...seed,
    servicePrincipals: [...(seed.servicePrincipals ?? []), { ...OUTSIDE_CLIENT }],
    roleAssignments: [
      ...(seed.roleAssignments ?? []),
      ...policy.governedSubscriptions.map((s) => ({
        scope: `/subscriptions/${s.id}`,
        roleDefinitionId: OWNER,
        principalId: OUTSIDE_CLIENT.objectId,
        principalType: "ServicePrincipal" as const,
      })),
    ],
    graphPermissions: [
      ...(seed.graphPermissions ?? []),
      { principalId: OUTSIDE_CLIENT.objectId, permissions: ["Directory.Read.All", "Application.Read.All"] },
    ],
  };
}
