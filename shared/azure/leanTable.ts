/**
 * Inserts Table Storage entities for the event path (its one audit row per tagged resource)
 * without @azure/data-tables' pipeline: the same request as `TableClient.createEntity`
 * (POST {endpoint}/{table}, x-ms-version 2019-02-02, DataServiceVersion 3.0, `Prefer:
 * return-no-content`, JSON with nometadata) and the same authentication as clients.ts gives
 * the SDK: SharedKeyLite from an account-key connection string (Azurite, or a key-based
 * deployment), or a bearer token for Storage's audience from the app's identity (an account
 * name only). Other connection strings (SAS, UseDevelopmentStorage) are left to the SDK:
 * `tableTarget` answers undefined for them. Retries as the SDK's storage pipeline (3).
 */
import { createHmac } from "node:crypto";
import type { AccessTokens } from "./accessTokens.js";
import { restCall, type AzureRestError } from "./restCall.js";
import type { RetryOptions } from "./retryRules.js";

export const STORAGE_SCOPE = "https://storage.azure.com/.default";
/** core-rest-pipeline's default retry options, which the data-tables clients use. */
export const TABLE_RETRY: RetryOptions = { maxRetries: 3, retryDelayInMs: 1000, maxRetryDelayInMs: 64_000 };

export type TableAuth = { kind: "sharedKey"; account: string; key: Buffer } | { kind: "bearer" };

export interface TableTarget {
  /** The table service's base URL, without a trailing slash (Azurite's includes the account). */
  endpoint: string;
  auth: TableAuth;
}

function part(conn: string, name: string): string | undefined {
  for (const element of conn.split(";")) {
    const at = element.indexOf("=");
    if (at > 0 && element.slice(0, at).trim().toLowerCase() === name.toLowerCase())
      return element.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * Where and how to write tables, from the same settings clients.ts reads: `AzureWebJobsStorage`
 * (a connection string) or `AzureWebJobsStorage__accountName` (the managed identity).
 */
export function tableTarget(settings: {
  AzureWebJobsStorage?: string;
  AzureWebJobsStorage__accountName?: string;
}): TableTarget | undefined {
  const conn = settings.AzureWebJobsStorage;
  if (conn && conn.includes("=")) {
    const account = part(conn, "AccountName");
    const key = part(conn, "AccountKey");
    const protocol = part(conn, "DefaultEndpointsProtocol");
    if (!account || !key || !protocol || /usedevelopmentstorage=true/i.test(conn)) return undefined;
    const endpoint =
      part(conn, "TableEndpoint") ??
      `${protocol}://${account}.table.${part(conn, "EndpointSuffix") ?? "core.windows.net"}`;
    return {
      endpoint: endpoint.replace(/\/+$/, ""),
      auth: { kind: "sharedKey", account, key: Buffer.from(key, "base64") },
    };
  }
  const account = settings.AzureWebJobsStorage__accountName;
  return account
    ? { endpoint: `https://${account}.table.core.windows.net`, auth: { kind: "bearer" } }
    : undefined;
}

/**
 * SharedKeyLite for the Table service, as data-tables signs it: HMAC-SHA256 of
 * `{x-ms-date}\n/{account}{path}` (path-style endpoints such as Azurite's repeat the account).
 */
export function sharedKeyLite(
  auth: Extract<TableAuth, { kind: "sharedKey" }>,
  date: string,
  url: URL,
): string {
  const signature = createHmac("sha256", auth.key)
    .update(`${date}\n/${auth.account}${url.pathname}`, "utf8")
    .digest("base64");
  return `SharedKeyLite ${auth.account}:${signature}`;
}

export class LeanTableClient {
  private readonly created = new Map<string, Promise<void>>();

  constructor(
    private readonly target: TableTarget,
    private readonly tokens: AccessTokens,
  ) {}

  /** Inserts one entity (`partitionKey`, `rowKey` and string properties; undefined ones are left out). */
  async createEntity(
    table: string,
    entity: { partitionKey: string; rowKey: string } & Record<string, unknown>,
  ): Promise<void> {
    await this.ensureTable(table);
    const { partitionKey, rowKey, ...rest } = entity;
    await this.post(`/${table}`, { PartitionKey: partitionKey, RowKey: rowKey, ...rest });
  }

  /** Creates the table once per process (409: it exists), as ledger/tables.ensureTable does for the SDK. */
  ensureTable(table: string): Promise<void> {
    let p = this.created.get(table);
    if (!p) {
      p = this.post("/Tables", { TableName: table }).catch((e: unknown) => {
        if ((e as AzureRestError).statusCode === 409) return;
        this.created.delete(table);
        throw e;
      });
      this.created.set(table, p);
    }
    return p;
  }

  private async post(path: string, body: unknown): Promise<void> {
    const url = new URL(this.target.endpoint + path);
    const { auth } = this.target;
    await restCall({
      service: "table",
      method: "POST",
      url,
      headers: {
        accept: "application/json;odata=minimalmetadata",
        "content-type": "application/json;odata=nometadata",
        "x-ms-version": "2019-02-02",
        dataserviceversion: "3.0",
        prefer: "return-no-content",
      },
      body: JSON.stringify(body),
      authorize: async (headers) => {
        if (auth.kind === "bearer") return this.tokens.authorization(STORAGE_SCOPE);
        // A new date per attempt: the service refuses a signature more than 15 minutes old.
        headers["x-ms-date"] = new Date().toUTCString();
        return sharedKeyLite(auth, headers["x-ms-date"], url);
      },
      retry: TABLE_RETRY,
    });
  }
}
