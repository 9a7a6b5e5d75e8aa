/**
 * The local host's timer trigger: NCRONTAB (six fields, seconds first, UTC) next occurrences,
 * %SETTING% references, TimeSpan schedules, firing on schedule, and on-demand runs (in process
 * and through the admin endpoint).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Timer } from "@azure/functions";
import { nextOccurrences, parseSchedule } from "../../local/host/timer.js";
import { parseTimeSpan } from "../../local/host/config.js";
import { startHost, type LocalHost } from "../../local/host/index.js";

const at = (iso: string) => new Date(iso);

describe("NCRONTAB schedules", () => {
  it("computes the next occurrences of six-field expressions in UTC", () => {
    const nightly = parseSchedule("0 0 2 * * *", {});
    expect(nightly.next(at("2025-03-01T01:59:59Z")).toISOString()).toBe("2025-03-01T02:00:00.000Z");
    expect(nightly.next(at("2025-03-01T02:00:00Z")).toISOString()).toBe("2025-03-02T02:00:00.000Z");
    expect(
      nextOccurrences(parseSchedule("*/15 * * * * *", {}), at("2025-03-01T00:00:07Z"), 3).map((d) =>
        d.toISOString(),
      ),
    ).toEqual(["2025-03-01T00:00:15.000Z", "2025-03-01T00:00:30.000Z", "2025-03-01T00:00:45.000Z"]);
    // 9:30 every weekday (Monday 2025-03-03).
    expect(parseSchedule("0 30 9 * * 1-5", {}).next(at("2025-03-01T12:00:00Z")).toISOString()).toBe(
      "2025-03-03T09:30:00.000Z",
    );
    expect(parseSchedule("0 30 9 * Jan Mon", {}).next(at("2025-01-01T00:00:00Z")).toISOString()).toBe(
      "2025-01-06T09:30:00.000Z",
    );
  });

  it("refuses five-field (classic cron) and malformed expressions, as the host does", () => {
    expect(() => parseSchedule("0 2 * * *", {})).toThrow(/six/);
    expect(() => parseSchedule("61 0 0 * * *", {})).toThrow(/not a valid NCRONTAB/);
  });

  it("resolves %SETTING% references and accepts TimeSpan intervals", () => {
    expect(
      parseSchedule("%STEWARD_RECONCILE_SCHEDULE%", { STEWARD_RECONCILE_SCHEDULE: "0 0 3 * * *" }).expression,
    ).toBe("0 0 3 * * *");
    expect(() => parseSchedule("%MISSING%", {})).toThrow(/MISSING/);
    const every = parseSchedule("00:05:00", {});
    expect(every.next(at("2025-01-01T00:00:00Z")).toISOString()).toBe("2025-01-01T00:05:00.000Z");
    expect(parseTimeSpan("1.00:00:01.5")).toBe(86_401_500);
  });
});

describe("timer functions in the local host", () => {
  let host: LocalHost | undefined;
  afterEach(async () => {
    await host?.stop();
    host = undefined;
  });

  it("fires on schedule and on demand, handing the handler a Timer", async () => {
    const timers: Timer[] = [];
    host = await startHost({
      definitions: [
        {
          name: "tick",
          trigger: "timer",
          options: { schedule: "* * * * * *", handler: (t: Timer) => void timers.push(t) },
        },
      ],
      env: {},
      log: { format: "silent" },
    });
    await host.waitForInvocation((r) => r.functionName === "tick", { timeoutMs: 3000 });
    expect(timers[0]).toMatchObject({ isPastDue: false, schedule: { adjustForDST: true } });
    expect(Date.parse(timers[0]!.scheduleStatus.next)).toBeGreaterThan(Date.now() - 2000);
  });

  it("runs a manual-only timer on demand, in process and through the admin endpoint", async () => {
    let runs = 0;
    host = await startHost({
      definitions: [
        { name: "nightly", trigger: "timer", options: { schedule: "0 0 2 * * *", handler: () => ++runs } },
      ],
      env: {},
      timers: "manual",
      log: { format: "silent" },
    });
    const r = await host.runTimer("nightly");
    expect(r.ok).toBe(true);
    expect(r.value).toBe(1);
    const res = await fetch(`${host.url}/admin/functions/nightly`, {
      method: "POST",
      headers: { "x-functions-key": host.keys.master, "content-type": "application/json" },
      body: JSON.stringify({ input: "" }),
    });
    expect(res.status).toBe(202);
    await host.waitForInvocation((x) => x.value === 2, { timeoutMs: 3000, includePast: true });
    expect(runs).toBe(2);
    const denied = await fetch(`${host.url}/admin/functions/nightly`, { method: "POST", body: "{}" });
    expect(denied.status).toBe(401);
  });
});
