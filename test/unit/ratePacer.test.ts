/**
 * The write pacer against the emulator's own ARM token bucket on a virtual clock: it follows
 * the remaining-writes headers, learns the refill, and keeps a long run just under the ceiling.
 */
import { describe, expect, it } from "vitest";
import { ArmThrottle, defaultThrottleSettings } from "../../emulator/arm/throttling.js";
import { RatePacer } from "../../shared/azure/ratePacer.js";

function simulate(opts: { writes: number; perSecond: number; latencyMs: number; initialRate?: number }) {
  let t = 0;
  const settings = { ...defaultThrottleSettings(), writes: { burst: 200, perSecond: opts.perSecond } };
  const arm = new ArmThrottle(
    () => t,
    () => settings,
  );
  const pacer = new RatePacer({
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    initialRatePerSecond: opts.initialRate,
  });
  return async () => {
    let throttled = 0;
    for (let i = 0; i < opts.writes;) {
      await pacer.acquire();
      t += opts.latencyMs;
      const a = arm.admit(
        "PATCH",
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Resources/tags/default",
        "me",
      );
      pacer.release();
      if (a.ok) {
        pacer.observe(Number(a.headers["x-ms-ratelimit-remaining-subscription-writes"]));
        i++;
      } else {
        throttled++;
        pacer.observe(undefined, true);
        t += Number(a.response.headers!["retry-after"]) * 1000;
      }
    }
    return { throttled, seconds: t / 1000, pacer };
  };
}

describe("RatePacer", () => {
  it("sustains >= 90 % of Azure's write ceiling with < 1 % throttled over 10,000 writes", async () => {
    const { throttled, seconds, pacer } = await simulate({ writes: 10_000, perSecond: 10, latencyMs: 30 })();
    expect(throttled / 10_000).toBeLessThan(0.01);
    expect((10_000 - 200) / 10 / seconds).toBeGreaterThanOrEqual(0.9);
    expect(pacer.ratePerSecond()).toBeCloseTo(10, 0);
  });

  it("learns a refill faster than the one it assumed (a time-scaled emulator) instead of under-using it", async () => {
    const { throttled, seconds } = await simulate({ writes: 3_000, perSecond: 50, latencyMs: 5 })();
    expect(throttled / 3_000).toBeLessThan(0.01);
    expect((3_000 - 200) / 50 / seconds).toBeGreaterThanOrEqual(0.9);
  });

  it("does not wait without a header (throttling off, or not ARM)", async () => {
    let slept = 0;
    const pacer = new RatePacer({ sleep: async (ms) => void (slept += ms) });
    for (let i = 0; i < 1000; i++) {
      await pacer.acquire();
      pacer.release();
      pacer.observe(undefined);
    }
    expect(slept).toBe(0);
  });
});
