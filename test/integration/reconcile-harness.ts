/**
 * Test plumbing for the reconcile integration tests: a policy whose governed subscriptions are
 * fresh GUIDs (test files run in parallel against one Azurite, and leases are per
 * subscription), a seeded estate with every kind of resource a run meets, and readers for the
 * emulator's request log and for the tags a resource ends up with.
 */
import { randomUUID } from "node:crypto";
import { contosoSeed } from "../../local/seeds/contoso.js";
import type { EmulatorSeed } from "@aml-steward/azure-emulator";
import { silentLogger, type Logger } from "../../shared/log.js";
import { getPolicy, parsePolicy, type EstatePolicy } from "../../shared/policy/index.js";
import type { TestStack } from "../helpers/stack.js";

export function testPolicy(reconcile: Partial<EstatePolicy["reconcile"]> = {}): EstatePolicy {
  const doc = structuredClone(getPolicy()) as EstatePolicy & Record<string, unknown>;
  const exploration = randomUUID();
  const projects = randomUUID();
  doc.exploration.subscriptionId = exploration;
  doc.projectSubscriptionId = projects;
  doc.governedSubscriptions = [
    { id: exploration, name: "Test Exploration" },
    { id: projects, name: "Test Projects" },
  ];
  doc.reconcile = { ...doc.reconcile, ...reconcile };
  return parsePolicy(doc, "reconcile-test-policy");
}

export const FRAUD_TAGS = {
  costCenter: "CC-2100-FRAUD",
  project: "fraud",
  environment: "dev",
  owner: "erin@contoso.com",
};

export interface Estate {
  seed: EmulatorSeed;
  sub: string;
  compliant: string[];
  drifted: string[];
  untaggable: string[];
  orphaned: string[];
  all: string[];
}

const storage = (sub: string, rg: string, name: string) =>
  `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/${name}`;

/**
 * The project subscription holds:
 * - rg-aml-fraud-dev (tagged): `compliantCount` compliant accounts, and drifted ones (no tags,
 *   a wrong cost centre, a missing owner, a wrongly cased name with a wrong value);
 * - two untaggable resources (a deployment, a budget);
 * - rg-orphan (no tags) with two untagged accounts: unattributed, nothing to write.
 */
export function seedEstate(
  policy: EstatePolicy,
  opts: { compliantCount?: number; extraDrifted?: number } = {},
): Estate {
  const sub = policy.projectSubscriptionId;
  const base = contosoSeed(policy);
  const rg = "rg-aml-fraud-dev";
  const n = (prefix: string, i: number) => `${prefix}${i}${sub.slice(0, 6)}`.replace(/-/g, "").slice(0, 24);
  const compliant = Array.from({ length: opts.compliantCount ?? 6 }, (_, i) =>
    storage(sub, rg, n("stok", i)),
  );
  const driftedTags: Array<Record<string, string>> = [
    {},
    { ...FRAUD_TAGS, costCenter: "CC-9999-WRONG" },
    { costCenter: FRAUD_TAGS.costCenter, project: "fraud", environment: "dev" },
    { COSTCENTER: "cc-2100-fraud", project: "fraud", environment: "dev", owner: "someone@contoso.com" },
    ...Array.from({ length: opts.extraDrifted ?? 0 }, () => ({})),
  ];
  const drifted = driftedTags.map((_, i) => storage(sub, rg, n("stdrift", i)));
  const untaggable = [
    `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Resources/deployments/deploy-1`,
    `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Consumption/budgets/budget-1`,
  ];
  const orphaned = [storage(sub, "rg-orphan", n("storph", 0)), storage(sub, "rg-orphan", n("storph", 1))];
  const seed: EmulatorSeed = {
    ...base,
    resourceGroups: [
      ...(base.resourceGroups ?? []),
      { subscriptionId: sub, name: rg, location: "westeurope", tags: { ...FRAUD_TAGS } },
      { subscriptionId: sub, name: "rg-orphan", location: "westeurope" },
    ],
    resources: [
      ...(base.resources ?? []),
      ...compliant.map((id) => ({ id, location: "westeurope", tags: { ...FRAUD_TAGS } })),
      ...drifted.map((id, i) => ({ id, location: "westeurope", tags: { ...driftedTags[i]! } })),
      ...untaggable.map((id) => ({ id, location: "westeurope" })),
      ...orphaned.map((id) => ({ id, location: "westeurope" })),
    ],
  };
  return {
    seed,
    sub,
    compliant,
    drifted,
    untaggable,
    orphaned,
    all: [...compliant, ...drifted, ...untaggable, ...orphaned],
  };
}

interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  kind: string;
}

const TAGS_SUFFIX = "/providers/microsoft.resources/tags/default";

/** Tag writes (PATCH/PUT on .../tags/default) the emulator answered, by lower-cased resource id. */
export async function tagWrites(
  stack: TestStack,
  opts: { okOnly?: boolean } = {},
): Promise<Map<string, number>> {
  const { requests } = await stack.control<{ requests: LoggedRequest[] }>(
    "GET",
    "/_emulator/requests?kind=arm",
  );
  const out = new Map<string, number>();
  for (const r of requests) {
    const path = r.path.toLowerCase();
    if (r.method === "GET" || !path.endsWith(TAGS_SUFFIX)) continue;
    if (opts.okOnly && r.status >= 300) continue;
    const id = path.slice(0, -TAGS_SUFFIX.length);
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

export async function armRequests(stack: TestStack): Promise<LoggedRequest[]> {
  const { requests } = await stack.control<{ requests: LoggedRequest[] }>(
    "GET",
    "/_emulator/requests?kind=arm",
  );
  return requests;
}

export function clearRequests(stack: TestStack): Promise<unknown> {
  return stack.control("DELETE", "/_emulator/requests");
}

/** The tags a resource carries now, read straight from the emulator's state. */
export function tagsOf(stack: TestStack, id: string): Record<string, string> | undefined {
  return stack.emulator.state.getResource(id)?.tags;
}

/** A logger that keeps every line, for asserting on alerts. */
export function memoryLogger(): Logger & {
  lines: Array<{ level: string; message: string; fields?: unknown }>;
} {
  const lines: Array<{ level: string; message: string; fields?: unknown }> = [];
  const at =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields });
    };
  return {
    ...silentLogger,
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
}
