/**
 * The SDKs only promotion, reconciliation and setup use. clients.ts loads this module on first
 * need (loadHeavySdks), so the event path, which must start fast on a cold instance, never
 * pays for them; in the bundle it is a chunk of its own.
 */
export { AuthorizationManagementClient } from "@azure/arm-authorization";
export { AzureMachineLearningWorkspaces } from "@azure/arm-machinelearning";
export { BlobServiceClient } from "@azure/storage-blob";
export { QueueServiceClient } from "@azure/storage-queue";
