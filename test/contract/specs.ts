/**
 * Loads the official REST specs (swagger 2.0) the contract tests check the emulator against,
 * and compiles response schemas with ajv. A small loader registers every file a `$ref` reaches
 * under its file:// URL, so relative refs across files resolve by URI as the spec authors meant.
 *
 * Swagger/autorest keywords (x-ms-*, discriminator, x-nullable) are ignored. An enum marked
 * `x-ms-enum.modelAsString: true` is extensible by definition (clients must accept new values),
 * so its `enum` list is dropped before validation. `additionalProperties: false` is dropped too:
 * swagger applies it across allOf inheritance, which JSON Schema cannot express.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const specsDir = process.env.STEWARD_SPECS_DIR ?? path.resolve(repoRoot, "../shared/specs");

export const SPEC_FILES = {
  resources:
    "specification/resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json",
  roleAssignments:
    "specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json",
  roleDefinitions:
    "specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json",
  workspaces:
    "specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2022-10-01/machineLearningServices.json",
  mfe: "specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2022-10-01/mfe.json",
  activityLogs:
    "specification/monitor/resource-manager/Microsoft.Insights/stable/2015-04-01/activityLogs_API.json",
} as const;

export interface SpecOperation {
  operationId: string;
  method: string;
  pathTemplate: string;
  file: string;
  apiVersion: string;
  responses: Record<string, { schema?: unknown; headers?: Record<string, unknown> }>;
  examples: Record<string, string>;
  /** Parameter names the path takes without URL-encoding (x-ms-skip-url-encoding). */
  rawParams: Set<string>;
}

type Json = Record<string, unknown>;

function stripExtensibleEnums(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripExtensibleEnums);
  if (node && typeof node === "object") {
    const obj = node as Json;
    const out: Json = {};
    for (const [k, v] of Object.entries(obj)) out[k] = stripExtensibleEnums(v);
    const xEnum = obj["x-ms-enum"] as Json | undefined;
    if (xEnum && xEnum.modelAsString === true) delete out.enum;
    // Swagger reads `additionalProperties: false` across allOf inheritance (a model plus its
    // parents); JSON Schema cannot, and would reject every inherited property. Dropped.
    if (out.additionalProperties === false) delete out.additionalProperties;
    return out;
  }
  return node;
}

function collectRefs(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) node.forEach((n) => collectRefs(n, out));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.add(v);
      else if (k !== "x-ms-examples") collectRefs(v, out);
    }
  }
}

export class SpecSet {
  readonly ajv: Ajv;
  private readonly loaded = new Map<string, Json>();
  readonly operations = new Map<string, SpecOperation>();
  private readonly compiled = new Map<string, ValidateFunction>();

  /** `extraFiles`: spec files (relative to `dir`) beyond SPEC_FILES, for a contract test of its own. */
  constructor(
    readonly dir: string,
    extraFiles: readonly string[] = [],
  ) {
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    for (const f of [
      "arm-id",
      "int32",
      "int64",
      "float",
      "double",
      "byte",
      "unixtime",
      "password",
      "decimal",
    ])
      this.ajv.addFormat(f, true);
    for (const rel of [...Object.values(SPEC_FILES), ...extraFiles])
      this.indexOperations(path.join(dir, rel));
  }

  private load(abs: string): Json {
    const hit = this.loaded.get(abs);
    if (hit) return hit;
    const raw = JSON.parse(readFileSync(abs, "utf8")) as Json;
    this.loaded.set(abs, raw);
    const id = pathToFileURL(abs).href;
    const { paths: _paths, ...rest } = raw;
    this.ajv.addSchema({ ...(stripExtensibleEnums(rest) as Json), $id: id });
    const refs = new Set<string>();
    collectRefs(rest, refs);
    collectRefs(_paths, refs);
    for (const ref of refs) {
      const file = ref.split("#")[0];
      if (file && !file.includes("/examples/")) this.load(path.resolve(path.dirname(abs), file));
    }
    return raw;
  }

  private indexOperations(abs: string): void {
    const spec = this.load(abs);
    const apiVersion = String((spec.info as Json).version);
    const allPaths = {
      ...(spec.paths as Record<string, Json>),
      ...((spec["x-ms-paths"] as Record<string, Json>) ?? {}),
    };
    for (const [rawPath, item] of Object.entries(allPaths)) {
      // x-ms-paths disambiguate with a fake query ("/{roleId}?disambiguation_dummy").
      const p = rawPath.split("?")[0]!;
      for (const [method, op] of Object.entries(item)) {
        if (method === "parameters") continue;
        const o = op as Json;
        const params = [...((item.parameters as Json[]) ?? []), ...((o.parameters as Json[]) ?? [])];
        const rawParams = new Set<string>();
        for (const prm of params) {
          const resolved = prm.$ref ? this.resolveParam(abs, String(prm.$ref)) : prm;
          if (resolved["x-ms-skip-url-encoding"] === true) rawParams.add(String(resolved.name));
        }
        const examples: Record<string, string> = {};
        for (const [title, ex] of Object.entries((o["x-ms-examples"] as Record<string, Json>) ?? {}))
          examples[title] = path.resolve(path.dirname(abs), String(ex.$ref));
        this.operations.set(String(o.operationId), {
          operationId: String(o.operationId),
          method: method.toUpperCase(),
          pathTemplate: p,
          file: abs,
          apiVersion,
          responses: o.responses as SpecOperation["responses"],
          examples,
          rawParams,
        });
      }
    }
  }

  private resolveParam(fromFile: string, ref: string): Json {
    const [file, pointer] = ref.split("#");
    const abs = file ? path.resolve(path.dirname(fromFile), file) : fromFile;
    let node: unknown = this.load(abs);
    for (const part of (pointer ?? "").split("/").filter(Boolean))
      node = (node as Json)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    return node as Json;
  }

  op(operationId: string): SpecOperation {
    const op = this.operations.get(operationId);
    if (!op) throw new Error(`operation ${operationId} not in the loaded specs`);
    return op;
  }

  /** The validator for an operation's response with this status (the `default` response for errors), or undefined when the spec gives no body schema. */
  validator(op: SpecOperation, status: number): ValidateFunction | undefined | "undeclared" {
    const declared = op.responses[String(status)];
    const resp = declared ?? (status >= 400 ? op.responses.default : undefined);
    if (!resp) return "undeclared";
    if (!resp.schema) return undefined;
    const key = `${op.operationId}|${declared ? status : "default"}`;
    let v = this.compiled.get(key);
    if (!v) {
      const base = pathToFileURL(op.file).href;
      const rebase = (node: unknown): unknown => {
        if (Array.isArray(node)) return node.map(rebase);
        if (node && typeof node === "object") {
          const out: Json = {};
          for (const [k, val] of Object.entries(node))
            out[k] = k === "$ref" && typeof val === "string" ? new URL(val, base).href : rebase(val);
          return out;
        }
        return node;
      };
      v = this.ajv.compile(rebase(stripExtensibleEnums(resp.schema)) as Json);
      this.compiled.set(key, v);
    }
    return v;
  }

  /**
   * Where an example actually is: at the spec's ref, or (INDEX.md "FALLBACK") the same
   * examples/<tail> saved under another api-version of the same resource provider.
   */
  exampleFile(refPath: string): string | undefined {
    if (existsSync(refPath)) return refPath;
    const marker = `${path.sep}examples${path.sep}`;
    const idx = refPath.lastIndexOf(marker);
    const tail = refPath.slice(idx + marker.length);
    // <rp>/<stable|preview>/<version>/examples/<tail>
    const rpDir = path.dirname(path.dirname(refPath.slice(0, idx)));
    for (const stage of ["stable", "preview"]) {
      const stageDir = path.join(rpDir, stage);
      if (!existsSync(stageDir) || !statSync(stageDir).isDirectory()) continue;
      for (const v of readdirSync(stageDir).sort().reverse()) {
        const candidate = path.join(stageDir, v, "examples", tail);
        if (existsSync(candidate)) return candidate;
      }
    }
    return undefined;
  }
}
