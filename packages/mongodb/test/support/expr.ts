/**
 * A small evaluator for the aggregation-expression subset the adapter generates, so pure builders
 * (filters, vector scores, thread-document updates) can be checked against core's JS semantics
 * without a server. Each operator follows the MongoDB manual; anything outside the subset, and any
 * comparison whose outcome would depend on BSON's cross-type ordering, throws — so a generated
 * expression that leans on behaviour this model does not pin down fails the test instead of passing.
 *
 * It is a model of the documented semantics, not evidence about the server: the conformance suite
 * against a real MongoDB is what proves the adapter.
 */

export const MISSING: unique symbol = Symbol("missing");
type Value = unknown;
type Vars = Record<string, Value>;

function typeName(v: Value): string {
  if (v === MISSING) return "missing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "date";
  switch (typeof v) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? "int" : "double";
    case "object":
      return "object";
    default:
      throw new Error(`no BSON type for ${typeof v}`);
  }
}

const isNumber = (v: Value) => typeof v === "number";

function field(doc: Value, path: string[]): Value {
  let cur = doc;
  for (const p of path) {
    if (cur === MISSING || cur === null || typeof cur !== "object" || Array.isArray(cur) || cur instanceof Date) {
      if (Array.isArray(cur)) throw new Error(`field path through an array (${path.join(".")}) is outside the model`);
      return MISSING;
    }
    const o = cur as Record<string, Value>;
    cur = Object.prototype.hasOwnProperty.call(o, p) && o[p] !== undefined ? o[p] : MISSING;
  }
  return cur;
}

function sameTypeCompare(a: Value, b: Value, op: string): number {
  if (isNumber(a) && isNumber(b)) return (a as number) - (b as number);
  if (typeof a === "string" && typeof b === "string") {
    // MongoDB compares strings by UTF-8 bytes (code point order).
    const ca = [...a].map((c) => c.codePointAt(0)!);
    const cb = [...b].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i] - cb[i];
    return ca.length - cb.length;
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  throw new Error(`${op} across types (${typeName(a)}, ${typeName(b)}) depends on BSON ordering: outside the model`);
}

function equal(a: Value, b: Value): boolean {
  if (a === MISSING || b === MISSING) throw new Error("$eq with a missing operand: outside the model");
  if (isNumber(a) && isNumber(b)) return a === b;
  if (typeName(a) !== typeName(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as Value[];
    return a.length === bb.length && a.every((x, i) => equal(x, bb[i]));
  }
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (typeName(a) === "object") {
    // BSON documents compare field by field, in order.
    const ea = Object.entries(a as object);
    const eb = Object.entries(b as object);
    return ea.length === eb.length && ea.every(([k, v], i) => k === eb[i][0] && equal(v, eb[i][1]));
  }
  return a === b;
}

const truthy = (v: Value) => !(v === false || v === null || v === MISSING || v === 0);

export function evaluate(expr: unknown, doc: Value, vars: Vars = {}): Value {
  if (typeof expr === "string") {
    if (expr === "$$REMOVE") return MISSING;
    if (expr.startsWith("$$")) {
      const [name, ...rest] = expr.slice(2).split(".");
      if (!(name in vars)) throw new Error(`unbound variable $$${name}`);
      return field(vars[name], rest);
    }
    if (expr.startsWith("$")) return field(doc, expr.slice(1).split("."));
    return expr;
  }
  if (expr === null || typeof expr !== "object" || expr instanceof Date) return expr;
  if (Array.isArray(expr)) return expr.map((e) => evaluate(e, doc, vars));
  const keys = Object.keys(expr);
  if (keys.length !== 1 || !keys[0].startsWith("$")) {
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(expr)) {
      const r = evaluate(v, doc, vars);
      if (r !== MISSING) out[k] = r;
    }
    return out;
  }
  const op = keys[0];
  const arg = (expr as Record<string, unknown>)[op];
  const ev = (e: unknown, extra: Vars = {}) => evaluate(e, doc, { ...vars, ...extra });
  const args = () => (arg as unknown[]).map((a) => ev(a));
  switch (op) {
    case "$literal":
      return arg;
    case "$let": {
      const { vars: defs, in: body } = arg as { vars: Record<string, unknown>; in: unknown };
      const bound: Vars = {};
      for (const [k, v] of Object.entries(defs)) bound[k] = ev(v);
      return ev(body, bound);
    }
    case "$cond": {
      const [c, t, e] = Array.isArray(arg) ? arg : [(arg as any).if, (arg as any).then, (arg as any).else];
      return truthy(ev(c)) ? ev(t) : ev(e);
    }
    case "$and":
      for (const a of arg as unknown[]) if (!truthy(ev(a))) return false;
      return true;
    case "$or":
      for (const a of arg as unknown[]) if (truthy(ev(a))) return true;
      return false;
    case "$not":
      return !truthy(ev((arg as unknown[])[0]));
    case "$type":
      return typeName(ev(arg));
    case "$isNumber":
      return isNumber(ev(arg));
    case "$isArray":
      return Array.isArray(ev(Array.isArray(arg) ? arg[0] : arg));
    case "$eq": {
      const [a, b] = args();
      return equal(a, b);
    }
    case "$ne": {
      const [a, b] = args();
      return !equal(a, b);
    }
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte": {
      const [a, b] = args();
      const c = sameTypeCompare(a, b, op);
      return op === "$gt" ? c > 0 : op === "$gte" ? c >= 0 : op === "$lt" ? c < 0 : c <= 0;
    }
    case "$ifNull": {
      const [a, b] = arg as unknown[];
      const v = ev(a);
      return v === null || v === MISSING ? ev(b) : v;
    }
    case "$getField": {
      const { field: f, input } = arg as { field: unknown; input: unknown };
      const name = ev(f);
      const obj = ev(input);
      if (obj === null || obj === MISSING) return null;
      if (typeName(obj) !== "object") throw new Error("$getField on a non-object errors on the server");
      const o = obj as Record<string, Value>;
      return Object.prototype.hasOwnProperty.call(o, name as string) ? o[name as string] : MISSING;
    }
    case "$arrayElemAt": {
      const [a, i] = args();
      if (!Array.isArray(a)) throw new Error("$arrayElemAt on a non-array errors on the server");
      const idx = (i as number) < 0 ? a.length + (i as number) : (i as number);
      return idx >= 0 && idx < a.length ? a[idx] : MISSING;
    }
    case "$size": {
      const a = ev(arg);
      if (!Array.isArray(a)) throw new Error("$size on a non-array errors on the server");
      return a.length;
    }
    case "$objectToArray": {
      const o = ev(arg);
      if (typeName(o) !== "object") throw new Error("$objectToArray on a non-object errors on the server");
      return Object.entries(o as object).map(([k, v]) => ({ k, v }));
    }
    case "$add": {
      let date: Date | undefined;
      let sum = 0;
      for (const x of args()) {
        if (x instanceof Date) date = x;
        else sum += x as number;
      }
      return date ? new Date(date.getTime() + sum) : sum;
    }
    case "$round": {
      const [x] = args() as number[];
      const floor = Math.floor(x);
      const diff = x - floor;
      // Half to even, as MongoDB rounds.
      return diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
    }
    case "$multiply":
      return (args() as number[]).reduce((p, x) => p * x, 1);
    case "$subtract": {
      const [a, b] = args();
      if (!isNumber(a) || !isNumber(b)) throw new Error("$subtract of non-numbers (dates) is outside the model");
      return (a as number) - (b as number);
    }
    case "$sqrt": {
      const x = ev(Array.isArray(arg) ? arg[0] : arg);
      if (x === null || x === MISSING) return null;
      if (!isNumber(x) || (x as number) < 0) throw new Error("$sqrt of a negative number or a non-number errors on the server");
      return Math.sqrt(x as number);
    }
    case "$divide": {
      const [a, b] = args() as number[];
      return a / b;
    }
    case "$max": {
      const v = ev(arg);
      const list = (Array.isArray(v) ? v : [v]).filter((x) => x !== null && x !== MISSING) as number[];
      return list.length === 0 ? null : Math.max(...list);
    }
    case "$map": {
      const { input, as, in: body } = arg as { input: unknown; as?: string; in: unknown };
      const list = ev(input);
      if (list === null || list === MISSING) return null;
      return (list as Value[]).map((x) => ev(body, { [as ?? "this"]: x }));
    }
    case "$zip": {
      const { inputs } = arg as { inputs: unknown[] };
      const lists = inputs.map((i) => ev(i) as Value[]);
      const n = Math.min(...lists.map((l) => l.length));
      return Array.from({ length: n }, (_, i) => lists.map((l) => l[i]));
    }
    case "$reduce": {
      const { input, initialValue, in: body } = arg as { input: unknown; initialValue: unknown; in: unknown };
      let acc = ev(initialValue);
      for (const x of ev(input) as Value[]) acc = ev(body, { value: acc, this: x });
      return acc;
    }
    default:
      throw new Error(`operator ${op} is outside the model`);
  }
}

/**
 * Applies an update pipeline made of `$set` stages to a document (upsert: start from `{}`). `vars`
 * binds system variables, e.g. `{ NOW: date }` for `$$NOW` (the server's clock when the statement runs).
 */
export function applyPipeline(doc: Record<string, Value>, pipeline: ReadonlyArray<Record<string, unknown>>, vars: Vars = {}): Record<string, Value> {
  let cur = { ...doc };
  for (const stage of pipeline) {
    const [name] = Object.keys(stage);
    if (name !== "$set") throw new Error(`stage ${name} is outside the model`);
    const next = { ...cur };
    for (const [k, e] of Object.entries(stage.$set as Record<string, unknown>)) {
      // Every field of one `$set` is computed from the stage's input document.
      const v = evaluate(e, cur, vars);
      if (v === MISSING) delete next[k];
      else next[k] = v;
    }
    cur = next;
  }
  return cur;
}
