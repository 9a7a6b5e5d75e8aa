/**
 * What arrives on the `promotion-requests` queue: an envelope holding the sender's Entra access
 * token for aml-steward's API and either a promotion request or an approval decision. Queue
 * send rights prove nothing about who wrote a message; the token does. A bare request (the
 * pre-envelope format) is refused with a reason saying so.
 */
import { z } from "zod";
import { guidSchema, type Refusal } from "./request.js";

export const ENVELOPE_VERSION = 1;

export const approvalSchema = z.strictObject({
  requestId: guidSchema,
  decision: z.enum(["approve", "reject"]),
  comment: z.string().max(1000).optional(),
  /** The plan the approver looked at (`steward status` shows it); refused if the record's differs. */
  planHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be the 64-hex-digit plan hash `steward status` shows")
    .optional(),
});
export type ApprovalDecision = z.infer<typeof approvalSchema>;

const envelopeSchema = z.strictObject({
  envelope: z.literal(ENVELOPE_VERSION),
  /** The sender's access token; validated, never logged or stored. */
  token: z.string().min(1).max(16_384),
  request: z.unknown().optional(),
  approval: z.unknown().optional(),
});

export type Envelope =
  | { ok: true; token: string; kind: "request"; body: unknown }
  | { ok: true; token: string; kind: "approval"; approval: ApprovalDecision }
  | { ok: false; reasons: Refusal[] };

export function parseEnvelope(message: unknown): Envelope {
  let input = message;
  if (Buffer.isBuffer(input)) input = input.toString("utf8");
  if (typeof input === "string") {
    try {
      input = JSON.parse(input);
    } catch (e) {
      return refuse("", `not JSON: ${(e as Error).message}`);
    }
  }
  if (input === null || typeof input !== "object" || Array.isArray(input))
    return refuse("", "the message must be a JSON object");
  if (!("envelope" in input)) {
    return refuse(
      "",
      "a promotion message must be an envelope {envelope: 1, token, request | approval} carrying the sender's access token for aml-steward's API (steward promote and POST /api/promotions make one)",
    );
  }
  const env = envelopeSchema.safeParse(input);
  if (!env.success)
    return {
      ok: false,
      reasons: env.error.issues.map((i) => ({ path: i.path.map(String).join("."), reason: i.message })),
    };
  const { token, request, approval } = env.data;
  if ((request === undefined) === (approval === undefined))
    return refuse("", "an envelope carries exactly one of request or approval");
  if (request !== undefined) return { ok: true, token, kind: "request", body: request };
  const a = approvalSchema.safeParse(approval);
  if (!a.success)
    return {
      ok: false,
      reasons: a.error.issues.map((i) => ({
        path: ["approval", ...i.path.map(String)].join("."),
        reason: i.message,
      })),
    };
  return { ok: true, token, kind: "approval", approval: a.data };
}

/** The envelope `steward` and the HTTP API put on the queue. */
export function envelopeFor(token: string, content: { request: unknown } | { approval: ApprovalDecision }) {
  return { envelope: ENVELOPE_VERSION, token, ...content };
}

function refuse(path: string, reason: string): Envelope {
  return { ok: false, reasons: [{ path, reason }] };
}
