import { expect } from "vitest";
import type { GetOperation, PutOperation, SearchOperation } from "@langchain/langgraph-checkpoint";
import type { StoreHarness } from "../harness.js";
import { sortedKeys, storeGroup } from "./support.js";

export function concurrencyGroup(harness: StoreHarness): void {
  storeGroup("store: concurrency", harness, ({ store: fresh, peer, root: newRoot, test }) => {
    test("concurrency - ten stores created and set up at once all work", async () => {
      const stores = await Promise.all(Array.from({ length: 10 }, () => fresh()));
      const root = newRoot();
      await Promise.all(stores.map((s, i) => s.put([root], `k${i}`, { i })));
      for (const [i, s] of stores.entries()) expect((await s.get([root], `k${i}`))?.value).toEqual({ i });
    });

    test("concurrency - setup() called ten times at once on one store resolves", async () => {
      const store = await fresh();
      await expect(Promise.all(Array.from({ length: 10 }, () => store.setup()))).resolves.toHaveLength(10);
      const ns = [newRoot()];
      await store.put(ns, "k", { v: 1 });
      expect((await store.get(ns, "k"))?.value).toEqual({ v: 1 });
    });

    test("concurrency - 50 parallel puts to different keys are all readable", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const keys = Array.from({ length: 50 }, (_, i) => `k${String(i).padStart(2, "0")}`);
      await Promise.all(keys.map((key, i) => store.put(ns, key, { i })));
      expect(sortedKeys(await store.search(ns, { limit: 100 }))).toEqual(keys);
      const got = await Promise.all(keys.map((key) => store.get(ns, key)));
      expect(got.map((g) => g?.value.i)).toEqual(keys.map((_, i) => i));
    });

    test("concurrency - parallel puts to one key leave exactly one of the written values", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(ns, "k", { i, tag: `writer-${i}` })));
      const items = await store.search(ns, { limit: 100 });
      expect(items).toHaveLength(1);
      const { i, tag } = items[0].value;
      expect(tag).toBe(`writer-${i}`);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(20);
    });

    test("concurrency - parallel batches each return their own results in order", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.batch(Array.from({ length: 10 }, (_, i) => ({ namespace: [root, `n${i}`], key: "seed", value: { i } })));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.batch<[GetOperation, PutOperation, SearchOperation]>([
            { namespace: [root, `n${i}`], key: "seed" },
            { namespace: [root, `n${i}`], key: "added", value: { i, added: true } },
            { namespacePrefix: [root, `n${i}`], limit: 10, offset: 0 },
          ]),
        ),
      );
      for (const [i, [seed, put, found]] of results.entries()) {
        expect(seed?.value).toEqual({ i });
        expect(put).toBeUndefined();
        expect(found.map((f) => f.key)).toEqual(["seed"]);
      }
      for (let i = 0; i < 10; i++) expect(sortedKeys(await store.search([root, `n${i}`]))).toEqual(["added", "seed"]);
    });

    test(
      "concurrency - two store instances on the same data see each other's writes",
      async () => {
        const a = await fresh();
        const b = await peer();
        const ns = [newRoot()];
        await a.put(ns, "k", { from: "a" });
        expect((await b.get(ns, "k"))?.value).toEqual({ from: "a" });
        await b.delete(ns, "k");
        expect(await a.get(ns, "k")).toBeNull();
      },
      { requires: [["multiProcess or createPeer", harness.capabilities.multiProcess || harness.createPeer !== undefined]] },
    );
  });
}
