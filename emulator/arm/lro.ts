/**
 * Long-running operations. An operation finishes by the clock (FaultSettings.lroDurationMs,
 * or its resource type's entry in lroDurationMsByType, after it started): a timer completes it, and a poll that arrives after the deadline completes
 * it first if the timer has not fired yet, so a client never sees "done" before the state is.
 */
import { randomUUID } from "node:crypto";
import type { EmuResponse, FaultSettings } from "../types.js";
import { lroDurationFor } from "../faults.js";
import { armError } from "./errors.js";
import { splitPath } from "./ids.js";

type PollKind = "async" | "location";

interface Operation {
  id: string;
  kind: PollKind;
  startedAt: number;
  doneAt: number;
  completed: boolean;
  generation: number;
  complete(): void;
  /** Final body of a Location-style poll (the resource for a PUT; nothing for a DELETE). */
  result?: () => unknown;
  pollPath: string;
  apiVersion: string;
}

export interface StartOptions {
  kind: PollKind;
  subscriptionId: string;
  /** Provider namespace whose operation URL shape is used; undefined = subscription operationresults. */
  provider?: "Microsoft.MachineLearningServices" | "Microsoft.Storage";
  location?: string;
  apiVersion: string;
  baseUrl: string;
  /** How long the operation runs (ms); default durationFor(resourceType). */
  durationMs?: number;
  /** ARM type of the resource operated on, for FaultSettings.lroDurationMsByType. */
  resourceType?: string;
  /** Runs once when the operation finishes (removes the resource for a delete, publishes events...). */
  onComplete(): void;
  result?: () => unknown;
}

const POLL_SEGMENTS = new Set(["workspaceoperationsstatus", "asyncoperations", "operationresults"]);

export class LroManager {
  private readonly ops = new Map<string, Operation>();

  constructor(
    private readonly now: () => number,
    private readonly faults: () => FaultSettings,
    private readonly generation: () => number,
  ) {}

  /** The default duration (FaultSettings.lroDurationMs). */
  get durationMs(): number {
    return this.faults().lroDurationMs;
  }

  /** The duration of an operation on a resource of this type (lroDurationMsByType, else lroDurationMs). */
  durationFor(resourceType?: string): number {
    return lroDurationFor(this.faults(), resourceType);
  }

  /** Starts an operation; returns the headers of the initial 202 response. */
  start(opts: StartOptions): { headers: Record<string, string>; doneAt: number } {
    const id = randomUUID();
    const startedAt = this.now();
    const loc = opts.location ?? "eastus";
    const pollPath =
      opts.provider === "Microsoft.MachineLearningServices"
        ? `/subscriptions/${opts.subscriptionId}/providers/Microsoft.MachineLearningServices/locations/${loc}/workspaceOperationsStatus/${id}`
        : opts.provider === "Microsoft.Storage"
          ? `/subscriptions/${opts.subscriptionId}/providers/Microsoft.Storage/locations/${loc}/asyncoperations/${id}`
          : `/subscriptions/${opts.subscriptionId}/operationresults/${id}`;
    const generation = this.generation();
    const durationMs = opts.durationMs ?? this.durationFor(opts.resourceType);
    const op: Operation = {
      id,
      kind: opts.kind,
      startedAt,
      doneAt: startedAt + durationMs,
      completed: false,
      generation,
      pollPath,
      apiVersion: opts.apiVersion,
      result: opts.result,
      complete: () => {
        if (op.completed || this.generation() !== generation) return;
        op.completed = true;
        opts.onComplete();
      },
    };
    this.ops.set(id.toLowerCase(), op);
    if (durationMs <= 0) op.complete();
    else setTimeout(() => op.complete(), durationMs).unref();
    const url = `${opts.baseUrl}${pollPath}?${opts.kind === "async" ? "type=async&" : opts.provider === "Microsoft.Storage" ? "monitor=true&" : ""}api-version=${opts.apiVersion}`;
    const headers: Record<string, string> = { ...this.retryAfter() };
    if (opts.kind === "async") headers["azure-asyncoperation"] = url;
    else headers["location"] = url;
    return { headers, doneAt: op.doneAt };
  }

  clear(): void {
    this.ops.clear();
  }

  /** Answers polls of operation URLs; undefined for any other path. */
  poll(path: string, baseUrl: string): EmuResponse | undefined {
    const seg = splitPath(path);
    if (seg.length < 4 || !POLL_SEGMENTS.has(seg[seg.length - 2]!.toLowerCase())) return undefined;
    const op = this.ops.get(seg[seg.length - 1]!.toLowerCase());
    if (!op)
      return armError(404, "OperationNotFound", `The operation '${seg[seg.length - 1]}' could not be found.`);
    const done = this.now() >= op.doneAt;
    if (done) op.complete();
    if (op.kind === "async") {
      const body: Record<string, unknown> = {
        id: op.pollPath,
        name: op.id,
        status: done ? "Succeeded" : "InProgress",
        startTime: new Date(op.startedAt).toISOString(),
      };
      if (done) body.endTime = new Date(op.doneAt).toISOString();
      return { status: 200, headers: done ? {} : this.retryAfter(), body };
    }
    if (!done) {
      return {
        status: 202,
        headers: { ...this.retryAfter(), location: `${baseUrl}${op.pollPath}?api-version=${op.apiVersion}` },
      };
    }
    const result = op.result?.();
    return result === undefined ? { status: 200 } : { status: 200, body: result };
  }

  private retryAfter(): Record<string, string> {
    const s = this.faults().lroRetryAfterSeconds ?? 1;
    return s > 0 ? { "retry-after": String(s) } : {};
  }
}

/** Runs `fn` after `ms` unless the state was reset meanwhile (provisioning-state style completions). */
export function defer(ms: number, generation: () => number, fn: () => void): void {
  const gen = generation();
  const run = (): void => {
    if (generation() === gen) fn();
  };
  if (ms <= 0) run();
  else setTimeout(run, ms).unref();
}
