/**
 * The nightly scan's cap on data versions a workspace: beyond it the workspace's data versions
 * are not listed completely, so their unseen rows must not be resolved as gone (its datastores'
 * and connections' still are). Fakes for ARM and the ledger; the policy is Contoso's.
 */
import { describe, expect, it } from "vitest";
import type { AzureMachineLearningWorkspaces } from "@azure/arm-machinelearning";
import type { ResourceManagementClient } from "@azure/arm-resources";
import type { ManagedEstate } from "../../shared/access/estate.js";
import type { Violation } from "../../shared/ledger/violations.js";
import { silentLogger } from "../../shared/log.js";
import { getPolicy } from "../../shared/policy/index.js";
import { runDataAccessReconcile } from "../../shared/segregation/nightly.js";

const SUB = "11111111-1111-4111-8111-111111111111";
const RG = `/subscriptions/${SUB}/resourceGroups/rg-fd-dev`;
const WS = `${RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw-fd-dev`;

async function* pages<T>(items: T[]) {
  yield* items;
}

async function scan(cap: number) {
  const estate: ManagedEstate = {
    scopes: new Map([
      [
        RG.toLowerCase(),
        {
          scope: RG,
          subscriptionId: SUB,
          project: "fd",
          env: "dev",
          requestId: "r",
          expected: [],
          workspaceId: WS,
        },
      ],
    ]),
    groups: new Map(),
  };
  const versions = ["a", "b", "c"].map((n) => ({
    id: `${WS}/data/${n}/versions/1`,
    properties: { dataType: "uri_file", dataUri: "https://example.com/x.csv" },
  }));
  const ml = {
    datastores: { list: () => pages([]) },
    workspaceConnections: { list: () => pages([]) },
    dataContainers: { list: () => pages(["a", "b", "c"].map((name) => ({ name }))) },
    dataVersions: {
      list: (_rg: string, _ws: string, name: string) =>
        pages(versions.filter((v) => v.id.includes(`/data/${name}/`))),
    },
  } as unknown as AzureMachineLearningWorkspaces;
  const wheres: Array<(v: Violation) => boolean> = [];
  const warnings: string[] = [];
  const result = await runDataAccessReconcile(
    estate,
    {
      policy: getPolicy(),
      resources: () => ({}) as ResourceManagementClient,
      estate: async () => estate,
      machineLearning: () => ml,
      log: { ...silentLogger, warn: (msg: string) => void warnings.push(msg) },
      dataVersionCap: cap,
      violations: {
        syncFor: async () => ({ tableCalls: 0 }) as never,
        resolveUnseen: async (_s, _t, opts) => {
          wheres.push(opts!.where!);
          return 0;
        },
      },
    },
    "night",
  );
  const resolvable = (id: string) => wheres.some((w) => w({ resourceId: id } as Violation));
  return { result, warnings, resolvable };
}

describe("the nightly data-version cap", () => {
  it("under the cap: every version checked, gone versions' rows resolvable", async () => {
    const { result, warnings, resolvable } = await scan(10);
    expect(result.checked).toBe(3);
    expect(warnings).toEqual([]);
    expect(resolvable(`${WS}/data/gone/versions/1`)).toBe(true);
  });

  it("over the cap: stops listing, says so, and leaves versions' rows alone but not datastores'", async () => {
    const { result, warnings, resolvable } = await scan(2);
    expect(result.checked).toBe(2);
    expect(warnings).toEqual([expect.stringMatching(/too many data versions/)]);
    expect(resolvable(`${WS}/data/gone/versions/1`)).toBe(false);
    expect(resolvable(`${WS}/datastores/gone`)).toBe(true);
  });
});
