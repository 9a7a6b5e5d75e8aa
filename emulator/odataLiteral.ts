/**
 * OData string literals as the ARM and the Graph `$filter` parsers both read them: quoted with
 * `'`, a `'` inside written `''`.
 */

/**
 * The literal whose opening quote is at `start`: its value and the index just after its
 * closing quote; undefined when the text ends before the literal does.
 */
export function readStringLiteral(src: string, start: number): { value: string; end: number } | undefined {
  let value = "";
  let i = start + 1;
  for (;;) {
    if (i >= src.length) return undefined;
    if (src[i] === "'") {
      if (src[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    value += src[i++];
  }
}
