import { describe, expect, it } from "vitest";
import { InvalidFilterError, matchesFilter, metadataMatches, parseFilter } from "../src/index.js";

const v = { n: 9, s: "9", name: "Bob", tags: ["a", "b"], profile: { age: 30, city: "Paris" }, flag: false, nothing: null };

describe("filter evaluator", () => {
  it("compares numbers as numbers and strings as strings, never across types", () => {
    expect(matchesFilter(v, { n: { $lt: 10 } })).toBe(true);
    expect(matchesFilter(v, { s: { $lt: "10" } })).toBe(false);
    expect(matchesFilter(v, { s: { $gt: 5 } })).toBe(false);
    expect(matchesFilter(v, { n: { $gte: 9, $lte: 9 } })).toBe(true);
    expect(matchesFilter(v, { name: { $gt: "Alice" } })).toBe(true);
  });

  it("supports equality, nested objects, arrays, dotted paths and $in/$nin/$exists/$ne", () => {
    expect(matchesFilter(v, { name: "Bob" })).toBe(true);
    expect(matchesFilter(v, { profile: { city: "Paris", age: 30 } })).toBe(true);
    expect(matchesFilter(v, { profile: { city: "Paris" } })).toBe(false);
    expect(matchesFilter(v, { "profile.age": { $gt: 18 } })).toBe(true);
    expect(matchesFilter(v, { tags: ["a", "b"] })).toBe(true);
    expect(matchesFilter(v, { "tags.1": "b" })).toBe(true);
    expect(matchesFilter(v, { name: { $in: ["Ann", "Bob"] } })).toBe(true);
    expect(matchesFilter(v, { name: { $nin: ["Bob"] } })).toBe(false);
    expect(matchesFilter(v, { missing: { $exists: false } })).toBe(true);
    expect(matchesFilter(v, { nothing: { $exists: true } })).toBe(true);
    expect(matchesFilter(v, { nothing: null, flag: false })).toBe(true);
    expect(matchesFilter(v, { missing: { $ne: 1 } })).toBe(true);
    expect(matchesFilter(v, { missing: { $gt: 1 } })).toBe(false);
    expect(matchesFilter(v, { missing: 1 })).toBe(false);
  });

  it("rejects unknown operators and bad operands with InvalidFilterError", () => {
    expect(() => parseFilter({ a: { $regex: "x" } })).toThrow(InvalidFilterError);
    expect(() => parseFilter({ a: { $in: "x" } })).toThrow(InvalidFilterError);
    expect(() => parseFilter({ a: { $gt: {} } })).toThrow(InvalidFilterError);
    expect(() => parseFilter({ a: { $exists: 1 } })).toThrow(InvalidFilterError);
    expect(() => parseFilter({ $or: [] })).toThrow(InvalidFilterError);
    expect(() => parseFilter({ "a..b": 1 })).toThrow(InvalidFilterError);
  });

  it("metadata filters are deep equality on top-level keys", () => {
    expect(metadataMatches({ source: "loop", step: 1, nested: { a: [1] } }, { step: 1, nested: { a: [1] } })).toBe(true);
    expect(metadataMatches({ step: 1 }, { step: "1" })).toBe(false);
    expect(metadataMatches({}, { step: 1 })).toBe(false);
  });
});
