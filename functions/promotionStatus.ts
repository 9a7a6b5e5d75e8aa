/** HTTP GET /api/promotions/{id} (function key): the promotion record, for the CLI and for people. */
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { azure } from "../shared/azure/clients.js";
import { TABLES } from "../shared/config/settings.js";
import { loggerFor } from "../shared/log.js";
import { PromotionRecords } from "../shared/promotion/record.js";
import { isGuid } from "../shared/promotion/request.js";
import type { FunctionDefinition } from "./definition.js";

export async function promotionStatus(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const id = request.params.id ?? "";
  if (!isGuid(id)) return { status: 400, jsonBody: { error: "the promotion id must be a GUID" } };
  const record = await new PromotionRecords(azure().table(TABLES.promotions)).get(id.toLowerCase());
  if (!record) return { status: 404, jsonBody: { error: `no promotion request ${id.toLowerCase()}` } };
  loggerFor(context).debug("promotion status read", { requestId: record.requestId, status: record.status });
  return { status: 200, jsonBody: record };
}

export const definitions: FunctionDefinition[] = [
  {
    name: "promotionStatus",
    trigger: "http",
    options: { methods: ["GET"], authLevel: "function", route: "promotions/{id}", handler: promotionStatus },
  },
];
