import { describe, expect, it, vi } from "vitest";
import { BSON, Binary, MongoClient, MongoClientBulkWriteError, MongoServerError } from "mongodb";
import { CapabilityError } from "@langgraph-persist/core";
import { MongoDBSaver, MongoDBStore } from "../src/index.js";
import { Connection, resolveConnection } from "../src/connection.js";
import { DELETE_CHUNK, TRANSACTION_CHECKPOINTS } from "../src/saver.js";
import { BLOBS_AND_WRITES_BATCH_SIZE } from "../src/query.js";
import type { WriteModel } from "../src/writes.js";
import { inTxn, recordConnection, type Call } from "./support/recorder.js";

/**
 * What the saver and store send, and in which transaction, for the operations whose shape matters
 * beyond a single statement: reads of a page, setup, deletions, the sweeper, the fallback from the
 * cross-collection bulkWrite. The connection records instead of sending (see support/recorder.ts).
 */

// Port 1 on localhost: nothing listens; nothing here connects anyway.
const NOWHERE = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300";

async function ready<T extends MongoDBSaver | MongoDBStore>(instance: T): Promise<T> {
  (instance as unknown as { _setup: () => Promise<void> })._setup = async () => {};
  await instance.setup();
  return instance;
}

const ops = (calls: readonly Call[]) => calls.map((c) => `${c.op}:${c.collection}`);

describe("a page's blobs and writes: one aggregate sized to come back in one batch", () => {
  it("asks for a batch the count never ends before 16 MiB does (the server's default first batch is 101 documents)", async () => {
    const saver = new MongoDBSaver({ url: NOWHERE });
    const { calls } = recordConnection(saver);
    const page = Array.from({ length: 100 }, (_, i) => ({
      _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: `c${String(i).padStart(3, "0")}` },
      blob_refs: [["n", String(i)]] as Array<[string, string]>,
      type: "json",
      checkpoint: new Uint8Array(0),
      metadata_type: "json",
      metadata: new Uint8Array(0),
    }));
    await (saver as unknown as { assemble(p: unknown[]): Promise<unknown> }).assemble(page);
    const aggregate = calls.find((c) => c.op === "aggregate")!;
    expect(aggregate.collection).toBe("langgraph_checkpoint_blobs");
    expect(aggregate.args[1]).toEqual({ batchSize: BLOBS_AND_WRITES_BATCH_SIZE });
    // A page of 100 checkpoints with one blob and one write each is 200 documents: above 101.
    expect(BLOBS_AND_WRITES_BATCH_SIZE).toBeGreaterThan(200);
    // The smallest document either collection can return, times the batch size, is at least 16 MiB.
    const smallestBlob = { _id: { thread_id: "", checkpoint_ns: "", channel: "", version: "" }, type: "", data: new Binary(new Uint8Array(0)) };
    const smallestWrite = { _id: { thread_id: "", checkpoint_ns: "", checkpoint_id: "", task_id: "", idx: 0 }, channel: "", type: "", data: new Binary(new Uint8Array(0)), task_path: "", __write: true };
    for (const doc of [smallestBlob, smallestWrite]) expect(BLOBS_AND_WRITES_BATCH_SIZE * BSON.calculateObjectSize(doc)).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    await saver.close();
  });
});

describe("setup(): collections with the simple collation, or a clear refusal", () => {
  it("creates missing collections, and their indexes, with { locale: 'simple' }", async () => {
    const saver = new MongoDBSaver({ url: NOWHERE });
    const { calls } = recordConnection(saver, (op) => (op === "listCollections" ? [{ name: "langgraph_migrations", type: "collection", options: {} }] : undefined));
    await (saver as unknown as { _setup(): Promise<void> })._setup();
    const created = calls.filter((c) => c.op === "createCollection");
    expect(created.map((c) => c.collection).sort()).toEqual(["langgraph_checkpoint_blobs", "langgraph_checkpoint_threads", "langgraph_checkpoint_writes", "langgraph_checkpoints"]);
    for (const c of created) expect(c.args[0]).toEqual({ collation: { locale: "simple" } });
    const indexes = calls.filter((c) => c.op === "createIndexes").flatMap((c) => c.args[0] as Array<{ collation?: unknown }>);
    expect(indexes.length).toBeGreaterThan(0);
    for (const i of indexes) expect(i.collation).toEqual({ locale: "simple" });
    // Collections come first: an index build on a missing collection would create it with the database's defaults.
    expect(ops(calls).indexOf("createIndexes:langgraph_checkpoints")).toBeGreaterThan(ops(calls).indexOf("createCollection:langgraph_checkpoints"));
    await saver.close();
  });

  it("refuses an existing collection with another default collation, or a view, with CapabilityError naming it", async () => {
    for (const existing of [
      { name: "langgraph_store", type: "collection", options: { collation: { locale: "en", strength: 2 } } },
      { name: "langgraph_store", type: "view", options: {} },
    ]) {
      const store = new MongoDBStore({ url: NOWHERE });
      recordConnection(store, (op) => (op === "listCollections" ? [existing] : undefined));
      const err = await (store as unknown as { _setup(): Promise<void> })._setup().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CapabilityError);
      expect((err as Error).message).toMatch(/"langgraph_store"/);
      expect((err as Error).message).toMatch(existing.type === "view" ? /is a view/ : /"locale":"en".*simple/);
      await store.close();
    }
  });

  it("accepts collections created with the simple collation (listed with no collation, or with locale 'simple')", async () => {
    const store = new MongoDBStore({ url: NOWHERE });
    const { calls } = recordConnection(store, (op) =>
      op === "listCollections"
        ? [
            { name: "langgraph_store", type: "collection", options: {} },
            { name: "langgraph_migrations", type: "collection", options: { collation: { locale: "simple" } } },
          ]
        : undefined,
    );
    await (store as unknown as { _setup(): Promise<void> })._setup();
    expect(calls.filter((c) => c.op === "createCollection")).toEqual([]);
    await store.close();
  });
});

describe("deleting threads: bounded transactions, each thread all at once, unreachable documents afterwards", () => {
  it("deleteThread: one transaction removes the checkpoints and the thread document; writes and blobs go after the commit", async () => {
    const saver = await ready(new MongoDBSaver({ url: NOWHERE }));
    const { calls } = recordConnection(saver, (op) => (op === "aggregate" ? [{ _id: "t", n: 5 }] : undefined));
    await saver.deleteThread("t");
    expect(inTxn(calls, 1)).toEqual(["write.deleteMany:langgraph_checkpoints", "write.deleteMany:langgraph_checkpoint_threads"]);
    const after = calls.slice(calls.findIndex((c) => c.op === "commit") + 1);
    expect(ops(after)).toEqual(["distinct:langgraph_checkpoints", "write.deleteMany:langgraph_checkpoint_writes", "write.deleteMany:langgraph_checkpoint_blobs"]);
    expect(after.every((c) => c.txn === undefined)).toBe(true);
    await saver.close();
  });

  it("many threads: transactions hold at most TRANSACTION_CHECKPOINTS checkpoints, a bigger thread goes alone, each thread in one transaction", async () => {
    const saver = await ready(new MongoDBSaver({ url: NOWHERE }));
    const ids = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const counts = new Map(ids.map((id, i) => [id, i === 7 ? 5 * TRANSACTION_CHECKPOINTS : 150]));
    const { calls } = recordConnection(saver, (op, _c, args) =>
      op === "aggregate" ? ((args[0] as Array<{ $match?: { "_id.thread_id": { $in: string[] } } }>)[0].$match!["_id.thread_id"].$in.map((id) => ({ _id: id, n: counts.get(id)! }))) : undefined,
    );
    await (saver as unknown as { _deleteThreads(ids: string[]): Promise<void> })._deleteThreads(ids);
    const deletions = calls.filter((c) => c.op === "write.deleteMany" && c.collection === "langgraph_checkpoints");
    expect(deletions.every((c) => c.txn !== undefined)).toBe(true);
    const perTxn = deletions.map((c) => (c.args[0] as { "_id.thread_id": { $in: string[] } })["_id.thread_id"].$in);
    expect(perTxn.flat().sort()).toEqual([...ids].sort());
    for (const group of perTxn) {
      const total = group.reduce((n, id) => n + counts.get(id)!, 0);
      expect(group.length === 1 || total <= TRANSACTION_CHECKPOINTS).toBe(true);
    }
    expect(perTxn).toContainEqual(["t7"]);
    // Writes and blobs are never deleted inside a transaction.
    expect(calls.filter((c) => c.collection !== "langgraph_checkpoints" && c.collection !== "langgraph_checkpoint_threads" && c.op.startsWith("write.")).every((c) => c.txn === undefined)).toBe(true);
    await saver.close();
  });

  it("a thread written again right after its deletion keeps what its new checkpoints need (garbage collection, not a blanket delete)", async () => {
    const saver = await ready(new MongoDBSaver({ url: NOWHERE }));
    const { calls } = recordConnection(saver, (op, collection) => {
      if (op === "distinct") return ["t"];
      if (op === "find" && collection === "langgraph_checkpoints") return [{ _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "new" }, blob_refs: [["a", "2"]] }];
      if (op === "find" && collection === "langgraph_checkpoint_blobs")
        return [{ _id: { thread_id: "t", checkpoint_ns: "", channel: "a", version: "1" } }, { _id: { thread_id: "t", checkpoint_ns: "", channel: "a", version: "2" } }];
      return undefined;
    });
    await saver.deleteThread("t");
    const blobDeletes = calls.filter((c) => c.op === "write.deleteMany" && c.collection === "langgraph_checkpoint_blobs");
    expect(blobDeletes.map((c) => c.args[0])).toEqual([{ _id: { $in: [{ thread_id: "t", checkpoint_ns: "", channel: "a", version: "1" }] } }]);
    await saver.close();
  });

  it("prune and deleteForRuns: per thread one transaction changes the checkpoints; garbage goes afterwards in chunks, outside any transaction", async () => {
    const blobs = Array.from({ length: 2500 }, (_, i) => ({ _id: { thread_id: "t", checkpoint_ns: "", channel: "a", version: String(i).padStart(5, "0") } }));
    const reply = (op: string, collection: string | undefined) => {
      if (op === "aggregate") return [{ _id: { t: "t", n: "" }, latest: "c9" }];
      if (op === "distinct") return ["t"];
      if (op === "find" && collection === "langgraph_checkpoint_blobs") return blobs;
      if (op === "findOne") return { _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c9" }, metadata_kv: [] };
      return undefined;
    };
    for (const run of [(s: MongoDBSaver) => s.prune(["t"], { strategy: "keep_latest" }), (s: MongoDBSaver) => s.deleteForRuns(["r1"])]) {
      const saver = await ready(new MongoDBSaver({ url: NOWHERE }));
      const { calls, transactions } = recordConnection(saver, reply);
      await run(saver);
      expect(transactions()).toBe(1);
      // Inside the transaction: only checkpoints and the thread document, never a scan of blobs or writes.
      expect(inTxn(calls, 1).every((c) => c.endsWith(":langgraph_checkpoints") || c.endsWith(":langgraph_checkpoint_threads"))).toBe(true);
      const garbage = calls.filter((c) => c.op === "write.deleteMany" && c.collection === "langgraph_checkpoint_blobs");
      expect(garbage.map((c) => (c.args[0] as { _id: { $in: unknown[] } })._id.$in.length)).toEqual([DELETE_CHUNK, DELETE_CHUNK, 500]);
      expect(garbage.every((c) => c.txn === undefined)).toBe(true);
      expect(calls.filter((c) => c.op === "find").every((c) => c.txn === undefined)).toBe(true);
      await saver.close();
    }
  });
});

describe("sweep()", () => {
  it("counts the threads it deleted once, after the commit, even when the transaction was retried", async () => {
    const saver = await ready(new MongoDBSaver({ url: NOWHERE, ttl: { defaultTtl: 1, sweepIntervalMinutes: 60 } }));
    let scans = 0;
    const { calls } = recordConnection(
      saver,
      (op, collection, args) => {
        if (op === "find" && collection === "langgraph_checkpoint_threads") {
          const filter = args[0] as Document;
          if ("reset_pending" in filter) return [];
          if ((filter._id as { $in?: string[] } | undefined)?.$in) return [{ _id: "a" }, { _id: "b" }];
          return scans++ === 0 ? [{ _id: "a" }, { _id: "b" }] : [];
        }
        return undefined;
      },
      { retryTransactions: true, serverTime: new Date("2030-01-01T00:00:00Z") },
    );
    expect(await saver.sweep()).toBe(2);
    // The scan used the server's clock (hello.localTime), not the client's.
    expect(calls.find((c) => c.op === "find")!.args[0]).toEqual({ expire_at: { $lte: new Date("2030-01-01T00:00:00Z") } });
    expect(calls.filter((c) => c.op.startsWith("abort"))).toHaveLength(1);
    await saver.close();
  });
});

type Document = Record<string, unknown>;

describe("cross-collection bulkWrite on a server that refuses it (8.0 binary, featureCompatibilityVersion 7.0)", () => {
  const refusal = () => {
    const cause = new MongoServerError({ ok: 0, code: 115, codeName: "CommandNotSupported", errmsg: "BulkWrite may not be run without featureFlagBulkWriteCommand enabled" });
    const err = new MongoClientBulkWriteError({ message: "Mongo client bulk write encountered an error during execution" });
    err.cause = cause;
    return err;
  };
  const models: WriteModel[] = [
    { kind: "updateOne", collection: "a", filter: { _id: 1 }, update: { $set: { x: 1 } }, upsert: true },
    { kind: "updateOne", collection: "b", filter: { _id: 1 }, update: { $set: { x: 1 } }, upsert: true },
  ];

  function connection(transactions: boolean) {
    const client = new MongoClient(NOWHERE);
    const sent: string[] = [];
    const bulk = vi.fn(async () => {
      sent.push("client.bulkWrite");
      throw refusal();
    });
    (client as unknown as { bulkWrite: unknown }).bulkWrite = bulk;
    let session = 0;
    (client as unknown as { startSession: unknown }).startSession = () => {
      const id = ++session;
      return {
        withTransaction: async (fn: () => Promise<unknown>) => {
          sent.push(`begin ${id}`);
          try {
            const r = await fn();
            sent.push(`commit ${id}`);
            return r;
          } catch (err) {
            sent.push(`abort ${id}`);
            throw err;
          }
        },
        endSession: async () => {},
      };
    };
    const conn = new Connection(resolveConnection({ client }));
    (conn as unknown as { info: unknown }).info = { maxWireVersion: 25, transactions, clientBulkWrite: true };
    (conn as unknown as { collection: unknown }).collection = (name: string) => ({
      bulkWrite: async (ops: unknown[]) => {
        sent.push(`bulkWrite ${name} ×${ops.length}`);
      },
    });
    return { conn, sent, bulk };
  }

  it("outside a transaction: the refused command applied nothing, so the writes go again per collection, and later writes skip it", async () => {
    const { conn, sent, bulk } = connection(false);
    await conn.writeAtomically(models);
    expect(sent).toEqual(["client.bulkWrite", "bulkWrite a ×1", "bulkWrite b ×1"]);
    expect(conn.usesClientBulkWrite).toBe(false);
    await conn.write(models);
    expect(bulk).toHaveBeenCalledTimes(1);
  });

  it("inside a transaction: the aborted transaction runs again with one bulkWrite per collection", async () => {
    const { conn, sent } = connection(true);
    await conn.writeAtomically(models);
    expect(sent).toEqual(["begin 1", "client.bulkWrite", "abort 1", "begin 2", "bulkWrite a ×1", "bulkWrite b ×1", "commit 2"]);
  });

  it("any other error is the caller's", async () => {
    const { conn } = connection(false);
    const other = new MongoServerError({ ok: 0, code: 11000, errmsg: "E11000 duplicate key" });
    (conn.client as unknown as { bulkWrite: unknown }).bulkWrite = async () => {
      throw other;
    };
    await expect(conn.write(models)).rejects.toBe(other);
    expect(conn.usesClientBulkWrite).toBe(true);
  });
});
