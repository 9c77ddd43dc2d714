import { describe, expect, it } from "vitest";
import { FILTER_OPERATORS, matchesConditions, parseFilter, type FilterCondition } from "@langgraph-persist/core";
import { equalsExpr, pathExpr, translateFilter } from "../src/query.js";
import { MISSING, evaluate } from "./support/expr.js";

/** Runs a translated filter's `$expr` on an item document with this value. */
function run(conditions: FilterCondition[], value: Record<string, unknown>): boolean {
  const { match } = translateFilter(conditions);
  if (!("$expr" in match)) return true;
  return evaluate(match.$expr, { value }) === true;
}

const VALUES: Array<Record<string, unknown>> = [
  {},
  { a: 1 },
  { a: 1.5 },
  { a: -0 },
  { a: 0 },
  { a: 1e300 },
  { a: "1" },
  { a: "abc" },
  { a: "ABC" },
  { a: "é" },
  { a: "\u{1F600}" },
  { a: "\uFF5E" },
  { a: "$x" },
  { a: true },
  { a: false },
  { a: null },
  { a: [1, 2] },
  { a: [2, 1] },
  { a: [1] },
  { a: [[1]] },
  { a: ["abc", 1] },
  { a: { b: 1, c: 2 } },
  { a: { c: 2, b: 1 } },
  { a: { b: 1 } },
  { a: { b: "1" } },
  { a: { b: null } },
  { a: { b: [1, { d: "x" }] } },
  { a: [{ b: 1 }] },
  { a: { "$k": 1 } },
  { "a.b": 5 },
  { a: { b: { c: [1, { d: "x" }] } } },
  { a: { "0": "zero" } },
  { a: ["zero"] },
];

const OPERANDS: unknown[] = [1, 1.5, 0, -0, "1", "abc", "ABC", "\uFF5E", "\u{1F600}", "$x", true, false, null, [1, 2], [2, 1], [1], [[1]], { b: 1, c: 2 }, { c: 2, b: 1 }, { b: 1 }, { "$k": 1 }, ["abc", 1], [], [null], [{ b: 1 }]];

const PATHS = ["a", "a.b", "a.0", "a.b.1.d", "a.b.c.1.d", "a.1", "a.b.c"];

/** Every filter the core parser accepts over these paths and operands. */
function* filters(): Generator<Record<string, unknown>> {
  for (const path of PATHS) {
    for (const operand of OPERANDS) {
      for (const op of [undefined, ...FILTER_OPERATORS]) {
        const spec = op === undefined ? { [path]: operand } : { [path]: { [op]: op === "$exists" ? operand === true || operand === false ? operand : true : op === "$in" || op === "$nin" ? (Array.isArray(operand) ? operand : [operand]) : operand } };
        try {
          parseFilter(spec);
        } catch {
          continue;
        }
        yield spec;
      }
    }
  }
}

describe("translateFilter — store filters as one $expr over the value", () => {
  it("no conditions: an empty match that is exact", () => {
    expect(translateFilter([])).toEqual({ match: {}, exact: true });
  });

  it("one condition: $expr binding the value at the path once, fields read with $getField + $literal", () => {
    const { match, exact } = translateFilter(parseFilter({ "profile.age": { $gte: 18 } }));
    expect(exact).toBe(true);
    expect(Object.keys(match)).toEqual(["$expr"]);
    const json = JSON.stringify(match);
    expect(json).toContain('"$getField":{"field":{"$literal":"profile"}');
    expect(json).toContain('"$getField":{"field":{"$literal":"age"}');
    // Numbers compare as numbers only: a $isNumber guard precedes the comparison.
    expect(match.$expr.$let.in).toEqual({ $and: [{ $isNumber: "$$a" }, { $gte: ["$$a", 18] }] });
  });

  it("string ranges are guarded by $type string; string operands are $literal (a leading $ stays a string)", () => {
    const { match } = translateFilter(parseFilter({ name: { $lt: "$m" } }));
    expect(match.$expr.$let.in).toEqual({ $and: [{ $eq: [{ $type: "$$a" }, "string"] }, { $lt: ["$$a", { $literal: "$m" }] }] });
  });

  it("several conditions are ANDed", () => {
    const { match } = translateFilter(parseFilter({ a: 1, b: { $exists: false } }));
    expect(match.$expr.$and).toHaveLength(2);
  });

  it("object equality is key-order-insensitive and array equality is positional", () => {
    const expr = equalsExpr("$$x", { b: 1, c: [1, "2"] });
    expect(evaluate(expr, {}, { x: { c: [1, "2"], b: 1 } })).toBe(true);
    expect(evaluate(expr, {}, { x: { c: ["2", 1], b: 1 } })).toBe(false);
    expect(evaluate(expr, {}, { x: { c: [1, "2"], b: 1, d: 0 } })).toBe(false);
    expect(evaluate(expr, {}, { x: { c: [1, 2], b: 1 } })).toBe(false);
  });

  it("paths never reach into array elements by name (unlike MongoDB dot paths), only by index", () => {
    expect(evaluate(pathExpr(["a", "b"]), { value: { a: [{ b: 1 }] } })).toBe(MISSING);
    expect(evaluate(pathExpr(["a", "0", "b"]), { value: { a: [{ b: 1 }] } })).toBe(1);
    expect(evaluate(pathExpr(["a", "0"]), { value: { a: { "0": "zero" } } })).toBe("zero");
    expect(evaluate(pathExpr(["a", "7"]), { value: { a: [1] } })).toBe(MISSING);
    expect(evaluate(pathExpr(["a", "99999999999"]), { value: { a: [1] } })).toBe(MISSING);
  });

  it("string ranges whose operand has code units at or above U+D800 are widened (UTF-16 vs code point order)", () => {
    const { exact } = translateFilter(parseFilter({ a: { $gt: "\uFF5E" } }));
    expect(exact).toBe(false);
    expect(translateFilter(parseFilter({ a: { $gt: "é" } })).exact).toBe(true);
  });

  it("a Date operand cannot be expressed: widened and flagged inexact", () => {
    const t = translateFilter([{ path: ["a"], op: "$eq", value: new Date(0) }]);
    expect(t.exact).toBe(false);
  });

  it("agrees with core matchesConditions on every value × filter of the corpus (exact) or is a superset (widened)", () => {
    let checked = 0;
    let widened = 0;
    for (const spec of filters()) {
      const conditions = parseFilter(spec);
      const { exact } = translateFilter(conditions);
      if (!exact) widened++;
      for (const value of VALUES) {
        const want = matchesConditions(value, conditions);
        const got = run(conditions, value);
        if (exact) expect(got, `${JSON.stringify(spec)} on ${JSON.stringify(value)}`).toBe(want);
        else if (want) expect(got, `superset: ${JSON.stringify(spec)} on ${JSON.stringify(value)}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20_000);
    expect(widened).toBeGreaterThan(0);
  });

  it("numbers never equal their string form and missing fields only satisfy $ne/$nin/$exists:false", () => {
    expect(run(parseFilter({ a: 1 }), { a: "1" })).toBe(false);
    expect(run(parseFilter({ a: { $gt: 0 } }), { a: "1" })).toBe(false);
    expect(run(parseFilter({ a: { $ne: 1 } }), {})).toBe(true);
    expect(run(parseFilter({ a: { $nin: [1] } }), {})).toBe(true);
    expect(run(parseFilter({ a: { $exists: false } }), {})).toBe(true);
    expect(run(parseFilter({ a: { $in: [null] } }), {})).toBe(false);
    expect(run(parseFilter({ a: null }), {})).toBe(false);
    expect(run(parseFilter({ a: null }), { a: null })).toBe(true);
  });
});
