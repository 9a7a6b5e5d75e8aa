/**
 * OData $filter as Graph reads it: a parser (eq, ne, comparisons, startswith, in, not, and/or,
 * lambda `any` over collections), the check of properties and operators against what Graph
 * supports per entity (some only as advanced queries), and evaluation over rendered entities.
 */
import { readStringLiteral } from "../odataLiteral.js";
import { knownProps, META, type EntityType, type Json } from "./entities.js";
import { GraphFail } from "./responses.js";

type Literal = string | number | boolean | null;
export type FilterNode =
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "not"; expr: FilterNode }
  | { kind: "cmp"; op: "eq" | "ne" | "gt" | "ge" | "lt" | "le"; prop: string; value: Literal }
  | { kind: "fn"; fn: "startswith" | "endswith" | "contains"; prop: string; value: string }
  | { kind: "in"; prop: string; values: Literal[] }
  /** A lambda over a collection property: `servicePrincipalNames/any(c:c eq 'x')`. */
  | { kind: "any"; prop: string; test: "eq" | "startswith"; value: string };

type Token =
  | { t: "(" | ")" | "," | ":"; pos: number }
  | { t: "str"; v: string; pos: number }
  | { t: "num"; v: number; pos: number }
  | { t: "id"; v: string; pos: number };

export class FilterSyntaxError extends Error {}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === "," || c === ":") {
      out.push({ t: c, pos: i });
      i++;
      continue;
    }
    if (c === "'") {
      const literal = readStringLiteral(src, i);
      if (!literal)
        throw new FilterSyntaxError(`There is an unterminated string literal at position ${i} in '${src}'.`);
      out.push({ t: "str", v: literal.value, pos: i });
      i = literal.end;
      continue;
    }
    if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(src.slice(i));
      if (m) {
        out.push({ t: "num", v: Number(m[0]), pos: i });
        i += m[0].length;
        continue;
      }
    }
    if (/[A-Za-z_$@]/.test(c)) {
      const m = /^[A-Za-z_$@][A-Za-z0-9_./@$]*/.exec(src.slice(i))!;
      out.push({ t: "id", v: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    throw new FilterSyntaxError(`Syntax error: character '${c}' is not valid at position ${i} in '${src}'.`);
  }
  return out;
}

export function parseFilter(src: string): FilterNode {
  const toks = tokenize(src);
  let k = 0;
  const peek = (): Token | undefined => toks[k];
  const syntax = (tok?: Token): never => {
    throw new FilterSyntaxError(`Syntax error at position ${tok ? tok.pos : src.length} in '${src}'.`);
  };
  const isKw = (tok: Token | undefined, kw: string): boolean => tok?.t === "id" && tok.v.toLowerCase() === kw;
  const expect = (t: "(" | ")" | "," | ":"): void => {
    const tok = toks[k];
    if (tok?.t !== t) syntax(tok);
    k++;
  };
  const literal = (): Literal => {
    const tok = toks[k];
    if (!tok) return syntax();
    k++;
    if (tok.t === "str") return tok.v;
    if (tok.t === "num") return tok.v;
    if (tok.t === "id") {
      const v = tok.v.toLowerCase();
      if (v === "true") return true;
      if (v === "false") return false;
      if (v === "null") return null;
      // A property where a value belongs: Graph only compares properties to constants.
      throw new GraphFail(
        400,
        "Request_UnsupportedQuery",
        `Unsupported Query. Comparing property '${tok.v}' with another property is not supported.`,
      );
    }
    return syntax(tok);
  };
  const property = (): string => {
    const tok = toks[k];
    if (tok?.t === "str" || tok?.t === "num") {
      throw new GraphFail(
        400,
        "Request_UnsupportedQuery",
        `Unsupported Query. The left operand at position ${tok.pos} in '${src}' must be a property, not a constant.`,
      );
    }
    if (tok?.t !== "id") return syntax(tok);
    k++;
    return tok.v;
  };
  const primary = (): FilterNode => {
    const tok = peek();
    if (tok?.t === "(") {
      k++;
      const e = orExpr();
      expect(")");
      return e;
    }
    if (isKw(tok, "not")) {
      k++;
      return { kind: "not", expr: primary() };
    }
    if (
      tok?.t === "id" &&
      ["startswith", "endswith", "contains"].includes(tok.v.toLowerCase()) &&
      toks[k + 1]?.t === "("
    ) {
      k += 2;
      const prop = property();
      expect(",");
      const v = literal();
      if (typeof v !== "string") return syntax(toks[k - 1]);
      expect(")");
      return {
        kind: "fn",
        fn: tok.v.toLowerCase() as "startswith" | "endswith" | "contains",
        prop,
        value: v,
      };
    }
    // Lambda on a collection of strings: prop/any(v:v eq 'x') or prop/any(v:startswith(v,'x')).
    if (tok?.t === "id" && /\/any$/i.test(tok.v) && toks[k + 1]?.t === "(") {
      const prop = tok.v.slice(0, -"/any".length);
      k += 2;
      const variable = toks[k];
      if (variable?.t !== "id") return syntax(variable);
      k++;
      expect(":");
      let test: "eq" | "startswith";
      let value: Literal;
      if (isKw(peek(), "startswith") && toks[k + 1]?.t === "(") {
        k += 2;
        if (toks[k]?.t !== "id" || (toks[k] as { v: string }).v !== variable.v) return syntax(toks[k]);
        k++;
        expect(",");
        value = literal();
        expect(")");
        test = "startswith";
      } else {
        if (toks[k]?.t !== "id" || (toks[k] as { v: string }).v !== variable.v) return syntax(toks[k]);
        k++;
        if (!isKw(peek(), "eq")) return syntax(peek());
        k++;
        value = literal();
        test = "eq";
      }
      if (typeof value !== "string") return syntax(toks[k - 1]);
      expect(")");
      return { kind: "any", prop, test, value };
    }
    const prop = property();
    const opTok = peek();
    if (opTok?.t !== "id") return syntax(opTok);
    const op = opTok.v.toLowerCase();
    k++;
    if (op === "in") {
      expect("(");
      const values: Literal[] = [literal()];
      while (peek()?.t === ",") {
        k++;
        values.push(literal());
      }
      expect(")");
      return { kind: "in", prop, values };
    }
    if (!["eq", "ne", "gt", "ge", "lt", "le"].includes(op)) return syntax(opTok);
    return { kind: "cmp", op: op as "eq", prop, value: literal() };
  };
  const andExpr = (): FilterNode => {
    let left = primary();
    while (isKw(peek(), "and")) {
      k++;
      left = { kind: "and", left, right: primary() };
    }
    return left;
  };
  const orExpr = (): FilterNode => {
    let left = andExpr();
    while (isKw(peek(), "or")) {
      k++;
      left = { kind: "or", left, right: andExpr() };
    }
    return left;
  };
  if (toks.length === 0) syntax();
  const tree = orExpr();
  if (k < toks.length) syntax(toks[k]);
  return tree;
}

/** Checks properties and operators against what Graph supports for the entity; throws GraphFail. */
export function checkFilter(node: FilterNode, entity: EntityType, advanced: boolean): void {
  const meta = META[entity];
  const known = knownProps(entity);
  const unsupported = (prop: string): GraphFail =>
    new GraphFail(
      400,
      "Request_UnsupportedQuery",
      `Unsupported or invalid query filter clause specified for property '${prop}' of resource '${meta.resourceName}'.`,
    );
  const checkProp = (prop: string, needsAdvanced: boolean): void => {
    if (!known.has(prop)) {
      throw new GraphFail(
        400,
        "BadRequest",
        `Invalid filter clause: Could not find a property named '${prop}' on type '${meta.odataType.slice(1)}'.`,
      );
    }
    const filterable = meta.filterable.includes(prop);
    const adv = meta.advancedFilterable.includes(prop);
    if (!filterable && !(adv && advanced)) throw unsupported(prop);
    if (needsAdvanced && !advanced) throw unsupported(prop);
  };
  switch (node.kind) {
    case "and":
    case "or":
      checkFilter(node.left, entity, advanced);
      checkFilter(node.right, entity, advanced);
      return;
    case "not":
      if (!advanced)
        throw new GraphFail(
          400,
          "Request_UnsupportedQuery",
          "Unsupported Query. 'not' needs an advanced query (ConsistencyLevel: eventual and $count=true).",
        );
      checkFilter(node.expr, entity, advanced);
      return;
    case "cmp":
      // Directory objects take eq, ge and le; ne only as an advanced query; gt and lt not at all.
      if (node.op === "gt" || node.op === "lt") throw unsupported(node.prop);
      checkProp(node.prop, node.op === "ne");
      return;
    case "in":
      checkProp(node.prop, false);
      return;
    case "fn":
      if (node.fn === "contains") throw unsupported(node.prop);
      checkProp(node.prop, node.fn === "endswith");
      return;
    case "any":
      if (!known.has(node.prop) || !meta.collections?.includes(node.prop)) throw unsupported(node.prop);
      return;
  }
}

function norm(v: unknown): unknown {
  return typeof v === "string" ? v.toLowerCase() : v;
}

export function evaluate(node: FilterNode, item: Json): boolean {
  switch (node.kind) {
    case "and":
      return evaluate(node.left, item) && evaluate(node.right, item);
    case "or":
      return evaluate(node.left, item) || evaluate(node.right, item);
    case "not":
      return !evaluate(node.expr, item);
    case "in":
      return node.values.some((v) => norm(item[node.prop] ?? null) === norm(v));
    case "any": {
      const values = item[node.prop];
      if (!Array.isArray(values)) return false;
      const want = node.value.toLowerCase();
      return values.some(
        (v) =>
          typeof v === "string" &&
          (node.test === "eq" ? v.toLowerCase() === want : v.toLowerCase().startsWith(want)),
      );
    }
    case "fn": {
      const actual = item[node.prop];
      if (typeof actual !== "string") return false;
      const a = actual.toLowerCase();
      const v = node.value.toLowerCase();
      return node.fn === "startswith"
        ? a.startsWith(v)
        : node.fn === "endswith"
          ? a.endsWith(v)
          : a.includes(v);
    }
    case "cmp": {
      const a = norm(item[node.prop] ?? null);
      const b = norm(node.value);
      switch (node.op) {
        case "eq":
          return a === b;
        case "ne":
          return a !== b;
        default: {
          if (a === null || b === null) return false;
          const [x, y] = [a as string | number | boolean, b as string | number | boolean];
          return node.op === "gt" ? x > y : node.op === "ge" ? x >= y : node.op === "lt" ? x < y : x <= y;
        }
      }
    }
  }
}

// ====================================================================== collections
