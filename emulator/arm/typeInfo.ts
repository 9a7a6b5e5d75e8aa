/**
 * The shape of what the emulator knows about a typed resource (resourceTypes.ts holds the
 * catalogue, mlRegistries.ts contributes the registry types): apart from both, so that a
 * contributor of types does not import the catalogue it is part of.
 */

export type LroStyle =
  /** 202 + Azure-AsyncOperation (+ Location); poll returns {status}; then the client GETs the resource. */
  | "azure-async-operation"
  /** 202 + Location; the Location URL answers 202 until done, then 200 with the resource. */
  | "location"
  /** 201/200 with properties.provisioningState non-terminal; the client re-GETs the resource. */
  | "provisioning-state"
  /** 200/201 with provisioningState Succeeded at once. */
  | "immediate";

export interface NameRule {
  test(name: string): boolean;
  code: string;
  message(name: string): string;
  /** True when the code/message could not be confirmed against Azure (see docs/emulator.md). */
  unverified?: boolean;
}

export interface TypeInfo {
  /** Canonical casing, e.g. Microsoft.Storage/storageAccounts */
  type: string;
  nameRule?: NameRule;
  locationRequired: boolean;
  /** Names unique across all subscriptions (they become DNS names). */
  globallyUnique?: { code: string; message(name: string): string };
  put: LroStyle;
  patch: LroStyle;
  delete: LroStyle;
  /** Transitional provisioningState while a PUT runs (provisioning-state style). */
  creatingState?: string;
  /** Fills in read-only properties Azure adds on create. */
  onCreate?(
    ctx: { name: string; tenantId: string; location?: string },
    resource: { properties: Record<string, unknown>; identity?: Record<string, unknown> },
  ): void;
  /** Nested ML asset types carry tags inside properties and have no location. */
  mlAsset?: "container" | "version";
  /**
   * A workspace child whose body is only `properties` (datastores, connections): no location,
   * tags or provisioningState of its own.
   */
  workspaceChild?: boolean;
  /** A create answers 200, not 201 (the spec declares only 200, as for workspace connections). */
  createdStatus?: 200;
  /** Refuses a PUT body the resource provider would refuse (400, before anything is stored). */
  validate?(body: Record<string, unknown>): void;
  /** What a read returns of the stored properties (secrets dropped). */
  view?(properties: Record<string, unknown>): Record<string, unknown>;
}
