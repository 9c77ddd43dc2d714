import { expect } from "vitest";
import { InvalidArgumentError, InvalidNamespaceError, type PersistStore } from "@langgraph-persist/core";
import type { Operation } from "@langchain/langgraph-checkpoint";
import type { StoreHarness } from "../harness.js";
import { expectRejection, storeGroup } from "./support.js";

const asValue = (v: unknown) => v as Record<string, unknown>;

export function badInputGroup(harness: StoreHarness): void {
  storeGroup("store: bad input", harness, ({ store: fresh, root: newRoot, test }) => {
    test("bad input - batch() with a non-array argument rejects with InvalidArgumentError", async () => {
      const store = await fresh();
      for (const bad of [undefined, null, "ops", { namespace: ["x"], key: "k" }]) {
        await expectRejection(() => store.batch(bad as unknown as Operation[]), InvalidArgumentError);
      }
    });

    test("bad input - an operation of no known shape rejects with InvalidArgumentError", async () => {
      const store = await fresh();
      await expectRejection(() => store.batch([{ foo: 1 } as unknown as Operation]), InvalidArgumentError);
    });

    test("bad input - a put of an array value rejects with InvalidArgumentError", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await expectRejection(() => store.put(ns, "k", asValue([1, 2])), InvalidArgumentError);
      expect(await store.get(ns, "k")).toBeNull();
    });

    test("bad input - a put of a string, number or boolean value rejects with InvalidArgumentError", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      for (const bad of ["text", 42, true]) {
        await expectRejection(() => store.put(ns, "k", asValue(bad)), InvalidArgumentError);
      }
      expect(await store.get(ns, "k")).toBeNull();
    });

    test("bad input - a put with an index that is neither false nor a list of paths rejects with InvalidArgumentError", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await expectRejection(() => store.put(ns, "k", { v: 1 }, true as unknown as false), InvalidArgumentError);
      await expectRejection(() => store.put(ns, "k", { v: 1 }, [1] as unknown as string[]), InvalidArgumentError);
      expect(await store.get(ns, "k")).toBeNull();
    });

    test("bad input - a negative search limit or offset rejects with InvalidArgumentError", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await expectRejection(() => store.search(ns, { limit: -1 }), InvalidArgumentError);
      await expectRejection(() => store.search(ns, { offset: -1 }), InvalidArgumentError);
      await expectRejection(() => store.search(ns, { limit: 1.5 }), InvalidArgumentError);
    });

    test("bad input - a negative listNamespaces limit or offset rejects with InvalidArgumentError", async () => {
      const store = await fresh();
      const root = newRoot();
      await expectRejection(() => store.listNamespaces({ prefix: [root], limit: -1 }), InvalidArgumentError);
      await expectRejection(() => store.listNamespaces({ prefix: [root], offset: -3 }), InvalidArgumentError);
    });

    test("bad input - a listNamespaces maxDepth below 1 rejects with InvalidArgumentError", async () => {
      const store = await fresh();
      const root = newRoot();
      await expectRejection(() => store.listNamespaces({ prefix: [root], maxDepth: 0 }), InvalidArgumentError);
      await expectRejection(() => store.listNamespaces({ prefix: [root], maxDepth: -2 }), InvalidArgumentError);
    });

    test("bad input - a search with a non-string query rejects with InvalidArgumentError", async () => {
      const store = await fresh();
      await expectRejection(() => store.search([newRoot()], { query: 42 as unknown as string }), InvalidArgumentError);
    });

    test("bad input - a batch with one invalid operation writes nothing", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      const write = (s: PersistStore, bad: Operation) =>
        s.batch([{ namespace: ns, key: "valid", value: { v: 1 } }, bad, { namespace: ns, key: "after", value: { v: 2 } }]);
      await expectRejection(() => write(store, { namespace: ns, key: "", value: { v: 0 } }), InvalidArgumentError);
      await expectRejection(() => write(store, { namespace: [...ns, ""], key: "k", value: { v: 0 } }), InvalidNamespaceError);
      await expectRejection(() => write(store, { namespacePrefix: ns, limit: -1, offset: 0 }), InvalidArgumentError);
      expect(await store.search(ns)).toEqual([]);
    });
  });
}
