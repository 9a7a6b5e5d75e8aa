/**
 * `npm run demo -- --policy examples/policies/<name>.yaml` for every example policy: each plays
 * the acts that apply to its setup on its own local stack, and every check passes.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runDemo } from "../../local/demo/index.js";

const EXPECTED_ACTS: Record<string, string[]> = {
  contoso: ["explore", "promote", "drift", "tamper", "segregate", "refuse"],
  "per-project": ["explore", "promote", "drift", "tamper", "segregate", "refuse"],
  "team-workspaces": ["explore", "promote", "team", "drift", "tamper", "segregate", "refuse"],
  "single-workspace": ["explore", "single-workspace", "refuse"],
  "single-environment": ["explore", "promote", "drift", "tamper", "refuse"],
  "two-environments": ["explore", "promote", "rollout", "drift", "tamper", "segregate", "refuse"],
  "multiple-environments": ["explore", "promote", "rollout", "drift", "tamper", "segregate", "refuse"],
  "regional-training": ["explore", "promote", "rollout", "regions", "drift", "tamper", "segregate", "refuse"],
  "regional-serving": ["explore", "promote", "rollout", "regions", "drift", "tamper", "segregate", "refuse"],
  "regional-fine-tuning": [
    "explore",
    "promote",
    "rollout",
    "regions",
    "drift",
    "tamper",
    "segregate",
    "refuse",
  ],
};

describe("npm run demo -- --policy examples/policies/<name>.yaml", () => {
  const previous = process.env.STEWARD_POLICY_PATH;
  it.each(Object.entries(EXPECTED_ACTS))(
    "%s plays the acts of its setup and passes",
    async (name, acts) => {
      const lines: string[] = [];
      try {
        const result = await runDemo({
          certPath: process.env.STEWARD_TEST_CERT_PATH!,
          keyPath: process.env.STEWARD_TEST_KEY_PATH!,
          policyPath: fileURLToPath(new URL(`../../examples/policies/${name}.yaml`, import.meta.url)),
          htmlPath: null,
          hostLogPath: null,
          print: (l) => lines.push(l),
        });
        const failed = result.acts.flatMap((a) => [
          ...(a.error ? [`${a.id}: ${a.error}`] : []),
          ...a.checks.filter((c) => !c.ok).map((c) => `${a.id}: ${c.what} (${c.detail})`),
        ]);
        expect(failed, lines.join("\n")).toEqual([]);
        expect(result.acts.map((a) => [a.id, a.status])).toEqual(acts.map((id) => [id, "passed"]));
        expect(result.ok).toBe(true);
      } finally {
        if (previous === undefined) delete process.env.STEWARD_POLICY_PATH;
        else process.env.STEWARD_POLICY_PATH = previous;
      }
    },
    120_000,
  );
});
