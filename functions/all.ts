/** Every function of the app. The Functions host (index.ts), the local runner and the tests read this list. */
import type { FunctionDefinition } from "./definition.js";
import { definitions as onResourceWrite } from "./onResourceWrite.js";
import { definitions as processPromotion } from "./processPromotion.js";
import { definitions as promotionStatus } from "./promotionStatus.js";
import { definitions as reconcileCostTags } from "./reconcileCostTags.js";

export const allDefinitions: readonly FunctionDefinition[] = [
  ...onResourceWrite,
  ...processPromotion,
  ...promotionStatus,
  ...reconcileCostTags,
];
