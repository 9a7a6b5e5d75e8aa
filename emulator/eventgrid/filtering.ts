/**
 * Which events an event subscription receives: the topic scope, included event types, subject
 * prefix and suffix, and the advanced filters, evaluated on the event in the subscription's
 * delivery schema, as Event Grid does.
 */
import { toCloudEvent } from "./resourceEvents.js";
import {
  isObj,
  type AdvancedFilter,
  type EventGridEvent,
  type EventSubscription,
  type Obj,
} from "./types.js";

/** Case-insensitive lookup of an advanced-filter key ("data.operationName", "Subject", "type"...). */
function lookupKey(event: Obj, key: string): unknown {
  let cur: unknown = event;
  for (const part of key.split(".")) {
    if (!isObj(cur)) return undefined;
    const hit = Object.keys(cur).find((k) => k.toLowerCase() === part.toLowerCase());
    if (hit === undefined) return undefined;
    cur = cur[hit];
  }
  return cur;
}

function advancedMatch(f: AdvancedFilter, rendered: Obj, arrays: boolean): boolean {
  const raw = lookupKey(rendered, f.key);
  const negated = /Not(In|BeginsWith|EndsWith|Contains|InRange)$/.test(f.operatorType);
  if (f.operatorType === "IsNullOrUndefined") return raw === undefined || raw === null;
  if (f.operatorType === "IsNotNull") return raw !== undefined && raw !== null;
  if (raw === undefined || raw === null) return negated;
  const candidates: unknown[] = Array.isArray(raw) ? (arrays ? raw : []) : [raw];
  if (candidates.length === 0) return negated;
  const one = (v: unknown): boolean => {
    const values = f.values ?? [];
    switch (f.operatorType) {
      case "BoolEquals":
        return v === f.value;
      case "NumberLessThan":
        return typeof v === "number" && v < (f.value as number);
      case "NumberGreaterThan":
        return typeof v === "number" && v > (f.value as number);
      case "NumberLessThanOrEquals":
        return typeof v === "number" && v <= (f.value as number);
      case "NumberGreaterThanOrEquals":
        return typeof v === "number" && v >= (f.value as number);
      case "NumberIn":
      case "NumberNotIn":
        return typeof v === "number" && values.includes(v);
      case "NumberInRange":
      case "NumberNotInRange":
        return typeof v === "number" && (values as number[][]).some(([lo, hi]) => v >= lo! && v <= hi!);
      default: {
        const s = String(v).toLowerCase();
        const vs = (values as string[]).map((x) => x.toLowerCase());
        if (f.operatorType === "StringIn" || f.operatorType === "StringNotIn") return vs.includes(s);
        if (f.operatorType === "StringBeginsWith" || f.operatorType === "StringNotBeginsWith")
          return vs.some((x) => s.startsWith(x));
        if (f.operatorType === "StringEndsWith" || f.operatorType === "StringNotEndsWith")
          return vs.some((x) => s.endsWith(x));
        return vs.some((x) => s.includes(x));
      }
    }
  };
  return negated ? !candidates.some(one) : candidates.some(one);
}

export function matches(s: EventSubscription, e: EventGridEvent): boolean {
  if (s.topic) {
    const scope = s.topic.toLowerCase();
    const subject = e.subject.toLowerCase();
    if (!(e.topic.toLowerCase() === scope || subject === scope || subject.startsWith(`${scope}/`)))
      return false;
  }
  const f = s.filter;
  if (
    f.includedEventTypes &&
    !f.includedEventTypes.some((t) => t.toLowerCase() === e.eventType.toLowerCase())
  )
    return false;
  const cs = f.isSubjectCaseSensitive;
  const subj = cs ? e.subject : e.subject.toLowerCase();
  if (f.subjectBeginsWith && !subj.startsWith(cs ? f.subjectBeginsWith : f.subjectBeginsWith.toLowerCase()))
    return false;
  if (f.subjectEndsWith && !subj.endsWith(cs ? f.subjectEndsWith : f.subjectEndsWith.toLowerCase()))
    return false;
  const rendered = (s.eventDeliverySchema === "CloudEventSchemaV1_0" ? toCloudEvent(e) : e) as unknown as Obj;
  return f.advancedFilters.every((af) => advancedMatch(af, rendered, f.enableAdvancedFilteringOnArrays));
}
