import { expect } from "vitest";
import { InvalidArgumentError, InvalidNamespaceError, type PersistStore } from "@langgraph-persist/core";
import type { Operation } from "@langchain/langgraph-checkpoint";
import type { StoreHarness } from "../harness.js";
import { BAD_LABELS, expectInvalidNamespace, expectRejection, storeGroup } from "./support.js";

const asValue = (v: unknown) => v as Record<string, unknown>;

/** One operation of each kind `batch()` takes, addressing `namespace` (a match path for listNamespaces). */
function opsOn(namespace: string[]): Array<[kind: string, op: Operation]> {
  return [
    ["get", { namespace, key: "k" }],
    ["search", { namespacePrefix: namespace, limit: 10, offset: 0 }],
    ["put", { namespace, key: "k", value: { v: 0 } }],
    ["delete", { namespace, key: "k", value: null }],
    ["listNamespaces prefix", { matchConditions: [{ matchType: "prefix", path: namespace }], limit: 100, offset: 0 }],
    ["listNamespaces suffix", { matchConditions: [{ matchType: "suffix", path: namespace }], limit: 100, offset: 0 }],
  ];
}

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

    test("bad input - batch() refuses a get, search, put, delete or listNamespaces with a ':', NUL, '.', empty or non-string label, writing nothing", async () => {
      const store = await fresh();
      const root = newRoot();
      for (const [what, bad] of BAD_LABELS) {
        for (const namespace of [[bad], [root, bad], [root, "*", bad]] as string[][]) {
          for (const [kind, op] of opsOn(namespace)) {
            await expectInvalidNamespace(
              store,
              () => store.batch([{ namespace: [root], key: "valid", value: { v: 1 } }, op, { namespace: [root, "after"], key: "k", value: { v: 2 } }]),
              `${kind}, ${what} in ${JSON.stringify(namespace)}`,
            );
          }
        }
      }
      expect(await store.get([root], "valid")).toBeNull();
      expect(await store.search([root])).toEqual([]);
    });

    test("bad input - batch() refuses a put to [] or under the 'langgraph' root, writing nothing", async () => {
      const store = await fresh();
      const root = newRoot();
      for (const namespace of [[], ["langgraph"], ["langgraph", root]]) {
        await expectInvalidNamespace(
          store,
          () => store.batch([{ namespace: [root], key: "valid", value: { v: 1 } }, { namespace, key: "k", value: { v: 0 } }]),
          `put to ${JSON.stringify(namespace)}`,
        );
      }
      expect(await store.get([root], "valid")).toBeNull();
      expect(await store.search([root])).toEqual([]);
      expect(await store.search(["langgraph"])).toEqual([]);
    });

    test("bad input - batch() accepts gets, searches, deletes and listNamespaces of [] and of the 'langgraph' root", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.put([root], "k", { marker: root });
      const reserved = ["langgraph", root];
      const results = await store.batch([
        { namespace: [], key: "k" },
        { namespacePrefix: [], filter: { marker: root }, limit: 10, offset: 0 },
        { namespace: [], key: "k", value: null },
        { matchConditions: [{ matchType: "prefix", path: [] }, { matchType: "suffix", path: [root] }], limit: 100, offset: 0 },
        { namespace: reserved, key: "k" },
        { namespacePrefix: reserved, limit: 10, offset: 0 },
        { namespace: reserved, key: "k", value: null },
        { matchConditions: [{ matchType: "prefix", path: ["langgraph"] }], limit: 100, offset: 0 },
      ]);
      expect(results[0]).toBeNull();
      expect((results[1] as Array<{ namespace: string[] }>).map((i) => i.namespace)).toEqual([[root]]);
      expect(results[2]).toBeUndefined();
      expect(results[3]).toEqual([[root]]);
      expect(results[4]).toBeNull();
      expect(results[5]).toEqual([]);
      expect(results[6]).toBeUndefined();
      expect(results[7]).toEqual([]);
      expect((await store.get([root], "k"))?.value).toEqual({ marker: root });
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
