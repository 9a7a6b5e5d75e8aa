/**
 * The estate policy's schema: everything organisation-specific that aml-steward enforces.
 * One zod schema gives the runtime validation, the TypeScript types and (through
 * emitJsonSchema.ts) the JSON Schema that editors use. Cross-field rules that a JSON Schema
 * cannot say live in `checkPolicy` (validate.ts).
 */
import { z } from "zod";

const guid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/, "must be a GUID (8-4-4-4-12 hex digits)");
const azureRegion = z
  .string()
  .regex(
    /^[a-z][a-z0-9]{2,30}$/,
    "must be an Azure region name in lower case without spaces, e.g. westeurope",
  );
const tagName = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^<>%&\\?/]+$/, "must not contain < > % & \\ ? /");
const slug = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,23}$/, "must be 1-24 lower-case letters, digits or '-', starting with a letter");

const azureRole = z.strictObject({
  id: guid.describe("Role definition GUID (built-in GUIDs are the same in every tenant)."),
  name: z.string().min(1).describe("The role's name, for humans; checked against the GUID for built-ins."),
});

/**
 * An Entra group named by object id: names can be squatted (anyone may create a group called
 * "grp-budget-owners"), object ids cannot.
 */
const entraGroup = z.strictObject({
  id: guid.describe("The group's Entra object id."),
  name: z.string().min(1).describe("The group's display name, for humans and reports."),
});

const namingTemplate = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_.{}-]+$/, "may hold only letters, digits, '-', '_', '.', and {tokens}")
  .describe("Name template. Tokens: {project} {env} {role} {region} {hash}.");

// ---- Region plans: projects that span regions (regional training, serving, fine-tuning). ----

const regionRole = z.enum(["training", "serving", "fine-tuning"]);

const regionPlanSchema = z
  .strictObject({
    training: z
      .array(azureRegion)
      .min(1)
      .describe(
        "Regions that hold the project's data: each gets a workspace with its own storage, key vault and monitoring, so training runs where the data is. The first is the project's home (its resource groups, its registry, its promoted assets).",
      ),
    serving: z
      .array(
        z.strictObject({
          region: azureRegion.describe("Where inference runs, close to its users."),
          servedFrom: azureRegion.describe(
            "The training region whose models this region serves (its data collected by endpoints flows back there for retraining).",
          ),
          workspace: z
            .boolean()
            .default(true)
            .describe(
              "true: a workspace (with its dependencies) in the serving region for online and batch endpoints; false: the region only hosts serving resources attached elsewhere (e.g. an AKS cluster).",
            ),
        }),
      )
      .default([])
      .describe("Regions where the project's models are served."),
    fineTuning: z
      .array(
        z.strictObject({
          base: azureRegion.describe("Training region where the base model is trained."),
          target: azureRegion.describe(
            "Region where it is fine-tuned on data that may not leave that region: gets a workspace, and the project's registry is replicated to it.",
          ),
        }),
      )
      .default([])
      .describe("Fine-tuning stages: base region -> fine-tuning region, through the project's registry."),
    fineTuningRegistry: z
      .string()
      .regex(
        /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[-\w._()]{1,90}\/providers\/Microsoft\.MachineLearningServices\/registries\/[A-Za-z0-9][A-Za-z0-9_-]{2,32}$/i,
        "must be the ARM id of an Azure ML registry (/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/registries/{name})",
      )
      .optional()
      .describe(
        "An existing Azure ML registry (ARM id, in the project subscription) that the fine-tuning stages use instead of the project's registry: each promotion of a project on this plan adds the stages' base and target regions it lacks (never removes one), and is refused while it does not exist. Only the policy names it: a request never can.",
      ),
  })
  .describe("One project's regions and what each region does.");

const regionPlansSchema = z
  .strictObject({
    roleTag: tagName
      .default("regionRole")
      .describe(
        "Tag on a regional resource naming the roles its region plays for the project (training, serving, fine-tuning; comma-separated).",
      ),
    plans: z.record(slug, regionPlanSchema).default({}).describe("Named region plans."),
    projects: z
      .record(z.string().min(1).max(64), slug)
      .default({})
      .describe(
        "project -> its region plan. A project not listed keeps one region (regions.default, or the region its request names). Only the policy assigns plans: a request may name its project's plan, never choose one.",
      ),
  })
  .default({ roleTag: "regionRole", plans: {}, projects: {} })
  .describe(
    "Per-project region plans: which regions a project spans and what each region holds. Empty: everything in one region, as Microsoft's reference setup.",
  );

export type RegionRole = z.infer<typeof regionRole>;
export type RegionPlan = z.infer<typeof regionPlanSchema>;
export const REGION_ROLES = regionRole.options;

export const estatePolicySchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).describe("Policy format version; this build reads version 1."),
    organisation: z.string().min(1).describe("Organisation name, used in reports."),
    regions: z
      .strictObject({
        allowed: z.array(azureRegion).min(1).describe("Regions where the estate may hold resources."),
        default: azureRegion.describe("Region used when a promotion request names none; must be allowed."),
        restricted: z
          .array(azureRegion)
          .default([])
          .describe(
            "Data-residency regions: data stored in one of these regions may not be used from a workspace in another region (a datastore whose storage account is here, in a workspace elsewhere, is a dataResidency violation).",
          ),
      })
      .describe("Where resources may live. Microsoft's reference setup keeps everything in one region."),
    environments: z
      .array(
        z.strictObject({
          name: slug.describe("Short environment name used in resource names and tags."),
          productionData: z.boolean().describe("May this environment hold production data?"),
          budget: z
            .strictObject({
              monthlyAmount: z.number().positive(),
              currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 currency code"),
            })
            .optional()
            .describe("Optional monthly budget created on each project resource group of this environment."),
        }),
      )
      .min(1)
      .describe("Project environments, in promotion order (dev first, prod last)."),
    exploration: z
      .strictObject({
        subscriptionId: guid,
        resourceGroup: z.string().min(1).max(90),
        workspace: z.string().min(3).max(33),
        costCenter: z.string().min(1).describe("Cost centre that pays for exploration (R&D)."),
      })
      .describe("The one shared exploration workspace where use cases are tried before promotion."),
    projectSubscriptionId: guid.describe("Subscription that receives new project environments."),
    roles: z
      .array(z.strictObject({ name: slug, description: z.string().min(1) }))
      .min(1)
      .describe("Project roles; one Entra group per role and environment."),
    accessMatrix: z
      .record(z.string(), z.record(z.string(), z.array(azureRole)))
      .describe(
        "role -> environment -> Azure roles granted to that role's group on the environment's resource group.",
      ),
    customRoles: z
      .array(
        z.strictObject({
          id: guid.describe("The custom role definition's GUID."),
          name: z.string().min(1),
          actions: z.array(z.string().min(1)).min(1),
          notActions: z.array(z.string().min(1)).default([]),
        }),
      )
      .default([])
      .describe(
        "Custom Azure roles the access matrix may grant, with their actions: a custom role id not declared here is refused, and so is one whose actions could manage access.",
      ),
    tags: z
      .strictObject({
        required: z.array(tagName).min(1).describe("Tags every governed resource must carry."),
        inherited: z
          .array(
            z.strictObject({
              name: tagName,
              mode: z
                .enum(["fill", "correct"])
                .describe(
                  "fill: only add when missing; correct: also overwrite a value that differs from the resource group's.",
                ),
            }),
          )
          .describe("Tags copied from the resource group onto its resources."),
        createdBy: tagName.describe(
          "Tag recording who created the resource (a UPN or a service principal's name).",
        ),
        createdOn: tagName.describe("Tag recording the creation date (YYYY-MM-DD); never overwritten."),
        managedBy: tagName.describe("Tag marking resources aml-steward created."),
        costCenter: tagName.describe(
          "Which of the tags holds the cost centre (for unattributed-cost reports).",
        ),
        project: tagName.describe("Which of the tags holds the project name."),
        environment: tagName.describe("Which of the tags holds the environment name."),
        owner: tagName.describe("Which of the tags holds the owner."),
      })
      .describe("Cost and ownership tags."),
    violations: z
      .strictObject({
        mode: z
          .enum(["audit", "tag"])
          .describe("audit: record only; tag: also tag the resource with the violation."),
        tagName: tagName.describe("Tag written in 'tag' mode."),
      })
      .describe("What to do with policy violations. aml-steward never deletes anything."),
    naming: z
      .strictObject({
        projectPattern: z
          .string()
          .describe("Regular expression a project name must match before any name is derived from it."),
        hashLength: z
          .number()
          .int()
          .min(3)
          .max(8)
          .describe("Length of the stable hash in globally unique names."),
        uniquenessSeed: z
          .string()
          .min(1)
          .describe(
            "Mixed into the hash so globally unique names (storage, key vault, registry) differ between organisations.",
          ),
        resourceGroup: namingTemplate,
        workspace: namingTemplate,
        storageAccount: namingTemplate,
        keyVault: namingTemplate,
        containerRegistry: namingTemplate,
        applicationInsights: namingTemplate,
        logAnalytics: namingTemplate,
        group: namingTemplate,
      })
      .describe("Name templates per resource kind; names are always made valid for their Azure type."),
    containerRegistry: z
      .enum(["perEnvironment", "none"])
      .describe("Whether each environment's workspace gets its own container registry."),
    fundedCostCenters: z
      .array(
        z.strictObject({
          id: z.string().min(1),
          name: z.string().min(1),
          approvers: entraGroup
            .optional()
            .describe(
              "The budget owner's group: its members approve new projects (and production changes) of this cost centre. Without it nothing under this cost centre can be approved.",
            ),
        }),
      )
      .describe("Cost centres with funding; promotions for any other are refused."),
    requests: z
      .strictObject({
        requesters: z
          .array(
            z.strictObject({
              group: entraGroup,
              costCenters: z
                .array(z.string().min(1))
                .min(1)
                .optional()
                .describe("Funded cost centres this group may ask for; all funded ones when absent."),
            }),
          )
          .describe("Who may ask for a new project. Changes to an existing project come from its owners."),
        approvalTimeoutDays: z
          .number()
          .int()
          .min(1)
          .max(90)
          .default(14)
          .describe("A request not approved within this many days is closed as expired."),
      })
      .default({ requesters: [], approvalTimeoutDays: 14 })
      .describe(
        "Who may ask for and approve promotions. Identity comes only from a validated Entra token; an approver is never the requester.",
      ),
    governedSubscriptions: z
      .array(z.strictObject({ id: guid, name: z.string().min(1) }))
      .min(1)
      .describe("Subscriptions aml-steward tags, checks and reconciles."),
    untaggedResourceTypes: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9.]+\/[A-Za-z0-9*/.]+$/, "must be Provider/type, '*' allowed as a segment"),
      )
      .describe("Resource types never tagged (case-insensitive; 'Provider/*' matches the whole provider)."),
    reconcile: z
      .strictObject({
        maxChangeShare: z
          .number()
          .min(0)
          .max(1)
          .describe("A run that would change more than this share of scanned resources writes nothing."),
        maxChangeCount: z
          .number()
          .int()
          .min(0)
          .describe("A run that would change more than this many resources writes nothing."),
        concurrency: z.number().int().min(1).max(64).describe("Parallel tag writes per subscription."),
        approvers: entraGroup
          .optional()
          .describe(
            "The platform group whose members may approve a run the blast-radius guard blocked. Without it, blocked runs stay blocked.",
          ),
      })
      .describe("Nightly reconciliation limits (the blast-radius guard)."),
    hardening: z
      .strictObject({
        publicNetworkAccess: z
          .record(slug, z.enum(["Enabled", "Disabled"]))
          .default({})
          .describe(
            "Public network access of each environment's workspace, storage account and key vault, by environment name. An environment not listed: Disabled when it may hold production data, else Enabled.",
          ),
      })
      .default({ publicNetworkAccess: {} })
      .describe(
        "How promotions harden what they create. Always, whatever this says: storage accounts without shared-key access and with TLS 1.2 at least; key vaults with purge protection in environments with productionData.",
      ),
    quotas: z
      .strictObject({
        maxProjectsPerCostCenter: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe("Projects one cost centre may have; a promotion of one more is refused. Unset: no cap."),
        roleAssignmentsPerSubscription: z
          .number()
          .int()
          .min(1)
          .default(4000)
          .describe(
            "Azure's limit of role assignments per subscription; a promotion whose access matrix would go beyond it is refused before anything is created.",
          ),
      })
      .default({ roleAssignmentsPerSubscription: 4000 })
      .describe("Limits checked when a promotion request is admitted."),
    access: z
      .strictObject({
        drift: z
          .enum(["audit", "restore"])
          .default("audit")
          .describe(
            "What to do when the role assignments on a scope aml-steward created differ from the project's recorded access matrix, or its groups gained members outside the request flow: audit records an access violation; restore also removes what the matrix does not give and re-creates what it gives (only on scopes aml-steward created, never inherited assignments, within the blast-radius guard).",
          ),
        restoreMembersIn: z
          .array(slug)
          .default(["prod"])
          .describe(
            "Environments whose groups lose members added outside the request flow in restore mode; members added to other environments' groups are only reported.",
          ),
      })
      .default({ drift: "audit", restoreMembersIn: ["prod"] })
      .describe("Access drift: role assignments and group members compared with what promotions recorded."),
    teams: z
      .array(
        z.strictObject({
          name: slug.describe("The team's name: used in its resource names like a project's."),
          costCenter: z
            .string()
            .min(1)
            .describe("The funded cost centre that pays for the team's workspace."),
          description: z.string().min(1).optional(),
        }),
      )
      .default([])
      .describe(
        "Teams that get one workspace each (Microsoft's 'workspace per team'): resource group, workspace and dependencies, one Entra group per role, through an approved team onboarding request. The team's groups get the first environment's column of the access matrix. Empty: no team workspaces.",
      ),
    projects: z
      .boolean()
      .default(true)
      .describe(
        "Whether funded use cases may be promoted into workspaces of their own (Microsoft's 'workspace per project'). false: the exploration workspace (and any team workspaces) are the only ones; every project request is refused.",
      ),
    dataSegregation: z
      .strictObject({
        mode: z
          .enum(["enforce", "off"])
          .default("enforce")
          .describe(
            "enforce: a datastore, connection or data-access role assignment that gives an environment without productionData access to production storage is a dataSegregation violation, and promotion refuses production data for such environments; off: none of this is checked.",
          ),
        classificationTag: tagName
          .default("data-classification")
          .describe(
            "Tag that marks a storage account's data classification. Storage accounts in resource groups of environments with productionData are production storage whatever it says.",
          ),
        productionValues: z
          .array(z.string().min(1))
          .min(1)
          .default(["production", "confidential"])
          .describe(
            "Values of classificationTag (compared case-insensitively) that make a storage account production storage wherever it is.",
          ),
      })
      .default({
        mode: "enforce",
        classificationTag: "data-classification",
        productionValues: ["production", "confidential"],
      })
      .describe(
        "Live production data must not reach environments without productionData: what counts as production storage (docs/data-segregation.md).",
      ),
    mlRegistry: z
      .enum(["none", "perProject"])
      .default("none")
      .describe(
        "perProject: each multi-environment project gets an Azure ML registry that its first environment publishes to and later environments read from, so models, environments and components roll out without copying data. none: assets are copied into the first environment only.",
      ),
    // ---- Region plans (issue #16, regions half): kept in one block apart from the fields above,
    // ---- so that other policy additions merge cleanly. Shapes in regionPlanSchema below.
    regionPlans: regionPlansSchema,
  })
  .describe("aml-steward estate policy");

export type EstatePolicy = z.infer<typeof estatePolicySchema>;
export type AzureRoleRef = z.infer<typeof azureRole>;
export type NamingTemplates = EstatePolicy["naming"];
