import { expect } from "vitest";
import { InvalidArgumentError, MAX_VALUE_DEPTH, SerializationError } from "@langgraph-persist/core";
import type { StoreHarness } from "../harness.js";
import { expectRejection, storeGroup } from "./support.js";

const asValue = (v: unknown) => v as Record<string, unknown>;

/** Values JSON cannot hold, each refused with `SerializationError` on every backend. */
function unstorableValues(): Array<[what: string, value: Record<string, unknown>]> {
  const circular: Record<string, unknown> = { name: "loop" };
  circular.self = circular;
  const viaArray: Record<string, unknown> = { list: [] };
  (viaArray.list as unknown[]).push({ back: viaArray });
  let deep: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < 10_000; i++) deep = { next: deep };
  return [
    ["a BigInt", { n: 10n }],
    ["a nested BigInt", { a: { b: [1, 2n] } }],
    ["an object that contains itself", circular],
    ["a cycle through an array", viaArray],
    ["10,000 levels of nesting", deep],
    ["a function", { f: () => 1 }],
    ["a symbol", { s: Symbol("x") }],
    ["a string with an unpaired high surrogate", { s: "a\uD800b" }],
    ["a string with an unpaired low surrogate", { s: "\uDC00" }],
    ["a key with an unpaired surrogate", { ["k\uD83D"]: 1 }],
    ["an unpaired surrogate in a nested array", { a: [{ s: "ok" }, "\uDBFF"] }],
  ];
}

/**
 * Store values are JSON on every backend: what `JSON.stringify` writes is stored and read back (a Date
 * as its ISO string, `undefined` properties left out), values JSON cannot hold are refused with
 * `SerializationError` before anything is written, and item keys cannot contain NUL.
 */
export function valuesGroup(harness: StoreHarness): void {
  storeGroup("store: values", harness, ({ store: fresh, root: newRoot, test }) => {
    test("values - a value JSON cannot hold (BigInt, cycle, 10k-deep nesting, function, symbol, unpaired surrogate) rejects with SerializationError, writing nothing", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { v: 1 });
      for (const [what, bad] of unstorableValues()) {
        const viaPut = await expectRejection(() => store.put(ns, "k", bad), SerializationError).catch((err: Error) => {
          throw new Error(`put of ${what}: ${err.message}`);
        });
        expect(viaPut.message, `put of ${what} names the item`).toContain('"k"');
        await expectRejection(
          () => store.batch([
            { namespace: ns, key: "before", value: { ok: true } },
            { namespace: ns, key: "k", value: bad },
            { namespace: ns, key: "after", value: { ok: true } },
          ]),
          SerializationError,
        ).catch((err: Error) => {
          throw new Error(`batch with ${what}: ${err.message}`);
        });
      }
      expect((await store.get(ns, "k"))?.value, "the stored value is unchanged").toEqual({ v: 1 });
      expect((await store.search(ns)).map((i) => i.key), "no put of a rejected batch was written").toEqual(["k"]);
    });

    test("values - nesting up to MAX_VALUE_DEPTH objects and arrays round-trips on every backend; one level more is refused", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      // `levels` nested containers, objects and arrays alternating (both count), an object outermost.
      const nest = (levels: number): Record<string, unknown> => {
        let v: unknown = "leaf";
        for (let i = levels - 1; i >= 0; i--) v = i % 2 === 0 ? { next: v } : [v];
        return v as Record<string, unknown>;
      };
      const depthOf = (v: unknown): number =>
        v !== null && typeof v === "object" ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf)) : 0;
      const atLimit = nest(MAX_VALUE_DEPTH);
      expect(depthOf(atLimit)).toBe(MAX_VALUE_DEPTH);
      await store.put(ns, "deep", atLimit);
      expect((await store.get(ns, "deep"))?.value).toEqual(atLimit);
      expect((await store.search(ns)).map((i) => i.key)).toEqual(["deep"]);
      await expectRejection(() => store.put(ns, "deeper", { one: atLimit }), SerializationError);
      expect(await store.get(ns, "deeper")).toBeNull();
    });

    test("values - a put superseded in the same batch is checked too", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await expectRejection(
        () => store.batch([
          { namespace: ns, key: "k", value: { n: 1n } as Record<string, unknown> },
          { namespace: ns, key: "k", value: { n: 1 } },
        ]),
        SerializationError,
      );
      expect(await store.get(ns, "k")).toBeNull();
    });

    test("values - read back with JSON semantics on every backend: Date as ISO string, undefined dropped, NaN and Infinity as null", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      class Point {
        constructor(
          readonly x: number,
          readonly y: number,
        ) {}
        get sum(): number {
          return this.x + this.y;
        }
      }
      const at = new Date("2024-02-29T12:34:56.789Z");
      const value = {
        at,
        nested: { at, list: [at] },
        gone: undefined,
        list: [1, undefined, 2],
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        negativeZero: -0,
        point: new Point(1, 2),
        custom: { toJSON: () => ({ replaced: true }) },
        map: new Map([["a", 1]]),
      };
      const expected = {
        at: "2024-02-29T12:34:56.789Z",
        nested: { at: "2024-02-29T12:34:56.789Z", list: ["2024-02-29T12:34:56.789Z"] },
        list: [1, null, 2],
        nan: null,
        inf: null,
        negativeZero: 0,
        point: { x: 1, y: 2 },
        custom: { replaced: true },
        map: {},
      };
      await store.put(ns, "k", value);
      const item = await store.get(ns, "k");
      expect(item?.value).toStrictEqual(expected);
      expect(Object.is(item?.value.negativeZero, 0)).toBe(true);
      expect("gone" in item!.value).toBe(false);
      const [found] = await store.search(ns);
      expect(found.value).toStrictEqual(expected);

      // A flat value (only strings, numbers, booleans and null) follows the same rules.
      await store.put(ns, "flat", { s: "x", n: -0, nan: Number.NaN, u: undefined, b: false, z: null });
      expect((await store.get(ns, "flat"))?.value).toStrictEqual({ s: "x", n: 0, nan: null, b: false, z: null });
    });

    test("values - the stored value is a copy: changing the object after put or the item after get changes nothing stored", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const value = { list: [1, 2], nested: { a: "x" }, flat: "y" };
      await store.put(ns, "k", value);
      value.list.push(3);
      value.nested.a = "changed";
      const got = await store.get(ns, "k");
      expect(got?.value).toEqual({ list: [1, 2], nested: { a: "x" }, flat: "y" });
      (got!.value.nested as Record<string, unknown>).a = "changed again";
      expect((await store.get(ns, "k"))?.value).toEqual({ list: [1, 2], nested: { a: "x" }, flat: "y" });
    });

    test("values - well-formed Unicode (surrogate pairs, astral characters) is stored as given", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const value = { emoji: "😀👩‍👩‍👧‍👦", pair: "\uD83D\uDE00", ["ключ 🔑"]: ["𝄞", { "𝒳": "\uDBFF\uDFFF" }], escaped: "\\ud800 is text here" };
      await store.put(ns, "k", value);
      expect((await store.get(ns, "k"))?.value).toEqual(value);
    });

    test("keys - a key containing NUL is refused with InvalidArgumentError by put, get, delete and batch, writing nothing", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const key = "a\u0000b";
      await expectRejection(() => store.put(ns, key, { v: 1 }), InvalidArgumentError);
      await expectRejection(() => store.get(ns, key), InvalidArgumentError);
      await expectRejection(() => store.delete(ns, key), InvalidArgumentError);
      await expectRejection(() => store.batch([{ namespace: ns, key: "ok", value: { v: 1 } }, { namespace: ns, key, value: { v: 2 } }]), InvalidArgumentError);
      await expectRejection(() => store.batch([{ namespace: ns, key }]), InvalidArgumentError);
      await expectRejection(() => store.put(ns, "\u0000", asValue({ v: 1 })), InvalidArgumentError);
      expect(await store.search(ns)).toEqual([]);
    });

    test("values - an item written by batch reads back as its JSON through get and batch", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const value = { at: new Date(0), nested: { deep: [[[{ n: 1.5 }]]] }, text: "NUL \u0000 inside" };
      await store.batch([{ namespace: ns, key: "k", value }]);
      const expected = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
      expect((await store.get(ns, "k"))?.value).toStrictEqual(expected);
      expect(((await store.batch([{ namespace: ns, key: "k" }])) as Array<{ value: unknown } | null>)[0]?.value).toStrictEqual(expected);
    });
  });
}
