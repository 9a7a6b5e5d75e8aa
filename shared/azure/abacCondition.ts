/**
 * Azure ABAC role-assignment conditions (version 2.0): a parser to a syntax tree, an evaluator
 * over request/resource attributes, and a structural comparison. The emulator evaluates the
 * conditions it stores with it; `steward setup --check` compares the deployed condition with the
 * expected one through the same tree, so a condition widened with an extra `OR` branch, or with
 * a role slipped into a set, is a different tree and fails, whatever its spacing or casing.
 *
 * Grammar (the subset Microsoft documents for role-assignment conditions):
 *   expr    := and (("OR" | "||") and)*
 *   and     := unary (("AND" | "&&") unary)*
 *   unary   := ("!" | "NOT") unary | "(" expr ")" | ActionMatches{'...'} | SubOperationMatches{'...'} | compare
 *   compare := @Source[attribute] Operator value | @Source[attribute] Operator {value, ...}
 */

export type ConditionNode =
  | { kind: "or"; items: ConditionNode[] }
  | { kind: "and"; items: ConditionNode[] }
  | { kind: "not"; item: ConditionNode }
  | { kind: "actionMatches"; pattern: string }
  | { kind: "subOperationMatches"; pattern: string }
  | {
      kind: "compare";
      source: string;
      attribute: string;
      /** e.g. "ForAnyOfAnyValues", or "" for a single-valued comparison. */
      quantifier: string;
      /** e.g. "GuidEquals", "StringEqualsIgnoreCase". */
      operator: string;
      values: string[];
      /** True when the values were written as a {set}. */
      isSet: boolean;
    };

export class ConditionSyntaxError extends Error {
  override name = "ConditionSyntaxError";
}

type Token =
  | { t: "("; at: number }
  | { t: ")"; at: number }
  | { t: "{"; at: number }
  | { t: "}"; at: number }
  | { t: ","; at: number }
  | { t: "!"; at: number }
  | { t: "str"; v: string; at: number }
  | { t: "attr"; source: string; name: string; at: number }
  | { t: "word"; v: string; at: number };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === "{" || c === "}" || c === ",") {
      out.push({ t: c, at: i });
      i++;
      continue;
    }
    if (c === "!" && src[i + 1] !== "=") {
      out.push({ t: "!", at: i });
      i++;
      continue;
    }
    if (c === "&" && src[i + 1] === "&") {
      out.push({ t: "word", v: "AND", at: i });
      i += 2;
      continue;
    }
    if (c === "|" && src[i + 1] === "|") {
      out.push({ t: "word", v: "OR", at: i });
      i += 2;
      continue;
    }
    if (c === "'") {
      let v = "";
      let j = i + 1;
      for (;;) {
        if (j >= src.length) throw new ConditionSyntaxError(`unterminated string at ${i}`);
        // A doubled quote is a literal quote inside the string.
        if (src[j] === "'" && src[j + 1] === "'") {
          v += "'";
          j += 2;
        } else if (src[j] === "'") break;
        else v += src[j++];
      }
      out.push({ t: "str", v, at: i });
      i = j + 1;
      continue;
    }
    if (c === "@") {
      const m = /^@([A-Za-z]+)\[([^\]]+)\]/.exec(src.slice(i));
      if (!m) throw new ConditionSyntaxError(`malformed attribute reference at ${i}`);
      out.push({ t: "attr", source: m[1]!, name: m[2]!.trim(), at: i });
      i += m[0].length;
      continue;
    }
    const m = /^[^\s(){},'!@]+/.exec(src.slice(i));
    if (!m) throw new ConditionSyntaxError(`unexpected '${c}' at ${i}`);
    out.push({ t: "word", v: m[0], at: i });
    i += m[0].length;
  }
  return out;
}

export function parseCondition(src: string): ConditionNode {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isWord = (tok: Token | undefined, w: string): boolean =>
    tok?.t === "word" && tok.v.toUpperCase() === w;
  const expect = (t: Token["t"]): Token => {
    const tok = tokens[pos];
    if (!tok || tok.t !== t)
      throw new ConditionSyntaxError(`expected '${t}' at token ${pos}${tok ? ` (found '${tok.t}')` : ""}`);
    pos++;
    return tok;
  };

  const parseOr = (): ConditionNode => {
    const items = [parseAnd()];
    while (isWord(peek(), "OR")) {
      pos++;
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0]! : { kind: "or", items };
  };
  const parseAnd = (): ConditionNode => {
    const items = [parseUnary()];
    while (isWord(peek(), "AND")) {
      pos++;
      items.push(parseUnary());
    }
    return items.length === 1 ? items[0]! : { kind: "and", items };
  };
  const parseValue = (): string => {
    const tok = peek();
    if (tok?.t === "str" || tok?.t === "word") {
      pos++;
      return tok.v;
    }
    throw new ConditionSyntaxError(`expected a value at token ${pos}`);
  };
  const parseUnary = (): ConditionNode => {
    const tok = peek();
    if (!tok) throw new ConditionSyntaxError("unexpected end of condition");
    if (tok.t === "!" || isWord(tok, "NOT")) {
      pos++;
      return { kind: "not", item: parseUnary() };
    }
    if (tok.t === "(") {
      pos++;
      const inner = parseOr();
      expect(")");
      return inner;
    }
    if (tok.t === "word" && /^(ActionMatches|SubOperationMatches)$/i.test(tok.v)) {
      pos++;
      expect("{");
      const pattern = parseValue();
      expect("}");
      return /^ActionMatches$/i.test(tok.v)
        ? { kind: "actionMatches", pattern }
        : { kind: "subOperationMatches", pattern };
    }
    if (tok.t === "attr") {
      pos++;
      const opTok = peek();
      if (opTok?.t !== "word") throw new ConditionSyntaxError(`expected an operator at token ${pos}`);
      pos++;
      const parts = opTok.v.split(":");
      if (parts.length > 2 || parts.some((p) => p === ""))
        throw new ConditionSyntaxError(`malformed operator '${opTok.v}'`);
      const [quantifier, operator] = parts.length === 2 ? [parts[0]!, parts[1]!] : ["", parts[0]!];
      let values: string[];
      let isSet = false;
      if (peek()?.t === "{") {
        pos++;
        isSet = true;
        values = [parseValue()];
        while (peek()?.t === ",") {
          pos++;
          values.push(parseValue());
        }
        expect("}");
      } else values = [parseValue()];
      return {
        kind: "compare",
        source: tok.source,
        attribute: tok.name,
        quantifier,
        operator,
        values,
        isSet,
      };
    }
    throw new ConditionSyntaxError(`unexpected token '${tok.t}' at ${tok.at}`);
  };

  const tree = parseOr();
  if (pos !== tokens.length) throw new ConditionSyntaxError(`unexpected text after token ${pos}`);
  return tree;
}

const compiled = new Map<string, RegExp>();

/** Azure's action wildcard: `*` stands for any run of characters; comparison ignores case. */
export function actionPatternMatches(pattern: string, action: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    // Every request checks every role's patterns: compile each pattern once.
    re = new RegExp(
      "^" +
        pattern
          .split("*")
          .map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
          .join(".*") +
        "$",
      "i",
    );
    compiled.set(pattern, re);
  }
  return re.test(action);
}

/** What a condition is evaluated against: the action, and attribute values by source. */
export interface ConditionInput {
  action: string;
  subOperation?: string;
  /** Attribute values by source ("Request", "Resource"...) then attribute name; case-insensitive keys. */
  attributes: Record<string, Record<string, string[]>>;
}

function attributeValues(input: ConditionInput, source: string, attribute: string): string[] | undefined {
  const bySource = Object.entries(input.attributes).find(([k]) => k.toLowerCase() === source.toLowerCase());
  if (!bySource) return undefined;
  const hit = Object.entries(bySource[1]).find(([k]) => k.toLowerCase() === attribute.toLowerCase());
  return hit?.[1];
}

function compareOne(operator: string, actual: string, expected: string): boolean | undefined {
  switch (operator.toLowerCase()) {
    case "guidequals":
    case "stringequalsignorecase":
      return actual.toLowerCase() === expected.toLowerCase();
    case "guidnotequals":
    case "stringnotequalsignorecase":
      return actual.toLowerCase() !== expected.toLowerCase();
    case "stringequals":
      return actual === expected;
    case "stringnotequals":
      return actual !== expected;
    default:
      return undefined;
  }
}

/**
 * Evaluates a condition. Unknown operators and attributes missing from the input make the
 * comparison false, so a condition the evaluator does not understand never grants access.
 */
export function evaluateCondition(node: ConditionNode, input: ConditionInput): boolean {
  switch (node.kind) {
    case "or":
      return node.items.some((n) => evaluateCondition(n, input));
    case "and":
      return node.items.every((n) => evaluateCondition(n, input));
    case "not":
      return !evaluateCondition(node.item, input);
    case "actionMatches":
      return actionPatternMatches(node.pattern, input.action);
    case "subOperationMatches":
      return input.subOperation !== undefined && actionPatternMatches(node.pattern, input.subOperation);
    case "compare": {
      const actual = attributeValues(input, node.source, node.attribute);
      if (!actual) return false;
      const test = (a: string, e: string): boolean => compareOne(node.operator, a, e) === true;
      switch (node.quantifier.toLowerCase()) {
        case "":
          return actual.length === 1 && node.values.length === 1 && test(actual[0]!, node.values[0]!);
        case "foranyofanyvalues":
          return actual.some((a) => node.values.some((e) => test(a, e)));
        case "forallofanyvalues":
          return actual.length > 0 && actual.every((a) => node.values.some((e) => test(a, e)));
        case "foranyofallvalues":
          return actual.some((a) => node.values.every((e) => test(a, e)));
        case "forallofallvalues":
          return actual.length > 0 && actual.every((a) => node.values.every((e) => test(a, e)));
        default:
          return false;
      }
    }
  }
}

/**
 * A canonical form: case folded where Azure ignores case (keywords, sources, attributes,
 * operators, GUIDs and case-insensitive values), sets sorted, nested AND/OR flattened. Two
 * conditions with equal canonical forms grant the same access.
 */
export function canonicalCondition(node: ConditionNode): unknown {
  switch (node.kind) {
    case "or":
    case "and": {
      const flat: ConditionNode[] = [];
      for (const item of node.items) {
        if (item.kind === node.kind) flat.push(...item.items);
        else flat.push(item);
      }
      return { [node.kind]: flat.map(canonicalCondition) };
    }
    case "not":
      return { not: canonicalCondition(node.item) };
    case "actionMatches":
    case "subOperationMatches":
      return { [node.kind]: node.pattern.toLowerCase() };
    case "compare": {
      const foldValues = /guid|ignorecase/i.test(node.operator);
      const values = node.values.map((v) => (foldValues ? v.toLowerCase() : v));
      return {
        compare: [
          node.source.toLowerCase(),
          node.attribute.toLowerCase(),
          node.quantifier.toLowerCase(),
          node.operator.toLowerCase(),
          node.isSet ? [...new Set(values)].sort() : values,
        ],
      };
    }
  }
}

/** True when both conditions parse to the same canonical tree. A condition that does not parse is never the same. */
export function sameCondition(a: string, b: string): boolean {
  try {
    return (
      JSON.stringify(canonicalCondition(parseCondition(a))) ===
      JSON.stringify(canonicalCondition(parseCondition(b)))
    );
  } catch (e) {
    if (e instanceof ConditionSyntaxError) return false;
    throw e;
  }
}
