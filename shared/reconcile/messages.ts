/**
 * The fan-out message on QUEUES.reconcile: one per subscription to reconcile. Versioned and
 * validated; the timer, continuations (a run that hit its time budget) and busy retries (the
 * subscription's lease was held) all send the same shape.
 *
 * host.json sets `messageEncoding: base64`, so messages are sent base64-encoded; the reader
 * also takes an object (the host already parsed the JSON) or plain JSON text (local runners).
 */
import { z } from "zod";

export const reconcileMessageSchema = z.strictObject({
  v: z.literal(1),
  subscriptionId: z.string().regex(/^[0-9a-fA-F-]{36}$/, "must be a subscription GUID"),
  batchId: z.string().max(100).optional(),
  dryRun: z.boolean().optional(),
  approveRunId: z.string().max(100).optional(),
  continuesRunId: z.string().max(100).optional(),
  /** How many runs of this chain already stopped at their time budget. */
  continuation: z.number().int().min(0).optional(),
  /** How many times this message found the lease held and was put back. */
  busyRetries: z.number().int().min(0).optional(),
});

export type ReconcileMessage = z.infer<typeof reconcileMessageSchema>;

export function encodeMessage(m: ReconcileMessage): string {
  return Buffer.from(JSON.stringify(reconcileMessageSchema.parse(m)), "utf8").toString("base64");
}

export type ParsedMessage = { ok: true; message: ReconcileMessage } | { ok: false; reason: string };

export function parseMessage(raw: unknown): ParsedMessage {
  let value = raw;
  if (typeof value === "string") {
    const text = value.trim();
    const json = text.startsWith("{") ? text : Buffer.from(text, "base64").toString("utf8");
    try {
      value = JSON.parse(json);
    } catch {
      return { ok: false, reason: "not JSON (nor base64-encoded JSON)" };
    }
  }
  const parsed = reconcileMessageSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      reason: parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; "),
    };
  }
  return { ok: true, message: parsed.data };
}
