/** Deterministic identifiers, so that a retried step names what it creates the same way. */
import { createHash } from "node:crypto";

/** RFC 4122 UUID version 5 (SHA-1, name-based). */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  if (ns.length !== 16) throw new Error(`namespace is not a UUID: ${namespace}`);
  const hash = createHash("sha1").update(ns).update(name, "utf8").digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** aml-steward's own UUID namespace (a fixed random v4). */
export const STEWARD_NAMESPACE = "3c1f7e9a-8d24-4b6e-a0f5-92c7d1e4b8a3";

/** Name of the role assignment of `roleDefinitionGuid` to `principalId` at `scope` (case-insensitive inputs). */
export function roleAssignmentName(scope: string, principalId: string, roleDefinitionGuid: string): string {
  return uuidV5(
    [scope, principalId, roleDefinitionGuid].map((s) => s.toLowerCase()).join("|"),
    STEWARD_NAMESPACE,
  );
}
