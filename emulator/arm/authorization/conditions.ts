/**
 * Role-assignment conditions (Azure ABAC, condition version 2.0), Azure's side: the condition
 * text stored on an assignment is compiled into a predicate over the request, which
 * authorize.ts asks before the assignment may grant anything. It is written apart from any
 * client's condition builder on purpose: a client's condition is then checked by a second
 * reading of the language, not by the code that wrote it.
 *
 * Supported: `AND`/`&&`, `OR`/`||`, `NOT`/`!` (AND binds tighter than OR), parentheses,
 * `ActionMatches{'pattern'}`, `SubOperationMatches{'pattern'}`, and comparisons
 * `@Source[attribute] [Quantifier:]Operator value-or-{set}` with the String, Guid, Numeric and
 * Bool operators. Anything else throws ConditionError, and the caller treats an unreadable
 * condition as one that grants nothing, which is how it fails safe.
 */
import { actionPatternMatches, wildcardMatches } from "./permissions.js";

/** What a condition reads: the action, an optional sub-operation, attribute values by source. */
export interface RequestAttributes {
  action: string;
  subOperation?: string;
  /** Source ("Request", "Resource", "Principal"...) to attribute name to values; names ignore case. */
  attributes: Record<string, Record<string, string[]>>;
}

export type ConditionPredicate = (request: RequestAttributes) => boolean;

export class ConditionError extends Error {
  override name = "ConditionError";
}

// --- Lexing -----------------------------------------------------------------------------------

type PunctText = "(" | ")" | "{" | "}" | "," | "!" | "&&" | "||";
type Token =
  | { type: "punct"; text: PunctText }
  | { type: "quoted"; text: string }
  | { type: "attribute"; source: string; name: string }
  | { type: "word"; text: string };

/**
 * One token at the sticky position, after any whitespace: punctuation, a quoted string, an
 * attribute reference `@Source[name]`, or a word (keyword, operator, GUID, number).
 */
const TOKEN = /\s*(?:(&&|\|\||[(){},!])|'([^']*)'|@(\w+)\[([^\]]+)\]|([A-Za-z0-9_.:-]+))/y;

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (text.slice(TOKEN.lastIndex).trim() !== "") {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m)
      throw new ConditionError(`cannot read the condition at ${at}: '${text.slice(at, at + 20).trim()}'`);
    const [, punct, quoted, source, name, word] = m;
    if (punct !== undefined) tokens.push({ type: "punct", text: punct as PunctText });
    else if (quoted !== undefined) tokens.push({ type: "quoted", text: quoted });
    else if (source !== undefined) tokens.push({ type: "attribute", source, name: name!.trim() });
    else tokens.push({ type: "word", text: word! });
  }
  return tokens;
}

// --- Comparison operators ---------------------------------------------------------------------

type Match = (actual: string, expected: string) => boolean;

const lowered = (s: string): string => s.toLowerCase();
const numeric =
  (test: (a: number, b: number) => boolean): Match =>
  (a, b) => {
    const x = Number(a);
    const y = Number(b);
    return !Number.isNaN(x) && !Number.isNaN(y) && test(x, y);
  };

/** Positive operators; every one has a `Not` twin (StringNotEquals...) that negates it. */
const POSITIVE: Record<string, Match> = {
  stringequals: (a, b) => a === b,
  stringequalsignorecase: (a, b) => lowered(a) === lowered(b),
  stringlike: (a, b) => wildcardMatches(b, a, false),
  stringlikeignorecase: (a, b) => wildcardMatches(b, a, true),
  stringstartswith: (a, b) => a.startsWith(b),
  stringstartswithignorecase: (a, b) => lowered(a).startsWith(lowered(b)),
  guidequals: (a, b) => lowered(a) === lowered(b),
  numericequals: numeric((a, b) => a === b),
  boolequals: (a, b) => lowered(a) === lowered(b),
};
const ORDERED: Record<string, Match> = {
  numericlessthan: numeric((a, b) => a < b),
  numericlessthanequals: numeric((a, b) => a <= b),
  numericgreaterthan: numeric((a, b) => a > b),
  numericgreaterthanequals: numeric((a, b) => a >= b),
};

function operatorNamed(name: string): Match {
  const key = lowered(name);
  const direct = POSITIVE[key] ?? ORDERED[key];
  if (direct) return direct;
  // StringNotEquals -> StringEquals, GuidNotEquals -> GuidEquals, BoolNotEquals -> BoolEquals...
  const positive = POSITIVE[key.replace(/^(string|guid|numeric|bool)not/, "$1")];
  if (positive && key.includes("not")) return (a, b) => !positive(a, b);
  throw new ConditionError(`unsupported operator '${name}'`);
}

/** How the attribute's values and the operand's values are combined (Azure's cross-product quantifiers). */
const QUANTIFIERS: Record<string, (actual: string[], expected: string[], match: Match) => boolean> = {
  foranyofanyvalues: (xs, ys, m) => xs.some((x) => ys.some((y) => m(x, y))),
  forallofanyvalues: (xs, ys, m) => xs.length > 0 && xs.every((x) => ys.some((y) => m(x, y))),
  foranyofallvalues: (xs, ys, m) => xs.some((x) => ys.every((y) => m(x, y))),
  forallofallvalues: (xs, ys, m) => xs.length > 0 && xs.every((x) => ys.every((y) => m(x, y))),
  // Without a quantifier both sides are single values.
  "": (xs, ys, m) => xs.length === 1 && ys.length === 1 && m(xs[0]!, ys[0]!),
};

function lookup(request: RequestAttributes, source: string, name: string): string[] | undefined {
  const find = <T>(record: Record<string, T>, key: string): T | undefined => {
    for (const [k, v] of Object.entries(record)) if (lowered(k) === lowered(key)) return v;
    return undefined;
  };
  const bySource = find(request.attributes, source);
  return bySource ? find(bySource, name) : undefined;
}

// --- Parsing into predicates ------------------------------------------------------------------

class Compiler {
  private at = 0;

  constructor(private readonly tokens: Token[]) {}

  compile(): ConditionPredicate {
    const predicate = this.disjunction();
    if (this.at < this.tokens.length) throw new ConditionError("text after the end of the condition");
    return predicate;
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private next(): Token {
    const t = this.tokens[this.at++];
    if (!t) throw new ConditionError("condition ends too early");
    return t;
  }

  private isKeyword(words: string[], puncts: string[]): boolean {
    const t = this.peek();
    if (!t) return false;
    if (t.type === "word") return words.includes(t.text.toUpperCase());
    return t.type === "punct" && puncts.includes(t.text);
  }

  private expect(text: string): void {
    const t = this.next();
    if (t.type !== "punct" || t.text !== text) throw new ConditionError(`expected '${text}'`);
  }

  /** `operand (keyword operand)*`, combined by `combine` when there is more than one. */
  private chain(
    keyword: [word: string, punct: string],
    operand: () => ConditionPredicate,
    combine: (parts: ConditionPredicate[]) => ConditionPredicate,
  ): ConditionPredicate {
    const parts = [operand()];
    while (this.isKeyword([keyword[0]], [keyword[1]])) {
      this.at++;
      parts.push(operand());
    }
    return parts.length === 1 ? parts[0]! : combine(parts);
  }

  private disjunction(): ConditionPredicate {
    return this.chain(
      ["OR", "||"],
      () => this.conjunction(),
      (parts) => (r) => parts.some((p) => p(r)),
    );
  }

  private conjunction(): ConditionPredicate {
    return this.chain(
      ["AND", "&&"],
      () => this.negation(),
      (parts) => (r) => parts.every((p) => p(r)),
    );
  }

  private negation(): ConditionPredicate {
    if (this.isKeyword(["NOT"], ["!"])) {
      this.at++;
      const inner = this.negation();
      return (r) => !inner(r);
    }
    return this.primary();
  }

  private primary(): ConditionPredicate {
    const t = this.next();
    if (t.type === "punct" && t.text === "(") {
      const inner = this.disjunction();
      this.expect(")");
      return inner;
    }
    if (t.type === "word" && /^(ActionMatches|SubOperationMatches)$/i.test(t.text)) {
      this.expect("{");
      const pattern = this.next();
      if (pattern.type !== "quoted") throw new ConditionError(`${t.text} takes a quoted pattern`);
      this.expect("}");
      return /^ActionMatches$/i.test(t.text)
        ? (r) => actionPatternMatches(pattern.text, r.action)
        : (r) => r.subOperation !== undefined && actionPatternMatches(pattern.text, r.subOperation);
    }
    if (t.type === "attribute") return this.comparison(t.source, t.name);
    throw new ConditionError(
      `unexpected ${t.type === "word" || t.type === "punct" ? `'${t.text}'` : t.type}`,
    );
  }

  private comparison(source: string, name: string): ConditionPredicate {
    const op = this.next();
    if (op.type !== "word") throw new ConditionError(`expected an operator after @${source}[${name}]`);
    const colon = op.text.indexOf(":");
    const quantifierName = colon >= 0 ? lowered(op.text.slice(0, colon)) : "";
    const quantifier = QUANTIFIERS[quantifierName];
    if (!quantifier) throw new ConditionError(`unsupported quantifier '${op.text.slice(0, colon)}'`);
    const match = operatorNamed(op.text.slice(colon + 1));
    const expected = this.operand();
    // An attribute the request does not carry makes the comparison false (never a grant).
    return (r) => {
      const actual = lookup(r, source, name);
      return actual !== undefined && quantifier(actual, expected, match);
    };
  }

  private operand(): string[] {
    const value = (): string => {
      const t = this.next();
      if (t.type === "quoted" || t.type === "word") return t.text;
      throw new ConditionError("expected a value");
    };
    if (!this.isKeyword([], ["{"])) return [value()];
    this.at++;
    const values = [value()];
    while (this.isKeyword([], [","])) {
      this.at++;
      values.push(value());
    }
    this.expect("}");
    return values;
  }
}

/** Compiles a condition; throws ConditionError when it is not one. */
export function compileCondition(text: string): ConditionPredicate {
  return new Compiler(lex(text)).compile();
}
