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
