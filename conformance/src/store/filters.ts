import { expect } from "vitest";
import { InvalidFilterError, type PersistStore } from "@langgraph-persist/core";
import type { StoreHarness } from "../harness.js";
import { expectRejection, keysOf, sleep, sortedKeys, storeGroup } from "./support.js";

async function seed(store: PersistStore, ns: string[], items: Record<string, Record<string, unknown>>): Promise<void> {
  await store.batch(Object.entries(items).map(([key, value]) => ({ namespace: ns, key, value })));
}

async function matching(store: PersistStore, ns: string[], filter: Record<string, unknown>): Promise<string[]> {
  return sortedKeys(await store.search(ns, { filter, limit: 100 }));
}

const NUMBERS = { n2: { n: 2 }, n9: { n: 9 }, n10: { n: 10 }, n100: { n: 100 }, nNeg: { n: -5 }, nFloat: { n: 9.5 } };

export function filtersGroup(harness: StoreHarness): void {
  storeGroup("store: search filters", harness, ({ store: fresh, root: newRoot, test }) => {
    test("filters - $eq matches equal values only", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { a: { color: "red" }, b: { color: "blue" }, c: { color: "Red" } });
      expect(await matching(store, ns, { color: { $eq: "red" } })).toEqual(["a"]);
    });

    test("filters - a plain value means $eq", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { a: { color: "red", n: 1 }, b: { color: "blue", n: 1 }, c: { color: "red", n: 2 } });
      expect(await matching(store, ns, { color: "red" })).toEqual(["a", "c"]);
      expect(await matching(store, ns, { n: 1 })).toEqual(["a", "b"]);
    });

    test("filters - $ne matches every value but the given one", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { a: { color: "red" }, b: { color: "blue" }, c: { color: "green" } });
      expect(await matching(store, ns, { color: { $ne: "red" } })).toEqual(["b", "c"]);
    });

    test("filters - $gt compares numbers as numbers (10 > 9)", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, NUMBERS);
      expect(await matching(store, ns, { n: { $gt: 9 } })).toEqual(["n10", "n100", "nFloat"]);
    });

    test("filters - $gte compares numbers as numbers", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, NUMBERS);
      expect(await matching(store, ns, { n: { $gte: 10 } })).toEqual(["n10", "n100"]);
    });

    test("filters - $lt compares numbers as numbers (9 < 10)", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, NUMBERS);
      expect(await matching(store, ns, { n: { $lt: 10 } })).toEqual(["n2", "n9", "nFloat", "nNeg"]);
    });

    test("filters - $lte compares numbers as numbers", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, NUMBERS);
      expect(await matching(store, ns, { n: { $lte: 9 } })).toEqual(["n2", "n9", "nNeg"]);
    });

    test("filters - range operators compare strings as strings", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { s10: { s: "10" }, s9: { s: "9" }, apple: { s: "apple" }, banana: { s: "banana" } });
      expect(await matching(store, ns, { s: { $gt: "9" } })).toEqual(["apple", "banana"]);
      expect(await matching(store, ns, { s: { $lt: "9" } })).toEqual(["s10"]);
      expect(await matching(store, ns, { s: { $gte: "apple", $lte: "b" } })).toEqual(["apple"]);
    });

    test("filters - a number operand never matches a string field, and a string operand never matches a number", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { str9: { n: "9" }, str3: { n: "3" }, num9: { n: 9 }, num3: { n: 3 } });
      expect(await matching(store, ns, { n: { $gt: 5 } })).toEqual(["num9"]);
      expect(await matching(store, ns, { n: { $lt: 5 } })).toEqual(["num3"]);
      expect(await matching(store, ns, { n: { $gt: "5" } })).toEqual(["str9"]);
      expect(await matching(store, ns, { n: { $lte: "5" } })).toEqual(["str3"]);
    });

    test("filters - equality never matches across types (9 vs '9', true vs 'true', null vs 'null')", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, {
        num: { v: 9 },
        str: { v: "9" },
        boolTrue: { v: true },
        strTrue: { v: "true" },
        nul: { v: null },
        strNull: { v: "null" },
        one: { v: 1 },
      });
      expect(await matching(store, ns, { v: 9 })).toEqual(["num"]);
      expect(await matching(store, ns, { v: "9" })).toEqual(["str"]);
      expect(await matching(store, ns, { v: true })).toEqual(["boolTrue"]);
      expect(await matching(store, ns, { v: "true" })).toEqual(["strTrue"]);
      expect(await matching(store, ns, { v: "null" })).toEqual(["strNull"]);
      expect(await matching(store, ns, { v: { $in: [9, true] } })).toEqual(["boolTrue", "num"]);
    });

    test("filters - $in matches any of the listed values", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { a: { tag: "x" }, b: { tag: "y" }, c: { tag: "z" }, d: { other: 1 } });
      expect(await matching(store, ns, { tag: { $in: ["x", "z", "nope"] } })).toEqual(["a", "c"]);
      expect(await matching(store, ns, { tag: { $in: [] } })).toEqual([]);
    });

    test("filters - $nin matches values not listed, including a missing field", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { a: { tag: "x" }, b: { tag: "y" }, c: { tag: "z" }, d: { other: 1 } });
      expect(await matching(store, ns, { tag: { $nin: ["x", "z"] } })).toEqual(["b", "d"]);
      expect(await matching(store, ns, { tag: { $nin: [] } })).toEqual(["a", "b", "c", "d"]);
    });

    test("filters - $exists tests presence of a field, including one set to null", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { present: { f: 1 }, nul: { f: null }, falsy: { f: false }, absent: { g: 1 } });
      expect(await matching(store, ns, { f: { $exists: true } })).toEqual(["falsy", "nul", "present"]);
      expect(await matching(store, ns, { f: { $exists: false } })).toEqual(["absent"]);
    });

    test("filters - a dotted path reaches nested fields ('a.b.c')", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, {
        hit: { a: { b: { c: 5 } } },
        miss: { a: { b: { c: 6 } } },
        shallow: { a: { b: 5 } },
        literalDot: { "a.b.c": 5 },
      });
      expect(await matching(store, ns, { "a.b.c": 5 })).toEqual(["hit"]);
      expect(await matching(store, ns, { "a.b.c": { $gte: 5 } })).toEqual(["hit", "miss"]);
      expect(await matching(store, ns, { "a.b": 5 })).toEqual(["shallow"]);
    });

    test("filters - nested-object equality ignores key order and requires every key", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, {
        same: { profile: { name: "x", age: 3 } },
        reordered: { profile: { age: 3, name: "x" } },
        extra: { profile: { name: "x", age: 3, city: "y" } },
        fewer: { profile: { name: "x" } },
        different: { profile: { name: "x", age: 4 } },
      });
      expect(await matching(store, ns, { profile: { name: "x", age: 3 } })).toEqual(["reordered", "same"]);
      expect(await matching(store, ns, { profile: { $eq: { age: 3, name: "x" } } })).toEqual(["reordered", "same"]);
    });

    test("filters - array equality compares whole arrays in order", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { ab: { tags: ["a", "b"] }, ba: { tags: ["b", "a"] }, abc: { tags: ["a", "b", "c"] }, a: { tags: ["a"] } });
      expect(await matching(store, ns, { tags: ["a", "b"] })).toEqual(["ab"]);
      expect(await matching(store, ns, { tags: { $ne: ["a", "b"] } })).toEqual(["a", "abc", "ba"]);
    });

    test("filters - a scalar never matches an array that contains it", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { list: { tags: ["a", "b"] }, scalar: { tags: "a" } });
      expect(await matching(store, ns, { tags: "a" })).toEqual(["scalar"]);
      expect(await matching(store, ns, { tags: { $in: ["a"] } })).toEqual(["scalar"]);
    });

    test("filters - boolean equality distinguishes true, false and missing", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { t: { flag: true }, f: { flag: false }, zero: { flag: 0 }, missing: {} });
      expect(await matching(store, ns, { flag: true })).toEqual(["t"]);
      expect(await matching(store, ns, { flag: false })).toEqual(["f"]);
    });

    test("filters - null equality matches an explicit null, not a missing field", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { nul: { x: null }, missing: { y: 1 }, zero: { x: 0 }, empty: { x: "" } });
      expect(await matching(store, ns, { x: null })).toEqual(["nul"]);
      expect(await matching(store, ns, { x: { $ne: null } })).toEqual(["empty", "missing", "zero"]);
    });

    test("filters - several conditions are ANDed, across fields and on one field", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, {
        a: { kind: "x", n: 3 },
        b: { kind: "x", n: 7 },
        c: { kind: "y", n: 4 },
        d: { kind: "x", n: 5 },
      });
      expect(await matching(store, ns, { kind: "x", n: { $gte: 4 } })).toEqual(["b", "d"]);
      expect(await matching(store, ns, { n: { $gte: 4, $lt: 6 } })).toEqual(["c", "d"]);
      expect(await matching(store, ns, { kind: "x", n: { $gt: 3, $lt: 7 } })).toEqual(["d"]);
    });

    test("filters - a missing field matches only $ne, $nin and $exists: false", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await seed(store, ns, { has: { f: 1 }, missing: { g: 1 } });
      expect(await matching(store, ns, { f: { $eq: 2 } })).toEqual([]);
      expect(await matching(store, ns, { f: { $ne: 2 } })).toEqual(["has", "missing"]);
      expect(await matching(store, ns, { f: { $gt: 0 } })).toEqual(["has"]);
      expect(await matching(store, ns, { f: { $gte: 0 } })).toEqual(["has"]);
      expect(await matching(store, ns, { f: { $lt: 2 } })).toEqual(["has"]);
      expect(await matching(store, ns, { f: { $lte: 2 } })).toEqual(["has"]);
      expect(await matching(store, ns, { f: { $in: [1, 2] } })).toEqual(["has"]);
      expect(await matching(store, ns, { f: { $nin: [2] } })).toEqual(["has", "missing"]);
      expect(await matching(store, ns, { f: { $exists: false } })).toEqual(["missing"]);
      expect(await matching(store, ns, { "f.deeper": { $exists: false } })).toEqual(["has", "missing"]);
    });

    test("filters - the filter applies before limit and offset", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.batch(Array.from({ length: 25 }, (_, i) => ({ namespace: ns, key: `other${i}`, value: { match: false, i } })));
      // Distinct updatedAt values give the matching items a definite order.
      for (let i = 0; i < 5; i++) {
        if (i > 0) await sleep(5);
        await store.put(ns, `hit${i}`, { match: true, i });
      }
      expect(keysOf(await store.search(ns, { filter: { match: true }, limit: 3 }))).toEqual(["hit4", "hit3", "hit2"]);
      expect(keysOf(await store.search(ns, { filter: { match: true }, limit: 3, offset: 3 }))).toEqual(["hit1", "hit0"]);
      expect(await store.search(ns, { filter: { match: true }, offset: 5 })).toEqual([]);
    });

    test("filters - an unknown operator is rejected with InvalidFilterError", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { n: 1 });
      await expectRejection(() => store.search(ns, { filter: { n: { $regex: "1" } } }), InvalidFilterError);
      await expectRejection(() => store.search(ns, { filter: { n: { $gt: 0, $between: [0, 2] } } }), InvalidFilterError);
    });

    test("filters - a malformed operand is rejected with InvalidFilterError ($in without an array)", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { n: 1 });
      await expectRejection(() => store.search(ns, { filter: { n: { $in: 1 } } }), InvalidFilterError);
      await expectRejection(() => store.search(ns, { filter: { n: { $nin: "1" } } }), InvalidFilterError);
      await expectRejection(() => store.search(ns, { filter: { n: { $exists: "yes" } } }), InvalidFilterError);
      await expectRejection(() => store.search(ns, { filter: { n: { $gt: { a: 1 } } } }), InvalidFilterError);
    });
  });
}
