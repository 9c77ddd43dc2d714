import { expect } from "vitest";
import type { PersistStore, TtlPutOperation } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { StoreHarness } from "../harness.js";
import { sleep, storeGroup } from "./support.js";

async function seedNamespaces(store: PersistStore, namespaces: string[][]): Promise<void> {
  await store.batch(namespaces.map((namespace) => ({ namespace, key: "k", value: { ns: namespace } })));
}

export function listNamespacesGroup(harness: StoreHarness): void {
  storeGroup("store: listNamespaces", harness, ({ store: fresh, root: newRoot, test, requires }) => {
    test("listNamespaces - a prefix returns every namespace under it, sorted", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(store, [[root, "b"], [root, "a", "x"], [root, "a"], [root, "c", "d", "e"]]);
      expect(await store.listNamespaces({ prefix: [root] })).toEqual([
        [root, "a"],
        [root, "a", "x"],
        [root, "b"],
        [root, "c", "d", "e"],
      ]);
      expect(await store.listNamespaces({ prefix: [root, "a"] })).toEqual([
        [root, "a"],
        [root, "a", "x"],
      ]);
    });

    test("listNamespaces - a prefix matches whole labels only", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(store, [[root, "a"], [root, "ab"], [root, "a-b"], [root, "a", "b"]]);
      expect(await store.listNamespaces({ prefix: [root, "a"] })).toEqual([
        [root, "a"],
        [root, "a", "b"],
      ]);
    });

    test("listNamespaces - output is sorted label by label in code-unit order", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(store, [[root, "b"], [root, "a-b"], [root, "a", "x"], [root, "B"], [root, "a"], [root, "a", "X"], [root, "é"], [root, "z"]]);
      expect(await store.listNamespaces({ prefix: [root] })).toEqual([
        [root, "B"],
        [root, "a"],
        [root, "a", "X"],
        [root, "a", "x"],
        [root, "a-b"],
        [root, "b"],
        [root, "z"],
        [root, "é"],
      ]);
    });

    test("listNamespaces - '*' in a prefix matches any one label", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(store, [[root, "a", "x"], [root, "b", "x", "deep"], [root, "c", "y"], [root, "x"], [root, "d"]]);
      expect(await store.listNamespaces({ prefix: [root, "*", "x"] })).toEqual([
        [root, "a", "x"],
        [root, "b", "x", "deep"],
      ]);
      expect(await store.listNamespaces({ prefix: [root, "*"] })).toHaveLength(5);
    });

    test("listNamespaces - a suffix matches the last labels", async () => {
      const store = await fresh();
      const root = newRoot();
      const end = uniqueId("end");
      await seedNamespaces(store, [[root, "a", end], [root, "b", end], [root, end, "c"], [root, "d"]]);
      expect(await store.listNamespaces({ suffix: [end] })).toEqual([
        [root, "a", end],
        [root, "b", end],
      ]);
      expect(await store.listNamespaces({ suffix: ["a", end] })).toEqual([[root, "a", end]]);
    });

    test("listNamespaces - '*' in a suffix matches any one label", async () => {
      const store = await fresh();
      const root = newRoot();
      const end = uniqueId("end");
      await seedNamespaces(store, [[root, "a", "v1", end], [root, "b", "v2", end], [root, "c", end], [root, end], [root, end, "x"]]);
      expect(await store.listNamespaces({ suffix: ["*", "*", end] })).toEqual([
        [root, "a", "v1", end],
        [root, "b", "v2", end],
        [root, "c", end],
      ]);
      expect(await store.listNamespaces({ prefix: [root], suffix: ["v1", "*"] })).toEqual([[root, "a", "v1", end]]);
    });

    test("listNamespaces - prefix and suffix must both match", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(store, [[root, "a", "v1"], [root, "a", "v2"], [root, "b", "v1"]]);
      expect(await store.listNamespaces({ prefix: [root, "a"], suffix: ["v1"] })).toEqual([[root, "a", "v1"]]);
    });

    test("listNamespaces - maxDepth truncates and de-duplicates (['r','a','b','c'] at depth 2 is ['r','a'])", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(store, [[root, "a", "b", "c"], [root, "a", "d"], [root, "a"], [root, "e", "f"]]);
      expect(await store.listNamespaces({ prefix: [root], maxDepth: 2 })).toEqual([
        [root, "a"],
        [root, "e"],
      ]);
    });

    test("listNamespaces - maxDepth leaves shorter namespaces whole", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(store, [[root, "a", "b", "c"], [root, "x"]]);
      expect(await store.listNamespaces({ prefix: [root], maxDepth: 3 })).toEqual([
        [root, "a", "b"],
        [root, "x"],
      ]);
    });

    test("listNamespaces - maxDepth applies after the suffix condition", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(store, [[root, "a", "b", "leaf"], [root, "c", "d", "other"]]);
      expect(await store.listNamespaces({ prefix: [root], suffix: ["leaf"], maxDepth: 2 })).toEqual([[root, "a"]]);
    });

    test("listNamespaces - limit and offset page through the sorted namespaces", async () => {
      const store = await fresh();
      const root = newRoot();
      const labels = ["a", "b", "c", "d", "e"];
      await seedNamespaces(store, labels.map((l) => [root, l]));
      expect(await store.listNamespaces({ prefix: [root], limit: 2 })).toEqual([
        [root, "a"],
        [root, "b"],
      ]);
      expect(await store.listNamespaces({ prefix: [root], limit: 2, offset: 2 })).toEqual([
        [root, "c"],
        [root, "d"],
      ]);
      expect(await store.listNamespaces({ prefix: [root], limit: 2, offset: 4 })).toEqual([[root, "e"]]);
      expect(await store.listNamespaces({ prefix: [root], offset: 5 })).toEqual([]);
    });

    test("listNamespaces - limit and offset count namespaces after maxDepth de-duplication", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(store, [[root, "a", "1"], [root, "a", "2"], [root, "a", "3"], [root, "b", "1"], [root, "c"]]);
      expect(await store.listNamespaces({ prefix: [root], maxDepth: 2, limit: 2, offset: 1 })).toEqual([
        [root, "b"],
        [root, "c"],
      ]);
    });

    test("listNamespaces - returns at most 100 namespaces by default", async () => {
      const store = await fresh();
      const root = newRoot();
      await seedNamespaces(
        store,
        Array.from({ length: 105 }, (_, i) => [root, `n${String(i).padStart(3, "0")}`]),
      );
      const listed = await store.listNamespaces({ prefix: [root] });
      expect(listed).toHaveLength(100);
      expect(listed[0]).toEqual([root, "n000"]);
      expect(listed[99]).toEqual([root, "n099"]);
    });

    test("listNamespaces - a namespace appears once however many items it holds", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.batch(Array.from({ length: 5 }, (_, i) => ({ namespace: [root, "a"], key: `k${i}`, value: {} })));
      expect(await store.listNamespaces({ prefix: [root] })).toEqual([[root, "a"]]);
    });

    test("listNamespaces - namespaces whose items were all deleted are not listed", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.batch([
        { namespace: [root, "gone"], key: "k1", value: {} },
        { namespace: [root, "gone"], key: "k2", value: {} },
        { namespace: [root, "kept"], key: "k1", value: {} },
        { namespace: [root, "kept"], key: "k2", value: {} },
      ]);
      await store.batch([
        { namespace: [root, "gone"], key: "k1", value: null },
        { namespace: [root, "gone"], key: "k2", value: null },
        { namespace: [root, "kept"], key: "k1", value: null },
      ]);
      expect(await store.listNamespaces({ prefix: [root] })).toEqual([[root, "kept"]]);
    });

    test(
      "listNamespaces - namespaces whose items all expired are not listed",
      async () => {
        const store = await fresh({ ttl: { refreshOnRead: false, sweepIntervalMinutes: 60 } });
        const root = newRoot();
        const ops: TtlPutOperation[] = [
          { namespace: [root, "expired"], key: "k", value: {}, ttl: 0.005 },
          { namespace: [root, "live"], key: "k", value: {} },
          { namespace: [root, "mixed"], key: "short", value: {}, ttl: 0.005 },
          { namespace: [root, "mixed"], key: "long", value: {} },
        ];
        await store.batch(ops);
        expect(await store.listNamespaces({ prefix: [root] })).toHaveLength(3);
        await sleep(450);
        expect(await store.listNamespaces({ prefix: [root] })).toEqual([
          [root, "live"],
          [root, "mixed"],
        ]);
      },
      { requires: [requires.ttl] },
    );
  });
}
