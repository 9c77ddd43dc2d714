/**
 * Plain JSON trees: values made only of plain objects, arrays, strings, finite numbers, booleans and
 * `null`, without an `lc` key anywhere. For them the serializer's bytes are exactly `JSON.stringify` of
 * the value, and reading those bytes back is exactly `JSON.parse`, so a private copy of such a value can
 * stand in for its bytes: compared against the next version of a channel instead of serialising it
 * again, and copied out instead of parsing the bytes again.
 */

/** Nesting deeper than this is not treated as a plain tree (which also stops on cycles). */
const MAX_DEPTH = 64;

/** Keys that `JSON.parse` keeps as own data but assignment would not (or that LangChain's loader revives). */
const RESERVED_KEY = new Set(["__proto__", "lc"]);

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A deep copy of `value` as `JSON.parse(JSON.stringify(value))` would return it (`-0` becomes `0`), or
 * `undefined` when `value` is not a plain JSON tree (class instances, `undefined`, non-finite numbers,
 * holes, functions, symbols, bigints, an `lc` or `__proto__` key, cycles or very deep nesting).
 */
export function plainTree(value: unknown, depth = 0): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : undefined;
    case "object":
      break;
    default:
      return undefined;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return undefined;
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const v = plainTree(value[i], depth + 1);
      if (v === undefined) return undefined;
      out[i] = v;
    }
    return out;
  }
  if (!isPlainObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    if (RESERVED_KEY.has(k)) return undefined;
    const v = plainTree((value as Record<string, unknown>)[k], depth + 1);
    if (v === undefined) return undefined;
    out[k] = v;
  }
  return out;
}

/**
 * Whether `value` would serialise to the same JSON as `tree` (a result of {@link plainTree}): the same
 * plain structure, keys in the same order, equal primitives. `false` whenever unsure.
 */
export function sameAsTree(value: unknown, tree: unknown, depth = 0): boolean {
  if (value === tree) return typeof value !== "number" || Number.isFinite(value);
  if (typeof value !== "object" || value === null || typeof tree !== "object" || tree === null || depth >= MAX_DEPTH) return false;
  if (Array.isArray(tree)) {
    if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype || value.length !== tree.length) return false;
    for (let i = 0; i < tree.length; i++) if (!sameAsTree(value[i], tree[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(value) || !isPlainObject(value)) return false;
  // for-in yields own keys in Object.keys order (an enumerable key inherited from a polluted prototype
  // comes after them and fails the comparison: unsure, so unequal).
  const treeKeys = Object.keys(tree);
  let i = 0;
  for (const k in value) {
    if (k !== treeKeys[i] || !sameAsTree((value as Record<string, unknown>)[k], (tree as Record<string, unknown>)[k], depth + 1)) return false;
    i++;
  }
  return i === treeKeys.length;
}

/**
 * A fresh copy of a tree made by {@link plainTree} or `JSON.parse`, for a caller that may change it
 * (`JSON.parse` keeps a `"__proto__"` key as an own property, and so does the copy).
 */
export function copyTree(tree: unknown): unknown {
  if (typeof tree !== "object" || tree === null) return tree;
  if (Array.isArray(tree)) return copyElements(tree, tree.length);
  // Spread copies own data properties as they are (its fast path clones the object's shape at once);
  // only nested objects are copied again.
  const out: Record<string, unknown> = { ...tree };
  for (const k in out) {
    const v = out[k];
    if (typeof v === "object" && v !== null && Object.prototype.hasOwnProperty.call(out, k)) out[k] = copyTree(v);
  }
  return out;
}

/** A fresh copy of the first `count` elements of a tree array. */
export function copyElements(tree: readonly unknown[], count: number): unknown[] {
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) {
    const v = tree[i];
    out[i] = typeof v === "object" && v !== null ? copyTree(v) : v;
  }
  return out;
}
