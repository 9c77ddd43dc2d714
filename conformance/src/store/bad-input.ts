import { expect } from "vitest";
import { InvalidArgumentError, InvalidFilterError, InvalidNamespaceError, SerializationError, type PersistStore } from "@langgraph-persist/core";
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

type ErrorClass = abstract new (...args: never[]) => Error;

export interface StoreBadInputRow {
  /** The store method the row calls. */
  op: string;
  /** The bad input, in words. */
  input: string;
  /** Calls the store on `ns`, a namespace no other test uses (the row's input may replace it). */
  call: (store: PersistStore, ns: string[]) => Promise<unknown>;
  /** The error every backend rejects with, and a word of its message (case-insensitive) naming the argument. */
  error: ErrorClass;
  names: string;
}

const any = <T>(v: unknown) => v as T;
const circular = (): Record<string, unknown> => {
  const v: Record<string, unknown> = { a: 1 };
  v.self = v;
  return v;
};
const row = (op: string, input: string, call: StoreBadInputRow["call"], error: ErrorClass, names: string): StoreBadInputRow => ({ op, input, call, error, names });

/**
 * The store's bad-input table: keys, labels, limits, offsets, filters and values every backend refuses
 * with the same error before anything is written; the message names the argument. (Labels are also
 * tried on every operation kind of `batch()` below.)
 */
export const STORE_BAD_INPUT: readonly StoreBadInputRow[] = [
  row("put", "an empty key", (s, ns) => s.put(ns, "", { v: 1 }), InvalidArgumentError, "key"),
  row("put", "a number key", (s, ns) => s.put(ns, any<string>(7), { v: 1 }), InvalidArgumentError, "key"),
  row("put", "a null key", (s, ns) => s.put(ns, any<string>(null), { v: 1 }), InvalidArgumentError, "key"),
  row("put", "a NUL in the key", (s, ns) => s.put(ns, "k\u0000", { v: 1 }), InvalidArgumentError, "key"),
  row("put", "a ':' label", (s, ns) => s.put([...ns, "a:b"], "k", { v: 1 }), InvalidNamespaceError, "namespace"),
  row("put", "an empty label", (s, ns) => s.put([...ns, ""], "k", { v: 1 }), InvalidNamespaceError, "namespace"),
  row("put", "a number label", (s, ns) => s.put([...ns, any<string>(7)], "k", { v: 1 }), InvalidNamespaceError, "namespace"),
  row("put", "a string as namespace", (s, ns) => s.put(any<string[]>(ns[0]), "k", { v: 1 }), InvalidNamespaceError, "namespace"),
  row("put", "an array value", (s, ns) => s.put(ns, "k", any<Record<string, unknown>>([1])), InvalidArgumentError, "value"),
  row("put", "a string value", (s, ns) => s.put(ns, "k", any<Record<string, unknown>>("v")), InvalidArgumentError, "value"),
  row("put", "a BigInt in the value", (s, ns) => s.put(ns, "k", { n: 1n }), SerializationError, "value"),
  row("put", "a circular value", (s, ns) => s.put(ns, "k", circular()), SerializationError, "value"),
  row("get", "an empty key", (s, ns) => s.get(ns, ""), InvalidArgumentError, "key"),
  row("get", "a number key", (s, ns) => s.get(ns, any<string>(7)), InvalidArgumentError, "key"),
  row("get", "a ':' label", (s, ns) => s.get([...ns, "a:b"], "k"), InvalidNamespaceError, "namespace"),
  row("delete", "an empty key", (s, ns) => s.delete(ns, ""), InvalidArgumentError, "key"),
  row("delete", "a number key", (s, ns) => s.delete(ns, any<string>(7)), InvalidArgumentError, "key"),
  row("search", "a negative limit", (s, ns) => s.search(ns, { limit: -1 }), InvalidArgumentError, "limit"),
  row("search", "a fractional limit", (s, ns) => s.search(ns, { limit: 1.5 }), InvalidArgumentError, "limit"),
  row("search", "a NaN limit", (s, ns) => s.search(ns, { limit: Number.NaN }), InvalidArgumentError, "limit"),
  row("search", "a string limit", (s, ns) => s.search(ns, { limit: any<number>("10") }), InvalidArgumentError, "limit"),
  row("search", "a negative offset", (s, ns) => s.search(ns, { offset: -1 }), InvalidArgumentError, "offset"),
  row("search", "a fractional offset", (s, ns) => s.search(ns, { offset: 0.5 }), InvalidArgumentError, "offset"),
  row("search", "an unknown filter operator", (s, ns) => s.search(ns, { filter: { n: { $regex: "1" } } }), InvalidFilterError, "$regex"),
  row("search", "a string filter", (s, ns) => s.search(ns, { filter: any<Record<string, unknown>>("n") }), InvalidFilterError, "filter"),
  row("search", "an array filter", (s, ns) => s.search(ns, { filter: any<Record<string, unknown>>([{ n: 1 }]) }), InvalidFilterError, "filter"),
  row("search", "a number query", (s, ns) => s.search(ns, { query: any<string>(42) }), InvalidArgumentError, "query"),
  row("search", "a ':' label in the prefix", (s, ns) => s.search([...ns, "a:b"]), InvalidNamespaceError, "namespace"),
  row("listNamespaces", "a negative limit", (s, ns) => s.listNamespaces({ prefix: ns, limit: -1 }), InvalidArgumentError, "limit"),
  row("listNamespaces", "a fractional limit", (s, ns) => s.listNamespaces({ prefix: ns, limit: 2.5 }), InvalidArgumentError, "limit"),
  row("listNamespaces", "a negative offset", (s, ns) => s.listNamespaces({ prefix: ns, offset: -3 }), InvalidArgumentError, "offset"),
  row("listNamespaces", "a fractional offset", (s, ns) => s.listNamespaces({ prefix: ns, offset: 1.5 }), InvalidArgumentError, "offset"),
  row("listNamespaces", "a maxDepth of 0", (s, ns) => s.listNamespaces({ prefix: ns, maxDepth: 0 }), InvalidArgumentError, "maxDepth"),
  row("listNamespaces", "a fractional maxDepth", (s, ns) => s.listNamespaces({ prefix: ns, maxDepth: 1.5 }), InvalidArgumentError, "maxDepth"),
  row("listNamespaces", "a ':' label in the prefix", (s, ns) => s.listNamespaces({ prefix: [...ns, "a:b"] }), InvalidNamespaceError, "namespace"),
  row("batch", "a non-array argument", (s) => s.batch(any<Operation[]>({ namespace: ["x"], key: "k" })), InvalidArgumentError, "batch"),
  row("batch", "a put with a number key", (s, ns) => s.batch([{ namespace: ns, key: "valid", value: { v: 1 } }, { namespace: ns, key: any<string>(7), value: { v: 0 } }]), InvalidArgumentError, "key"),
  row("batch", "a search with a fractional offset", (s, ns) => s.batch([{ namespace: ns, key: "valid", value: { v: 1 } }, { namespacePrefix: ns, limit: 10, offset: 0.5 }]), InvalidArgumentError, "offset"),
];

export function badInputGroup(harness: StoreHarness): void {
  storeGroup("store: bad input", harness, ({ store: fresh, root: newRoot, test }) => {
    for (const r of STORE_BAD_INPUT) {
      test(`bad input - ${r.op}: ${r.input} → ${r.error.name} naming ${r.names}`, async () => {
        const store = await fresh();
        const ns = [newRoot()];
        const err = await expectRejection(() => r.call(store, ns), r.error);
        expect((err as { source?: string }).source, "raised by the store's package").toBe((store as unknown as { source: string }).source);
        expect(err.message.toLowerCase(), `the message names ${r.names}`).toContain(r.names.toLowerCase());
        expect(await store.search(ns), "nothing is written").toEqual([]);
        expect(await store.get(ns, "k")).toBeNull();
      });
    }

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
