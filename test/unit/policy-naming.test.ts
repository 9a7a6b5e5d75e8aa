import { describe, expect, it } from "vitest";
import {
  azureNameProblem,
  deriveName,
  environmentNames,
  followsConvention,
  getPolicy,
  NAME_RULES,
  NamingError,
  type NameKind,
} from "../../shared/policy/index.js";

const policy = getPolicy();
const kinds = Object.keys(NAME_RULES) as NameKind[];

/** Deterministic pseudo-random project names: long, short, accented, punctuated, digits first. */
function oddNames(count: number): string[] {
  const alphabet =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_. éüßø'\"/\\!@#$%^&*()[]{}";
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out = [
    "ab1",
    "fraud-detection",
    "Fraud Détection 2024!!",
    "9lives",
    "a".repeat(200),
    "x-".repeat(80),
    "Ünïcödé-Prøject",
    "a--b__c..d",
    "UPPER-case-Name",
  ];
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(next() * 120);
    out.push(
      Array.from({ length: len }, () => alphabet[Math.floor(next() * alphabet.length)]).join("") + "z",
    );
  }
  return out;
}

describe("derived names are always valid Azure names", () => {
  const names = oddNames(400);

  it.each(kinds)("%s", (kind) => {
    let derived = 0;
    for (const project of names) {
      for (const env of policy.environments.map((e) => e.name)) {
        let name: string;
        try {
          name = deriveName(policy, kind, { project, env, role: "data-scientist", region: "westeurope" });
        } catch (e) {
          // Only a project with nothing usable in it may be refused, and it must say so.
          expect(e).toBeInstanceOf(NamingError);
          expect(project.replace(/[^a-z0-9]/gi, "")).toBe("");
          continue;
        }
        derived++;
        expect(azureNameProblem(kind, name), `${kind} from "${project}"`).toBeUndefined();
        expect(followsConvention(policy, kind, name), `${name} follows ${policy.naming[kind]}`).toBe(true);
      }
    }
    expect(derived).toBeGreaterThan(names.length * 2);
  });
});

describe("names are stable and distinct", () => {
  it("derives the same names on every call (retries name things the same way)", () => {
    expect(environmentNames(policy, "fraud-detection", "qa")).toEqual(
      environmentNames(policy, "fraud-detection", "qa"),
    );
  });

  it("keeps two long projects with a shared prefix apart", () => {
    const a = environmentNames(policy, "customer-lifetime-value-prediction-emea", "dev");
    const b = environmentNames(policy, "customer-lifetime-value-prediction-apac", "dev");
    for (const key of [
      "resourceGroup",
      "workspace",
      "storageAccount",
      "keyVault",
      "containerRegistry",
    ] as const) {
      expect(a[key], key).not.toBe(b[key]);
    }
  });

  it("differs between organisations for globally unique names", () => {
    const other = { ...policy, naming: { ...policy.naming, uniquenessSeed: "fabrikam" } };
    expect(deriveName(other, "storageAccount", { project: "churn", env: "dev" })).not.toBe(
      deriveName(policy, "storageAccount", { project: "churn", env: "dev" }),
    );
  });

  it("produces the readable Contoso names for a typical project", () => {
    const n = environmentNames(policy, "fraud-detection", "prod");
    expect(n.resourceGroup).toBe("rg-aml-fraud-detection-prod");
    expect(n.workspace).toBe("mlw-fraud-detection-prod");
    expect(n.groups["data-scientist"]).toBe("grp-aml-fraud-detection-prod-data-scientist");
    expect(n.storageAccount).toMatch(/^st[a-z0-9]{20,22}$/);
    expect(n.keyVault).toMatch(/^kv-fraud-[a-z-]+-prod-[a-z0-9]{5}$/);
  });

  it("refuses a project with nothing usable in it", () => {
    expect(() => deriveName(policy, "storageAccount", { project: "---...___", env: "dev" })).toThrow(
      NamingError,
    );
  });
});

describe("Azure's name rules", () => {
  it.each<[NameKind, string, boolean]>([
    ["storageAccount", "stfraud01", true],
    ["storageAccount", "St-Fraud", false],
    ["storageAccount", "s".repeat(25), false],
    ["keyVault", "kv-fraud-01", true],
    ["keyVault", "1kv", false],
    ["keyVault", "kv--double", false],
    ["keyVault", "kv-ends-", false],
    ["workspace", "mlw_fraud-01", true],
    ["workspace", "-mlw", false],
    ["resourceGroup", "rg.ends.with.dot.", false],
    ["containerRegistry", "crfr", false],
    ["logAnalytics", "log-ok", true],
    ["group", "grp-aml-x-dev-reader", true],
    ["group", "Grp Upper", false],
  ])("%s %s valid=%s", (kind, name, valid) => {
    expect(azureNameProblem(kind, name) === undefined).toBe(valid);
  });
});
