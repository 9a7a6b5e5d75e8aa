/**
 * The drift list of a run, spooled to a block blob as JSON lines. The guard can only decide
 * after the whole subscription is scanned, and a 100,000-resource subscription must not be
 * held in memory: so each scanned page stages one block (its drift entries), the list is
 * committed when the scan ends, and the write phase streams it back line by line. The same
 * blob is the record of a blocked run's would-be changes and the output of a dry run.
 */
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { DriftEntry } from "./types.js";

const ensured = new WeakMap<ContainerClient, Promise<unknown>>();

export function ensureContainer(container: ContainerClient): Promise<unknown> {
  let p = ensured.get(container);
  if (!p) {
    p = container.createIfNotExists().catch((e) => {
      ensured.delete(container);
      throw e;
    });
    ensured.set(container, p);
  }
  return p;
}

export class DriftSpool {
  private readonly blob: BlockBlobClient;
  private readonly blockIds: string[] = [];
  private count = 0;

  constructor(
    private readonly container: ContainerClient,
    readonly blobName: string,
  ) {
    this.blob = container.getBlockBlobClient(blobName);
  }

  get entries(): number {
    return this.count;
  }

  /** Stages one block holding `entries` (a page's drift); nothing is visible until commit. */
  async append(entries: readonly DriftEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await ensureContainer(this.container);
    const body = Buffer.from(entries.map((e) => JSON.stringify(e)).join("\n") + "\n", "utf8");
    // Block ids must all have the same length; 50,000 blocks is Azure's limit per blob.
    const id = Buffer.from(`block-${String(this.blockIds.length).padStart(6, "0")}`).toString("base64");
    await this.blob.stageBlock(id, body, body.length);
    this.blockIds.push(id);
    this.count += entries.length;
  }

  async commit(): Promise<void> {
    await ensureContainer(this.container);
    await this.blob.commitBlockList(this.blockIds, {
      blobHTTPHeaders: { blobContentType: "application/x-ndjson" },
    });
  }
}

/** Streams the drift entries of a committed spool blob, one at a time. */
export async function* readDrift(container: ContainerClient, blobName: string): AsyncGenerator<DriftEntry> {
  const blob = container.getBlockBlobClient(blobName);
  let body: Readable | undefined;
  try {
    body = (await blob.download()).readableStreamBody as Readable | undefined;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return;
    throw e;
  }
  if (!body) return;
  const lines = createInterface({ input: body, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim()) yield JSON.parse(line) as DriftEntry;
    }
  } finally {
    lines.close();
    body.destroy();
  }
}
