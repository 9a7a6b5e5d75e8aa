/**
 * The request every ARM handler takes: the emulator's parsed request plus the correlation id
 * and api-version the ARM router already extracted. Its own module so that what the handlers'
 * context refers to (the Activity Log, long-running operations) can name it without importing
 * the context back.
 */
import type { EmuRequest } from "../types.js";

export interface ArmRequest extends EmuRequest {
  correlationId: string;
  apiVersion: string;
}

/** A JSON object (not null, not an array): what ARM accepts as a body or a property bag. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
