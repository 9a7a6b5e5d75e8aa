/**
 * The settings of ARM throttling (throttling.ts), part of the emulator's fault settings
 * (types.ts); a leaf module so that the emulator-wide types need not import the throttle.
 */

export interface BucketLimit {
  burst: number;
  perSecond: number;
}

export interface ThrottleSettings {
  /** Default true: Azure always throttles; tests that turn it off say why. */
  enabled: boolean;
  reads: BucketLimit;
  writes: BucketLimit;
  deletes: BucketLimit;
  /** Size of the subscription-wide bucket, as a multiple of one principal's. */
  subscriptionMultiplier: number;
  /** Azure seconds per real second (1 = real time). */
  timeScale: number;
}
