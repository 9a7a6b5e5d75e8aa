/**
 * Resolves a binding's `connection` the way the host does: the named app setting holds a
 * connection string, or `<name>__queueServiceUri` / `<name>__accountName` select an
 * identity-based connection (DefaultAzureCredential, as on a developer's laptop signed in with
 * `az login`).
 */
import { DefaultAzureCredential } from "@azure/identity";
import { QueueServiceClient } from "@azure/storage-queue";

export function queueServiceFor(connection: string, env: NodeJS.ProcessEnv): QueueServiceClient {
  const name = connection || "AzureWebJobsStorage";
  const conn = env[name];
  if (conn && conn.includes("=")) return QueueServiceClient.fromConnectionString(conn);
  const uri =
    env[`${name}__queueServiceUri`] ??
    (env[`${name}__accountName`]
      ? `https://${env[`${name}__accountName`]}.queue.core.windows.net`
      : undefined);
  if (uri) {
    return new QueueServiceClient(
      uri,
      new DefaultAzureCredential({ managedIdentityClientId: env[`${name}__clientId`] }),
    );
  }
  throw new Error(
    `the storage connection "${name}" is not configured: set ${name} (a connection string) or ${name}__accountName`,
  );
}
