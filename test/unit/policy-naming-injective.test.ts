/**
 * Two projects must never share a name of any kind: a shared resource group or Entra group is
 * one project taking over another's. Property style: many generated names that admission
 * accepts (the policy's pattern and the canonical rule), from a small alphabet so that
 * near-twins (`ab-c`, `abc`, `a-bc`) are frequent, each derived for every kind, environment and
 * role; no two projects may map to the same name.
 */
import { describe, expect, it } from "vitest";
import {
  canonicalProjectProblem,
  deriveName,
  getPolicy,
  NAME_RULES,
  type NameKind,
} from "../../shared/policy/index.js";

const policy = getPolicy();
const kinds = Object.keys(NAME_RULES) as NameKind[];
const pattern = new RegExp(policy.naming.projectPattern);

function generated(count: number, seed: number): string[] {
  // mulberry32: 32-bit integer arithmetic, so the sequence never degenerates into a short cycle
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const alphabet = "ab1-";
  const out = new Set<string>([
    "fraud-detection",
    "frauddetection",
    "fraud-detect-ion",
    // long ones are shortened (and hashed): the shortened forms must not meet either
    "a".repeat(42),
    `${"a".repeat(40)}-b`,
    `${"a".repeat(39)}-bb`,
  ]);
  while (out.size < count) {
    const len = 3 + Math.floor(next() * 40);
    let name = "";
    for (let i = 0; i < len; i++) name += alphabet[Math.floor(next() * alphabet.length)];
    if (pattern.test(name) && !canonicalProjectProblem(name)) out.add(name);
  }
  return [...out];
}

describe("canonical project names", () => {
  it.each(["fraud--detection", "-fraud", "fraud-", "fraud.detection", "fraud_detection", "Fraud-detection"])(
    "%s is not canonical",
    (name) => expect(canonicalProjectProblem(name)).toMatch(/not a canonical project name/),
  );
  it.each(["fraud-detection", "ab1", "a-b-c", "9lives"])("%s is canonical", (name) =>
    expect(canonicalProjectProblem(name)).toBeUndefined(),
  );
});

describe("derivation is one-to-one over accepted project names", () => {
  const names = generated(2500, 7);
  const roles = policy.roles.map((r) => r.name);
  const envs = policy.environments.map((e) => e.name);

  it.each(kinds)("%s", (kind) => {
    for (const env of envs) {
      for (const role of kind === "group" ? roles : [undefined]) {
        const seen = new Map<string, string>();
        for (const project of names) {
          const name = deriveName(policy, kind, { project, env, role, region: policy.regions.default });
          const other = seen.get(name);
          expect(other, `${kind} ${name} derived from both "${other}" and "${project}"`).toBeUndefined();
          seen.set(name, project);
        }
      }
    }
  });

  it("a name that is not canonical is the one that would collide", () => {
    const a = deriveName(policy, "resourceGroup", { project: "fraud-detection", env: "prod" });
    const b = deriveName(policy, "resourceGroup", { project: "fraud--detection", env: "prod" });
    expect(a).toBe(b);
  });
});
