import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cluster, Redis } from "ioredis";
import type { RunnableConfig } from "@langchain/core/runnables";
import { uuid6 } from "@langchain/langgraph-checkpoint";
import { RedisSaver, RedisStore } from "../src/index.js";
import { SaverKeys } from "../src/keys.js";
import { adminClient, checkpoint, collect, deleteKeys, targets, testPrefix, missingServer } from "./support.js";

/** Records the name of every command the client sends (`sendCommand` is where ioredis writes each one). */
function recordCommands(client: Redis | Cluster) {
  const names: string[] = [];
  const original = client.sendCommand;
  (client as unknown as { sendCommand: typeof original }).sendCommand = function (this: unknown, command: { name: string }, ...rest: unknown[]) {
    names.push(command.name.toLowerCase());
    return (original as (...a: unknown[]) => unknown).call(this, command, ...rest);
  } as typeof original;
  return {
    /** Commands sent while `fn` ran. */
    async during(fn: () => Promise<unknown>): Promise<string[]> {
      names.length = 0;
      await fn();
      return [...names];
    },
  };
}


for (const target of targets) {
  if (!target.url) {
    missingServer(`round trips (${target.name})`, target.env);
    continue;
  }
  const url = target.url;
  // On Cluster a put also updates the global index, which lives in another slot: a second command,
  // sent in the same round trip. Everything else is one command on both.
  const indexCommands = target.cluster ? 1 : 0;

  describe(`round trips (${target.name})`, () => {
    const keyPrefix = testPrefix("rt");
    let client: Redis | Cluster;
    let commands: ReturnType<typeof recordCommands>;
    let saver: RedisSaver;
    let store: RedisStore;

    beforeAll(async () => {
      client = adminClient(url, target.cluster);
      await client.ping();
      commands = recordCommands(client);
      saver = new RedisSaver({ client, keyPrefix });
      store = new RedisStore({ client, keyPrefix });
      await saver.setup();
      await store.setup();
    });

    afterAll(async () => {
      await saver.close();
      await store.close();
      await deleteKeys(client, new SaverKeys(keyPrefix).allPattern());
      await client.quit();
    });

    /** A chain of `n` checkpoints on one thread, each changing channel `step`; returns the configs. */
    async function chain(threadId: string, n: number, metadata: (i: number) => Record<string, unknown> = () => ({})): Promise<RunnableConfig[]> {
      const configs: RunnableConfig[] = [];
      let parent: RunnableConfig = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
      let version: string | undefined;
      for (let i = 0; i < n; i++) {
        version = String(saver.getNextVersion(version));
        parent = await saver.put(parent, checkpoint({ step: i }, { step: version }), { source: "loop", step: i, parents: {}, ...metadata(i) }, { step: version });
        configs.push(parent);
      }
      return configs;
    }

    it("put is one script call, plus the index update on Cluster", async () => {
      const thread = `rt-put-${uuid6(-1)}`;
      const [first] = await chain(thread, 1);
      const v = String(saver.getNextVersion(undefined));
      const sent = await commands.during(() => saver.put(first, checkpoint({ a: "x".repeat(1000), b: [1, 2, 3] }, { a: v, b: v }), { source: "loop", step: 1, parents: {} }, { a: v, b: v }));
      expect(sent).toEqual(Array(1 + indexCommands).fill("evalsha"));
    });

    it("putWrites is one script call", async () => {
      const [config] = await chain(`rt-w-${uuid6(-1)}`, 1);
      const sent = await commands.during(() => saver.putWrites(config, [["a", 1], ["b", 2], ["__error__", "boom"]], "task-1"));
      expect(sent).toEqual(["evalsha"]);
    });

    it("getTuple (latest or by id) is one script call that returns the row, its blobs and its writes", async () => {
      const configs = await chain(`rt-get-${uuid6(-1)}`, 3);
      await saver.putWrites(configs[2], [["step", "w"]], "task-1");
      let tuple: Awaited<ReturnType<RedisSaver["getTuple"]>>;
      const latest = await commands.during(async () => {
        tuple = await saver.getTuple({ configurable: { thread_id: configs[0].configurable!.thread_id } });
      });
      expect(latest).toEqual(["evalsha"]);
      expect(tuple!.checkpoint.channel_values).toEqual({ step: 2 });
      expect(tuple!.pendingWrites).toEqual([["task-1", "step", "w"]]);
      const byId = await commands.during(() => saver.getTuple(configs[1]));
      expect(byId).toEqual(["evalsha"]);
    });

    it("list is one script call per page of 100, and without a limit returns every checkpoint", async () => {
      const thread = `rt-list-${uuid6(-1)}`;
      const configs = await chain(thread, 230, (i) => ({ parity: i % 2 === 0 ? "even" : "odd" }));
      let page: unknown[] = [];
      const limited = await commands.during(async () => {
        page = await collect(saver.list({ configurable: { thread_id: thread } }, { limit: 5 }));
      });
      expect(limited).toEqual(["evalsha"]);
      expect(page).toHaveLength(5);

      let all: Array<{ config: RunnableConfig }> = [];
      const everything = await commands.during(async () => {
        all = await collect(saver.list({ configurable: { thread_id: thread } }));
      });
      expect(all.map((t) => t.config.configurable!.checkpoint_id)).toEqual(configs.map((c) => c.configurable!.checkpoint_id).reverse());
      expect(everything).toEqual(["evalsha", "evalsha", "evalsha"]);

      const filtered = await commands.during(async () => {
        all = await collect(saver.list({ configurable: { thread_id: thread } }, { filter: { parity: "even" } }));
      });
      expect(all).toHaveLength(115);
      expect(filtered).toEqual(["evalsha", "evalsha"]);
    });

    it("list across threads reads one index page and fetches each thread's rows with one script", async () => {
      const marker = `m-${uuid6(-1)}`;
      await chain(`rt-x1-${uuid6(-1)}`, 2, () => ({ marker }));
      await chain(`rt-x2-${uuid6(-1)}`, 2, () => ({ marker }));
      let listed: unknown[] = [];
      const sent = await commands.during(async () => {
        listed = await collect(saver.list({}, { limit: 3 }));
      });
      expect(listed).toHaveLength(3);
      expect(sent).toEqual(["zrange", "evalsha", "evalsha"]);
    });

    it("listThreads reads one index page and each listed thread's head with one script", async () => {
      await chain(`rt-lt1-${uuid6(-1)}`, 2);
      await chain(`rt-lt2-${uuid6(-1)}`, 2);
      let threads: unknown[] = [];
      const sent = await commands.during(async () => {
        threads = await saver.listThreads({ limit: 2 });
      });
      expect(threads).toHaveLength(2);
      expect(sent).toEqual(["zrange", "evalsha", "evalsha"]);
    });

    it("deleteThread is one script call, plus the index update on Cluster", async () => {
      const thread = `rt-del-${uuid6(-1)}`;
      await chain(thread, 3);
      const sent = await commands.during(() => saver.deleteThread(thread));
      expect(sent).toEqual(Array(1 + indexCommands).fill("evalsha"));
      expect(await saver.getTuple({ configurable: { thread_id: thread } })).toBeUndefined();
    });

    it("a store batch of gets, searches, listNamespaces and puts is one script call", async () => {
      const root = `rt-store-${uuid6(-1)}`;
      await store.put([root, "a"], "k1", { n: 1 });
      const sent = await commands.during(() =>
        store.batch([
          { namespace: [root, "a"], key: "k1" },
          { namespacePrefix: [root], filter: { n: { $gte: 1 } }, limit: 10, offset: 0 },
          { matchConditions: [{ matchType: "prefix", path: [root] }], limit: 10, offset: 0 },
          { namespace: [root, "b"], key: "k2", value: { n: 2 } },
          { namespace: [root, "a"], key: "k1", value: null },
        ]),
      );
      expect(sent).toEqual(["evalsha"]);
    });
  });
}
