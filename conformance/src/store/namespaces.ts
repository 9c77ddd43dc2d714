import { expect } from "vitest";
import { InvalidArgumentError, type PersistStore } from "@langgraph-persist/core";
import type { StoreHarness } from "../harness.js";
import { BAD_LABELS, compareLabels, expectInvalidNamespace, expectRejection, matchesPath, startsWith, storeGroup } from "./support.js";

/**
 * Writes one item into each namespace, then checks that get, search and listNamespaces treat every
 * label as a literal: each namespace sees exactly what label-wise matching says it should.
 */
async function expectNoAliasing(store: PersistStore, root: string, labels: string[][]): Promise<void> {
  const namespaces = labels.map((l) => [root, ...l]);
  await store.batch(namespaces.map((namespace, i) => ({ namespace, key: "k", value: { i } })));
  for (const [i, ns] of namespaces.entries()) {
    const item = await store.get(ns, "k");
    expect(item?.value, `get ${JSON.stringify(ns)}`).toEqual({ i });
    expect(item?.namespace).toEqual(ns);

    const found = await store.search(ns, { limit: 100 });
    const expected = namespaces.flatMap((other, j) => (startsWith(other, ns) ? [j] : []));
    expect(found.map((f) => f.value.i).sort(), `search ${JSON.stringify(ns)}`).toEqual(expected.sort());
    for (const f of found) expect(f.namespace).toEqual(namespaces[f.value.i]);

    const listed = await store.listNamespaces({ prefix: ns, limit: 1000 });
    const expectedListed = namespaces.filter((other) => matchesPath(other, ns, "prefix")).sort(compareLabels);
    expect(listed, `listNamespaces prefix ${JSON.stringify(ns)}`).toEqual(expectedListed);
  }
  expect(await store.listNamespaces({ prefix: [root], limit: 1000 })).toEqual([...namespaces].sort(compareLabels));
}

export function namespacesGroup(harness: StoreHarness): void {
  storeGroup("store: namespaces and keys", harness, ({ store: fresh, root: newRoot, test }) => {
    test("namespaces - put refuses a label containing ':', NUL or '.', an empty label and a non-string label, at any depth, writing nothing", async () => {
      const store = await fresh();
      const root = newRoot();
      for (const [what, bad] of BAD_LABELS) {
        for (const namespace of [[bad], [root, bad], [root, bad, "x"]] as string[][]) {
          await expectInvalidNamespace(store, () => store.put(namespace, "k", { marker: root }), `put, ${what}`);
          await expectInvalidNamespace(store, () => store.batch([{ namespace, key: "k", value: { marker: root } }]), `batch put, ${what}`);
        }
      }
      expect(await store.search([], { filter: { marker: root }, limit: 100 })).toEqual([]);
      expect(await store.listNamespaces({ prefix: [root] })).toEqual([]);
    });

    test("namespaces - put refuses the empty namespace [] and a namespace rooted at 'langgraph'", async () => {
      const store = await fresh();
      const root = newRoot();
      for (const namespace of [[], ["langgraph"], ["langgraph", root]]) {
        await expectInvalidNamespace(store, () => store.put(namespace, "k", { marker: root }));
        await expectInvalidNamespace(store, () => store.batch([{ namespace, key: "k", value: { marker: root } }]));
      }
      expect(await store.search([], { filter: { marker: root }, limit: 100 })).toEqual([]);
      expect(await store.listNamespaces({ prefix: ["langgraph"] })).toEqual([]);
    });

    test("namespaces - a non-array namespace is refused by put, get, search and delete", async () => {
      const store = await fresh();
      const root = newRoot();
      const bad = root as unknown as string[];
      await expectInvalidNamespace(store, () => store.put(bad, "k", { v: 1 }));
      await expectInvalidNamespace(store, () => store.get(bad, "k"));
      await expectInvalidNamespace(store, () => store.search(bad));
      await expectInvalidNamespace(store, () => store.delete(bad, "k"));
    });

    test("namespaces - get, search and delete refuse the same labels as put (':', NUL, '.', empty, non-string)", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.put([root], "k", { v: 1 });
      for (const [what, bad] of BAD_LABELS) {
        for (const namespace of [[bad], [root, bad], [root, bad, "x"]] as string[][]) {
          await expectInvalidNamespace(store, () => store.get(namespace, "k"), `get, ${what}`);
          await expectInvalidNamespace(store, () => store.search(namespace), `search, ${what}`);
          await expectInvalidNamespace(store, () => store.delete(namespace, "k"), `delete, ${what}`);
        }
      }
      expect((await store.get([root], "k"))?.value).toEqual({ v: 1 });
    });

    test("namespaces - listNamespaces refuses the same labels in a prefix or a suffix, '*' wildcards or not", async () => {
      const store = await fresh();
      const root = newRoot();
      for (const [what, bad] of BAD_LABELS) {
        const b = bad as string;
        for (const path of [[b], [root, b], ["*", b], [b, "*"], [root, "*", b]]) {
          await expectInvalidNamespace(store, () => store.listNamespaces({ prefix: path }), `prefix, ${what}`);
          await expectInvalidNamespace(store, () => store.listNamespaces({ suffix: path }), `suffix, ${what}`);
          await expectInvalidNamespace(store, () => store.listNamespaces({ prefix: [root], suffix: path }), `suffix, ${what}`);
          await expectInvalidNamespace(store, () => store.listNamespaces({ prefix: path, suffix: [root] }), `prefix, ${what}`);
        }
      }
    });

    test("namespaces - the empty namespace: get([], k) is null, delete([], k) resolves, search([]) and a [] prefix or suffix match everything", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.put([root], "k", { marker: root });
      expect(await store.get([], "k")).toBeNull();
      await store.delete([], "k");
      expect((await store.get([root], "k"))?.value).toEqual({ marker: root });
      expect((await store.search([], { filter: { marker: root } })).map((i) => i.namespace)).toEqual([[root]]);
      expect(await store.listNamespaces({ prefix: [], suffix: [root] })).toEqual([[root]]);
      expect(await store.listNamespaces({ prefix: [root], suffix: [] })).toEqual([[root]]);
    });

    test("namespaces - the 'langgraph' root is refused only by put: get is null, search and listNamespaces find nothing, delete resolves", async () => {
      const store = await fresh();
      const ns = ["langgraph", newRoot()];
      expect(await store.get(ns, "k")).toBeNull();
      expect(await store.get(["langgraph"], "k")).toBeNull();
      expect(await store.search(ns)).toEqual([]);
      expect(await store.search(["langgraph"])).toEqual([]);
      await store.delete(ns, "k");
      await store.delete(["langgraph"], "k");
      expect(await store.listNamespaces({ prefix: ["langgraph"] })).toEqual([]);
      expect(await store.listNamespaces({ prefix: ["langgraph", "*"], suffix: [ns[1]] })).toEqual([]);
    });

    test("namespaces - whatever put accepts, get, search, listNamespaces and delete reach", async () => {
      const store = await fresh();
      const root = newRoot();
      const labels = ["*", "langgraph", "%", "_", "a/b", "\\", " ", "-", "é", "日本", "$x", "'q'", "l1\nl2"];
      for (const label of labels) {
        const ns = [root, label];
        await store.put(ns, "k", { label });
        expect((await store.get(ns, "k"))?.value, JSON.stringify(label)).toEqual({ label });
        expect((await store.search(ns)).map((i) => i.value), JSON.stringify(label)).toEqual([{ label }]);
        expect(await store.listNamespaces({ suffix: [label], prefix: [root] }), JSON.stringify(label)).toEqual([ns]);
        await store.delete(ns, "k");
        expect(await store.get(ns, "k"), JSON.stringify(label)).toBeNull();
      }
      expect(await store.search([root])).toEqual([]);
    });

    test("namespaces - 'langgraph' below the root is an ordinary label", async () => {
      const store = await fresh();
      const ns = [newRoot(), "langgraph"];
      await store.put(ns, "k", { v: 1 });
      expect((await store.get(ns, "k"))?.value).toEqual({ v: 1 });
    });

    test("namespaces - a key is scoped to its namespace", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.put([root, "a"], "k", { v: "a" });
      await store.put([root, "b"], "k", { v: "b" });
      await store.put([root], "k", { v: "root" });
      expect((await store.get([root, "a"], "k"))?.value).toEqual({ v: "a" });
      expect((await store.get([root, "b"], "k"))?.value).toEqual({ v: "b" });
      expect((await store.get([root], "k"))?.value).toEqual({ v: "root" });
      await store.delete([root, "a"], "k");
      expect(await store.get([root, "a"], "k")).toBeNull();
      expect((await store.get([root, "b"], "k"))?.value).toEqual({ v: "b" });
    });

    test("namespaces - '_' in a label is a literal, not a wildcard (['a_c'] vs ['abc'])", async () => {
      const store = await fresh();
      await expectNoAliasing(store, newRoot(), [["a_c"], ["abc"], ["a_c", "x"], ["abc", "x"], ["_"]]);
    });

    test("namespaces - '%' in a label is a literal, not a wildcard (['a%'] vs ['ab'])", async () => {
      const store = await fresh();
      await expectNoAliasing(store, newRoot(), [["a%"], ["ab"], ["abc"], ["%"], ["a%", "b"]]);
    });

    test("namespaces - '*' in a label is a literal for get and search (['*'] vs ['x'])", async () => {
      const store = await fresh();
      const root = newRoot();
      await store.put([root, "*"], "k", { v: "star" });
      await store.put([root, "x"], "k", { v: "x" });
      await store.put([root, "*", "y"], "k", { v: "star-y" });
      expect((await store.get([root, "*"], "k"))?.value).toEqual({ v: "star" });
      expect((await store.get([root, "x"], "k"))?.value).toEqual({ v: "x" });
      expect((await store.search([root, "*"])).map((i) => i.value.v).sort()).toEqual(["star", "star-y"]);
      expect((await store.search([root, "x"])).map((i) => i.value.v)).toEqual(["x"]);
    });

    test("namespaces - '\\' in a label is a literal, not an escape", async () => {
      const store = await fresh();
      await expectNoAliasing(store, newRoot(), [["a\\"], ["a\\_b"], ["a_b"], ["a\\%"], ["a"], ["a\\", "b"], ["a\\\\"]]);
    });

    test("namespaces - newlines and quotes in labels are literals", async () => {
      const store = await fresh();
      await expectNoAliasing(store, newRoot(), [["l1\nl2"], ["l1"], ["q'uote"], ['d"q'], ["`b`"], ["'; DROP TABLE x; --"], ["\r\n"]]);
    });

    test("namespaces - '/', spaces and other punctuation in labels are literals", async () => {
      const store = await fresh();
      await expectNoAliasing(store, newRoot(), [["a/b"], ["a", "b"], ["a/"], ["a b"], ["a-b"], ["a0"], ["{a}"], ["[a]"], ["$a"], ["#a"]]);
    });

    test("namespaces - Unicode labels are literals and are not normalised", async () => {
      const store = await fresh();
      await expectNoAliasing(store, newRoot(), [["日本語"], ["日本"], ["émoji 🎉"], ["é"], ["e\u0301"], ["Straße"], ["STRASSE"], ["A"], ["a"]]);
    });

    test("namespaces - a namespace/key pair never aliases another (['a'],'b.c') vs (['a','b'],'c')", async () => {
      const store = await fresh();
      const root = newRoot();
      const pairs: Array<[string[], string]> = [
        [[root, "a"], "b:c"],
        [[root, "a"], "b.c"],
        [[root, "a", "b"], "c"],
        [[root, "a"], "b/c"],
        [[root, "a/b"], "c"],
      ];
      await store.batch(pairs.map(([namespace, key], i) => ({ namespace, key, value: { i } })));
      for (const [i, [ns, key]] of pairs.entries()) expect((await store.get(ns, key))?.value).toEqual({ i });
      expect(await store.get([root, "a"], "c")).toBeNull();
      expect((await store.search([root, "a"], { limit: 100 })).map((i) => i.value.i).sort()).toEqual([0, 1, 2, 3]);
    });

    test("keys - an empty key is rejected with InvalidArgumentError", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await expectRejection(() => store.put(ns, "", { v: 1 }), InvalidArgumentError);
      await expectRejection(() => store.get(ns, ""), InvalidArgumentError);
      expect(await store.search(ns)).toEqual([]);
    });

    test("keys - a non-string key is rejected with InvalidArgumentError", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      for (const bad of [1, null, undefined, {}, ["k"]]) {
        await expectRejection(() => store.put(ns, bad as unknown as string, { v: 1 }), InvalidArgumentError);
      }
      await expectRejection(() => store.get(ns, 1 as unknown as string), InvalidArgumentError);
      expect(await store.search(ns)).toEqual([]);
    });
  });
}
