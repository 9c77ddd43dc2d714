import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cluster, Redis } from "ioredis";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { matchesConditions, parseFilter } from "@langgraph-persist/core";
import { RedisSaver, RedisStore } from "../src/index.js";
import { SaverKeys, StoreKeys } from "../src/keys.js";
import { STORE_BATCH } from "../src/scripts.js";
import { REDIS_URL, adminClient, deleteKeys, testPrefix, missingServer } from "./support.js";

/** Values chosen where JSON in Lua (cjson) and JavaScript could disagree. */
const VALUES: Record<string, Record<string, unknown>> = {
  n9: { n: 9 },
  n10: { n: 10 },
  n10_5: { n: 10.5 },
  nNeg: { n: -1 },
  nZero: { n: 0 },
  nBig: { n: 12345678901234567890 },
  s9: { s: "9" },
  s10: { s: "10" },
  sAbc: { s: "abc" },
  sAbcUpper: { s: "Abc" },
  sAccent: { s: "é" },
  sEmoji: { s: "😀" },
  sBmpHigh: { s: "\uffff" },
  sNul: { s: "a\u0000b" },
  sEmpty: { s: "" },
  bTrue: { b: true },
  bFalse: { b: false },
  bNull: { b: null },
  bTrueString: { b: "true" },
  bNullString: { b: "null" },
  aEmptyArray: { a: [] },
  aEmptyObject: { a: {} },
  a12: { a: [1, 2] },
  a21: { a: [2, 1] },
  aObj: { a: { x: 1, y: [1] } },
  aObjReordered: { a: { y: [1], x: 1 } },
  aArrayOfEmptyObject: { a: [{}] },
  aArrayOfEmptyArray: { a: [[]] },
  aArrayOfNull: { a: [null] },
  pNested: { p: { q: { r: 1 } } },
  pArray: { p: [{ q: 5 }, { q: 6 }] },
  pObjectWithIndexKey: { p: { "0": { q: 7 } } },
  missing: {},
};

const FILTERS: Array<Record<string, unknown>> = [
  { n: 10 },
  { n: { $gt: 9 } },
  { n: { $gte: 10 } },
  { n: { $lt: 10 } },
  { n: { $lte: 9 } },
  { n: { $ne: 10 } },
  { n: { $in: [9, "10"] } },
  { n: { $nin: [9] } },
  { n: { $exists: true } },
  { n: { $exists: false } },
  { n: { $gt: 0, $lt: 100 } },
  { n: 12345678901234567890 },
  { s: "10" },
  { s: { $gt: "9" } },
  { s: { $lt: "b" } },
  { s: { $gt: "\uffff" } },
  { s: { $lt: "😀" } },
  { s: { $gte: "é" } },
  { s: "a\u0000b" },
  { s: "" },
  { b: null },
  { b: true },
  { b: false },
  { b: { $ne: null } },
  { b: { $in: [null, true] } },
  { a: [] },
  { a: {} },
  { a: [1, 2] },
  { a: { y: [1], x: 1 } },
  { a: [{}] },
  { a: [[]] },
  { a: [null] },
  { a: { $ne: [] } },
  { a: { $in: [[], {}] } },
  { a: { $nin: [[1, 2]] } },
  { "p.q.r": 1 },
  { "p.0.q": 5 },
  { "p.1.q": 6 },
  { "p.0.q": 7 },
  { "p.q": { $exists: true } },
  { n: { $gte: 9 }, s: { $exists: false } },
];

const expectedKeys = (filter: Record<string, unknown>) =>
  Object.entries(VALUES)
    .filter(([, v]) => matchesConditions(v, parseFilter(filter)))
    .map(([k]) => k)
    .sort();

if (!REDIS_URL) {
  missingServer("filter pushdown", "TEST_REDIS_URL");
} else {
  const url = REDIS_URL;
  describe("filter pushdown", () => {
    const keyPrefix = testPrefix("flt");
    const ns = ["filters"];
    let admin: Redis | Cluster;
    let store: RedisStore;
    let saver: RedisSaver;

    beforeAll(async () => {
      admin = adminClient(url, false);
      store = RedisStore.fromConnString(url, { keyPrefix });
      saver = RedisSaver.fromConnString(url, { keyPrefix });
      await store.setup();
      await saver.setup();
      for (const [key, value] of Object.entries(VALUES)) {
        await store.put(ns, key, value);
        await new Promise((r) => setTimeout(r, 2));
      }
    });

    afterAll(async () => {
      await store.close();
      await saver.close();
      await deleteKeys(admin, new SaverKeys(keyPrefix).allPattern());
      await admin.quit();
    });

    for (const filter of FILTERS) {
      it(`search with ${JSON.stringify(filter)} returns exactly what the core filter rules match`, async () => {
        const found = await store.search(ns, { filter, limit: 100 });
        expect(found.map((i) => i.key).sort()).toEqual(expectedKeys(filter));
      });
    }

    it("the script never excludes a match and never calls a non-match certain; it is unsure only where cjson is", async () => {
      const unsure: string[] = [];
      for (const filter of FILTERS) {
        const conditions = parseFilter(filter).map((c) => ({ p: c.path, o: c.op, v: c.value }));
        // Mode 'v' returns every candidate the script did not exclude, with its certainty flag.
        const args = [String(Date.now()), "0", 0, 1, "v", "1", "filters", 100, 0, JSON.stringify(conditions), 0, 0];
        const [, searches] = (await admin.evalsha(STORE_BATCH.sha, 1, new StoreKeys(keyPrefix).namespaces(), ...args)) as [unknown, Array<[number, number, Array<[string, string, string, string, string, number]>]>];
        const hits = new Map(searches[0][2].map((h) => [h[1], h[5]]));
        for (const [key, value] of Object.entries(VALUES)) {
          const matches = matchesConditions(value, parseFilter(filter));
          const what = `${JSON.stringify(filter)} on ${key}`;
          if (matches) expect(hits.has(key), `${what}: a match was excluded`).toBe(true);
          if (hits.get(key) === 1) expect(matches, `${what}: a non-match was reported as certain`).toBe(true);
          if (hits.get(key) === 0) unsure.push(what);
        }
      }
      // Only the cases the script cannot decide: [] vs {} and comparisons with supplementary characters.
      for (const u of unsure) expect(u).toMatch(/"a"|😀|aEmpty|aArrayOf|"s":\{"\$(gt|lt|gte)"/);
      expect(unsure.length).toBeLessThan(40);
    });

    it("limit and offset count exact matches when the script is unsure about some items", async () => {
      const filter = { a: [] };
      const expected = (await store.search(ns, { limit: 100 })).map((i) => i.key).filter((k) => expectedKeys(filter).includes(k));
      expect(expected).toEqual(["aEmptyArray"]);
      const both = { a: { $in: [[], {}, [1, 2]] } };
      const ordered = (await store.search(ns, { limit: 100 })).map((i) => i.key).filter((k) => expectedKeys(both).includes(k));
      expect(ordered).toHaveLength(3);
      for (let offset = 0; offset <= 3; offset++) {
        for (let limit = 0; limit <= 3; limit++) {
          const page = await store.search(ns, { filter: both, limit, offset });
          expect(page.map((i) => i.key), `offset ${offset} limit ${limit}`).toEqual(ordered.slice(offset, offset + limit));
        }
      }
    });

    it("checkpoint list filters tell [] from {} and 1 from 1.0-as-string, even though cjson cannot", async () => {
      const thread = `flt-${uuid6(-1)}`;
      const metas = [{ tag: [] }, { tag: {} }, { tag: [[]] }, { tag: "1" }, { tag: 1 }];
      let parent: string | undefined;
      const ids: string[] = [];
      for (const m of metas) {
        const cp = emptyCheckpoint();
        cp.id = uuid6(-1);
        const stored = await saver.put({ configurable: { thread_id: thread, checkpoint_ns: "", ...(parent ? { checkpoint_id: parent } : {}) } }, cp, { source: "loop", step: ids.length, parents: {}, ...m }, {});
        parent = stored.configurable!.checkpoint_id as string;
        ids.push(parent);
      }
      const run = async (filter: Record<string, unknown>) => {
        const out: string[] = [];
        for await (const t of saver.list({ configurable: { thread_id: thread } }, { filter })) out.push(t.checkpoint.id);
        return out;
      };
      expect(await run({ tag: [] })).toEqual([ids[0]]);
      expect(await run({ tag: {} })).toEqual([ids[1]]);
      expect(await run({ tag: [[]] })).toEqual([ids[2]]);
      expect(await run({ tag: "1" })).toEqual([ids[3]]);
      expect(await run({ tag: 1 })).toEqual([ids[4]]);
      const threads = await saver.listThreads({ limit: 1000, filter: { tag: 1 } });
      expect(threads.map((t) => t.threadId)).toEqual([thread]);
      expect(await saver.listThreads({ limit: 1000, filter: { tag: [] } })).toEqual([]);
    });
  });
}
