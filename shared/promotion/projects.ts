/**
 * The projects aml-steward built, and who owns each: one row per project in the promotions
 * table. It is how a request is told apart as a new project (needs a requester group and the
 * budget owner's approval) or a change to an existing one (only from its recorded owners), so
 * its truth must come from aml-steward's own writes, never from tags anyone can set.
 */
import type { TableClient } from "@azure/data-tables";
import { ensureTable } from "../ledger/tables.js";

const PARTITION = "project";

export interface ProjectEntry {
  project: string;
  costCenter: string;
  /** Object ids of the owners, as of the last approved or owner-made change. */
  ownerIds: string[];
  /** The request that built it first, and the latest that changed it. */
  createdBy: string;
  lastRequestId: string;
  updatedAt: string;
}

export class ProjectConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProjectConflict";
  }
}

export class ProjectRegistry {
  constructor(private readonly table: TableClient) {}

  async get(project: string): Promise<ProjectEntry | undefined> {
    await ensureTable(this.table);
    try {
      const e = await this.table.getEntity<Record<string, unknown>>(PARTITION, key(project));
      return fromEntity(e);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  /**
   * Records that `requestId` builds or changes the project, before anything is written to Azure
   * (so a crash half-way still leaves the project owned). A new project is inserted only if no
   * other request registered it meanwhile; a change applies only to the entry it was authorised
   * against (same creating request), and a retry of the same request is a no-op.
   */
  async register(entry: Omit<ProjectEntry, "updatedAt">, expected: ProjectEntry | undefined): Promise<void> {
    await ensureTable(this.table);
    const row = { partitionKey: PARTITION, rowKey: key(entry.project), ...toColumns(entry) };
    if (!expected) {
      try {
        await this.table.createEntity(row);
        return;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 409) throw err;
        const now = await this.get(entry.project);
        if (now?.createdBy === entry.createdBy) return; // our own retry
        throw new ProjectConflict(
          `project "${entry.project}" was registered by request ${now?.createdBy ?? "(unknown)"} while this one waited`,
        );
      }
    }
    const current = await this.table.getEntity<Record<string, unknown>>(PARTITION, key(entry.project));
    const now = fromEntity(current);
    if (now.createdBy !== expected.createdBy)
      throw new ProjectConflict(
        `project "${entry.project}" is no longer the one this request was authorised for`,
      );
    try {
      await this.table.updateEntity(row, "Replace", { etag: current.etag });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 412)
        throw new ProjectConflict(
          `project "${entry.project}" changed while this request was applied; send it again`,
        );
      throw err;
    }
  }
}

function key(project: string): string {
  return project.toLowerCase();
}

function toColumns(e: Omit<ProjectEntry, "updatedAt">): Record<string, unknown> {
  return {
    project: e.project,
    costCenter: e.costCenter,
    ownerIds: JSON.stringify(e.ownerIds),
    createdBy: e.createdBy,
    lastRequestId: e.lastRequestId,
    updatedAt: new Date().toISOString(),
  };
}

function fromEntity(e: Record<string, unknown>): ProjectEntry {
  let owners: unknown = [];
  try {
    owners = JSON.parse(String(e.ownerIds ?? "[]"));
  } catch {
    owners = [];
  }
  return {
    project: String(e.project),
    costCenter: String(e.costCenter),
    ownerIds: Array.isArray(owners) ? owners.filter((o): o is string => typeof o === "string") : [],
    createdBy: String(e.createdBy),
    lastRequestId: String(e.lastRequestId),
    updatedAt: String(e.updatedAt),
  };
}
