/**
 * Resource-group tags for one subscription: listed once at the start of a run (one call per
 * page; a subscription holds at most 980 resource groups), then looked up in memory for every
 * resource. A group created after the listing is read on first sight and remembered.
 */
import type { ResourceManagementClient } from "@azure/arm-resources";
import { isNotFound } from "../azure/errors.js";
import { resumablePages, type PagingOptions } from "./pages.js";

export interface GroupInfo {
  name: string;
  tags: Record<string, string>;
  location?: string;
}

export class GroupTags {
  private constructor(
    private readonly client: ResourceManagementClient,
    private readonly byName: Map<string, GroupInfo | null>,
    readonly pages: number,
  ) {}

  static async load(client: ResourceManagementClient, paging: PagingOptions = {}): Promise<GroupTags> {
    const byName = new Map<string, GroupInfo | null>();
    let pages = 0;
    for await (const page of resumablePages(
      (t) => client.resourceGroups.list().byPage({ continuationToken: t }),
      paging,
    )) {
      pages++;
      for (const g of page) {
        if (g.name)
          byName.set(g.name.toLowerCase(), { name: g.name, tags: g.tags ?? {}, location: g.location });
      }
    }
    return new GroupTags(client, byName, pages);
  }

  get size(): number {
    return this.byName.size;
  }

  /** The group's tags; undefined when the group does not exist (any more). */
  async get(name: string): Promise<GroupInfo | undefined> {
    const key = name.toLowerCase();
    const known = this.byName.get(key);
    if (known !== undefined) return known ?? undefined;
    try {
      const g = await this.client.resourceGroups.get(name);
      const info = { name: g.name ?? name, tags: g.tags ?? {}, location: g.location };
      this.byName.set(key, info);
      return info;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.byName.set(key, null);
      return undefined;
    }
  }

  *entries(): IterableIterator<GroupInfo> {
    for (const g of this.byName.values()) if (g) yield g;
  }
}
