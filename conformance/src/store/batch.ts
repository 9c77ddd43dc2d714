import { expect } from "vitest";
import type { Operation, PutOperation, SearchOperation } from "@langchain/langgraph-checkpoint";
import type { StoreHarness } from "../harness.js";
import { storeGroup } from "./support.js";

export function batchGroup(harness: StoreHarness): void {
  storeGroup("store: batch", harness, ({ store: fresh, root: newRoot, test }) => {
    test("batch - returns one result per operation, in input order, for mixed get/search/put/listNamespaces", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.put([root, "a"], "k1", { n: 1 });
      await store.put([root, "b"], "k2", { n: 2 });
      const results = await store.batch([
        { namespace: [root, "b"], key: "k2" },
        { namespacePrefix: [root, "a"], limit: 10, offset: 0 },
        { namespace: [root, "c"], key: "k3", value: { n: 3 } },
        { matchConditions: [{ matchType: "prefix", path: [root] }], limit: 100, offset: 0 },
        { namespace: [root, "a"], key: "missing" },
        { namespace: [root, "a"], key: "k1" },
      ] as Operation[]);
      expect(results).toHaveLength(6);
      expect((results[0] as { value: unknown }).value).toEqual({ n: 2 });
      expect((results[1] as Array<{ key: string }>).map((i) => i.key)).toEqual(["k1"]);
      expect(results[2]).toBeUndefined();
      expect(results[3]).toEqual([
        [root, "a"],
        [root, "b"],
      ]);
      expect(results[4]).toBeNull();
      expect((results[5] as { value: unknown }).value).toEqual({ n: 1 });
    });

    test("batch - a get sees the value from before a put of the same key in the same batch", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { v: "old" });
      const [before, , after] = await store.batch([
        { namespace: ns, key: "k" },
        { namespace: ns, key: "k", value: { v: "new" } },
        { namespace: ns, key: "k" },
      ]);
      expect(before?.value).toEqual({ v: "old" });
      expect(after?.value).toEqual({ v: "old" });
      expect((await store.get(ns, "k"))?.value).toEqual({ v: "new" });
    });

    test("batch - a get of a key created in the same batch returns null", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const [, got] = await store.batch([
        { namespace: ns, key: "k", value: { v: 1 } },
        { namespace: ns, key: "k" },
      ]);
      expect(got).toBeNull();
      expect((await store.get(ns, "k"))?.value).toEqual({ v: 1 });
    });

    test("batch - a search does not see puts and deletes of the same batch", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.put([root], "gone", { v: 1 });
      const [, , found] = await store.batch<[PutOperation, PutOperation, SearchOperation]>([
        { namespace: [root], key: "gone", value: null },
        { namespace: [root], key: "added", value: { v: 2 } },
        { namespacePrefix: [root], limit: 10, offset: 0 },
      ]);
      expect(found.map((i) => i.key)).toEqual(["gone"]);
      expect((await store.search([root])).map((i) => i.key)).toEqual(["added"]);
    });

    test("batch - listNamespaces does not see namespaces created in the same batch", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.put([root, "old"], "k", { v: 1 });
      const [, listed] = await store.batch([
        { namespace: [root, "new"], key: "k", value: { v: 2 } },
        { matchConditions: [{ matchType: "prefix", path: [root] }], limit: 100, offset: 0 },
      ]);
      expect(listed).toEqual([[root, "old"]]);
      expect(await store.listNamespaces({ prefix: [root] })).toEqual([
        [root, "new"],
        [root, "old"],
      ]);
    });

    test("batch - of several puts to one key, the last one wins", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.batch([
        { namespace: ns, key: "k", value: { v: 1 } },
        { namespace: ns, key: "other", value: { v: "x" } },
        { namespace: ns, key: "k", value: { v: 2 } },
        { namespace: ns, key: "k", value: { v: 3 } },
      ]);
      expect((await store.get(ns, "k"))?.value).toEqual({ v: 3 });
      expect((await store.get(ns, "other"))?.value).toEqual({ v: "x" });
      expect(await store.search(ns)).toHaveLength(2);
    });

    test("batch - a put then a delete of one key in one batch leaves it deleted", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "existing", { v: 0 });
      await store.batch([
        { namespace: ns, key: "existing", value: { v: 1 } },
        { namespace: ns, key: "existing", value: null },
        { namespace: ns, key: "fresh", value: { v: 1 } },
        { namespace: ns, key: "fresh", value: null },
      ]);
      expect(await store.get(ns, "existing")).toBeNull();
      expect(await store.get(ns, "fresh")).toBeNull();
      expect(await store.search(ns)).toEqual([]);
    });

    test("batch - a delete then a put of one key in one batch stores the put", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { v: "old" });
      await store.batch([
        { namespace: ns, key: "k", value: null },
        { namespace: ns, key: "k", value: { v: "new" } },
      ]);
      expect((await store.get(ns, "k"))?.value).toEqual({ v: "new" });
    });

    test("batch - put operations resolve to undefined", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const results = await store.batch([
        { namespace: ns, key: "a", value: { v: 1 } },
        { namespace: ns, key: "a", value: null },
        { namespace: ns, key: "b", value: { v: 2 } },
      ]);
      expect(results).toEqual([undefined, undefined, undefined]);
      expect(results).toHaveLength(3);
    });

    test("batch - an empty batch resolves to []", async () => {
      const store = await fresh();
      expect(await store.batch([])).toEqual([]);
    });

    test("batch - all puts of one batch are applied, across namespaces", async () => {
      const store = await fresh();
      const root = newRoot();
      const ops = Array.from({ length: 20 }, (_, i) => ({ namespace: [root, `ns${i % 4}`], key: `k${i}`, value: { i } }));
      await store.batch(ops);
      const found = await store.search([root], { limit: 100 });
      expect(found.map((i) => i.value.i).sort((a, b) => a - b)).toEqual(ops.map((o) => o.value.i));
      for (const item of found) expect(item.namespace).toEqual([root, `ns${item.value.i % 4}`]);
    });
  });
}
