import { expect } from "vitest";
import type { StoreHarness } from "../harness.js";
import { sleep, storeGroup } from "./support.js";

export function itemsGroup(harness: StoreHarness): void {
  storeGroup("store: get/put/delete", harness, ({ store: fresh, root: newRoot, test }) => {
    test("get - returns null for a key that was never written", async () => {
      const store = await fresh();
      expect(await store.get([newRoot()], "missing")).toBeNull();
    });

    test("put/get - returns the item with its namespace, key and value", async () => {
      const store = await fresh();
      const ns = [newRoot(), "docs"];
      await store.put(ns, "k", { title: "hello" });
      const item = await store.get(ns, "k");
      expect(item).not.toBeNull();
      expect(item!.namespace).toEqual(ns);
      expect(item!.key).toBe("k");
      expect(item!.value).toEqual({ title: "hello" });
    });

    test("put/get - createdAt and updatedAt are Dates near the time of the put", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const before = Date.now();
      await store.put(ns, "k", { v: 1 });
      const after = Date.now();
      const item = (await store.get(ns, "k"))!;
      expect(item.createdAt).toBeInstanceOf(Date);
      expect(item.updatedAt).toBeInstanceOf(Date);
      // Generous bounds: the database clock may differ slightly from the client's.
      for (const d of [item.createdAt, item.updatedAt]) {
        expect(d.getTime()).toBeGreaterThan(before - 60_000);
        expect(d.getTime()).toBeLessThan(after + 60_000);
      }
    });

    test("put - an update keeps createdAt and moves updatedAt forward", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { v: 1 });
      const first = (await store.get(ns, "k"))!;
      await sleep(20);
      await store.put(ns, "k", { v: 2 });
      const second = (await store.get(ns, "k"))!;
      expect(second.value).toEqual({ v: 2 });
      expect(second.createdAt.getTime()).toBe(first.createdAt.getTime());
      expect(second.updatedAt.getTime()).toBeGreaterThan(first.updatedAt.getTime());
    });

    test("put - replaces the whole value (fields absent from the new value are gone)", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { a: 1, b: { c: 2 } });
      await store.put(ns, "k", { b: { d: 3 } });
      expect((await store.get(ns, "k"))?.value).toEqual({ b: { d: 3 } });
    });

    test("put - a re-put after a delete starts a new createdAt", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { v: 1 });
      const first = (await store.get(ns, "k"))!;
      await store.delete(ns, "k");
      await sleep(20);
      await store.put(ns, "k", { v: 2 });
      const second = (await store.get(ns, "k"))!;
      expect(second.createdAt.getTime()).toBeGreaterThan(first.createdAt.getTime());
    });

    test("delete - removes the item from get and search", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { v: 1 });
      await store.put(ns, "keep", { v: 2 });
      await store.delete(ns, "k");
      expect(await store.get(ns, "k")).toBeNull();
      expect((await store.search(ns)).map((i) => i.key)).toEqual(["keep"]);
    });

    test("delete - of a key that does not exist resolves", async () => {
      const store = await fresh();
      await expect(store.delete([newRoot()], "missing")).resolves.toBeUndefined();
    });

    test("put - a value mutated by the caller after put does not change the stored item", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const value = { list: [1, 2], nested: { a: 1 } };
      await store.put(ns, "k", value);
      value.list.push(3);
      value.nested.a = 99;
      expect((await store.get(ns, "k"))?.value).toEqual({ list: [1, 2], nested: { a: 1 } });
    });

    test("get - mutating a returned item does not change the stored item", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { list: [1], nested: { a: 1 } });
      const got = (await store.get(ns, "k"))!;
      (got.value.list as number[]).push(2);
      got.value.nested.a = 99;
      got.namespace.push("changed");
      const again = (await store.get(ns, "k"))!;
      expect(again.value).toEqual({ list: [1], nested: { a: 1 } });
      expect(again.namespace).toEqual(ns);
    });

    test("values - nested objects and arrays round-trip", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const value = {
        profile: { name: "Ada", langs: ["en", "fr"], address: { city: "London", geo: [51.5, -0.12] } },
        matrix: [
          [1, 2],
          [3, [4, { deep: true }]],
        ],
        emptyObject: {},
        emptyArray: [],
      };
      await store.put(ns, "k", value);
      expect((await store.get(ns, "k"))?.value).toEqual(value);
    });

    test("values - Unicode strings round-trip unchanged (no normalisation)", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const value = { cjk: "日本語のテキスト", emoji: "🎉👩‍👩‍👧", rtl: "مرحبا", nfc: "é", nfd: "e\u0301", astral: "𝔘𝔫𝔦𝔠𝔬𝔡𝔢" };
      await store.put(ns, "k", value);
      const got = (await store.get(ns, "k"))!.value;
      expect(got).toEqual(value);
      expect(got.nfd).toHaveLength(2);
    });

    test("values - numbers, booleans and null round-trip with their types", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const value = {
        zero: 0,
        int: 42,
        negative: -7,
        float: 3.141592653589793,
        tiny: 5e-324,
        big: 1.7976931348623157e308,
        maxSafe: Number.MAX_SAFE_INTEGER,
        yes: true,
        no: false,
        nothing: null,
        numericString: "10",
        list: [0, false, null, ""],
      };
      await store.put(ns, "k", value);
      expect((await store.get(ns, "k"))?.value).toEqual(value);
    });

    test("values - strings containing \\u0000 and control characters round-trip", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const value = { nul: "a\u0000b", controls: "\t\n\r\u0001\u001f\u007f", quotes: `'"\`\\`, [`key\u0000with nul`]: 1 };
      await store.put(ns, "k", value);
      expect((await store.get(ns, "k"))?.value).toEqual(value);
    });

    test("values - object keys containing '.', '$', spaces and Unicode round-trip", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const value = { "a.b": 1, $dollar: 2, "with space": 3, "ключ": 4, "": 5, nested: { "$op": { "x.y": [1] } } };
      await store.put(ns, "k", value);
      expect((await store.get(ns, "k"))?.value).toEqual(value);
    });

    test("values - a value of about 1 MB round-trips", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const chunk = "0123456789abcdef".repeat(64); // 1 KiB
      const value = { parts: Array.from({ length: 1024 }, (_, i) => `${i}:${chunk}`) };
      await store.put(ns, "k", value);
      const got = (await store.get(ns, "k"))!.value;
      expect(got.parts).toHaveLength(1024);
      expect(got).toEqual(value);
    });

    test("keys - keys containing '.', ':', '/', '%', '*', spaces and Unicode are distinct literals", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const keys = ["a.b", "a:b", "a/b", "a%", "a_", "a*", "a b", "ключ", "a", "ab", "a\\b"];
      await store.batch(keys.map((key) => ({ namespace: ns, key, value: { key } })));
      for (const key of keys) expect((await store.get(ns, key))?.value).toEqual({ key });
      expect((await store.search(ns, { limit: 100 })).map((i) => i.key).sort()).toEqual([...keys].sort());
    });
  });
}
