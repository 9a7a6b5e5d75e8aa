/**
 * Puts a promotion envelope on a queue the way the Functions host reads it (base64 text, as
 * host.json's messageEncoding says). The CLI and the HTTP front both submit through here.
 */
import type { QueueClient } from "@azure/storage-queue";

export async function enqueuePromotionMessage(queue: QueueClient, message: unknown): Promise<void> {
  await queue.createIfNotExists();
  await queue.sendMessage(Buffer.from(JSON.stringify(message), "utf8").toString("base64"));
}
