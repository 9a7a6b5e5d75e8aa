import { describe, expect, it } from "vitest";
import { getPolicy, type EstatePolicy } from "../../shared/policy/index.js";
import {
  decideTags,
  skipReason,
  tagValue,
  MAX_TAGS,
  type TagContext,
} from "../../shared/tagging/decideTags.js";

const policy = getPolicy();
const SUB = policy.projectSubscriptionId;
const EXP = policy.exploration;
const RG = `/subscriptions/${SUB}/resourceGroups/rg-aml-fraud-dev`;
const SA = `${RG}/providers/Microsoft.Storage/storageAccounts/stfrauddevabcde`;
const GROUP_TAGS = {
  costCenter: "CC-2100-FRAUD",
  project: "fraud",
  environment: "dev",
  owner: "alice@contoso.com",
};

function ctx(
  over: Partial<TagContext> & {
    tags?: Record<string, string>;
    location?: string;
    id?: string;
    type?: string;
    name?: string;
  } = {},
): TagContext {
  const { tags, location, id, type, name, ...rest } = over;
  return {
    policy,
    resource: {
      id: id ?? SA,
      type: type ?? "Microsoft.Storage/storageAccounts",
      name: name ?? "stfrauddevabcde",
      location: location ?? "westeurope",
      tags: tags ?? {},
    },
    resourceGroupTags: GROUP_TAGS,
    createdBy: "bob@contoso.com",
    createdOn: "2025-03-04",
    ...rest,
  };
}

function withPolicy(change: (p: EstatePolicy) => void): EstatePolicy {
  const p = structuredClone(policy);
  change(p);
  return p;
}

describe("decideTags: desired tags", () => {
  it("inherits every group tag, adds createdBy and createdOn to an untagged resource", () => {
    const d = decideTags(ctx());
    expect(d.skip).toBeUndefined();
    expect(d.patch).toEqual({ ...GROUP_TAGS, createdBy: "bob@contoso.com", createdOn: "2025-03-04" });
    expect(d.violations).toEqual([]);
    expect(d.overTagLimit).toBe(false);
    expect(Object.keys(d.reasons).sort()).toEqual(Object.keys(d.patch).sort());
    expect(d.after).toEqual(d.patch);
  });

  it("is empty for a compliant resource", () => {
    const tags = { ...GROUP_TAGS, createdBy: "x", createdOn: "2020-01-01" };
    const d = decideTags(ctx({ tags }));
    expect(d.patch).toEqual({});
    expect(d.violations).toEqual([]);
    expect(d.after).toEqual(tags);
  });

  it("corrects a wrong value in 'correct' mode and leaves it in 'fill' mode", () => {
    const tags = {
      ...GROUP_TAGS,
      costCenter: "CC-9999",
      owner: "carol@contoso.com",
      createdBy: "x",
      createdOn: "2020-01-01",
    };
    const d = decideTags(ctx({ tags }));
    // costCenter is mode correct, owner is mode fill in the default policy
    expect(d.patch).toEqual({ costCenter: "CC-2100-FRAUD" });
    expect(d.reasons.costCenter).toMatch(/corrected/);
  });

  it("fills a tag whose value is blank even in fill mode", () => {
    const tags = { ...GROUP_TAGS, owner: "  ", createdBy: "x", createdOn: "2020-01-01" };
    expect(decideTags(ctx({ tags })).patch).toEqual({ owner: GROUP_TAGS.owner });
  });

  it("in fill-only policy, never corrects", () => {
    const p = withPolicy((p) => p.tags.inherited.forEach((t) => (t.mode = "fill")));
    const tags = { ...GROUP_TAGS, costCenter: "CC-9999", createdBy: "x", createdOn: "2020-01-01" };
    expect(decideTags(ctx({ policy: p, tags })).patch).toEqual({});
  });

  it("matches tag names case-insensitively and keeps the resource's spelling", () => {
    const tags = { COSTCENTER: "CC-9999", Project: "fraud", createdby: "x", CreatedOn: "2020-01-01" };
    const d = decideTags(ctx({ tags }));
    expect(d.patch).toEqual({ COSTCENTER: "CC-2100-FRAUD", environment: "dev", owner: GROUP_TAGS.owner });
    expect(Object.keys(d.after).filter((k) => k.toLowerCase() === "costcenter")).toEqual(["COSTCENTER"]);
  });

  it("reads the group's tags case-insensitively", () => {
    const d = decideTags(
      ctx({ resourceGroupTags: { CostCenter: "CC-1", PROJECT: "p", Environment: "dev", owner: "o" } }),
    );
    expect(d.patch).toMatchObject({ costCenter: "CC-1", project: "p", environment: "dev", owner: "o" });
  });

  it("ignores blank group values (nothing to inherit) and reports the gap", () => {
    const d = decideTags(ctx({ resourceGroupTags: { ...GROUP_TAGS, owner: "" } }));
    expect(d.patch.owner).toBeUndefined();
    expect(d.violations).toEqual([
      { kind: "missingTags", detail: "missing required tags that the resource group cannot supply: owner" },
    ]);
  });

  it("never overwrites createdOn or createdBy", () => {
    const tags = { ...GROUP_TAGS, createdBy: "alice@contoso.com", createdOn: "2020-01-01" };
    const d = decideTags(ctx({ tags, createdBy: "mallory", createdOn: "2025-12-31" }));
    expect(d.patch).toEqual({});
    const other = decideTags(ctx({ tags: { ...GROUP_TAGS, CREATEDON: "2021-02-02" } }));
    expect(other.patch).toEqual({ createdBy: "bob@contoso.com" });
  });

  it("reconciliation (no createdBy/createdOn) adds neither and removes nothing", () => {
    const d = decideTags(ctx({ createdBy: undefined, createdOn: undefined, tags: { extra: "1" } }));
    expect(d.patch).toEqual(GROUP_TAGS);
    expect(d.after).toEqual({ extra: "1", ...GROUP_TAGS });
  });

  it("rejects a createdOn that is not a date", () => {
    expect(decideTags(ctx({ createdOn: "yesterday" })).patch.createdOn).toBeUndefined();
  });

  it("trims createdBy to Azure's 256-character value limit", () => {
    expect(decideTags(ctx({ createdBy: "x".repeat(300) })).patch.createdBy).toHaveLength(256);
  });

  it("a resource group gets createdBy/createdOn, no inheritance, and a violation for missing required tags", () => {
    const d = decideTags(
      ctx({
        id: RG,
        type: "Microsoft.Resources/resourceGroups",
        name: "rg-aml-fraud-dev",
        tags: { costCenter: "CC-1" },
      }),
    );
    expect(d.patch).toEqual({ createdBy: "bob@contoso.com", createdOn: "2025-03-04" });
    expect(d.violations).toEqual([
      { kind: "missingTags", detail: "resource group lacks required tags: project, environment, owner" },
    ]);
  });

  it("a fully tagged resource group is compliant", () => {
    const d = decideTags(
      ctx({
        id: RG,
        type: "Microsoft.Resources/resourceGroups",
        name: "rg-aml-fraud-dev",
        tags: { ...GROUP_TAGS, createdBy: "a", createdOn: "2020-01-01" },
      }),
    );
    expect(d).toMatchObject({ patch: {}, violations: [] });
  });

  it("without group tags (unknown group), reports all missing required tags", () => {
    const d = decideTags(ctx({ resourceGroupTags: undefined }));
    expect(d.patch).toEqual({ createdBy: "bob@contoso.com", createdOn: "2025-03-04" });
    expect(d.violations[0]).toEqual({
      kind: "missingTags",
      detail: "missing required tags: costCenter, project, environment, owner",
    });
  });
});

describe("decideTags: scope", () => {
  it("skips ungoverned subscriptions", () => {
    const id = SA.replace(SUB, "11111111-2222-3333-4444-555555555555");
    expect(decideTags(ctx({ id })).skip).toBe("notGoverned");
  });

  it("compares subscription ids and types case-insensitively", () => {
    const id = SA.replace(SUB, SUB.toUpperCase())
      .replace("resourceGroups", "RESOURCEGROUPS")
      .replace("Microsoft.Storage", "microsoft.storage");
    expect(decideTags(ctx({ id, type: "microsoft.storage/STORAGEACCOUNTS" })).skip).toBeUndefined();
  });

  it("skips untaggable types from the policy, including provider wildcards", () => {
    const ra = `${RG}/providers/Microsoft.Authorization/roleAssignments/0000`;
    expect(skipReason(policy, { id: ra })).toBe("untaggableType");
    expect(skipReason(policy, { id: `${RG}/providers/Microsoft.Resources/deployments/d1` })).toBe(
      "untaggableType",
    );
    expect(skipReason(policy, { id: `${RG}/providers/microsoft.security/whatever/x` })).toBe(
      "untaggableType",
    );
    expect(
      decideTags(ctx({ id: ra, type: "Microsoft.Authorization/roleAssignments", name: "0000" })).patch,
    ).toEqual({});
  });

  it("skips child and extension resources", () => {
    expect(skipReason(policy, { id: `${SA}/blobServices/default` })).toBe("childResource");
    expect(
      skipReason(policy, { id: `${RG}/providers/Microsoft.MachineLearningServices/workspaces/w/models/m` }),
    ).toBe("childResource");
    expect(skipReason(policy, { id: `${SA}/providers/Microsoft.Insights/diagnosticSettings/d` })).toBe(
      "childResource",
    );
  });

  it("skips what is not a resource (subscriptions, subscription-scope objects)", () => {
    expect(skipReason(policy, { id: `/subscriptions/${SUB}` })).toBe("notAResource");
    expect(
      skipReason(policy, { id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/x` }),
    ).toBe("notAResource");
    expect(skipReason(policy, { id: "nonsense" })).toBe("notAResource");
    expect(decideTags(ctx({ id: "nonsense" }))).toMatchObject({
      skip: "notAResource",
      patch: {},
      violations: [],
    });
  });
});

describe("decideTags: violations", () => {
  it("flags a region outside the allowed list, normalising display names", () => {
    expect(decideTags(ctx({ location: "East US" })).violations).toEqual([
      { kind: "region", detail: "location eastus is not allowed (allowed: westeurope)" },
    ]);
    expect(decideTags(ctx({ location: "West Europe" })).violations).toEqual([]);
    expect(decideTags(ctx({ location: "global" })).violations).toEqual([]);
  });

  it("flags a name that breaks the naming convention", () => {
    const id = `${RG}/providers/Microsoft.KeyVault/vaults/myvault`;
    const d = decideTags(ctx({ id, type: "Microsoft.KeyVault/vaults", name: "myvault" }));
    expect(d.violations).toEqual([
      {
        kind: "naming",
        detail: 'keyVault name "myvault" does not follow the convention "kv-{project}-{env}-{hash}"',
      },
    ]);
    const ok = `${RG}/providers/Microsoft.KeyVault/vaults/kv-fraud-dev-ab12c`;
    expect(
      decideTags(ctx({ id: ok, type: "Microsoft.KeyVault/vaults", name: "kv-fraud-dev-ab12c" })).violations,
    ).toEqual([]);
  });

  it("does not check names of types without a naming rule", () => {
    const id = `${RG}/providers/Microsoft.Network/virtualNetworks/whatever`;
    expect(
      decideTags(ctx({ id, type: "Microsoft.Network/virtualNetworks", name: "whatever" })).violations,
    ).toEqual([]);
  });

  it("does not apply project naming to the exploration group and what is in it", () => {
    const rg = `/subscriptions/${EXP.subscriptionId}/resourceGroups/${EXP.resourceGroup}`;
    const g = decideTags(
      ctx({ id: rg, type: "Microsoft.Resources/resourceGroups", name: EXP.resourceGroup, tags: GROUP_TAGS }),
    );
    expect(g.violations).toEqual([]);
    const ws = `${rg}/providers/Microsoft.MachineLearningServices/workspaces/${EXP.workspace}`;
    expect(
      decideTags(ctx({ id: ws, type: "Microsoft.MachineLearningServices/workspaces", name: EXP.workspace }))
        .violations,
    ).toEqual([]);
    const badRg = `/subscriptions/${SUB}/resourceGroups/my-rg`;
    expect(
      decideTags(
        ctx({ id: badRg, type: "Microsoft.Resources/resourceGroups", name: "my-rg", tags: GROUP_TAGS }),
      ).violations,
    ).toEqual([
      {
        kind: "naming",
        detail: 'resourceGroup name "my-rg" does not follow the convention "rg-aml-{project}-{env}"',
      },
    ]);
  });

  it("in 'tag' mode also tags the resource with the violation kinds", () => {
    const p = withPolicy((p) => (p.violations.mode = "tag"));
    const d = decideTags(ctx({ policy: p, location: "eastus", resourceGroupTags: { costCenter: "CC-1" } }));
    expect(d.patch.policyViolation).toBe("missingTags,region");
    expect(d.reasons.policyViolation).toMatch(/violations/);
  });

  it("in 'audit' mode never tags violations", () => {
    expect(decideTags(ctx({ location: "eastus" })).patch.policyViolation).toBeUndefined();
  });

  it("in 'tag' mode shows the children's data violations beside the resource's own", () => {
    const p = withPolicy((p) => (p.violations.mode = "tag"));
    const complete = { ...GROUP_TAGS, createdBy: "x", createdOn: "2025-01-01" };
    const d = decideTags(ctx({ policy: p, tags: complete, childViolations: ["dataSegregation"] }));
    expect(d.patch).toEqual({ policyViolation: "dataSegregation" });
    // Not the resource's own violations: the ledger keeps them under the datastore.
    expect(d.violations).toEqual([]);
    const both = decideTags(
      ctx({ policy: p, location: "eastus", tags: complete, childViolations: ["dataResidency"] }),
    );
    expect(both.patch.policyViolation).toBe("dataResidency,region");
    // Already shown: nothing to write, so a workspace write does not flap the tag.
    const shown = decideTags(
      ctx({
        policy: p,
        tags: { ...complete, policyViolation: "dataSegregation" },
        childViolations: ["dataSegregation"],
      }),
    );
    expect(shown.patch).toEqual({});
    expect(shown.remove).toEqual({});
  });

  it("in 'tag' mode removes the violation tag (name and value seen) once nothing is wrong", () => {
    const p = withPolicy((p) => (p.violations.mode = "tag"));
    const tags = {
      ...GROUP_TAGS,
      createdBy: "x",
      createdOn: "2025-01-01",
      PolicyViolation: "dataSegregation",
    };
    const d = decideTags(ctx({ policy: p, tags, childViolations: [] }));
    expect(d.patch).toEqual({});
    expect(d.remove).toEqual({ PolicyViolation: "dataSegregation" });
    expect(d.after).not.toHaveProperty("PolicyViolation");
    // In 'audit' mode the tag is not the policy's: never removed.
    expect(decideTags(ctx({ tags, childViolations: ["dataSegregation"] })).remove).toEqual({});
  });
});

describe("decideTags: the 50-tag limit", () => {
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, "v"]));

  it("fits when exactly 50 tags result", () => {
    const d = decideTags(ctx({ tags: many(MAX_TAGS - 6) }));
    expect(d.overTagLimit).toBe(false);
    expect(Object.keys(d.after)).toHaveLength(MAX_TAGS);
  });

  it("trims to what fits, required tags first, and reports tagLimit", () => {
    const d = decideTags(ctx({ tags: many(MAX_TAGS - 3) }));
    expect(d.overTagLimit).toBe(true);
    expect(Object.keys(d.patch)).toEqual(["costCenter", "project", "environment"]);
    expect(Object.keys(d.after)).toHaveLength(MAX_TAGS);
    const limit = d.violations.find((v) => v.kind === "tagLimit");
    expect(limit?.detail).toBe("needs 53 tags, Azure allows 50; not written: owner, createdBy, createdOn");
  });

  it("still corrects existing tags when full", () => {
    const tags = { ...many(MAX_TAGS - 1), costCenter: "wrong" };
    const d = decideTags(ctx({ tags }));
    expect(d.patch.costCenter).toBe("CC-2100-FRAUD");
    expect(d.overTagLimit).toBe(true);
    expect(Object.keys(d.after)).toHaveLength(MAX_TAGS);
  });

  it("is pure: the input tags are not modified", () => {
    const tags = { a: "1" };
    decideTags(ctx({ tags }));
    expect(tags).toEqual({ a: "1" });
  });
});

describe("tagValue", () => {
  it("finds a value in any casing and treats blank as missing", () => {
    expect(tagValue({ CostCenter: "x" }, "costcenter")).toBe("x");
    expect(tagValue({ CostCenter: " " }, "costCenter")).toBeUndefined();
    expect(tagValue(undefined, "a")).toBeUndefined();
  });
});
