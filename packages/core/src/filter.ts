import { InvalidFilterError } from "./errors.js";

/**
 * Store filters, written once. A filter maps a field (a dotted path such as `"profile.age"`) to either a
 * plain value (deep equality, including nested objects and arrays) or an operator object such as
 * `{ $gte: 18, $lt: 65 }`. Numbers compare as numbers and strings as strings; comparing values of
 * different types is never true. A missing field only satisfies `$ne`, `$nin` and `$exists: false`.
 */
export type FilterOperator = "$eq" | "$ne" | "$gt" | "$gte" | "$lt" | "$lte" | "$in" | "$nin" | "$exists";

export const FILTER_OPERATORS: readonly FilterOperator[] = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"];

/** One parsed condition; a filter is the conjunction of its conditions. */
export interface FilterCondition {
  /** Field path split on `.`, e.g. `["profile", "age"]`. */
  path: string[];
  op: FilterOperator;
  /** Operand: a JSON value; an array for `$in`/`$nin`; a boolean for `$exists`. */
  value: unknown;
}

const SOURCE = "@langgraph-persist/core";

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function isOperatorObject(v: unknown): v is Record<string, unknown> {
  if (!isPlainObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => k.startsWith("$"));
}

function checkOperand(op: FilterOperator, value: unknown, field: string): void {
  const bad = (why: string) => new InvalidFilterError(SOURCE, `Filter on "${field}": ${op} ${why}`);
  switch (op) {
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      if (typeof value !== "number" && typeof value !== "string") throw bad("needs a number or a string");
      if (typeof value === "number" && !Number.isFinite(value)) throw bad("needs a finite number");
      break;
    case "$in":
    case "$nin":
      if (!Array.isArray(value)) throw bad("needs an array");
      break;
    case "$exists":
      if (typeof value !== "boolean") throw bad("needs true or false");
      break;
    default:
      if (value === undefined) throw bad("needs a value");
  }
}

/** Parses and validates a filter; throws `InvalidFilterError` on unknown operators or bad operands. */
export function parseFilter(filter: Record<string, unknown> | undefined | null): FilterCondition[] {
  if (filter === undefined || filter === null) return [];
  if (!isPlainObject(filter)) throw new InvalidFilterError(SOURCE, "Filter must be a plain object");
  const out: FilterCondition[] = [];
  for (const [field, spec] of Object.entries(filter)) {
    if (field === "" || field.split(".").some((p) => p === "")) {
      throw new InvalidFilterError(SOURCE, `Invalid filter field ${JSON.stringify(field)}`);
    }
    if (field.startsWith("$")) {
      throw new InvalidFilterError(SOURCE, `Unsupported top-level operator ${JSON.stringify(field)}`);
    }
    const path = field.split(".");
    if (isOperatorObject(spec)) {
      for (const [op, value] of Object.entries(spec)) {
        if (!(FILTER_OPERATORS as readonly string[]).includes(op)) {
          throw new InvalidFilterError(SOURCE, `Unknown filter operator ${JSON.stringify(op)} on "${field}"; supported: ${FILTER_OPERATORS.join(", ")}`);
        }
        checkOperand(op as FilterOperator, value, field);
        out.push({ path, op: op as FilterOperator, value });
      }
    } else {
      if (spec === undefined) throw new InvalidFilterError(SOURCE, `Filter on "${field}" has no value`);
      out.push({ path, op: "$eq", value: spec });
    }
  }
  return out;
}

const MISSING = Symbol("missing");

export function getPath(value: unknown, path: readonly string[]): unknown {
  let cur: unknown = value;
  for (const part of path) {
    if (cur === null || typeof cur !== "object") return MISSING;
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(part)) return MISSING;
      const idx = Number(part);
      if (idx >= cur.length) return MISSING;
      cur = cur[idx];
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, part)) return MISSING;
      cur = (cur as Record<string, unknown>)[part];
    }
  }
  return cur === undefined ? MISSING : cur;
}

/** JSON deep equality (object key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && deepEqual(ao[k], bo[k]));
}

function compare(actual: unknown, operand: unknown): number | null {
  if (typeof actual === "number" && typeof operand === "number") return actual - operand;
  if (typeof actual === "string" && typeof operand === "string") return actual < operand ? -1 : actual > operand ? 1 : 0;
  return null;
}

export function evaluateCondition(value: unknown, cond: FilterCondition): boolean {
  const actual = getPath(value, cond.path);
  const missing = actual === MISSING;
  switch (cond.op) {
    case "$exists":
      return cond.value ? !missing : missing;
    case "$eq":
      return !missing && deepEqual(actual, cond.value);
    case "$ne":
      return missing || !deepEqual(actual, cond.value);
    case "$in":
      return !missing && (cond.value as unknown[]).some((v) => deepEqual(actual, v));
    case "$nin":
      return missing || !(cond.value as unknown[]).some((v) => deepEqual(actual, v));
    default: {
      if (missing) return false;
      const c = compare(actual, cond.value);
      if (c === null) return false;
      if (cond.op === "$gt") return c > 0;
      if (cond.op === "$gte") return c >= 0;
      if (cond.op === "$lt") return c < 0;
      return c <= 0;
    }
  }
}

export function matchesConditions(value: unknown, conditions: readonly FilterCondition[]): boolean {
  return conditions.every((c) => evaluateCondition(value, c));
}

/** Convenience: parse + evaluate. */
export function matchesFilter(value: unknown, filter: Record<string, unknown> | undefined): boolean {
  return matchesConditions(value, parseFilter(filter));
}

/** Checkpoint `list` filters: deep equality on top-level metadata keys. */
export function metadataMatches(metadata: Record<string, unknown> | undefined, filter: Record<string, unknown> | undefined): boolean {
  if (!filter) return true;
  const md = metadata ?? {};
  return Object.entries(filter).every(([k, v]) => Object.prototype.hasOwnProperty.call(md, k) && deepEqual(md[k], v));
}
