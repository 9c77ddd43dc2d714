import { expect } from "vitest";
import type { StoreHarness } from "../harness.js";
import { keysOf, putInOrder, sleep, sortedKeys, storeGroup } from "./support.js";

export function searchGroup(harness: StoreHarness): void {
  storeGroup("store: search", harness, ({ store: fresh, root: newRoot, test }) => {
    test("search - a prefix matches whole labels only: ['a'] never matches ['ab']", async () => {
      const store = await fresh();
      const root = newRoot();
      for (const label of ["a", "ab", "a-b", "a/", "a0", "A"]) await store.put([root, label], label, { label });
      expect(keysOf(await store.search([root, "a"]))).toEqual(["a"]);
      expect(keysOf(await store.search([root, "ab"]))).toEqual(["ab"]);
    });

    test("search - a prefix matches its own namespace and every namespace below it", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.batch([
        { namespace: [root, "a"], key: "self", value: {} },
        { namespace: [root, "a", "b"], key: "child", value: {} },
        { namespace: [root, "a", "b", "c"], key: "grandchild", value: {} },
        { namespace: [root, "b"], key: "sibling", value: {} },
        { namespace: [root], key: "parent", value: {} },
      ]);
      expect(sortedKeys(await store.search([root, "a"]))).toEqual(["child", "grandchild", "self"]);
      expect(sortedKeys(await store.search([root, "a", "b"]))).toEqual(["child", "grandchild"]);
      expect(sortedKeys(await store.search([root]))).toEqual(["child", "grandchild", "parent", "self", "sibling"]);
    });

    test("search - results carry namespace, key, value, createdAt and updatedAt", async () => {
      const store = await fresh();
      const ns = [newRoot(), "x"];
      await store.put(ns, "k", { v: { deep: [1] } });
      const [item] = await store.search(ns);
      expect(item.namespace).toEqual(ns);
      expect(item.key).toBe("k");
      expect(item.value).toEqual({ v: { deep: [1] } });
      expect(item.createdAt).toBeInstanceOf(Date);
      expect(item.updatedAt).toBeInstanceOf(Date);
      expect(item.score).toBeUndefined();
    });

    test("search - an empty prefix [] searches every namespace", async () => {
      const store = await fresh();
      const marker = newRoot();
      const rootA = newRoot();
      const rootB = newRoot();
      await store.put([rootA], "one", { marker });
      await store.put([rootB, "deep", "er"], "two", { marker });
      await store.put([rootB], "unmarked", { marker: "other" });
      const found = await store.search([], { filter: { marker } });
      expect(sortedKeys(found)).toEqual(["one", "two"]);
      expect(found.find((i) => i.key === "two")?.namespace).toEqual([rootB, "deep", "er"]);
    });

    test("search - returns at most 10 items by default", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.batch(Array.from({ length: 12 }, (_, i) => ({ namespace: ns, key: `k${i}`, value: { i } })));
      expect(await store.search(ns)).toHaveLength(10);
      expect(await store.search(ns, { limit: 20 })).toHaveLength(12);
    });

    test("search - without a query, results are ordered by updatedAt, newest first", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await putInOrder(store, ns, [
        ["first", { v: 1 }],
        ["second", { v: 2 }],
        ["third", { v: 3 }],
      ]);
      expect(keysOf(await store.search(ns))).toEqual(["third", "second", "first"]);
      await sleep(5);
      await store.put(ns, "first", { v: 4 });
      expect(keysOf(await store.search(ns))).toEqual(["first", "third", "second"]);
    });

    test("search - limit and offset page through the ordered results", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await putInOrder(
        store,
        ns,
        ["k0", "k1", "k2", "k3", "k4"].map((k) => [k, { k }]),
      );
      expect(keysOf(await store.search(ns, { limit: 2 }))).toEqual(["k4", "k3"]);
      expect(keysOf(await store.search(ns, { limit: 2, offset: 2 }))).toEqual(["k2", "k1"]);
      expect(keysOf(await store.search(ns, { limit: 2, offset: 4 }))).toEqual(["k0"]);
      expect(keysOf(await store.search(ns, { offset: 3 }))).toEqual(["k1", "k0"]);
    });

    test("search - an offset past the end returns []", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.batch([
        { namespace: ns, key: "a", value: {} },
        { namespace: ns, key: "b", value: {} },
      ]);
      expect(await store.search(ns, { offset: 2 })).toEqual([]);
      expect(await store.search(ns, { offset: 50 })).toEqual([]);
    });

    test("search - a prefix with no items returns []", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.put([root, "a"], "k", {});
      expect(await store.search([root, "b"])).toEqual([]);
      expect(await store.search([root, "a", "deeper"])).toEqual([]);
    });
  });
}
