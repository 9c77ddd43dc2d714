import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cosineSimilarity, matchesConditions, parseFilter, similarity } from "@langgraph-persist/core";
import { HashEmbeddings } from "@langgraph-persist/conformance";
import { SqliteStore, type SqliteDatabase } from "../src/index.js";
import { storeFilterSql } from "../src/sql.js";
import { StatementLog } from "./helpers.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Values chosen where SQL and JS could disagree: numbers vs numeric strings, byte vs UTF-16 order, JSON types. */
const SAMPLES: unknown[] = [
  0, 1, 2, 10, 1.5, -3, 1e20, "0", "1", "10", "2", "", "a", "ab", "abd", "Z", "é", "\uFFFD", "\uE000", "😀", "😀a", "a\"b", null, true, false,
  { x: 1 }, { x: 1, y: 2 }, { y: 2, x: 1 }, [1, 2], [2, 1], [], {}, ["a"],
];
const OPERANDS: unknown[] = [0, 1, 1.5, 2, "1", "ab", "abd", "", "😀", "\uFFFD", "\uE000", "a\"b", null, true, false, { x: 1 }, { y: 2, x: 1 }, [1, 2], []];

describe("store: filters evaluated in SQL agree with core matchesConditions", () => {
  let store: SqliteStore;
  const values: Array<{ key: string; value: Record<string, unknown> }> = [];

  beforeEach(async () => {
    store = new SqliteStore(":memory:");
    await store.setup();
    values.length = 0;
    let n = 0;
    for (const s of SAMPLES) {
      // The same sample at the top level, nested, inside an array, and under an index-like object key.
      for (const value of [{ f: s }, { o: { p: s } }, { arr: [s] }, { o: { "0": s } }, { "we\"ird": s }]) {
        const key = `k${String(n++).padStart(3, "0")}`;
        values.push({ key, value });
      }
    }
    values.push({ key: "empty", value: {} });
    await store.batch(values.map((v) => ({ namespace: ["f"], key: v.key, value: v.value })));
  });

  afterEach(async () => {
    await store.close();
  });

  it("for every operator, operand and path shape", async () => {
    const paths = ["f", "o.p", "arr.0", "o.0", "we\"ird"];
    const filters: Array<Record<string, unknown>> = [];
    for (const path of paths) {
      for (const operand of OPERANDS) {
        filters.push({ [path]: operand }, { [path]: { $eq: operand } }, { [path]: { $ne: operand } });
        if (typeof operand === "number" || typeof operand === "string") {
          for (const op of ["$gt", "$gte", "$lt", "$lte"]) filters.push({ [path]: { [op]: operand } });
        }
      }
      for (const list of [[1, "1"], [null, true], [{ x: 1 }], [], ["ab", 2, false]]) filters.push({ [path]: { $in: list } }, { [path]: { $nin: list } });
      filters.push({ [path]: { $exists: true } }, { [path]: { $exists: false } }, { [path]: { $gte: 1, $lt: 10 } });
    }
    const isScalar = (v: unknown): boolean => v === null || typeof v !== "object";
    for (const filter of filters) {
      const conditions = parseFilter(filter);
      const [path] = Object.keys(filter);
      const utf16Safe = JSON.stringify(filter) === JSON.stringify(filter).replace(/[\ud800-\uffff]/g, "");
      if ((path === "f" || path === "o.p") && conditions.every((c) => (c.op === "$in" || c.op === "$nin" ? (c.value as unknown[]).every(isScalar) : isScalar(c.value))) && utf16Safe) {
        // Plain paths and scalar operands are answered by SQL alone, with LIMIT/OFFSET in the query.
        expect(storeFilterSql("v", conditions, {}).exact, JSON.stringify(filter)).toBe(true);
      }
      const expected = values.filter((v) => matchesConditions(v.value, conditions)).map((v) => v.key).sort();
      const got = (await store.search(["f"], { filter, limit: 1000 })).map((i) => i.key).sort();
      expect(got, JSON.stringify(filter)).toEqual(expected);
    }
  });

  it("pages after filtering, also when part of the filter is re-checked in JS", async () => {
    for (const filter of [{ f: { $gte: 1 } }, { f: { x: 1 } }, { f: { $gt: "😀" } }, { f: { $ne: [1, 2] } }]) {
      const all = (await store.search(["f"], { filter, limit: 1000 })).map((i) => i.key);
      expect(all.length, JSON.stringify(filter)).toBeGreaterThan(0);
      const paged: string[] = [];
      for (let offset = 0; offset < all.length; offset += 2) paged.push(...(await store.search(["f"], { filter, limit: 2, offset })).map((i) => i.key));
      expect(paged, JSON.stringify(filter)).toEqual(all);
    }
  });
});

describe("store: namespaces", () => {
  it("matches labels containing LIKE/GLOB metacharacters literally, segment by segment", async () => {
    const store = new SqliteStore(":memory:");
    await store.setup();
    const labels = ["a%", "a_", "a*", "a[", "a]", "ab", "a", "a\\", "a?"];
    for (const l of labels) {
      await store.put([l], "k", { l });
      await store.put([l, "child"], "k", { l, child: true });
    }
    for (const l of labels) {
      const found = await store.search([l], { limit: 100 });
      expect(found.map((i) => i.namespace), l).toEqual(expect.arrayContaining([[l], [l, "child"]]));
      expect(found.every((i) => i.namespace[0] === l), l).toBe(true);
      expect(await store.listNamespaces({ prefix: [l] }), l).toEqual([[l], [l, "child"]]);
    }
    expect((await store.listNamespaces({ maxDepth: 1 })).map((ns) => ns[0]).sort()).toEqual([...labels].sort());
    await store.close();
  });
});

describe("store: semantic search", () => {
  let store: SqliteStore;
  const embeddings = new HashEmbeddings(32);

  beforeEach(async () => {
    store = new SqliteStore(":memory:", { index: { dims: 32, embeddings, fields: ["text"] } });
    await store.setup();
  });

  afterEach(async () => {
    await store.close();
  });

  it("applies the filter inside the ranked query, so a filter that rejects the nearest items still fills the page", async () => {
    const ops = [];
    for (let i = 0; i < 20; i++) ops.push({ namespace: ["docs"], key: `whale-${i}`, value: { text: `blue whales sing number ${i}`, kind: "near" } });
    for (let i = 0; i < 20; i++) ops.push({ namespace: ["docs"], key: `apple-${i}`, value: { text: `red apples ${i}`, kind: "far", rank: i } });
    await store.batch(ops);
    const hits = await store.search(["docs"], { query: "blue whales", filter: { kind: "far" }, limit: 5 });
    expect(hits).toHaveLength(5);
    expect(hits.every((h) => h.value.kind === "far")).toBe(true);
    const scores = hits.map((h) => h.score!);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    const q = embeddings.embedText("blue whales");
    for (const h of hits) expect(h.score!).toBeCloseTo(cosineSimilarity(embeddings.embedText(h.value.text as string), q), 5);

    // The best "far" item overall is the first hit: no k-NN page was cut before the filter.
    const all = await store.search(["docs"], { query: "blue whales", filter: { kind: "far" }, limit: 100 });
    expect(all).toHaveLength(20);
    expect(hits.map((h) => h.key)).toEqual(all.slice(0, 5).map((h) => h.key));
    const rest = await store.search(["docs"], { query: "blue whales", filter: { kind: "far", rank: { $gte: 0 } }, limit: 5, offset: 5 });
    expect(rest.map((h) => h.key)).toEqual(all.slice(5, 10).map((h) => h.key));
  });

  it("items without vectors come after scored ones; a zero vector scores 0 like core's cosine", async () => {
    await store.put(["docs"], "scored", { text: "blue whales" });
    await store.put(["docs"], "unindexed", { text: "blue whales" }, false);
    await store.put(["docs"], "no-text", { other: 1 });
    const hits = await store.search(["docs"], { query: "blue whales", limit: 10 });
    expect(hits[0].key).toBe("scored");
    expect(hits[0].score).toBeCloseTo(1, 5);
    expect(hits.slice(1).every((h) => h.score === undefined)).toBe(true);
    expect(hits.slice(1).map((h) => h.key).sort()).toEqual(["no-text", "unindexed"]);

    const zero = new SqliteStore(":memory:", { index: { dims: 4, embeddings: { embedDocuments: async (t: string[]) => t.map(() => [0, 0, 0, 0]), embedQuery: async () => [1, 0, 0, 0] } as never } });
    await zero.setup();
    await zero.put(["z"], "k", { text: "anything" });
    expect((await zero.search(["z"], { query: "q" }))[0].score).toBe(0);
    await zero.close();
  });

  it("each distanceType scores with sqlite-vec exactly as core similarity scores the stored float32 vectors", async () => {
    // Unnormalised pseudo-random vectors (lengths from about 0.5 to 40), and a zero vector.
    let x = 12345;
    const next = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const texts = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const table = new Map<string, number[]>(texts.map((t, i) => [t, Array.from({ length: 48 }, () => next() * (1 + (i % 7) * 1.5))]));
    table.set("zero", new Array(48).fill(0));
    table.set("q", Array.from({ length: 48 }, () => next() * 3));
    const f32 = (t: string) => Array.from(Float32Array.from(table.get(t)!));
    const fixed = { embedDocuments: async (ts: string[]) => ts.map((t) => table.get(t)!), embedQuery: async (t: string) => table.get(t)! } as never;
    for (const distanceType of ["cosine", "l2", "inner_product"] as const) {
      const s = new SqliteStore(":memory:", { index: { dims: 48, embeddings: fixed, fields: ["text"], distanceType } });
      await s.setup();
      await s.batch([...texts, "zero"].map((text) => ({ namespace: ["v"], key: text, value: { text } })));
      const hits = await s.search(["v"], { query: "q", limit: 100 });
      const expected = [...texts, "zero"].map((t) => ({ key: t, score: similarity(distanceType, f32(t), f32("q")) })).sort((a, b) => b.score - a.score);
      expect(hits.map((h) => h.key), distanceType).toEqual(expected.map((e) => e.key));
      for (const [i, e] of expected.entries()) {
        // float32 arithmetic in sqlite-vec: relative to the size of the numbers involved.
        const scale = distanceType === "cosine" ? 1 : Math.max(1, Math.abs(e.score));
        expect(Math.abs(hits[i].score! - e.score) / scale, `${distanceType} ${e.key}: ${hits[i].score} vs ${e.score}`).toBeLessThan(1e-5);
      }
      await s.close();
    }
  });

  it("re-putting an item replaces its vectors; deleting it removes them", async () => {
    const raw = new Database(":memory:");
    const s = new SqliteStore(raw, { index: { dims: 32, embeddings, fields: ["text", "tags[*]"] } });
    await s.setup();
    await s.put(["d"], "k", { text: "blue whales", tags: ["ocean", "mammal"] });
    expect((raw.prepare("SELECT COUNT(*) AS n FROM store_vectors").get() as { n: number }).n).toBe(3);
    await s.put(["d"], "k", { text: "red apples" });
    expect((raw.prepare("SELECT COUNT(*) AS n FROM store_vectors").get() as { n: number }).n).toBe(1);
    expect((await s.search(["d"], { query: "red apples" }))[0].score).toBeCloseTo(1, 5);
    await s.delete(["d"], "k");
    expect((raw.prepare("SELECT COUNT(*) AS n FROM store_vectors").get() as { n: number }).n).toBe(0);
    await s.close();
    raw.close();
  });
});

describe("store: TTL", () => {
  it("an expired item is hidden from every read before the sweep, then sweep() deletes it and its vectors", async () => {
    const raw = new Database(":memory:");
    const store = new SqliteStore(raw, { ttl: { defaultTtl: 60, sweepIntervalMinutes: 60 }, index: { dims: 8, embeddings: new HashEmbeddings(8), fields: ["text"] } });
    await store.setup();
    await store.put(["t"], "short", { text: "short lived" }, undefined, { ttl: 0.002 });
    await store.put(["t"], "long", { text: "long lived" });
    await sleep(250);
    expect(await store.get(["t"], "short")).toBeNull();
    expect((await store.search(["t"], { query: "short lived" })).map((i) => i.key)).toEqual(["long"]);
    expect(await store.listNamespaces({})).toEqual([["t"]]);
    expect((raw.prepare("SELECT COUNT(*) AS n FROM store_items").get() as { n: number }).n).toBe(2);
    expect(await store.sweep()).toBe(1);
    expect((raw.prepare("SELECT key FROM store_items").all() as Array<{ key: string }>).map((r) => r.key)).toEqual(["long"]);
    expect((raw.prepare("SELECT DISTINCT key FROM store_vectors").all() as Array<{ key: string }>).map((r) => r.key)).toEqual(["long"]);
    // Re-creating an expired key makes a new item: createdAt starts over.
    await store.put(["t"], "again", { text: "x" }, undefined, { ttl: 0.002 });
    const first = (await store.get(["t"], "again"))!.createdAt;
    await sleep(250);
    await store.put(["t"], "again", { text: "y" });
    expect((await store.get(["t"], "again"))!.createdAt.getTime()).toBeGreaterThan(first.getTime());
    await store.close();
    raw.close();
  });

  it("the sweeper timer starts with setup() and close() stops it", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const store = new SqliteStore(":memory:", { ttl: { defaultTtl: 1, sweepIntervalMinutes: 1 } });
      expect(vi.getTimerCount()).toBe(0);
      await store.setup();
      expect(vi.getTimerCount()).toBe(1);
      await store.put(["a"], "k", { v: 1 }, undefined, { ttl: 0.0001 });
      await sleep(20);
      vi.advanceTimersByTime(60_000);
      await vi.waitFor(async () => expect(await store.search(["a"])).toEqual([]));
      await store.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("refreshOnRead extends only items that have a TTL, in the same transaction as the read", async () => {
    const raw = new Database(":memory:");
    const log = new StatementLog();
    const store = new SqliteStore(log.wrap(raw), { ttl: { defaultTtl: 10, refreshOnRead: true } });
    await store.setup();
    await store.put(["r"], "ttl", { v: 1 });
    await store.put(["r"], "forever", { v: 2 }, undefined, { ttl: null });
    const before = raw.prepare("SELECT key, expires_at FROM store_items ORDER BY key").all() as Array<{ key: string; expires_at: number | null }>;
    await sleep(5);
    const run = await log.during(() => store.batch([{ namespace: ["r"], key: "ttl" }, { namespace: ["r"], key: "forever" }]));
    expect(run.map((e) => e.sql.trim().split(/\s+/)[0])).toEqual(["BEGIN", "SELECT", "UPDATE", "COMMIT"]);
    const after = raw.prepare("SELECT key, expires_at FROM store_items ORDER BY key").all() as Array<{ key: string; expires_at: number | null }>;
    expect(after[0]).toEqual({ key: "forever", expires_at: null });
    expect(after[1].expires_at!).toBeGreaterThan(before[1].expires_at!);
    await store.close();
    raw.close();
  });
});

describe("store: shared handle", () => {
  let raw: SqliteDatabase;
  beforeEach(() => {
    raw = new Database(":memory:");
  });
  afterEach(() => {
    raw.close();
  });

  it("two stores with different table prefixes keep separate data in one database", async () => {
    const a = new SqliteStore(raw, { tablePrefix: "a_" });
    const b = new SqliteStore(raw, { tablePrefix: "b_" });
    await a.setup();
    await b.setup();
    await a.put(["n"], "k", { from: "a" });
    expect(await b.get(["n"], "k")).toBeNull();
    const tables = (raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    expect(tables).toEqual(["a_store_items", "a_store_migrations", "a_store_vectors", "b_store_items", "b_store_migrations", "b_store_vectors"]);
    await a.close();
    await b.close();
  });
});
