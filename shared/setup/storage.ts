/** Setup of the queues, tables and containers the app uses. */
import { isNotFound } from "../azure/errors.js";
import { storageNames } from "./contract.js";
import { type Ctx, add, describe, isForbidden } from "./context.js";

// ====================================================================== storage

export async function ensureStorage(ctx: Ctx): Promise<void> {
  const names = storageNames();
  const noData = (name: string, e: unknown) =>
    add(ctx, {
      area: "storage",
      name,
      status: "unverified",
      detail: `no data-plane access with your credentials (${describe(e)})`,
      fix: "infra/main.bicep creates it; check with an account that has Storage * Data Reader",
    });
  const one = async (name: string, exists: () => Promise<boolean>, create: () => Promise<unknown>) => {
    let present: boolean;
    try {
      present = await exists();
    } catch (e) {
      if (isForbidden(e)) return noData(name, e);
      throw e;
    }
    if (present) return add(ctx, { area: "storage", name, status: "ok" });
    if (ctx.opts.check)
      return add(ctx, { area: "storage", name, status: "missing", fix: "azd provision, or steward setup" });
    await create();
    ctx.changes++;
    add(ctx, { area: "storage", name, status: "created" });
  };
  for (const q of names.queues) {
    const client = ctx.clients.queue(q);
    await one(
      `queue ${q}`,
      () => client.exists(),
      () => client.createIfNotExists(),
    );
  }
  for (const t of names.tables) {
    const client = ctx.clients.table(t);
    await one(
      `table ${t}`,
      async () => {
        try {
          await client
            .listEntities({ queryOptions: { select: ["PartitionKey"] } })
            .byPage({ maxPageSize: 1 })
            .next();
          return true;
        } catch (e) {
          if (isNotFound(e)) return false;
          throw e;
        }
      },
      () => client.createTable(),
    );
  }
  for (const c of names.containers) {
    const client = ctx.clients.blobs().getContainerClient(c);
    await one(
      `container ${c}`,
      () => client.exists(),
      () => client.createIfNotExists(),
    );
  }
}
