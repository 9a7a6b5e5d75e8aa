/**
 * Each function module exports one or more FunctionDefinitions: its name, trigger kind and
 * binding options (which hold the exported handler). index.ts registers them with the
 * Functions host; the local runner and the tests read the same list, so what runs locally is
 * exactly what Azure runs.
 */
import type {
  EventGridFunctionOptions,
  HttpFunctionOptions,
  StorageQueueFunctionOptions,
  TimerFunctionOptions,
} from "@azure/functions";

export type FunctionDefinition =
  | { name: string; trigger: "eventGrid"; options: EventGridFunctionOptions }
  | { name: string; trigger: "storageQueue"; options: StorageQueueFunctionOptions }
  | { name: string; trigger: "http"; options: HttpFunctionOptions }
  | { name: string; trigger: "timer"; options: TimerFunctionOptions };
