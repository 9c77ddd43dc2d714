import { describe, expect, it } from "vitest";
import { InvalidArgumentError, parseFilter, type PreparedSearch } from "@langgraph-persist/core";
import { MongoDBStore } from "../src/index.js";
import { SERVER_NOW, storeCollections } from "../src/keys.js";
import { MAX_NUM_CANDIDATES, atlasSearchPipeline, listNamespacesPipeline, searchPipeline, vectorSearchSizes } from "../src/query.js";
import { itemUpdate } from "../src/writes.js";
import { applyPipeline, evaluate } from "./support/expr.js";
import { recordConnection } from "./support/recorder.js";

const NOWHERE = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300";
const EMBEDDINGS = { embedDocuments: async (t: string[]) => t.map(() => [1, 0]), embedQuery: async () => [1, 0] };
const st = storeCollections("p_");
const SERVER = new Date("2030-01-01T00:00:07Z");

function search(over: Partial<PreparedSearch> = {}): PreparedSearch {
  return { namespacePrefix: ["users"], conditions: [], limit: 10, offset: 0, ...over };
}

async function ready(store: MongoDBStore): Promise<MongoDBStore> {
  (store as unknown as { _setup: () => Promise<void> })._setup = async () => {};
  await store.setup();
  return store;
}

describe("store reads judge expiry by the server's clock", () => {
  it("search: the expiry check and the filter share one $expr, evaluated against $$NOW", () => {
    const { pipeline } = searchPipeline(search({ conditions: parseFilter({ kind: "note" }) }), SERVER_NOW);
    const match = pipeline[0].$match as Record<string, unknown>;
    expect(match.$or).toBeDefined();
    expect(match.expire_at).toBeUndefined();
    const doc = (expire_at: Date | null) => ({ value: { kind: "note" }, expire_at });
    expect(evaluate(match.$expr, doc(new Date(SERVER.getTime() + 1)), { NOW: SERVER })).toBe(true);
    expect(evaluate(match.$expr, doc(SERVER), { NOW: SERVER })).toBe(false);
    expect(evaluate(match.$expr, doc(null), { NOW: SERVER })).toBe(true);
    expect(evaluate(match.$expr, { value: { kind: "other" }, expire_at: null }, { NOW: SERVER })).toBe(false);
  });

  it("listNamespaces and Atlas search use the same server-side check", () => {
    const l = listNamespacesPipeline({ limit: 10, offset: 0 }, SERVER_NOW)[0].$match as Record<string, unknown>;
    expect(evaluate(l.$expr, { expire_at: SERVER }, { NOW: SERVER })).toBe(false);
    const { pipeline } = atlasSearchPipeline(st, search({ queryVector: [1, 0] }), SERVER_NOW, { indexName: "v", filterFields: [] });
    const joined = pipeline.find((s) => "$match" in s && "$expr" in (s.$match as object))!.$match as Record<string, unknown>;
    expect(evaluate(joined.$expr, { expire_at: SERVER }, { NOW: SERVER })).toBe(false);
  });

  it("the batch's reads are sent with $$NOW, never with the client's time", async () => {
    const store = await ready(new MongoDBStore({ url: NOWHERE }));
    const { calls } = recordConnection(store);
    await store.batch([
      { namespace: ["a"], key: "k" },
      { namespacePrefix: ["a"], filter: {}, limit: 10, offset: 0 },
      { matchConditions: [], limit: 10, offset: 0 },
    ]);
    const reads = calls.filter((c) => c.op === "find" || c.op === "aggregate");
    expect(reads).toHaveLength(3);
    for (const r of reads) {
      const json = JSON.stringify(r.args[0]);
      expect(json).toContain("$$NOW");
      expect(json).not.toMatch(/"\$date"|\d{4}-\d\d-\d\dT/);
    }
    await store.close();
  });
});

describe("Atlas $vectorSearch limits (numCandidates ≤ 10,000 and ≥ limit)", () => {
  it("the default grows with the page and stays within the limits", () => {
    for (const wanted of [1, 10, 25, 99, 100, 999, 1000, 1001, 2500, 9999, 10_000]) {
      const sizes = vectorSearchSizes(wanted)!;
      expect(sizes.numCandidates).toBeLessThanOrEqual(MAX_NUM_CANDIDATES);
      expect(sizes.limit).toBeLessThanOrEqual(sizes.numCandidates);
      expect(sizes.limit).toBeGreaterThanOrEqual(wanted);
      expect(sizes.numCandidates).toBe(Math.min(MAX_NUM_CANDIDATES, Math.max(100, 10 * wanted)));
    }
    // offset + limit above 1,000 used to ask for more than 10,000 candidates.
    const { pipeline } = atlasSearchPipeline(st, search({ queryVector: [1, 0], offset: 1500, limit: 100 }), SERVER_NOW, { indexName: "v", filterFields: [] });
    expect(pipeline[0].$vectorSearch).toMatchObject({ numCandidates: 10_000, limit: 6400 });
  });

  it("a configured numCandidates is kept; the vector limit never exceeds it; pages beyond it cannot be ranked by Atlas", () => {
    expect(vectorSearchSizes(10, 42)).toEqual({ numCandidates: 42, limit: 40 });
    expect(vectorSearchSizes(20, 42)).toEqual({ numCandidates: 42, limit: 42 });
    expect(vectorSearchSizes(43, 42)).toBeUndefined();
    expect(vectorSearchSizes(10_001)).toBeUndefined();
    expect(() => atlasSearchPipeline(st, search({ queryVector: [1, 0], offset: 40, limit: 10 }), SERVER_NOW, { indexName: "v", filterFields: [], numCandidates: 42 })).toThrow(RangeError);
  });

  it("vectorNumCandidates outside 1..10,000 is refused by the constructor", () => {
    const index = { dims: 2, embeddings: EMBEDDINGS as never };
    for (const bad of [0, -1, 1.5, 10_001, 1e6]) {
      expect(() => new MongoDBStore({ url: NOWHERE, index, vectorIndexName: "v", vectorNumCandidates: bad })).toThrow(InvalidArgumentError);
      expect(() => new MongoDBStore({ url: NOWHERE, index, vectorIndexName: "v", vectorNumCandidates: bad })).toThrow(/from 1 to 10000/);
    }
    expect(new MongoDBStore({ url: NOWHERE, index, vectorIndexName: "v", vectorNumCandidates: 10_000 })).toBeInstanceOf(MongoDBStore);
  });

  it("a page deeper than the candidates is ranked exactly on the items collection instead of sending an invalid $vectorSearch", async () => {
    const index = { dims: 2, embeddings: EMBEDDINGS as never };
    const store = await ready(new MongoDBStore({ url: NOWHERE, index, vectorIndexName: "v", vectorNumCandidates: 50 }));
    const { calls } = recordConnection(store);
    await store.search(["a"], { query: "x", limit: 10, offset: 0 });
    await store.search(["a"], { query: "x", limit: 10, offset: 45 });
    const searches = calls.filter((c) => c.op === "aggregate");
    expect(searches.map((c) => [c.collection, Object.keys((c.args[0] as Array<Record<string, unknown>>)[0])[0]])).toEqual([
      ["langgraph_store_vectors", "$vectorSearch"],
      ["langgraph_store", "$match"],
    ]);
    await store.close();
  });
});

describe("values with U+0000 in a key read back as they were put", () => {
  const value = { ["k\u0000"]: { ["\u0001"]: 1 }, plain: "a\u0000b" };

  it("gets and searches unescape what they read (and a widened filter re-checks the original value)", async () => {
    const store = await ready(new MongoDBStore({ url: NOWHERE }));
    const stored: Record<string, unknown> = { ns: "a", key: "k", namespace: ["a"], ...applyPipeline({}, itemUpdate({ namespace: ["a"], ns: "a", key: "k", value, ttlMinutes: null, expiresAt: null }, new Date(0)), { NOW: SERVER }) };
    expect(stored.keys_escaped).toBe(true);
    recordConnection(store, (op) => (op === "find" || op === "aggregate" ? [stored] : undefined));
    expect((await store.get(["a"], "k"))?.value).toEqual(value);
    expect((await store.search(["a"]))[0].value).toEqual(value);
    // A Date operand cannot be translated: the filter is widened and re-checked in JS on the original value.
    expect(await store.search(["a"], { filter: { ["k\u0000"]: { $in: [new Date(0), { ["\u0001"]: 1 }] } } as never })).toHaveLength(1);
    await store.close();
  });
});
