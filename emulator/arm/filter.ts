/**
 * The subset of ARM's OData $filter the list operations accept: `eq`/`ne` on a few fields,
 * `tagName eq 'n' [and tagValue eq 'v']`, `startswith(tagName, 'p')`, `substringof('s', name)`,
 * combined with and/or and parentheses. String literals escape `'` as `''`.
 */
import { readStringLiteral } from "../odataLiteral.js";
import { fail } from "./errors.js";
import { tagValue, type Tags } from "./tagRules.js";

export interface Filterable {
  field(name: string): string | undefined;
  tags?: Tags;
}

type Node =
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "cmp"; field: string; op: "eq" | "ne"; value: string }
  | { kind: "tag"; name: string; value?: string }
  | { kind: "tagPrefix"; prefix: string }
  | { kind: "substring"; field: string; value: string };

type Token = { t: "str"; v: string } | { t: "word"; v: string } | { t: "(" | ")" | "," };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) i++;
    else if (c === "(" || c === ")" || c === ",") {
      out.push({ t: c });
      i++;
    } else if (c === "'") {
      const literal = readStringLiteral(src, i) ?? bad(src);
      out.push({ t: "str", v: literal.value });
      i = literal.end;
    } else {
      const m = /^[A-Za-z_$][\w$/.]*/.exec(src.slice(i));
      if (!m) bad(src);
      out.push({ t: "word", v: m![0] });
      i += m![0].length;
    }
  }
  return out;
}

function bad(src: string): never {
  return fail(400, "InvalidFilterInQueryString", `Invalid $filter '${src}'.`);
}

export function parseFilter(src: string | null): Node | undefined {
  if (src === null || src.trim() === "") return undefined;
  const toks = tokenize(src);
  let p = 0;
  const peekWord = (w: string): boolean =>
    toks[p]?.t === "word" && (toks[p] as { v: string }).v.toLowerCase() === w;
  const expect = (t: Token["t"]): Token => {
    const tok = toks[p++];
    if (!tok || tok.t !== t) bad(src);
    return tok!;
  };
  const str = (): string => (expect("str") as { v: string }).v;
  const word = (): string => (expect("word") as { v: string }).v;

  const factor = (): Node => {
    if (toks[p]?.t === "(") {
      p++;
      const e = expr();
      expect(")");
      return e;
    }
    const w = word();
    const lw = w.toLowerCase();
    if (lw === "substringof") {
      expect("(");
      const value = str();
      expect(",");
      const field = word();
      expect(")");
      return { kind: "substring", field, value };
    }
    if (lw === "startswith") {
      expect("(");
      const field = word();
      expect(",");
      const prefix = str();
      expect(")");
      if (field.toLowerCase() !== "tagname") bad(src);
      return { kind: "tagPrefix", prefix };
    }
    const op = word().toLowerCase();
    if (op !== "eq" && op !== "ne") bad(src);
    const value = str();
    if (lw === "tagname") {
      if (op !== "eq") bad(src);
      return { kind: "tag", name: value };
    }
    return { kind: "cmp", field: w, op, value };
  };

  const term = (): Node => {
    let left = factor();
    while (peekWord("and")) {
      p++;
      const right = factor();
      // `tagName eq 'n' and tagValue eq 'v'` names one tag, so fold the pair into one test.
      if (right.kind === "cmp" && right.field.toLowerCase() === "tagvalue") {
        const last = rightmostTag(left);
        if (!last) bad(src);
        last!.value = right.value;
        continue;
      }
      left = { kind: "and", left, right };
    }
    return left;
  };

  const expr = (): Node => {
    let left = term();
    while (peekWord("or")) {
      p++;
      left = { kind: "or", left, right: term() };
    }
    return left;
  };

  const node = expr();
  if (p !== toks.length) bad(src);
  return node;
}

function rightmostTag(n: Node): { kind: "tag"; name: string; value?: string } | undefined {
  if (n.kind === "tag") return n;
  if (n.kind === "and") return rightmostTag(n.right);
  return undefined;
}

/** True when the filter names a tag value (Azure then leaves tags out of each listed resource). */
export function filtersByTagValue(n: Node | undefined): boolean {
  if (!n) return false;
  if (n.kind === "tag") return n.value !== undefined;
  if (n.kind === "and" || n.kind === "or") return filtersByTagValue(n.left) || filtersByTagValue(n.right);
  return false;
}

export function matches(n: Node | undefined, item: Filterable): boolean {
  if (!n) return true;
  switch (n.kind) {
    case "and":
      return matches(n.left, item) && matches(n.right, item);
    case "or":
      return matches(n.left, item) || matches(n.right, item);
    case "tag": {
      const v = tagValue(item.tags, n.name);
      return v !== undefined && (n.value === undefined || v === n.value);
    }
    case "tagPrefix":
      return Object.keys(item.tags ?? {}).some((k) => k.toLowerCase().startsWith(n.prefix.toLowerCase()));
    case "substring":
      return (item.field(n.field) ?? "").toLowerCase().includes(n.value.toLowerCase());
    case "cmp": {
      const v = item.field(n.field);
      const eq = v !== undefined && v.toLowerCase() === n.value.toLowerCase();
      return n.op === "eq" ? eq : !eq;
    }
  }
}
