/**
 * The timer trigger: NCRONTAB schedules as Azure Functions reads them (six fields, seconds
 * first: `{second} {minute} {hour} {day} {month} {day-of-week}`, in UTC unless WEBSITE_TIME_ZONE
 * says otherwise), a TimeSpan schedule ("hh:mm:ss", an interval), `%SETTING%` references
 * resolved from the app settings, runOnStartup, no overlapping runs of one timer (the host runs
 * each timer as a singleton), and an on-demand run (what the host's admin endpoint does).
 */
import { CronExpressionParser } from "cron-parser";
import type { Timer } from "@azure/functions";
import { parseTimeSpan } from "./config.js";

export interface Schedule {
  /** The expression after setting references were resolved. */
  expression: string;
  kind: "cron" | "interval";
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
}

/** `%NAME%` is an app-setting reference in a binding expression; resolve it from `env`. */
export function resolveSettingRefs(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/%([A-Za-z0-9_.:-]+)%/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined || v === "")
      throw new Error(`the app setting ${name} (referenced as %${name}%) is not set`);
    return v;
  });
}

export function parseSchedule(schedule: string, env: NodeJS.ProcessEnv = process.env): Schedule {
  const expression = resolveSettingRefs(schedule, env).trim();
  if (/^(\d+\.)?\d{1,2}:\d{1,2}:\d{1,2}$/.test(expression)) {
    const every = parseTimeSpan(expression);
    if (every <= 0) throw new Error(`timer schedule "${expression}" must be a positive interval`);
    return { expression, kind: "interval", next: (after) => new Date(after.getTime() + every) };
  }
  const fields = expression.split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `timer schedule "${expression}" has ${fields.length} fields; NCRONTAB needs six: {second} {minute} {hour} {day} {month} {day-of-week}`,
    );
  }
  const tz = env.WEBSITE_TIME_ZONE || "UTC";
  // Parse once now so that a bad expression fails at start-up, as in the host.
  try {
    CronExpressionParser.parse(expression, { tz });
  } catch (e) {
    throw new Error(
      `timer schedule "${expression}" is not a valid NCRONTAB expression: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return {
    expression,
    kind: "cron",
    next: (after) => CronExpressionParser.parse(expression, { currentDate: after, tz }).next().toDate(),
  };
}

/** The next `count` occurrences after `from`. */
export function nextOccurrences(schedule: Schedule, from: Date, count: number): Date[] {
  const out: Date[] = [];
  let at = from;
  for (let i = 0; i < count; i++) {
    at = schedule.next(at);
    out.push(at);
  }
  return out;
}

export function timerInfo(opts: { isPastDue: boolean; last?: Date; next: Date }): Timer {
  const iso = (d: Date) => d.toISOString();
  return {
    isPastDue: opts.isPastDue,
    schedule: { adjustForDST: true },
    scheduleStatus: {
      last: iso(opts.last ?? new Date(0)),
      next: iso(opts.next),
      lastUpdated: iso(new Date()),
    },
  };
}

/** setTimeout takes at most 2^31-1 ms (~24.8 days); longer waits are chained. */
const MAX_TIMEOUT = 2 ** 31 - 1;

export class TimerSchedule {
  private handle?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private last?: Date;
  private nextAt?: Date;
  private stopped = false;

  constructor(
    readonly functionName: string,
    readonly schedule: Schedule,
    private readonly fire: (timer: Timer) => Promise<unknown>,
    private readonly onSkip: (reason: string) => void,
  ) {}

  get next(): Date | undefined {
    return this.nextAt;
  }

  start(runOnStartup: boolean): void {
    this.stopped = false;
    if (runOnStartup) void this.runNow();
    this.arm(new Date());
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    if (this.handle) clearTimeout(this.handle);
    return this.running ?? Promise.resolve();
  }

  /** Runs the function now (on demand); resolves with what the run resolved with. */
  runNow(isPastDue = false): Promise<unknown> {
    if (this.running) {
      this.onSkip("a run of this timer is still in progress");
      return this.running;
    }
    const next = this.nextAt ?? this.schedule.next(new Date());
    const info = timerInfo({ isPastDue, next, ...(this.last ? { last: this.last } : {}) });
    this.last = new Date();
    const run = this.fire(info).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private arm(from: Date): void {
    if (this.stopped) return;
    const at = this.schedule.next(from);
    this.nextAt = at;
    const wait = () => {
      const remaining = at.getTime() - Date.now();
      if (remaining > MAX_TIMEOUT) {
        this.handle = setTimeout(wait, MAX_TIMEOUT);
      } else {
        this.handle = setTimeout(
          () => {
            if (this.stopped) return;
            // A late wake-up (sleeping laptop) is "past due", as the host reports it.
            void this.runNow(Date.now() - at.getTime() > 1000);
            this.arm(at);
          },
          Math.max(0, remaining),
        );
      }
      this.handle.unref();
    };
    wait();
  }
}
