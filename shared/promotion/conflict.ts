/** A permanent problem of a promotion: retrying the message cannot fix it. */
export class PromotionConflict extends Error {
  override name = "PromotionConflict";
}
