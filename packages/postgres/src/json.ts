/**
 * `jsonb` cannot hold the NUL character (`\u0000`), but LangGraph values may contain it. Strings (and
 * object keys) stored in `jsonb` therefore go through an escape that keeps equality and ordering:
 * `\u0000` → `\u0001\u0001`, `\u0001` → `\u0001\u0002`, every other character unchanged. The codes form
 * a prefix-free code whose order matches the characters' order, so SQL comparisons of escaped strings
 * (`=`, `<`, ... in "C" collation) give the same answers as comparisons of the originals. Filter
 * operands and paths go through the same escape.
 */

const SPECIAL = /[\u0000\u0001]/;
const SPECIAL_G = /[\u0000\u0001]/g;
const ESCAPED_G = /\u0001([\u0001\u0002])/g;
/** A JSON text that may contain one of the two characters (JSON escapes both as `\u000X`). */
const MAYBE_SPECIAL_JSON = /\\u000[01]/;

export function escapeString(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_G, (c) => (c === "\u0000" ? "\u0001\u0001" : "\u0001\u0002")) : s;
}

export function unescapeString(s: string): string {
  return s.includes("\u0001") ? s.replace(ESCAPED_G, (_m, c: string) => (c === "\u0001" ? "\u0000" : "\u0001")) : s;
}

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[f(k)] = mapStrings(v, f);
    return out;
  }
  return value;
}

export function escapeJsonValue(value: unknown): unknown {
  return mapStrings(value, escapeString);
}

export function unescapeJsonValue<T>(value: T): T {
  return mapStrings(value, unescapeString) as T;
}

/** JSON text ready for a `jsonb` column, and whether it had to be escaped. */
export function toJsonbText(text: string): { text: string; escaped: boolean } {
  if (!MAYBE_SPECIAL_JSON.test(text)) return { text, escaped: false };
  const escaped = JSON.stringify(escapeJsonValue(JSON.parse(text)));
  return { text: escaped, escaped: escaped !== text };
}
