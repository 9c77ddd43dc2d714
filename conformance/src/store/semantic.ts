import { expect } from "vitest";
import { InvalidArgumentError, type PersistStore } from "@langgraph-persist/core";
import type { SearchItem } from "@langchain/langgraph-checkpoint";
import { FixedEmbeddings, HashEmbeddings } from "../fakes.js";
import type { StoreHarness } from "../harness.js";
import { cosine, expectRejection, expectedSimilarity, keysOf, putInOrder, sortedKeys, storeGroup, type DistanceType } from "./support.js";

const DIMS = 64;
/** Backends may keep vectors as float32, so scores are compared to this precision. */
const SCORE_TOLERANCE = 1e-3;

const PASTA = "fresh pasta recipes";
const PASTA_BEGINNERS = "pasta recipes for beginners";
const PASTA_ITALIAN = "italian pasta dinner";
const STOCKS = "stock market report";
const ROCKET = "rocket launch delayed";
const CAT = "the cat sat on the mat";
const WEATHER = "weather forecast rain";

const DISTANCE_TYPES: DistanceType[] = ["cosine", "l2", "inner_product"];

/**
 * Hand-chosen vectors (components exact in float32) on which the three measures disagree about the
 * order: against `query`, cosine ranks short > long > near, l2 near > short > ..., inner product
 * long > near > short.
 */
const FIXED: Record<string, number[]> = {
  query: [1, 1, 0, 0],
  near: [0.75, 1.25, 0.25, 0],
  long: [4, 3, 0, 0],
  short: [0.25, 0.25, 0, 0],
  side: [0, -0.125, 2, 0],
  opposite: [-1, -0.5, 0, 0.5],
  zero: [0, 0, 0, 0],
};
const FIXED_DIMS = 4;
const FIXED_ITEMS = ["near", "long", "short", "side", "opposite"];

/** Keys in search order for `distanceType`: score desc, ties newest first (`newer` lists keys newest first). */
function expectedRanking(distanceType: DistanceType, query: string, keys: readonly string[], newer: readonly string[] = []): Array<{ key: string; score: number }> {
  const age = (k: string) => (newer.includes(k) ? newer.indexOf(k) : newer.length);
  return keys
    .map((key) => ({ key, score: expectedSimilarity(distanceType, FIXED[query], FIXED[key]) }))
    .sort((a, b) => b.score - a.score || age(a.key) - age(b.key) || (a.key < b.key ? -1 : 1));
}

function expectedScore(embeddings: HashEmbeddings, query: string, text: string): number {
  return cosine(embeddings.embedText(query), embeddings.embedText(text));
}

function expectScore(item: SearchItem | undefined, expected: number): void {
  expect(item, "item missing from the results").toBeDefined();
  expect(typeof item!.score, `score of ${item!.key}`).toBe("number");
  expect(Math.abs(item!.score! - expected), `score of ${item!.key}: ${item!.score} vs ${expected}`).toBeLessThan(SCORE_TOLERANCE);
}

export function semanticGroup(harness: StoreHarness): void {
  storeGroup("store: semantic search", harness, ({ store: fresh, root: newRoot, test, requires }) => {
    const vector = { requires: [requires.vectorSearch] };
    const indexed = async (fields: string[] = ["text"]): Promise<{ store: PersistStore; embeddings: HashEmbeddings }> => {
      const embeddings = new HashEmbeddings(DIMS);
      const store = await fresh({ index: { dims: DIMS, embeddings, fields } });
      return { store, embeddings };
    };

    test(
      "semantic search - a query ranks the closest item first, in descending score order",
      async () => {
        const { store, embeddings } = await indexed();
        const ns = [newRoot()];
        const texts = { stocks: STOCKS, cat: CAT, rocket: ROCKET, weather: WEATHER };
        await store.batch(Object.entries(texts).map(([key, text]) => ({ namespace: ns, key, value: { text } })));
        const query = "cat sat on the mat";
        const results = await store.search(ns, { query });
        const expectedOrder = Object.entries(texts)
          .map(([key, text]) => ({ key, score: expectedScore(embeddings, query, text) }))
          .sort((a, b) => b.score - a.score)
          .map((e) => e.key);
        expect(keysOf(results)).toEqual(expectedOrder);
        expect(results[0].key).toBe("cat");
      },
      vector,
    );

    test(
      "semantic search - score is the cosine similarity of the query and the item",
      async () => {
        const { store, embeddings } = await indexed();
        const ns = [newRoot()];
        const texts = { pasta: PASTA, italian: PASTA_ITALIAN, stocks: STOCKS };
        await store.batch(Object.entries(texts).map(([key, text]) => ({ namespace: ns, key, value: { text } })));
        const results = await store.search(ns, { query: PASTA_BEGINNERS });
        expect(results).toHaveLength(3);
        for (const [key, text] of Object.entries(texts)) {
          expectScore(
            results.find((r) => r.key === key),
            expectedScore(embeddings, PASTA_BEGINNERS, text),
          );
        }
      },
      vector,
    );

    test(
      "semantic search - the filter applies inside the query: an excluded best match is not returned and limit counts filtered items",
      async () => {
        const { store } = await indexed();
        const ns = [newRoot()];
        await store.batch([
          { namespace: ns, key: "best", value: { text: PASTA, kind: "a" } },
          { namespace: ns, key: "beginners", value: { text: PASTA_BEGINNERS, kind: "b" } },
          { namespace: ns, key: "italian", value: { text: PASTA_ITALIAN, kind: "b" } },
          { namespace: ns, key: "rocket", value: { text: ROCKET, kind: "b" } },
          { namespace: ns, key: "stocks", value: { text: STOCKS, kind: "b" } },
        ]);
        const results = await store.search(ns, { query: PASTA, filter: { kind: "b" }, limit: 2 });
        expect(keysOf(results)).toEqual(["beginners", "italian"]);
      },
      vector,
    );

    test(
      "semantic search - limit and offset page through the ranked results",
      async () => {
        const { store } = await indexed();
        const ns = [newRoot()];
        await store.batch([
          { namespace: ns, key: "best", value: { text: PASTA } },
          { namespace: ns, key: "beginners", value: { text: PASTA_BEGINNERS } },
          { namespace: ns, key: "italian", value: { text: PASTA_ITALIAN } },
          { namespace: ns, key: "stocks", value: { text: STOCKS } },
        ]);
        expect(keysOf(await store.search(ns, { query: PASTA, limit: 2 }))).toEqual(["best", "beginners"]);
        expect(keysOf(await store.search(ns, { query: PASTA, limit: 2, offset: 1 }))).toEqual(["beginners", "italian"]);
        expect(keysOf(await store.search(ns, { query: PASTA, offset: 3 }))).toEqual(["stocks"]);
      },
      vector,
    );

    test(
      "semantic search - the namespace prefix applies to query searches",
      async () => {
        const { store } = await indexed();
        const root = newRoot();
        await store.batch([
          { namespace: [root, "in"], key: "weak", value: { text: STOCKS } },
          { namespace: [root, "out"], key: "strong", value: { text: PASTA } },
        ]);
        expect(keysOf(await store.search([root, "in"], { query: PASTA }))).toEqual(["weak"]);
      },
      vector,
    );

    test(
      "semantic search - without a query, an indexed store orders by updatedAt and returns no score",
      async () => {
        const { store } = await indexed();
        const ns = [newRoot()];
        await putInOrder(store, ns, [
          ["old", { text: PASTA }],
          ["new", { text: STOCKS }],
        ]);
        const results = await store.search(ns);
        expect(keysOf(results)).toEqual(["new", "old"]);
        for (const r of results) expect(r.score).toBeUndefined();
      },
      vector,
    );

    test(
      "semantic search - field path 'a.b' embeds the nested field",
      async () => {
        const { store, embeddings } = await indexed(["info.title"]);
        const ns = [newRoot()];
        await store.batch([
          { namespace: ns, key: "hit", value: { info: { title: PASTA, body: STOCKS }, text: STOCKS } },
          { namespace: ns, key: "miss", value: { info: { title: STOCKS, body: PASTA }, text: PASTA } },
        ]);
        const results = await store.search(ns, { query: PASTA });
        expect(keysOf(results)).toEqual(["hit", "miss"]);
        expectScore(results[0], 1);
        expectScore(results[1], expectedScore(embeddings, PASTA, STOCKS));
      },
      vector,
    );

    test(
      "semantic search - field path 'arr[*].x' embeds every element and scores the best one",
      async () => {
        const { store, embeddings } = await indexed(["chapters[*].content"]);
        const ns = [newRoot()];
        await store.batch([
          { namespace: ns, key: "hit", value: { chapters: [{ content: ROCKET }, { content: PASTA }, { content: STOCKS }] } },
          { namespace: ns, key: "miss", value: { chapters: [{ content: STOCKS }], title: PASTA } },
        ]);
        const results = await store.search(ns, { query: PASTA });
        expect(keysOf(results)).toEqual(["hit", "miss"]);
        expectScore(results[0], 1);
        expectScore(results[1], expectedScore(embeddings, PASTA, STOCKS));
      },
      vector,
    );

    test(
      "semantic search - field path 'arr[0]' embeds only the first element",
      async () => {
        const { store, embeddings } = await indexed(["tags[0]"]);
        const ns = [newRoot()];
        await store.put(ns, "k", { tags: [STOCKS, PASTA] });
        const [result] = await store.search(ns, { query: PASTA });
        expectScore(result, expectedScore(embeddings, PASTA, STOCKS));
      },
      vector,
    );

    test(
      "semantic search - field path 'arr[-1]' embeds only the last element",
      async () => {
        const { store, embeddings } = await indexed(["tags[-1]"]);
        const ns = [newRoot()];
        await store.put(ns, "k", { tags: [PASTA, ROCKET, STOCKS] });
        const [result] = await store.search(ns, { query: PASTA });
        expectScore(result, expectedScore(embeddings, PASTA, STOCKS));
      },
      vector,
    );

    test(
      "semantic search - field path '$' embeds the whole value as JSON",
      async () => {
        const { store, embeddings } = await indexed(["$"]);
        const ns = [newRoot()];
        const value = { title: PASTA, n: 1 };
        await store.put(ns, "k", value);
        const [result] = await store.search(ns, { query: PASTA });
        expectScore(result, expectedScore(embeddings, PASTA, JSON.stringify(value)));
      },
      vector,
    );

    test(
      "semantic search - a put with index: false is not embedded and ranks after scored items, without a score",
      async () => {
        const { store, embeddings } = await indexed();
        const ns = [newRoot()];
        await store.put(ns, "scored", { text: STOCKS });
        const calls = embeddings.documentCalls;
        const texts = embeddings.embeddedTexts;
        await store.put(ns, "unindexed", { text: PASTA }, false);
        expect(embeddings.documentCalls).toBe(calls);
        expect(embeddings.embeddedTexts).toBe(texts);
        const results = await store.search(ns, { query: PASTA });
        expect(keysOf(results)).toEqual(["scored", "unindexed"]);
        expect(typeof results[0].score).toBe("number");
        expect(results[1].score).toBeUndefined();
      },
      vector,
    );

    test(
      "semantic search - a re-put with index: false drops the item's previous vectors",
      async () => {
        const { store } = await indexed();
        const ns = [newRoot()];
        await store.put(ns, "k", { text: PASTA });
        await store.put(ns, "k", { text: PASTA }, false);
        const [result] = await store.search(ns, { query: PASTA });
        expect(result.key).toBe("k");
        expect(result.score).toBeUndefined();
      },
      vector,
    );

    test(
      "semantic search - a put's index field list overrides the store's fields",
      async () => {
        const { store, embeddings } = await indexed(["text"]);
        const ns = [newRoot()];
        await store.put(ns, "override", { text: STOCKS, other: PASTA }, ["other"]);
        await store.put(ns, "default", { text: STOCKS, other: PASTA });
        const results = await store.search(ns, { query: PASTA });
        expect(keysOf(results)).toEqual(["override", "default"]);
        expectScore(results[0], 1);
        expectScore(results[1], expectedScore(embeddings, PASTA, STOCKS));
      },
      vector,
    );

    test(
      "semantic search - a batch of puts makes one embedDocuments call",
      async () => {
        const { store, embeddings } = await indexed();
        const ns = [newRoot()];
        const texts = [PASTA, STOCKS, ROCKET, CAT, WEATHER];
        await store.batch([
          ...texts.map((text, i) => ({ namespace: ns, key: `k${i}`, value: { text } })),
          { namespacePrefix: ns, query: PASTA, limit: 10, offset: 0 },
        ]);
        expect(embeddings.documentCalls).toBe(1);
        expect(embeddings.embeddedTexts).toBe(5);
        expect(await store.search(ns, { query: PASTA })).toHaveLength(5);
        expect(embeddings.documentCalls).toBe(1);
      },
      vector,
    );

    test(
      "semantic search - a re-put replaces the item's vectors",
      async () => {
        const { store, embeddings } = await indexed();
        const ns = [newRoot()];
        await store.put(ns, "k", { text: PASTA });
        await store.put(ns, "k", { text: STOCKS });
        const [forNew] = await store.search(ns, { query: STOCKS });
        expectScore(forNew, 1);
        const [forOld] = await store.search(ns, { query: PASTA });
        expectScore(forOld, expectedScore(embeddings, PASTA, STOCKS));
      },
      vector,
    );

    test(
      "semantic search - a deleted item is no longer returned",
      async () => {
        const { store } = await indexed();
        const ns = [newRoot()];
        await store.put(ns, "gone", { text: PASTA });
        await store.put(ns, "kept", { text: STOCKS });
        await store.delete(ns, "gone");
        expect(keysOf(await store.search(ns, { query: PASTA }))).toEqual(["kept"]);
      },
      vector,
    );

    test(
      "semantic search - embeddings of the wrong dimension are rejected with InvalidArgumentError and nothing is stored",
      async () => {
        const store = await fresh({ index: { dims: DIMS, embeddings: new HashEmbeddings(DIMS / 2), fields: ["text"] } });
        const ns = [newRoot()];
        await expectRejection(
          () =>
            store.batch([
              { namespace: ns, key: "a", value: { text: PASTA } },
              { namespace: ns, key: "b", value: { text: STOCKS } },
            ]),
          InvalidArgumentError,
        );
        expect(await store.get(ns, "a")).toBeNull();
        expect(await store.get(ns, "b")).toBeNull();
        expect(await store.search(ns)).toEqual([]);
      },
      vector,
    );

    const fixedStore = (distanceType: DistanceType): Promise<PersistStore> =>
      fresh({ index: { dims: FIXED_DIMS, embeddings: new FixedEmbeddings(FIXED), fields: ["text"], distanceType } });

    for (const distanceType of DISTANCE_TYPES) {
      test(
        `semantic search - distanceType "${distanceType}": scores are computed from the vectors and rank highest first`,
        async () => {
          const store = await fixedStore(distanceType);
          const ns = [newRoot()];
          await store.batch(FIXED_ITEMS.map((key) => ({ namespace: ns, key, value: { text: key } })));
          const results = await store.search(ns, { query: "query" });
          const expected = expectedRanking(distanceType, "query", FIXED_ITEMS);
          expect(keysOf(results)).toEqual(expected.map((e) => e.key));
          for (const e of expected) expectScore(results.find((r) => r.key === e.key), e.score);
        },
        vector,
      );

      test(
        `semantic search - distanceType "${distanceType}": an item whose embedding is a zero vector is returned with its score`,
        async () => {
          const store = await fixedStore(distanceType);
          const ns = [newRoot()];
          const keys = [...FIXED_ITEMS, "zero"];
          await store.batch(keys.map((key) => ({ namespace: ns, key, value: { text: key } })));
          const results = await store.search(ns, { query: "query" });
          const expected = expectedRanking(distanceType, "query", keys);
          expect(keysOf(results)).toEqual(expected.map((e) => e.key));
          for (const e of expected) expectScore(results.find((r) => r.key === e.key), e.score);
          // Alone in its namespace, and found through a filter.
          const alone = [newRoot()];
          await store.put(alone, "zero", { text: "zero", kind: "z" });
          const [only] = await store.search(alone, { query: "query", filter: { kind: "z" } });
          expectScore(only, expectedSimilarity(distanceType, FIXED.query, FIXED.zero));
        },
        vector,
      );

      test(
        `semantic search - distanceType "${distanceType}": a zero query vector scores every item, ties newest first`,
        async () => {
          const store = await fixedStore(distanceType);
          const ns = [newRoot()];
          const keys = ["near", "long", "short", "zero"];
          await putInOrder(
            store,
            ns,
            keys.map((key) => [key, { text: key }]),
          );
          const results = await store.search(ns, { query: "zero" });
          const expected = expectedRanking(distanceType, "zero", keys, [...keys].reverse());
          expect(keysOf(results)).toEqual(expected.map((e) => e.key));
          for (const e of expected) expectScore(results.find((r) => r.key === e.key), e.score);
        },
        vector,
      );

      test(
        `semantic search - distanceType "${distanceType}": the filter, limit and offset apply to the ranked results`,
        async () => {
          const store = await fixedStore(distanceType);
          const ns = [newRoot()];
          const kinds: Record<string, string> = { near: "a", long: "b", short: "b", side: "b", opposite: "a", zero: "b" };
          await store.batch(Object.entries(kinds).map(([key, kind]) => ({ namespace: ns, key, value: { text: key, kind } })));
          const ranked = expectedRanking(distanceType, "query", Object.keys(kinds));
          const kindB = ranked.filter((e) => kinds[e.key] === "b");
          expect(keysOf(await store.search(ns, { query: "query", filter: { kind: "b" } }))).toEqual(kindB.map((e) => e.key));
          const page = await store.search(ns, { query: "query", filter: { kind: "b" }, limit: 2, offset: 1 });
          expect(keysOf(page)).toEqual(kindB.slice(1, 3).map((e) => e.key));
          for (const e of kindB.slice(1, 3)) expectScore(page.find((r) => r.key === e.key), e.score);
          expect(keysOf(await store.search(ns, { query: "query", filter: { kind: "b" }, offset: 3 }))).toEqual(kindB.slice(3).map((e) => e.key));
          expect(keysOf(await store.search(ns, { query: "query", limit: 3 }))).toEqual(ranked.slice(0, 3).map((e) => e.key));
        },
        vector,
      );
    }

    test(
      "semantic search - an unknown distanceType is refused with InvalidArgumentError when the store is created",
      async () => {
        for (const distanceType of ["ip", "dot", "euclidean", "COSINE", "", 42]) {
          const err = await expectRejection(
            () => fresh({ index: { dims: FIXED_DIMS, embeddings: new FixedEmbeddings(FIXED), fields: ["text"], distanceType: distanceType as DistanceType } }),
            InvalidArgumentError,
          );
          expect(err.message).toContain("distanceType");
        }
      },
      vector,
    );

    test("semantic search - without an index, a query is ignored: results by updatedAt, no score", async () => {
      const store = await fresh();
      const ns = [newRoot()];
      await putInOrder(store, ns, [
        ["match", { text: PASTA }],
        ["middle", { text: ROCKET }],
        ["newest", { text: STOCKS }],
      ]);
      const results = await store.search(ns, { query: PASTA });
      expect(keysOf(results)).toEqual(["newest", "middle", "match"]);
      for (const r of results) expect(r.score).toBeUndefined();
      expect(sortedKeys(await store.search(ns, { query: PASTA, filter: { text: PASTA } }))).toEqual(["match"]);
    });
  });
}
