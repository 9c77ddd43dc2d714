import { expect } from "vitest";
import { ClientClosedError, type PersistStore } from "@langgraph-persist/core";
import type { StoreHarness } from "../harness.js";
import { expectRejection, storeGroup } from "./support.js";

async function expectAllClosed(store: PersistStore, ns: string[]): Promise<void> {
  await expectRejection(() => store.get(ns, "k"), ClientClosedError);
  await expectRejection(() => store.put(ns, "k", { v: 2 }), ClientClosedError);
  await expectRejection(() => store.delete(ns, "k"), ClientClosedError);
  await expectRejection(() => store.search(ns), ClientClosedError);
  await expectRejection(() => store.listNamespaces({ prefix: ns }), ClientClosedError);
  await expectRejection(() => store.batch([{ namespace: ns, key: "k" }]), ClientClosedError);
}

export function lifecycleGroup(harness: StoreHarness): void {
  storeGroup("store: lifecycle", harness, ({ store: fresh, root: newRoot, test }) => {
    test("lifecycle - setup() can run again on a store that is set up", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { v: 1 });
      await store.setup();
      await store.setup();
      expect((await store.get(ns, "k"))?.value).toEqual({ v: 1 });
    });

    test("lifecycle - every operation after close() rejects with ClientClosedError", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.put(ns, "k", { v: 1 });
      await store.close();
      await expectAllClosed(store, ns);
    });

    test("lifecycle - setup() after close() rejects with ClientClosedError", async () => {
      const store = await fresh();
      await store.close();
      await expectRejection(() => store.setup(), ClientClosedError);
    });

    test("lifecycle - close() twice resolves", async () => {
      const store = await fresh();
      await store.close();
      await expect(store.close()).resolves.toBeUndefined();
    });

    test("lifecycle - [Symbol.asyncDispose] closes the store", async () => {
      const store = await fresh();
      expect(typeof store[Symbol.asyncDispose]).toBe("function");
      await store[Symbol.asyncDispose]();
      await expectAllClosed(store, [newRoot()]);
    });

    test("lifecycle - start() and stop() leave the store usable", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await store.start();
      await store.put(ns, "k", { v: 1 });
      await store.stop();
      expect((await store.get(ns, "k"))?.value).toEqual({ v: 1 });
    });
  });
}
