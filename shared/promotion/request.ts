/**
 * The promotion request: the message a team puts on the `promotion-requests` queue. The schema
 * is versioned and strict (an unknown field is refused, never ignored), and every string that
 * could later reach a URL, an OData filter or a resource name is held to a narrow alphabet here,
 * so injection is refused at the door rather than escaped downstream (downstream still escapes).
 *
 * This module checks the message's shape only. What needs the estate policy (names, funding,
 * region, roles) is in admission.ts; what needs Azure (principals, an existing project) too.
 */
import { z } from "zod";

export const REQUEST_VERSION = 1;

/** The tag that marks a use case's assets in exploration unless the request names another. */
export const DEFAULT_USE_CASE_TAG = "useCase";

export const ASSET_KINDS = ["model", "data", "environment", "component"] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

const GUID_RE = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
/**
 * UPNs: a deliberately narrow alphabet (no quotes, spaces, parentheses or slashes), so a UPN is
 * always safe as a Graph path segment. Real UPNs with an apostrophe must be given by object id.
 */
const UPN_RE = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

export const guidSchema = z.string().regex(GUID_RE, "must be a GUID (8-4-4-4-12 hex digits)");

/** A person or identity: an Entra object id or a user principal name. */
export const principalRefSchema = z
  .string()
  .max(256)
  .refine(
    (s) => GUID_RE.test(s) || UPN_RE.test(s),
    "must be an Entra object id (GUID) or a user principal name (name@domain) without quotes or spaces",
  );

const safeToken = (what: string, max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, `${what} may hold only letters, digits, '.', '_' and '-'`);

const assetRefSchema = z.strictObject({
  kind: z.enum(ASSET_KINDS),
  name: safeToken("an asset name", 255),
  version: safeToken("an asset version", 64),
});
export type AssetRef = z.infer<typeof assetRefSchema>;

const assetsSchema = z.union([
  z.strictObject({
    selector: z.strictObject({
      /** Tag whose value is the use-case id on the exploration versions to carry. */
      tagName: safeToken("a tag name", 128).default(DEFAULT_USE_CASE_TAG),
      kinds: z
        .array(z.enum(ASSET_KINDS))
        .min(1)
        .default([...ASSET_KINDS]),
    }),
  }),
  z.strictObject({ versions: z.array(assetRefSchema).min(1).max(200) }),
]);

export const promotionRequestSchema = z.strictObject({
  version: z.literal(REQUEST_VERSION),
  requestId: guidSchema,
  /** The project's name; every Azure and Entra name is derived from it by the policy. */
  project: z.string().min(1).max(64),
  /** The tag value that marks the use case's assets in the exploration workspace. */
  useCaseId: safeToken("a use-case id", 128),
  costCenter: safeToken("a cost centre", 64),
  fundingReference: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._/-]*$/, "may hold only letters, digits, spaces, '.', '_', '/' and '-'"),
  owners: z.array(principalRefSchema).min(1).max(10),
  /** role name (from the policy) -> initial members of that role's groups. */
  members: z.record(z.string(), z.array(principalRefSchema).max(100)).default({}),
  /** Default: every environment of the policy. */
  environments: z.array(z.string().min(1).max(24)).min(1).optional(),
  /**
   * Default: the policy's default region, or the first training region of the project's region
   * plan. With a plan it must be one of the plan's training regions (the project's home).
   */
  region: z.string().min(1).max(32).optional(),
  /**
   * The project's region plan as the policy assigns it (regionPlans.projects): a check, never a
   * choice. Naming any other plan is refused.
   */
  regionPlan: safeToken("a region plan", 24).optional(),
  assets: assetsSchema.default({ selector: { tagName: DEFAULT_USE_CASE_TAG, kinds: [...ASSET_KINDS] } }),
  /**
   * Optional, and never a source of identity: the sender is whoever the envelope's validated
   * token names. When present it must name that same person, or the request is refused.
   */
  requestedBy: principalRefSchema.optional(),
  dryRun: z.boolean().default(false),
  /**
   * Per-solution access: role -> environment -> the Azure roles (id or name) of the estate
   * matrix this project keeps. Narrowing only; admission refuses anything the estate matrix
   * does not grant (projectAccess.ts).
   */
  /** "team": a team onboarding request (its one workspace); default: a project. */
  kind: z.enum(["project", "team"]).optional(),
  /** A project promoted from this team's workspace instead of from exploration. */
  fromTeam: safeToken("a team", 24).optional(),
  narrowAccess: z
    .record(
      safeToken("a role", 64),
      z.record(safeToken("an environment", 24), z.array(z.string().min(1).max(128)).max(20)),
    )
    .optional(),
});

/** A request as a sender wrote it. */
export type RequestBody = z.infer<typeof promotionRequestSchema>;
/** A request whose sender is known: `requestedBy` is the validated caller (UPN, else object id). */
export type PromotionRequest = Omit<RequestBody, "requestedBy"> & { requestedBy: string };
export type AssetSelection = PromotionRequest["assets"];

/** Fields a request may use to try to pick its own permissions; those come only from the policy. */
const PERMISSION_FIELDS = new Set(
  [
    "roles",
    "role",
    "roleAssignments",
    "roleDefinitionId",
    "roleDefinitionIds",
    "azureRoles",
    "accessMatrix",
    "permissions",
    "scope",
    "scopes",
    "principalType",
  ].map((f) => f.toLowerCase()),
);

export interface Refusal {
  /** Dotted path of the offending field, "" for the whole message. */
  path: string;
  reason: string;
}

export type ParseResult =
  { ok: true; request: RequestBody } | { ok: false; reasons: Refusal[]; requestId?: string };

/** Parses a queue message (object, JSON text or Buffer) into a request, or every reason it can't be one. */
export function parsePromotionRequest(message: unknown): ParseResult {
  let input = message;
  if (Buffer.isBuffer(input)) input = input.toString("utf8");
  if (typeof input === "string") {
    try {
      input = JSON.parse(input);
    } catch (e) {
      return { ok: false, reasons: [{ path: "", reason: `not JSON: ${(e as Error).message}` }] };
    }
  }
  const requestId = peekRequestId(input);
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    return { ok: false, reasons: [{ path: "", reason: "the message must be a JSON object" }], requestId };
  }
  const parsed = promotionRequestSchema.safeParse(input);
  if (parsed.success) return { ok: true, request: parsed.data };
  return { ok: false, reasons: refusalsOf(parsed.error), requestId };
}

function peekRequestId(input: unknown): string | undefined {
  const id = (input as { requestId?: unknown } | null)?.requestId;
  return typeof id === "string" && GUID_RE.test(id) ? id.toLowerCase() : undefined;
}

/** Fields a request may use to try to place the project in regions of its own choosing. */
const REGION_FIELDS = new Set([
  "regions",
  "regionplans",
  "training",
  "serving",
  "finetuning",
  "locations",
  "location",
]);

/** Fields a request may use to try to name a registry (only the policy names one). */
const REGISTRY_FIELDS = new Set(["registry", "registryid", "mlregistry", "finetuningregistry", "registries"]);

function unknownFieldReason(key: string): string {
  if (REGISTRY_FIELDS.has(key.toLowerCase()))
    return "registries come only from the estate policy (mlRegistry, regionPlans.plans.*.fineTuningRegistry); a request may not name one";
  if (PERMISSION_FIELDS.has(key.toLowerCase()))
    return "roles, scopes and permissions come only from the estate policy; a request may not set them";
  if (REGION_FIELDS.has(key.toLowerCase()))
    return "regions come only from the estate policy's region plans; a request may name its home `region` and its project's `regionPlan`, never add a region";
  return "unknown field";
}

function refusalsOf(error: z.ZodError): Refusal[] {
  const out: Refusal[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = base ? `${base}.${key}` : key;
        out.push({
          path,
          reason: unknownFieldReason(key),
        });
      }
    } else {
      out.push({ path: base, reason: issue.message });
    }
  }
  return out;
}

/**
 * The request as sent by `caller`: refused when its `requestedBy` names someone else, so no
 * one can make a record, a createdBy tag or an approval say another person asked.
 */
export function asSentBy(
  body: RequestBody,
  caller: { objectId: string; userPrincipalName?: string },
): { ok: true; request: PromotionRequest } | { ok: false; reasons: Refusal[] } {
  const claimed = body.requestedBy?.toLowerCase();
  if (
    claimed !== undefined &&
    claimed !== caller.objectId.toLowerCase() &&
    claimed !== caller.userPrincipalName?.toLowerCase()
  ) {
    return {
      ok: false,
      reasons: [
        {
          path: "requestedBy",
          reason: `names "${body.requestedBy}", but the request was sent by ${caller.userPrincipalName ?? caller.objectId}; requestedBy may only name the sender`,
        },
      ],
    };
  }
  return { ok: true, request: { ...body, requestedBy: caller.userPrincipalName ?? caller.objectId } };
}

export function isGuid(value: string): boolean {
  return GUID_RE.test(value);
}
