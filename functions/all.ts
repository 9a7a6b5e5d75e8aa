/** Every function of the app. The Functions host (index.ts), the local runner and the tests read this list. */
import type { FunctionDefinition } from "./definition.js";
import { definitions as onResourceWrite } from "./onResourceWrite.js";
import { definitions as processPromotion } from "./processPromotion.js";
import { definitions as promotionApi } from "./promotionApi.js";
import { definitions as reconcileAccess } from "./reconcileAccess.js";
import { definitions as reconcileApi } from "./reconcileApi.js";
import { definitions as reconcileCostTags } from "./reconcileCostTags.js";

export const allDefinitions: readonly FunctionDefinition[] = [
  ...onResourceWrite,
  ...processPromotion,
  ...promotionApi,
  ...reconcileCostTags,
  ...reconcileApi,
  ...reconcileAccess,
];
