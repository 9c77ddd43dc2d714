import { SerializationError } from "./errors.js";

/**
 * Store values are JSON on every backend: what `JSON.stringify` writes is what is stored and what every
 * read returns (a `Date` reads back as its ISO string, `undefined` properties are left out, `NaN` and
 * `Infinity` become `null`, a class instance keeps its own enumerable properties). Values JSON cannot
 * hold are refused with `SerializationError` before anything is written: a `BigInt`, a function, a
 * symbol, a circular reference, nesting deeper than {@link MAX_VALUE_DEPTH} levels, and strings or keys
 * with an unpaired UTF-16 surrogate (not valid Unicode, which PostgreSQL `jsonb` rejects).
 *
 * The depth limit is the one every backend can hold: MongoDB refuses documents nested more than 100
 * levels (the item document and the write command around the value take some of them), so a value
 * accepted anywhere can be stored — and copied — everywhere.
 */
export const MAX_VALUE_DEPTH = 64;

type StringWithWellFormed = string & { isWellFormed(): boolean };

const wellFormed = (s: string): boolean => (s as StringWithWellFormed).isWellFormed();

/**
 * Checks a store value (a plain object) and returns its JSON text, or `undefined` when the value is
 * flat — every own property a well-formed string, a finite number (not `-0`), a boolean or `null` — so
 * a shallow copy of it is exactly its JSON round trip and no text needed to be made. Throws
 * `SerializationError` (naming `what` and where in the value) for anything JSON cannot hold.
 */
export function storeValueJson(value: Record<string, unknown>, source: string, what: string | (() => string)): string | undefined {
  if (isFlatJson(value)) return undefined;
  const problem = findProblem(value, 0, new Set());
  if (problem) throw refusal(source, what, `${problem.reason}${problem.path.length > 0 ? ` at ${formatPath(problem.path)}` : ""}`);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw refusal(source, what, err instanceof Error ? err.message : String(err), err);
  }
  if (text === undefined) throw refusal(source, what, "it has no JSON form");
  // JSON.stringify writes an unpaired surrogate as a `\udXXX` escape (a paired one as the character).
  if (text.includes("\\ud") && UNPAIRED_ESCAPE.test(text)) throw refusal(source, what, "a string or key with an unpaired UTF-16 surrogate (not valid Unicode)");
  return text;
}

/** A `\udXXX` escape after an even number of backslashes (an odd number would make it literal text). */
const UNPAIRED_ESCAPE = /(?<!\\)(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i;

function refusal(source: string, what: string | (() => string), reason: string, cause?: unknown): SerializationError {
  const subject = typeof what === "function" ? what() : what;
  return new SerializationError(source, `${subject}: the value cannot be stored as JSON: ${reason}; nothing was written`, cause !== undefined ? { cause } : undefined);
}

/** A plain object whose own properties are all JSON primitives that read back unchanged. */
export function isFlatJson(value: Record<string, unknown>): boolean {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in value) {
    const v = value[k];
    switch (typeof v) {
      case "string":
        if (!wellFormed(v)) return false;
        break;
      case "number":
        if (!Number.isFinite(v) || (v === 0 && 1 / v < 0)) return false;
        break;
      case "boolean":
        break;
      case "object":
        if (v !== null) return false;
        break;
      default:
        return false;
    }
    if (!wellFormed(k)) return false;
  }
  return true;
}

interface Problem {
  reason: string;
  path: Array<string | number>;
}

/**
 * The first part of `value` that JSON.stringify would throw on or silently lose as data (a BigInt, a
 * function, a symbol), a cycle, or nesting too deep. Objects with a `toJSON` method (e.g. `Date`) are
 * not entered: their `toJSON()` result is what JSON writes.
 */
function findProblem(value: unknown, depth: number, ancestors: Set<object>): Problem | undefined {
  switch (typeof value) {
    case "bigint":
      return { reason: "a BigInt", path: [] };
    case "function":
      return { reason: "a function", path: [] };
    case "symbol":
      return { reason: "a symbol", path: [] };
    case "object":
      break;
    default:
      return undefined;
  }
  if (value === null) return undefined;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return undefined;
  if (value instanceof String || value instanceof Number || value instanceof Boolean) return undefined;
  if (ancestors.has(value)) return { reason: "a circular reference (an object that contains itself)", path: [] };
  if (depth >= MAX_VALUE_DEPTH) return { reason: `nesting deeper than ${MAX_VALUE_DEPTH} levels`, path: [] };
  ancestors.add(value);
  let found: Problem | undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && !found; i++) {
      found = findProblem(value[i], depth + 1, ancestors);
      found?.path.unshift(i);
    }
  } else {
    for (const k of Object.keys(value)) {
      found = findProblem((value as Record<string, unknown>)[k], depth + 1, ancestors);
      if (found) {
        found.path.unshift(k);
        break;
      }
    }
  }
  ancestors.delete(value);
  return found;
}

function formatPath(path: ReadonlyArray<string | number>): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `${out === "" ? "" : "."}${p}` : `[${JSON.stringify(p)}]`;
  return out;
}

/** The JSON text a backend stores for a put's value: the text made while validating it, or (for a flat value) made now. */
export function putValueJson(put: { value: Record<string, unknown> | null; json?: string }): string {
  return put.json ?? JSON.stringify(put.value);
}

/**
 * A put's value as every backend reads it back: its JSON round trip (`JSON.parse` of the text made
 * while validating it, or a shallow copy of a flat value, which is the same). For a store that keeps
 * values as objects (memory) or in a non-JSON format (BSON), so they read back like everywhere else.
 */
export function putValueCopy(put: { value: Record<string, unknown> | null; json?: string }): Record<string, unknown> {
  if (put.json !== undefined) return JSON.parse(put.json) as Record<string, unknown>;
  const value = put.value ?? {};
  const out: Record<string, unknown> = {};
  for (const k in value) {
    // An own "__proto__" key stays a key (as JSON.parse makes it), never becomes the prototype.
    if (k === "__proto__") Object.defineProperty(out, k, { value: value[k], enumerable: true, writable: true, configurable: true });
    else out[k] = value[k];
  }
  return out;
}
