/**
 * Plain JSON trees: values made only of plain objects, arrays, strings, finite numbers, booleans and
 * `null`, without an `lc` key anywhere. For them the serializer's bytes are exactly `JSON.stringify` of
 * the value, and reading those bytes back is exactly `JSON.parse`, so a private copy of such a value can
 * stand in for its bytes: compared against the next version of a channel instead of serialising it
 * again, and copied out instead of parsing the bytes again. LangChain messages get a snapshot of their
 * state instead (`InstanceSnapshot`), which serves the comparison only.
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
export function plainTree(value: unknown): unknown {
  const copy = copyOf(value, 0, false);
  return copy === NOT_COPIED ? undefined : copy;
}

/** Stands for a value `copyOf` cannot copy. */
const NOT_COPIED: unique symbol = Symbol("not copied");

/**
 * A deep copy of plain data (plain objects, arrays without holes, primitives) or `NOT_COPIED`. `exact`:
 * any number and `undefined` are kept as they are, and any key but `__proto__` is allowed (a message's
 * state); else only what JSON writes and reads back the same (a plain JSON tree).
 */
function copyOf(value: unknown, depth: number, exact: boolean): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (exact) return value;
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : NOT_COPIED;
    case "undefined":
      return exact ? value : NOT_COPIED;
    case "object":
      break;
    default:
      return NOT_COPIED;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) return NOT_COPIED;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return NOT_COPIED;
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return NOT_COPIED;
      const v = copyOf(value[i], depth + 1, exact);
      if (v === NOT_COPIED) return NOT_COPIED;
      out[i] = v;
    }
    return out;
  }
  if (!isPlainObject(value)) return NOT_COPIED;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    if (k === "__proto__" || (!exact && RESERVED_KEY.has(k))) return NOT_COPIED;
    const v = copyOf((value as Record<string, unknown>)[k], depth + 1, exact);
    if (v === NOT_COPIED) return NOT_COPIED;
    out[k] = v;
  }
  return out;
}

/**
 * Whether `value` would serialise to the same JSON as `tree` (a result of {@link plainTree}): the same
 * plain structure, keys in the same order, equal primitives. `false` whenever unsure.
 */
export function sameAsTree(value: unknown, tree: unknown): boolean {
  return sameCopy(value, tree, 0, false);
}

/**
 * `value` against a private copy of it: the same plain structure (arrays without holes, plain objects
 * with the same keys in the same order) and equal leaves — `exact`: `Object.is`; else equal finite
 * JSON values (`-0` and `0` write the same). `false` whenever unsure.
 */
function sameCopy(value: unknown, copy: unknown, depth: number, exact: boolean): boolean {
  if (typeof value !== "object" || value === null || typeof copy !== "object" || copy === null) {
    return exact ? Object.is(value, copy) : value === copy && (typeof value !== "number" || Number.isFinite(value));
  }
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(copy)) {
    if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype || value.length !== copy.length) return false;
    for (let i = 0; i < copy.length; i++) if (!(i in value) || !sameCopy(value[i], copy[i], depth + 1, exact)) return false;
    return true;
  }
  if (Array.isArray(value) || !isPlainObject(value)) return false;
  // for-in yields own keys in Object.keys order (an enumerable key inherited from a polluted prototype
  // comes after them and fails the comparison: unsure, so unequal).
  const copyKeys = Object.keys(copy);
  let i = 0;
  for (const k in value) {
    if (k !== copyKeys[i] || !sameCopy((value as Record<string, unknown>)[k], (copy as Record<string, unknown>)[k], depth + 1, exact)) return false;
    i++;
  }
  return i === copyKeys.length;
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

/**
 * What a serialised LangChain message was made from: its prototype and every own property (a copy of
 * each value). The JSON LangChain's `toJSON` writes for a message is a function of these (its class
 * getters read them), so a message that still matches its snapshot still serialises to the same bytes.
 */
export class InstanceSnapshot {
  constructor(
    readonly proto: object,
    readonly keys: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

/** The built-in LangChain message classes (and subclasses): `lc_namespace` `["langchain_core", "messages"]`. */
function isLangChainMessage(v: object): boolean {
  const m = v as { lc_namespace?: unknown; lc_serializable?: unknown; toJSON?: unknown };
  return Array.isArray(m.lc_namespace) && m.lc_namespace[0] === "langchain_core" && m.lc_namespace[1] === "messages" && m.lc_serializable === true && typeof m.toJSON === "function";
}

/**
 * A snapshot of one array element, to tell later whether it changed: its plain tree ({@link plainTree}),
 * or an {@link InstanceSnapshot} for a LangChain message whose properties hold only plain data
 * (`undefined` included); `undefined` for anything else.
 */
export function elementSnapshot(value: unknown): unknown {
  const tree = plainTree(value);
  if (tree !== undefined) return tree;
  if (typeof value !== "object" || value === null || Array.isArray(value) || !isLangChainMessage(value)) return undefined;
  const keys = Object.getOwnPropertyNames(value);
  const values = new Array<unknown>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const s = copyOf((value as Record<string, unknown>)[keys[i]], 0, true);
    if (s === NOT_COPIED) return undefined;
    values[i] = s;
  }
  return new InstanceSnapshot(Object.getPrototypeOf(value) as object, keys, values);
}

/** Snapshots of every element, or `undefined` when one cannot have any. */
export function elementSnapshots(values: readonly unknown[]): unknown[] | undefined {
  const out = new Array<unknown>(values.length);
  for (let i = 0; i < values.length; i++) {
    const s = elementSnapshot(values[i]);
    if (s === undefined) return undefined;
    out[i] = s;
  }
  return out;
}

/** Whether `value` still matches a snapshot made by {@link elementSnapshot}. `false` whenever unsure. */
export function sameAsSnapshot(value: unknown, snapshot: unknown): boolean {
  if (!(snapshot instanceof InstanceSnapshot)) return sameAsTree(value, snapshot);
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== snapshot.proto) return false;
  const keys = Object.getOwnPropertyNames(value);
  if (keys.length !== snapshot.keys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] !== snapshot.keys[i] || !sameCopy((value as Record<string, unknown>)[keys[i]], snapshot.values[i], 0, true)) return false;
  }
  return true;
}
