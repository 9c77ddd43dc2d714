import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoClient, type CommandStartedEvent } from "mongodb";
import { emptyCheckpoint, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { uniqueId } from "@langgraph-persist/conformance";
import { MongoDBSaver, MongoDBStore } from "../src/index.js";
import type { DeploymentInfo } from "../src/connection.js";
import { BLOBS_AND_WRITES_BATCH_SIZE } from "../src/query.js";
import { TEST_DB, dropPrefix, missingServer, mongoUrl, runPrefix } from "./support/server.js";

/**
 * Round-trip budgets, counted as the commands the driver sends (command monitoring), against a real
 * server. Counts, never timings.
 */
const url = mongoUrl();

function checkpoint(id: string, values: Record<string, unknown>, versions: Record<string, string>): Checkpoint {
  return { ...emptyCheckpoint(), id, ts: new Date().toISOString(), channel_values: values, channel_versions: versions };
}

if (url === undefined) {
  missingServer("mongodb round trips", "put, putWrites, getTuple, list and store batches stay within their command budgets");
} else {
  describe("mongodb round trips (commands counted with command monitoring)", () => {
    const client = new MongoClient(url, { monitorCommands: true });
    const collectionPrefix = runPrefix("rt");
    let events: CommandStartedEvent[] = [];
    client.on("commandStarted", (e) => events.push(e));
    let saver: MongoDBSaver;
    let store: MongoDBStore;
    let deployment: DeploymentInfo;

    /** The commands `fn` sends, as "name:collection". */
    async function commands(fn: () => Promise<unknown>): Promise<string[]> {
      events = [];
      await fn();
      return events
        .filter((e) => !["hello", "isMaster", "endSessions"].includes(e.commandName))
        .map((e) => {
          const target = e.commandName === "getMore" ? e.command.collection : e.command[e.commandName];
          return typeof target === "string" ? `${e.commandName}:${target.replace(collectionPrefix, "")}` : e.commandName;
        });
    }

    beforeAll(async () => {
      saver = new MongoDBSaver({ client, dbName: TEST_DB, collectionPrefix });
      await saver.setup();
      store = new MongoDBStore({ client, dbName: TEST_DB, collectionPrefix });
      await store.setup();
      deployment = (saver as unknown as { connection: { deployment: DeploymentInfo } }).connection.deployment;
    });

    afterAll(async () => {
      await saver.close();
      await store.close();
      await dropPrefix(client, collectionPrefix);
      await client.close();
    });

    const commit = () => (deployment.transactions ? ["commitTransaction"] : []);

    it("put: one bulk write per collection in commit order (one command on 8.0+), plus the commit", async () => {
      const thread = uniqueId();
      const sent = await commands(() =>
        saver.put({ configurable: { thread_id: thread } }, checkpoint("c1", { a: 1, b: 2 }, { a: "1", b: "1" }), { source: "input", step: -1, parents: {} }, { a: "1", b: "1" }),
      );
      if (deployment.clientBulkWrite) expect(sent).toEqual(["bulkWrite", ...commit()]);
      else expect(sent).toEqual(["update:checkpoint_blobs", "update:checkpoints", "update:checkpoint_threads", ...commit()]);
    });

    it("putWrites: one bulk write (plus the commit)", async () => {
      const thread = uniqueId();
      const config = await saver.put({ configurable: { thread_id: thread } }, checkpoint("c1", {}, {}), { source: "input", step: -1, parents: {} }, {});
      const sent = await commands(() => saver.putWrites(config, [["a", 1], ["b", 2], ["__error__", "x"]], "task"));
      expect(sent).toEqual(["update:checkpoint_writes", ...commit()]);
    });

    it("getTuple: two queries (the checkpoint; its blobs and writes together)", async () => {
      const thread = uniqueId();
      const config = await saver.put({ configurable: { thread_id: thread } }, checkpoint("c1", { a: 1 }, { a: "1" }), { source: "input", step: -1, parents: {} }, { a: "1" });
      await saver.putWrites(config, [["a", 2]], "task");
      const sent = await commands(async () => {
        const tuple = await saver.getTuple({ configurable: { thread_id: thread } });
        expect(tuple?.checkpoint.channel_values).toEqual({ a: 1 });
        expect(tuple?.pendingWrites).toEqual([["task", "a", 2]]);
      });
      expect(sent).toEqual(["aggregate:checkpoints", "aggregate:checkpoint_blobs"]);
    });

    it("list: one query per page for blobs and writes, however many checkpoints the page holds (no N+1)", async () => {
      const thread = uniqueId();
      let parent: string | undefined;
      for (let i = 0; i < 250; i++) {
        const id = `c${String(i).padStart(4, "0")}`;
        const cfg = await saver.put(
          { configurable: { thread_id: thread, checkpoint_id: parent } },
          checkpoint(id, { n: i }, { n: String(i) }),
          { source: "loop", step: i, parents: {} },
          { n: String(i) },
        );
        await saver.putWrites(cfg, [["n", i]], "task");
        parent = id;
      }
      let seen = 0;
      const sent = await commands(async () => {
        for await (const t of saver.list({ configurable: { thread_id: thread } })) {
          expect(t.pendingWrites).toHaveLength(1);
          seen++;
        }
      });
      expect(seen).toBe(250);
      const pages = sent.filter((c) => c === "aggregate:checkpoint_blobs").length;
      expect(pages).toBe(3);
      expect(sent.filter((c) => c.endsWith(":checkpoints")).length).toBe(3);
      // A page is 100 checkpoints, 100 blobs and 100 writes: above the server's default first batch
      // (101 documents), so the blobs-and-writes read asks for a batch a page fits in, and needs no getMore.
      const blobReads = events.filter((e) => e.commandName === "aggregate" && e.command.aggregate === `${collectionPrefix}checkpoint_blobs`);
      expect(blobReads.map((e) => e.command.cursor)).toEqual([1, 2, 3].map(() => ({ batchSize: BLOBS_AND_WRITES_BATCH_SIZE })));
      expect(sent.filter((c) => c === "getMore:checkpoint_blobs")).toEqual([]);
      expect(sent).toHaveLength(6);
    }, 60_000);

    it("delta chains: getTuple is still two queries, a list page one blob query; prune keep_latest keeps exactly the latest chain", async () => {
      const chained = new MongoDBSaver({ client, dbName: TEST_DB, collectionPrefix, linearStorage: { snapshotEvery: 4 } });
      await chained.setup();
      try {
        const thread = uniqueId();
        const messages: string[] = [];
        let parent: string | undefined;
        let version: string | undefined;
        for (let i = 0; i < 10; i++) {
          messages.push(`message ${i}`);
          version = String(chained.getNextVersion(version));
          const id = `c${String(i).padStart(4, "0")}`;
          await chained.put(
            { configurable: { thread_id: thread, checkpoint_id: parent } },
            checkpoint(id, { messages: [...messages] }, { messages: version }),
            { source: "loop", step: i, parents: {} },
            { messages: version },
          );
          parent = id;
        }
        const blobs = chained.client.db(TEST_DB).collection(chained.collections.blobs);
        // 10 versions with a snapshot every 4 deltas: snapshot, 4 links, snapshot, 4 links.
        expect(await blobs.countDocuments({ "_id.thread_id": thread })).toBe(10);
        const cold = new MongoDBSaver({ client, dbName: TEST_DB, collectionPrefix, linearStorage: { snapshotEvery: 4 } });
        await cold.setup();
        const sent = await commands(async () => {
          expect((await cold.getTuple({ configurable: { thread_id: thread } }))?.checkpoint.channel_values).toEqual({ messages });
        });
        expect(sent).toEqual(["aggregate:checkpoints", "aggregate:checkpoint_blobs"]);
        const listed = await commands(async () => {
          let n = 0;
          for await (const t of cold.list({ configurable: { thread_id: thread } })) {
            expect(t.checkpoint.channel_values).toEqual({ messages: messages.slice(0, 10 - n) });
            n++;
          }
          expect(n).toBe(10);
        });
        expect(listed.filter((c) => c === "aggregate:checkpoint_blobs")).toHaveLength(1);
        await cold.close();

        await chained.prune([thread], { strategy: "keep_latest" });
        // The latest (c0009) is link 4 of the second chain: its base and four links remain, nothing else.
        expect(await blobs.countDocuments({ "_id.thread_id": thread })).toBe(5);
        const fresh = new MongoDBSaver({ client, dbName: TEST_DB, collectionPrefix });
        await fresh.setup();
        expect((await fresh.getTuple({ configurable: { thread_id: thread } }))?.checkpoint.channel_values).toEqual({ messages });
        await fresh.close();
      } finally {
        await chained.close();
      }
    });

    it("store batch: all gets in one query, each search one aggregation, all puts one bulk write", async () => {
      const ns = [uniqueId("rt")];
      await store.batch([1, 2, 3].map((i) => ({ namespace: ns, key: `k${i}`, value: { i } })));
      const sent = await commands(() =>
        store.batch([
          { namespace: ns, key: "k1" },
          { namespace: ns, key: "k2" },
          { namespace: ns, key: "k3" },
          { namespacePrefix: ns, filter: { i: { $gte: 2 } }, limit: 10, offset: 0 },
          { namespace: ns, key: "k4", value: { i: 4 } },
          { namespace: ns, key: "k5", value: { i: 5 } },
        ]),
      );
      expect(sent.sort()).toEqual(["aggregate:store", "find:store", "update:store", ...commit()].sort());
    });
  });
}
