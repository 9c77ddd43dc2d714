/**
 * A small model of MongoDB query filters, for the subset the blob reads generate: `$or`, `$in`,
 * `$gte`/`$lte`/`$gt`/`$lt` and equality on a (dotted) field, with BSON ordering for strings (UTF-8
 * bytes) and embedded documents (field by field: type, then name, then value; a prefix sorts first).
 * Comparison operators only match values of the operand's type (type bracketing). Anything else throws,
 * so a filter outside the model fails the test instead of passing.
 *
 * Like `expr.ts`, it models the documented semantics; only a real server proves the queries.
 */

type Value = unknown;

function bsonType(v: Value): "string" | "object" {
  if (typeof v === "string") return "string";
  if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array)) return "object";
  throw new Error(`BSON type of ${String(v)} is outside the model`);
}

/** Canonical BSON type order of the types in the model: String before Object. */
const TYPE_ORDER = { string: 2, object: 3 } as const;

export function compareBson(a: Value, b: Value): number {
  const ta = bsonType(a);
  const tb = bsonType(b);
  if (ta !== tb) return TYPE_ORDER[ta] - TYPE_ORDER[tb];
  if (ta === "string") return Buffer.compare(Buffer.from(a as string, "utf8"), Buffer.from(b as string, "utf8"));
  const ea = Object.entries(a as object);
  const eb = Object.entries(b as object);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
    const [ka, va] = ea[i];
    const [kb, vb] = eb[i];
    const t = TYPE_ORDER[bsonType(va)] - TYPE_ORDER[bsonType(vb)];
    if (t !== 0) return t;
    const k = Buffer.compare(Buffer.from(ka, "utf8"), Buffer.from(kb, "utf8"));
    if (k !== 0) return k;
    const v = compareBson(va, vb);
    if (v !== 0) return v;
  }
  return ea.length - eb.length;
}

function fieldOf(doc: Value, path: string): Value {
  let cur = doc;
  for (const p of path.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, Value>)[p];
  }
  return cur;
}

function sameType(a: Value, b: Value): boolean {
  return a !== undefined && bsonType(a) === bsonType(b);
}

function matchesCondition(value: Value, cond: Value): boolean {
  const isOperators = cond !== null && typeof cond === "object" && !Array.isArray(cond) && Object.keys(cond).length > 0 && Object.keys(cond).every((k) => k.startsWith("$"));
  if (!isOperators) return value !== undefined && sameType(value, cond) && compareBson(value, cond) === 0;
  for (const [op, operand] of Object.entries(cond as Record<string, Value>)) {
    switch (op) {
      case "$eq":
        if (!(sameType(value, operand) && compareBson(value, operand) === 0)) return false;
        break;
      case "$in":
        if (!(operand as Value[]).some((o) => sameType(value, o) && compareBson(value, o) === 0)) return false;
        break;
      case "$gte":
      case "$gt":
      case "$lte":
      case "$lt": {
        if (!sameType(value, operand)) return false;
        const c = compareBson(value, operand);
        const ok = op === "$gte" ? c >= 0 : op === "$gt" ? c > 0 : op === "$lte" ? c <= 0 : c < 0;
        if (!ok) return false;
        break;
      }
      default:
        throw new Error(`query operator ${op} is outside the model`);
    }
  }
  return true;
}

/** Whether `doc` matches the query `filter`. */
export function matchesQuery(filter: Record<string, Value>, doc: Value): boolean {
  for (const [key, cond] of Object.entries(filter)) {
    if (key === "$or") {
      const branches = cond as Array<Record<string, Value>>;
      if (branches.length === 0) throw new Error("$or needs at least one branch (the server rejects an empty one)");
      if (!branches.some((b) => matchesQuery(b, doc))) return false;
    } else if (key.startsWith("$")) {
      throw new Error(`top-level ${key} is outside the model`);
    } else if (!matchesCondition(fieldOf(doc, key), cond)) {
      return false;
    }
  }
  return true;
}
