/* eslint-disable @typescript-eslint/no-explicit-any -- the tests mutate raw policy documents freely */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import {
  DEFAULT_POLICY_PATH,
  effectivePrivileges,
  loadPolicyFile,
  parsePolicy,
  policyJsonSchema,
  PolicyError,
  type EstatePolicy,
} from "../../shared/policy/index.js";

const raw = (): Record<string, any> => YAML.parse(readFileSync(DEFAULT_POLICY_PATH, "utf8"));

function problemsOf(mutate: (p: Record<string, any>) => void): PolicyError {
  const doc = raw();
  mutate(doc);
  try {
    parsePolicy(doc, "test-policy.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error("the broken policy was accepted");
}

describe("the default estate policy", () => {
  const policy = loadPolicyFile(DEFAULT_POLICY_PATH);

  it("encodes Microsoft's Contoso reference organisation", () => {
    expect(policy.regions.allowed).toEqual([policy.regions.default]);
    expect(policy.environments.map((e) => e.name)).toEqual(["dev", "qa", "prod"]);
    expect(policy.environments.filter((e) => e.productionData).map((e) => e.name)).toEqual(["prod"]);
    expect(policy.roles.map((r) => r.name)).toEqual(["data-scientist", "ml-engineer", "mlops", "reader"]);
    expect(policy.tags.required).toEqual(
      expect.arrayContaining(["costCenter", "project", "environment", "owner"]),
    );
    expect(policy.fundedCostCenters.map((c) => c.id)).not.toContain(policy.exploration.costCenter);
  });

  it("enforces data segregation, and a policy without the section gets the same defaults", () => {
    expect(policy.dataSegregation).toEqual({
      mode: "enforce",
      classificationTag: "data-classification",
      productionValues: ["production", "confidential"],
    });
    expect(policy.regions.restricted).toEqual([]);
    const doc = raw();
    delete doc.dataSegregation;
    const parsed = parsePolicy(doc, "no-section.yaml");
    expect(parsed.dataSegregation).toEqual(policy.dataSegregation);
    expect(problemsOf((p) => (p.dataSegregation = { productionValues: [] })).message).toMatch(
      /dataSegregation\.productionValues/,
    );
    expect(problemsOf((p) => (p.regions.restricted = ["not a region"])).message).toMatch(
      /regions\.restricted/,
    );
  });

  it("makes prod strictly more restrictive than dev for every role", () => {
    for (const role of policy.roles) {
      const dev = effectivePrivileges(policy.accessMatrix[role.name]!.dev!.map((g) => g.id));
      const prod = effectivePrivileges(policy.accessMatrix[role.name]!.prod!.map((g) => g.id));
      for (const p of prod) expect(dev, `${role.name}: prod grants ${p} which dev does not`).toContain(p);
      expect(prod.size, `${role.name}: prod must grant strictly less than dev`).toBeLessThan(dev.size);
    }
  });

  it("never grants roles that manage access", () => {
    const forbidden = [
      "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
      "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
      "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    ];
    const granted = Object.values(policy.accessMatrix).flatMap((row) =>
      Object.values(row)
        .flat()
        .map((g) => g.id),
    );
    expect(granted.filter((id) => forbidden.includes(id))).toEqual([]);
  });

  it("emits a JSON Schema for editors that matches the shipped file", () => {
    const schema = policyJsonSchema();
    expect(schema).toMatchObject({
      type: "object",
      required: expect.arrayContaining(["version", "accessMatrix", "naming"]),
    });
    const shipped = JSON.parse(
      readFileSync(path.join(path.dirname(DEFAULT_POLICY_PATH), "estate-policy.schema.json"), "utf8"),
    );
    expect(shipped, "run `npm run policy:schema` and commit the result").toEqual(schema);
  });
});

describe("a bad policy stops start-up with the field, the value and the rule", () => {
  it.each<[string, (p: Record<string, any>) => void, RegExp]>([
    [
      "a default region outside the allowed list",
      (p) => (p.regions.default = "eastus"),
      /regions\.default = "eastus": must be one of regions\.allowed/,
    ],
    [
      "an invalid role GUID",
      (p) => (p.accessMatrix.reader.prod[0].id = "not-a-guid"),
      /accessMatrix\.reader\.prod\.0\.id = "not-a-guid": must be a GUID/,
    ],
    [
      "a GUID whose name is another built-in",
      (p) => (p.accessMatrix.reader.dev[1].name = "Owner"),
      /accessMatrix\.reader\.dev\[1\]\.name = "Owner": role acdd72a7-.* is the built-in "Reader"/,
    ],
    [
      "a prod grant wider than dev",
      (p) =>
        p.accessMatrix.reader.prod.push({ id: "b24988ac-6180-42a0-ab88-20f7382dd24c", name: "Contributor" }),
      /accessMatrix\.reader\.prod = .*Contributor.*: a production environment may not grant more than dev/,
    ],
    [
      "Owner in the matrix",
      (p) => p.accessMatrix.mlops.dev.push({ id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", name: "Owner" }),
      /accessMatrix\.mlops\.dev\[5\] = "Owner": the access matrix may not grant roles that manage access/,
    ],
    [
      "a role missing from the matrix",
      (p) => delete p.accessMatrix.reader,
      /accessMatrix\.reader = \(missing\): every role needs a row/,
    ],
    ["an unknown field", (p) => (p.regionz = ["x"]), /regionz = \["x"\]: Unrecognized key/],
    ["a wrong version", (p) => (p.version = 2), /version = 2: /],
    [
      "a naming template without {project}",
      (p) => (p.naming.workspace = "mlw-{env}"),
      /naming\.workspace = "mlw-\{env\}": must contain \{project\}/,
    ],
    [
      "a template that cannot fit",
      (p) => (p.naming.storageAccount = "storageaccountfor{project}{env}x"),
      /naming\.storageAccount = .*leaves no room for the project/,
    ],
    [
      "an exploration subscription that is not governed",
      (p) => (p.exploration.subscriptionId = "11111111-2222-3333-4444-555555555555"),
      /exploration\.subscriptionId = "11111111-.*": must be one of governedSubscriptions/,
    ],
    [
      "a bad project pattern",
      (p) => (p.naming.projectPattern = "([a-z"),
      /naming\.projectPattern = "\(\[a-z": is not a regular expression/,
    ],
    [
      "an inherited createdBy",
      (p) => p.tags.inherited.push({ name: "createdBy", mode: "correct" }),
      /tags\.inherited\[4\]\.name = "createdBy": createdBy, createdOn and managedBy belong to each resource/,
    ],
    [
      "duplicate environments",
      (p) => p.environments.push({ name: "dev", productionData: false }),
      /environments = "dev": environment names must be unique/,
    ],
  ])("%s", (_label, mutate, expected) => {
    const err = problemsOf(mutate);
    expect(err.message).toMatch(/^invalid estate policy test-policy\.yaml:/);
    expect(err.message).toMatch(expected);
  });

  it("reports every problem at once", () => {
    const err = problemsOf((p) => {
      p.regions.default = "eastus";
      p.naming.workspace = "mlw-{env}";
    });
    expect(err.problems.map((x) => x.path)).toEqual(
      expect.arrayContaining(["regions.default", "naming.workspace"]),
    );
  });

  it("names the file when it is not YAML at all", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "policy-"));
    const file = path.join(dir, "broken.yaml");
    writeFileSync(file, "version: 1\n  bad: [indent\n");
    expect(() => loadPolicyFile(file)).toThrow(/invalid estate policy .*broken\.yaml:[\s\S]*not valid YAML/);
    expect(() => loadPolicyFile(path.join(dir, "absent.yaml"))).toThrow(/cannot read the file/);
  });

  it("accepts the same policy as JSON", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "policy-"));
    const file = path.join(dir, "policy.json");
    writeFileSync(file, JSON.stringify(raw()));
    const policy: EstatePolicy = loadPolicyFile(file);
    expect(policy.organisation).toBe("Contoso");
  });
});
