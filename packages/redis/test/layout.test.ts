import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, type Redis } from "ioredis";
import type { RunnableConfig } from "@langchain/core/runnables";
import { uuid6, type CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import { RedisSaver, RedisStore } from "../src/index.js";
import { SaverKeys, StoreKeys } from "../src/keys.js";
import { adminClient, checkpoint, collect, countThreadArtifacts, deleteKeys, scanKeys, targets, testPrefix, missingServer } from "./support.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));


for (const target of targets) {
  if (!target.url) {
    missingServer(`key layout (${target.name})`, target.env);
    continue;
  }
  const url = target.url;

  describe(`key layout (${target.name})`, () => {
    const keyPrefix = testPrefix("lay");
    const keys = new SaverKeys(keyPrefix);
    let admin: Redis | Cluster;
    const open: Array<RedisSaver | RedisStore> = [];
    const saverWith = async (options: Partial<ConstructorParameters<typeof RedisSaver>[0]> = {}) => {
      const s = new RedisSaver({ url, cluster: target.cluster, keyPrefix, ...options });
      open.push(s);
      await s.setup();
      return s;
    };
    const storeWith = async (options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}) => {
      const s = new RedisStore({ url, cluster: target.cluster, keyPrefix, ...options });
      open.push(s);
      await s.setup();
      return s;
    };

    beforeAll(() => {
      admin = adminClient(url, target.cluster);
    });
    afterAll(async () => {
      await Promise.all(open.map((s) => s.close()));
      await deleteKeys(admin, keys.allPattern());
      await admin.quit();
    });

    async function write(saver: RedisSaver, threadId: string, ns = "", parent?: string): Promise<RunnableConfig> {
      const v = String(saver.getNextVersion(undefined));
      const config = { configurable: { thread_id: threadId, checkpoint_ns: ns, ...(parent ? { checkpoint_id: parent } : {}) } };
      const stored = await saver.put(config, checkpoint({ a: `${ns}:${v}` }, { a: v }), { source: "loop", step: 0, parents: {}, run_id: `run-${threadId}` } as CheckpointMetadata, { a: v });
      await saver.putWrites(stored, [["a", "w"]], "task");
      return stored;
    }

    it("every key of a thread has the thread's hash tag; the index and the store each use one other tag", async () => {
      const saver = await saverWith();
      const store = await storeWith();
      const thread = `slots-${uuid6(-1)}`;
      await write(saver, thread, "");
      await write(saver, thread, "child:1");
      await store.put(["slots", "a"], "k", { v: 1 });
      await store.put(["slots", "b"], "k", { v: 1 });
      const threadKeys = await scanKeys(admin, keys.threadPattern(thread));
      expect(threadKeys.sort()).toEqual(keys.threadKeys(thread, ["", "child:1"]).sort());
      const tag = (k: string) => k.slice(k.indexOf("{"), k.indexOf("}") + 1);
      expect(new Set(threadKeys.map(tag))).toEqual(new Set([`{${keyPrefix}:t:${thread}}`]));
      const storeKeys = await scanKeys(admin, `{${keyPrefix}:s}:*`);
      expect(storeKeys.length).toBeGreaterThanOrEqual(5);
      if (admin instanceof Cluster) {
        const slots = async (ks: string[]) => new Set(await Promise.all(ks.map((k) => admin.cluster("KEYSLOT", k))));
        expect((await slots(threadKeys)).size).toBe(1);
        expect((await slots(storeKeys)).size).toBe(1);
      }
    });

    it("thread ids with braces, percent signs and separators get their own keys and round-trip", async () => {
      const saver = await saverWith();
      const ids = [`{x}-${uuid6(-1)}`, `a}b%7D-${uuid6(-1)}`, `a%7Db-${uuid6(-1)}`, `:ids:-${uuid6(-1)}`, `ключ 😀-${uuid6(-1)}`];
      for (const id of ids) await write(saver, id);
      for (const id of ids) {
        const tuple = await saver.getTuple({ configurable: { thread_id: id } });
        expect(tuple?.config.configurable?.thread_id).toBe(id);
        expect(tuple?.pendingWrites).toEqual([["task", "a", "w"]]);
      }
      const listed = (await collect(saver.list({}, { limit: 50 }))).map((t) => t.config.configurable?.thread_id);
      for (const id of ids) expect(listed).toContain(id);
      for (const id of ids) {
        await saver.deleteThread(id);
        expect(await countThreadArtifacts(admin, keys, id), id).toBe(0);
      }
    });

    it("with a TTL every key of the thread expires together, writes and reads with refreshOnRead restart the clock", async () => {
      const ttlMs = 60_000;
      const saver = await saverWith({ ttl: { defaultTtl: ttlMs / 60_000, refreshOnRead: true } });
      const thread = `ttl-${uuid6(-1)}`;
      const root = await write(saver, thread, "");
      await write(saver, thread, "child:1");
      const pttls = async () => Promise.all(keys.threadKeys(thread, ["", "child:1"]).map((k) => admin.pttl(k)));
      for (const t of await pttls()) {
        expect(t).toBeGreaterThan(ttlMs - 5_000);
        expect(t).toBeLessThanOrEqual(ttlMs);
      }
      // Age the keys, then read: every key, in both namespaces, is back to the full TTL.
      for (const k of keys.threadKeys(thread, ["", "child:1"])) await admin.pexpire(k, 1_000);
      await saver.getTuple(root);
      for (const t of await pttls()) expect(t).toBeGreaterThan(ttlMs - 5_000);
      for (const k of keys.threadKeys(thread, ["", "child:1"])) await admin.pexpire(k, 1_000);
      await collect(saver.list({ configurable: { thread_id: thread } }));
      for (const t of await pttls()) expect(t).toBeGreaterThan(ttlMs - 5_000);
    });

    it("without refreshOnRead, reads leave the expiry alone", async () => {
      const saver = await saverWith({ ttl: { defaultTtl: 1 } });
      const thread = `ttl-ro-${uuid6(-1)}`;
      const root = await write(saver, thread, "");
      for (const k of keys.threadKeys(thread, [""])) await admin.pexpire(k, 30_000);
      await saver.getTuple(root);
      for (const k of keys.threadKeys(thread, [""])) expect(await admin.pttl(k)).toBeLessThanOrEqual(30_000);
    });

    it("deleteThread, prune(delete) and deleteForRuns of a thread's only checkpoints leave no key and no index entry", async () => {
      const saver = await saverWith();
      for (const op of ["deleteThread", "prune", "deleteForRuns"] as const) {
        const thread = `gone-${op}-${uuid6(-1)}`;
        const first = await write(saver, thread, "");
        await write(saver, thread, "", first.configurable!.checkpoint_id as string);
        await write(saver, thread, "child:1");
        expect(await countThreadArtifacts(admin, keys, thread)).toBeGreaterThan(0);
        if (op === "deleteThread") await saver.deleteThread(thread);
        else if (op === "prune") await saver.prune([thread], { strategy: "delete" });
        else await saver.deleteForRuns([`run-${thread}`]);
        expect(await scanKeys(admin, keys.threadPattern(thread)), op).toEqual([]);
        expect(await countThreadArtifacts(admin, keys, thread), op).toBe(0);
      }
    });

    it("prune keep_latest leaves exactly the kept checkpoint's index entries and blobs", async () => {
      const saver = await saverWith();
      const thread = `prune-${uuid6(-1)}`;
      let config = await write(saver, thread, "");
      for (let i = 0; i < 3; i++) config = await write(saver, thread, "", config.configurable!.checkpoint_id as string);
      await saver.prune([thread]);
      const tuple = await saver.getTuple({ configurable: { thread_id: thread } });
      expect(tuple?.checkpoint.id).toBe(config.configurable!.checkpoint_id);
      // thread keys (ns, cp, w, b) + one checkpoint entry + the thread's member and head + one run member
      expect(await countThreadArtifacts(admin, keys, thread)).toBe(4 + 4);
      expect(await admin.hlen(`{${keyPrefix}:t:${thread}}:b:`)).toBe(1);
    });

    it("prune and deleteForRuns keep exactly the delta-chain links the remaining checkpoints reach", async () => {
      // snapshotEvery 3: versions 1-4 are a snapshot and three deltas, 5 a new snapshot, 6-8 its deltas.
      const saver = await saverWith({ linearStorage: { snapshotEvery: 3 } });
      const messages = Array.from({ length: 8 }, (_, i) => ({ role: "user", content: `message ${i}` }));
      const blobFields = async (thread: string) => (await admin.hkeys(`{${keyPrefix}:t:${thread}}:b:`)).sort();
      const grow = async (thread: string, runs: (i: number) => string) => {
        let config: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: "" } };
        let v: string | undefined;
        for (let i = 0; i < 8; i++) {
          v = String(saver.getNextVersion(v));
          config = await saver.put(config, checkpoint({ messages: messages.slice(0, i + 1) }, { messages: v }), { source: "loop", step: i, parents: {}, run_id: runs(i) } as CheckpointMetadata, { messages: v });
        }
        return config;
      };

      const runs = `chain-${uuid6(-1)}`;
      const t1 = `chain-runs-${uuid6(-1)}`;
      await grow(t1, (i) => `${runs}-${i < 5 ? "early" : "late"}`);
      expect(await blobFields(t1)).toHaveLength(8);
      await saver.deleteForRuns([`${runs}-early`]);
      // Checkpoints 6-8 reach the snapshot of version 5 and the three links after it.
      const left = await blobFields(t1);
      expect(left).toHaveLength(4);
      expect(left.filter((f) => !f.includes("~"))).toHaveLength(1);
      for (const tuple of await collect(saver.list({ configurable: { thread_id: t1 } }))) {
        expect(tuple.checkpoint.channel_values.messages).toEqual(messages.slice(0, (tuple.metadata!.step as number) + 1));
      }

      const t2 = `chain-prune-${uuid6(-1)}`;
      const last = await grow(t2, () => `${runs}-other`);
      await saver.prune([t2]);
      // The latest (version 8) reaches all four blobs of its chain; versions 1-4 are gone.
      const kept = await blobFields(t2);
      expect(kept).toHaveLength(4);
      expect(kept.filter((f) => !f.includes("~"))).toHaveLength(1);
      const tuple = await saver.getTuple(last);
      expect(tuple?.checkpoint.channel_values.messages).toEqual(messages);
    });

    it("list within a thread and across threads returns whole chains when checkpoints of a reply share links", async () => {
      const saver = await saverWith({ linearStorage: { snapshotEvery: 4 } });
      const run = `share-${uuid6(-1)}`;
      const messages = Array.from({ length: 12 }, (_, i) => ({ role: "user", content: `message ${i}` }));
      const expected = new Map<string, unknown[]>();
      for (const thread of [`share-a-${uuid6(-1)}`, `share-b-${uuid6(-1)}`]) {
        let config: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: "" } };
        let v: string | undefined;
        const configs: RunnableConfig[] = [];
        for (let i = 0; i < 10; i++) {
          v = String(saver.getNextVersion(v));
          config = await saver.put(config, checkpoint({ messages: messages.slice(0, i + 1), other: i }, { messages: v, other: v }), { source: "loop", step: i, parents: {}, run_id: run } as CheckpointMetadata, { messages: v, other: v });
          expected.set(config.configurable!.checkpoint_id as string, messages.slice(0, i + 1));
          configs.push(config);
        }
        // A fork from the middle of the chain.
        v = String(saver.getNextVersion(v));
        const fork = await saver.put(configs[5], checkpoint({ messages: [...messages.slice(0, 6), messages[11]], other: 99 }, { messages: v, other: v }), { source: "fork", step: 6, parents: {}, run_id: run } as CheckpointMetadata, { messages: v });
        expected.set(fork.configurable!.checkpoint_id as string, [...messages.slice(0, 6), messages[11]]);
        const listed = await collect(saver.list({ configurable: { thread_id: thread } }));
        expect(listed).toHaveLength(11);
        for (const t of listed) expect(t.checkpoint.channel_values.messages).toEqual(expected.get(t.checkpoint.id));
      }
      const across = await collect(saver.list({}, { filter: { run_id: run } }));
      expect(across).toHaveLength(22);
      for (const t of across) expect(t.checkpoint.channel_values.messages).toEqual(expected.get(t.checkpoint.id));
      for (const limit of [1, 3, 7]) {
        const page = await collect(saver.list({}, { filter: { run_id: run }, limit }));
        for (const t of page) expect(t.checkpoint.channel_values.messages).toEqual(expected.get(t.checkpoint.id));
      }
    });

    it("a read does not fetch the chain of a value core's codec holds; a chain extended elsewhere is read whole", async () => {
      const writer = await saverWith({ linearStorage: { snapshotEvery: 50 } });
      const thread = `known-${uuid6(-1)}`;
      const messages = Array.from({ length: 14 }, (_, i) => ({ role: "user", content: `message ${i}` }));
      let config: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: "" } };
      let v: string | undefined;
      const step = async (saver: RedisSaver, i: number) => {
        v = String(saver.getNextVersion(v));
        config = await saver.put(config, checkpoint({ messages: messages.slice(0, i + 1), n: i }, { messages: v, n: v }), { source: "loop", step: i, parents: {} }, { messages: v, n: v });
      };
      for (let i = 0; i < 10; i++) await step(writer, i);
      const blobKey = `{${keyPrefix}:t:${thread}}:b:`;
      const chainFields = (await admin.hkeys(blobKey)).filter((f) => f.startsWith("8:messages"));
      expect(chainFields).toHaveLength(10);
      const saved = await Promise.all(chainFields.map((f) => admin.hgetBuffer(blobKey, f)));
      // Hides the links before the writer's tip (`~09~`): a read that needs the chain finds it broken.
      const hide = () => admin.hdel(blobKey, ...chainFields.filter((f) => !f.includes("~09~")));
      const restore = async () => {
        for (let i = 0; i < chainFields.length; i++) await admin.hset(blobKey, chainFields[i], saved[i]!);
      };
      // The writer holds the latest `messages`: with its chain broken, its reads still work, and the
      // other channel (not a chain: no value held by the codec for it) is still read from Redis.
      await hide();
      const own = await writer.getTuple(config);
      expect(own?.checkpoint.channel_values).toEqual({ messages: messages.slice(0, 10), n: 9 });
      expect((await writer.getTuple({ configurable: { thread_id: thread } }))?.checkpoint.channel_values.messages).toEqual(messages.slice(0, 10));
      // A saver that does not hold it needs the chain.
      const cold = await saverWith();
      await expect(cold.getTuple(config)).rejects.toThrow(/missing link/);
      await restore();
      expect((await cold.getTuple(config))?.checkpoint.channel_values.messages).toEqual(messages.slice(0, 10));
      // Another instance extends the chain: the writer does not hold the new tip and reads the whole chain.
      for (let i = 10; i < 14; i++) await step(cold, i);
      expect((await writer.getTuple({ configurable: { thread_id: thread } }))?.checkpoint.channel_values.messages).toEqual(messages);
      // Having read it, the writer holds the new tip.
      await hide();
      expect((await writer.getTuple({ configurable: { thread_id: thread } }))?.checkpoint.channel_values.messages).toEqual(messages);
      await restore();
      const listed = await collect(writer.list({ configurable: { thread_id: thread } }, { limit: 3 }));
      expect(listed.map((t) => (t.checkpoint.channel_values.messages as unknown[]).length)).toEqual([14, 13, 12]);
    });

    it("two key prefixes on one database never see each other's data", async () => {
      const a = await saverWith();
      const otherPrefix = testPrefix("other");
      const b = new RedisSaver({ url, cluster: target.cluster, keyPrefix: otherPrefix });
      open.push(b);
      await b.setup();
      const thread = `shared-id-${uuid6(-1)}`;
      await write(a, thread);
      expect(await b.getTuple({ configurable: { thread_id: thread } })).toBeUndefined();
      expect((await b.listThreads({ limit: 1000 })).map((t) => t.threadId)).not.toContain(thread);
      expect(await collect(b.list({}, { filter: { run_id: `run-${thread}` } }))).toEqual([]);
      await deleteKeys(admin, new SaverKeys(otherPrefix).allPattern());
    });

    it("the index sweep drops entries of expired threads once two sweeps agree; reads never showed them", async () => {
      const saver = await saverWith({ ttl: { defaultTtl: 0.005, sweepIntervalMinutes: 60 } });
      const thread = `sweep-${uuid6(-1)}`;
      await write(saver, thread);
      await sleep(500);
      expect(await scanKeys(admin, keys.threadPattern(thread))).toEqual([]);
      expect((await saver.listThreads({ limit: 1000 })).map((t) => t.threadId)).not.toContain(thread);
      expect(await collect(saver.list({}, { filter: { run_id: `run-${thread}` } }))).toEqual([]);
      // On a standalone server the reads above already removed what they found stale; on Cluster the
      // index is another slot and only the sweep cleans it.
      if (target.cluster) expect(await countThreadArtifacts(admin, keys, thread)).toBeGreaterThan(0);
      await saver.sweepIndex();
      await saver.sweepIndex();
      expect(await countThreadArtifacts(admin, keys, thread)).toBe(0);
    });

    it("store: expired items leave the namespace indexes on read, and sweep() removes what no read touched", async () => {
      const store = await storeWith({ ttl: { defaultTtl: 0.005, refreshOnRead: false, sweepIntervalMinutes: 60 } });
      const storeKeys = new StoreKeys(keyPrefix);
      const root = `exp-${uuid6(-1)}`;
      await store.put([root, "a"], "k", { v: 1 });
      await store.put([root, "b"], "k", { v: 1 });
      await store.put([root, "keep"], "k", { v: 1 }, undefined, { ttl: null });
      await sleep(500);
      expect(await admin.zcard(storeKeys.ordering(`${root}.a`))).toBe(1);
      expect((await store.search([root, "a"])).length).toBe(0);
      expect(await admin.exists(storeKeys.ordering(`${root}.a`))).toBe(0);
      expect(await admin.zscore(storeKeys.namespaces(), `${root}.a`)).toBeNull();
      expect(await admin.zscore(storeKeys.namespaces(), `${root}.b`)).not.toBeNull();
      expect(await store.sweep()).toBeGreaterThanOrEqual(1);
      expect(await admin.zscore(storeKeys.namespaces(), `${root}.b`)).toBeNull();
      expect(await store.listNamespaces({ prefix: [root] })).toEqual([[root, "keep"]]);
    });

    it("store: a sweep with a small budget resumes where it stopped until the pass is complete", async () => {
      const store = await storeWith({ ttl: { defaultTtl: 0.005, refreshOnRead: false, sweepIntervalMinutes: 60 } });
      const storeKeys = new StoreKeys(keyPrefix);
      const root = `budget-${uuid6(-1)}`;
      for (const n of ["a", "b", "c"]) for (const k of ["k1", "k2"]) await store.put([root, n], k, { v: 1 });
      await sleep(500);
      await store.sweep();
      let removed = 0;
      for (const n of ["a", "b", "c"]) {
        for (const k of ["k1", "k2"]) await store.put([root, n], k, { v: 1 });
      }
      await sleep(500);
      // One member per call: other tests' live items under this prefix are examined (and kept) along the way.
      for (let i = 0; i < 500 && removed < 6; i++) removed += await store.sweep(1);
      expect(removed).toBe(6);
      for (const n of ["a", "b", "c"]) expect(await admin.zscore(storeKeys.namespaces(), `${root}.${n}`)).toBeNull();
    });

    it("store: item TTL is a Redis expiry on the item key, and reads with refreshOnRead restart it", async () => {
      const store = await storeWith({ ttl: { defaultTtl: 1, refreshOnRead: true } });
      const storeKeys = new StoreKeys(keyPrefix);
      const ns = [`ttl-${uuid6(-1)}`];
      await store.put(ns, "k", { v: 1 });
      const key = storeKeys.item(ns[0], "k");
      expect(await admin.pttl(key)).toBeGreaterThan(55_000);
      await admin.pexpire(key, 5_000);
      await store.search(ns);
      expect(await admin.pttl(key)).toBeGreaterThan(55_000);
      await admin.pexpire(key, 5_000);
      await store.get(ns, "k");
      expect(await admin.pttl(key)).toBeGreaterThan(55_000);
    });
  });
}
