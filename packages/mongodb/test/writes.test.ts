import { describe, expect, it } from "vitest";
import { DELTA_BLOB_PREFIX, chainKey, type CheckpointRecord, type PreparedPut, type WriteRecord } from "@langgraph-persist/core";
import { describeDeployment } from "../src/connection.js";
import { saverCollections, storeCollections } from "../src/keys.js";
import {
  executeWrites,
  garbageDeletes,
  groupByCollection,
  itemUpdate,
  planPut,
  planPutWrites,
  planRefresh,
  planStorePuts,
  threadTouchForWrites,
  threadUpdateForPut,
  type WriteModel,
  type WriteTarget,
} from "../src/writes.js";
import { applyPipeline, evaluate } from "./support/expr.js";

const sc = saverCollections("p_");
const st = storeCollections("p_");
const NOW = new Date("2030-01-01T00:00:00Z");
const LATER = new Date("2030-01-01T01:00:00Z");
const HOUR = 3_600_000;
const bytes = (s: string) => new TextEncoder().encode(s);

function record(over: Partial<CheckpointRecord> = {}): CheckpointRecord {
  return {
    threadId: "t",
    checkpointNs: "",
    checkpointId: "c1",
    parentCheckpointId: null,
    checkpoint: { type: "json", data: bytes("{}") },
    metadata: { type: "json", data: bytes('{"step":1}') },
    metadataJson: '{"step":1,"source":"loop"}',
    runId: "r1",
    blobRefs: [["a", "1"], ["b", "1"]],
    ...over,
  };
}

function write(taskId: string, idx: number, channel: string): WriteRecord {
  return { taskId, idx, channel, type: "json", data: bytes("1"), taskPath: "" };
}

describe("put: one bulk write, blobs before the checkpoint before the thread document", () => {
  const models = planPut(sc, record(), [
    { channel: "a", version: "1", type: "json", data: bytes('"x"') },
    { channel: "b", version: "1", type: "empty", data: new Uint8Array(0) },
  ], { now: NOW });

  it("orders the operations so that without a transaction no reader sees a checkpoint whose blobs are missing", () => {
    expect(models.map((m) => `${m.kind}:${m.collection}`)).toEqual([
      "updateOne:p_checkpoint_blobs",
      "updateOne:p_checkpoint_blobs",
      "replaceOne:p_checkpoints",
      "updateOne:p_checkpoint_threads",
    ]);
  });

  it("blobs are per version, keyed by (thread, ns, channel, version), inserted only if absent", () => {
    expect(models[0]).toEqual({
      kind: "updateOne",
      collection: "p_checkpoint_blobs",
      filter: { _id: { thread_id: "t", checkpoint_ns: "", channel: "a", version: "1" } },
      update: { $setOnInsert: { type: "json", data: bytes('"x"') } },
      upsert: true,
    });
  });

  it("the checkpoint document replaces by _id and carries refs, run id and canonical metadata keys", () => {
    const m = models[2] as Extract<WriteModel, { kind: "replaceOne" }>;
    expect(m.filter).toEqual({ _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c1" } });
    expect(m.upsert).toBe(true);
    expect(m.replacement).toMatchObject({
      parent_checkpoint_id: null,
      run_id: "r1",
      blob_refs: [["a", "1"], ["b", "1"]],
      metadata_kv: ['["step",1]', '["source","loop"]'],
      written_at: NOW,
    });
  });

  it("goes through one command per collection run when cross-collection bulkWrite is unavailable, one command when it is", async () => {
    expect(groupByCollection(models).map((g) => [g.collection, g.models.length])).toEqual([
      ["p_checkpoint_blobs", 2],
      ["p_checkpoints", 1],
      ["p_checkpoint_threads", 1],
    ]);
    const perCollection = recordingTarget(false);
    await executeWrites(perCollection.target, models);
    expect(perCollection.calls).toEqual(["bulkWrite p_checkpoint_blobs ×2", "bulkWrite p_checkpoints ×1", "bulkWrite p_checkpoint_threads ×1"]);
    const client = recordingTarget(true);
    await executeWrites(client.target, models);
    expect(client.calls).toEqual(["client.bulkWrite db.p_checkpoint_blobs,db.p_checkpoint_blobs,db.p_checkpoints,db.p_checkpoint_threads"]);
  });
});

describe("put of a delta chain link", () => {
  const base = "000000000002.aaaaaaaa";
  const link = chainKey(base, 2, "k2");
  const models = planPut(sc, record({ checkpointId: "c3", parentCheckpointId: "c2", runId: null, blobRefs: [["messages", link], ["step", "000000000003.s"]] }), [
    { channel: "messages", version: link, type: `${DELTA_BLOB_PREFIX}k1`, data: bytes('["hi"]') },
    { channel: "step", version: "000000000003.s", type: "json", data: bytes("3") },
  ], { now: NOW });

  it("stores the delta under its chain key (insert-if-absent) before the checkpoint that references it", () => {
    expect(models.map((m) => `${m.kind}:${m.collection}`)).toEqual([
      "updateOne:p_checkpoint_blobs",
      "updateOne:p_checkpoint_blobs",
      "replaceOne:p_checkpoints",
      "updateOne:p_checkpoint_threads",
    ]);
    expect(models[0]).toEqual({
      kind: "updateOne",
      collection: "p_checkpoint_blobs",
      filter: { _id: { thread_id: "t", checkpoint_ns: "", channel: "messages", version: link } },
      update: { $setOnInsert: { type: "+k1", data: bytes('["hi"]') } },
      upsert: true,
    });
  });

  it("the checkpoint keeps one ref per channel (the chain key) and no run_id field when there is no run id", () => {
    const doc = (models[2] as Extract<WriteModel, { kind: "replaceOne" }>).replacement;
    expect(doc.blob_refs).toEqual([["messages", link], ["step", "000000000003.s"]]);
    expect(Object.keys(doc)).toEqual(["_id", "parent_checkpoint_id", "type", "checkpoint", "metadata_type", "metadata", "metadata_kv", "blob_refs", "written_at"]);
    expect("run_id" in doc).toBe(false);
  });
});

describe("garbage collection deletes", () => {
  it("dead writes, then dead blobs, by _id lists of at most the chunk size", () => {
    const w = (i: number) => ({ thread_id: "t", checkpoint_ns: "", checkpoint_id: `c${i}`, task_id: "x", idx: 0 });
    const b = (i: number) => ({ thread_id: "t", checkpoint_ns: "", channel: "a", version: String(i) });
    const models = garbageDeletes(sc, [w(1), w(2), w(3)], [b(1), b(2)], 2);
    expect(models).toEqual([
      { kind: "deleteMany", collection: "p_checkpoint_writes", filter: { _id: { $in: [w(1), w(2)] } } },
      { kind: "deleteMany", collection: "p_checkpoint_writes", filter: { _id: { $in: [w(3)] } } },
      { kind: "deleteMany", collection: "p_checkpoint_blobs", filter: { _id: { $in: [b(1), b(2)] } } },
    ]);
    expect(garbageDeletes(sc, [], [], 1000)).toEqual([]);
  });
});

/** Records which driver calls `executeWrites` makes (dispatch logic only; no MongoDB behaviour). */
function recordingTarget(clientBulk: boolean): { target: WriteTarget; calls: string[] } {
  const calls: string[] = [];
  const target = {
    dbName: "db",
    usesClientBulkWrite: clientBulk,
    client: {
      bulkWrite: async (models: Array<{ namespace: string }>) => {
        calls.push(`client.bulkWrite ${models.map((m) => m.namespace).join()}`);
      },
    },
    collection: (name: string) => ({
      bulkWrite: async (ops: unknown[]) => {
        calls.push(`bulkWrite ${name} ×${ops.length}`);
      },
    }),
  } as unknown as WriteTarget;
  return { target, calls };
}

describe("thread document (the listThreads index) after a put", () => {
  const put = (doc: Record<string, unknown>, r: Partial<CheckpointRecord>, now = NOW, ttlMs?: number) =>
    applyPipeline(doc, threadUpdateForPut(record(r), [`kv-${r.checkpointId}`], { now, ttlMs }));

  it("a new thread points at its first checkpoint", () => {
    expect(put({}, { checkpointId: "c1" }).latest).toEqual({ checkpoint_ns: "", checkpoint_id: "c1", metadata_kv: ["kv-c1"] });
  });

  it("a newer root checkpoint moves it; an older one (a late write) does not", () => {
    const d1 = put({}, { checkpointId: "c2" });
    expect((put(d1, { checkpointId: "c3" }).latest as any).checkpoint_id).toBe("c3");
    expect((put(d1, { checkpointId: "c1" }).latest as any).checkpoint_id).toBe("c2");
  });

  it("a subgraph checkpoint never replaces a root one; a root one always replaces a subgraph one", () => {
    const root = put({}, { checkpointId: "c1" });
    expect((put(root, { checkpointId: "c9", checkpointNs: "sub:1" }).latest as any).checkpoint_ns).toBe("");
    const sub = put({}, { checkpointId: "c9", checkpointNs: "sub:1" });
    expect(put(sub, { checkpointId: "c1" }).latest).toMatchObject({ checkpoint_ns: "", checkpoint_id: "c1" });
    expect(put(sub, { checkpointId: "c91", checkpointNs: "sub:2" }).latest).toMatchObject({ checkpoint_ns: "sub:2" });
  });

  it("without a TTL no TTL field is written", () => {
    const d = put({}, { checkpointId: "c1" });
    expect(Object.keys(d).sort()).toEqual(["latest"]);
  });

  it("with a TTL: expiry restarts; a live thread keeps its life start; an expired one starts over and is marked for cleanup", () => {
    const fresh = put({}, { checkpointId: "c1" }, NOW, HOUR);
    expect(fresh.expire_at).toEqual(new Date(NOW.getTime() + HOUR));
    expect(fresh.alive_since).toEqual(new Date(0));
    expect(fresh.reset_pending).toBeUndefined();

    const alive = put({ ...fresh, alive_since: new Date(5) }, { checkpointId: "c2" }, new Date(NOW.getTime() + 1000), HOUR);
    expect(alive.alive_since).toEqual(new Date(5));

    const expired = put({ ...fresh, latest: { checkpoint_ns: "", checkpoint_id: "c9", metadata_kv: [] } }, { checkpointId: "c2" }, new Date(NOW.getTime() + 2 * HOUR), HOUR);
    expect(expired.alive_since).toEqual(new Date(NOW.getTime() + 2 * HOUR));
    expect(expired.reset_pending).toBe(true);
    // The new life's first checkpoint is the latest even though an older life had a higher id.
    expect((expired.latest as any).checkpoint_id).toBe("c2");
  });

  it("pending writes restart the clock; on an expired thread they start a new life with no latest checkpoint", () => {
    const doc = { latest: { checkpoint_ns: "", checkpoint_id: "c1", metadata_kv: [] }, alive_since: new Date(0), expire_at: NOW };
    const alive = applyPipeline({ ...doc, expire_at: LATER }, threadTouchForWrites({ now: NOW, ttlMs: HOUR }));
    expect(alive.latest).toEqual(doc.latest);
    expect(alive.expire_at).toEqual(new Date(NOW.getTime() + HOUR));
    const dead = applyPipeline(doc, threadTouchForWrites({ now: LATER, ttlMs: HOUR }));
    expect(dead.latest).toBeUndefined();
    expect(dead.alive_since).toEqual(LATER);
  });
});

describe("putWrites", () => {
  it("regular writes are insert-if-absent ($setOnInsert), special channels replace ($set), keyed by (thread, ns, checkpoint, task, idx)", () => {
    const models = planPutWrites(sc, "t", "ns", "c1", [write("task", 0, "a"), write("task", 1, "b"), write("task", -1, "__error__")], { now: NOW });
    expect(models).toHaveLength(3);
    expect(models[0]).toMatchObject({
      kind: "updateOne",
      collection: "p_checkpoint_writes",
      filter: { _id: { thread_id: "t", checkpoint_ns: "ns", checkpoint_id: "c1", task_id: "task", idx: 0 } },
      update: { $setOnInsert: { channel: "a", type: "json", task_path: "" } },
      upsert: true,
    });
    expect(Object.keys((models[2] as any).update)).toEqual(["$set"]);
    expect(groupByCollection(models)).toHaveLength(1);
  });

  it("with a TTL the thread clock restarts in the same bulk write, without ever creating a thread document", () => {
    const models = planPutWrites(sc, "t", "", "c1", [write("task", 0, "a")], { now: NOW, ttlMs: HOUR });
    expect(models[1]).toMatchObject({ kind: "updateOne", collection: "p_checkpoint_threads", filter: { _id: "t" }, upsert: false });
  });
});

describe("store puts", () => {
  function put(over: Partial<PreparedPut> = {}): PreparedPut {
    return { namespace: ["a", "b"], ns: "a.b", key: "k", value: { text: "$not-a-path", n: 1 }, ttlMinutes: null, expiresAt: null, ...over };
  }

  it("an upsert keeps created_at of a live item, restarts it for a new or expired one, and stores values literally", () => {
    const update = itemUpdate(put(), NOW);
    const created = applyPipeline({}, update);
    expect(created).toMatchObject({ namespace: ["a", "b"], value: { text: "$not-a-path", n: 1 }, created_at: NOW, updated_at: NOW, ttl_minutes: null, expire_at: null });
    const updated = applyPipeline({ ...created, created_at: new Date(1) }, itemUpdate(put(), LATER));
    expect(updated.created_at).toEqual(new Date(1));
    expect(updated.updated_at).toEqual(LATER);
    const revived = applyPipeline({ ...created, created_at: new Date(1), expire_at: new Date(2) }, itemUpdate(put(), LATER));
    expect(revived.created_at).toEqual(LATER);
  });

  it("embeddings: undefined leaves vectors alone, [] clears them, vectors are stored with their norm", () => {
    expect(applyPipeline({ embeddings: [1] }, itemUpdate(put(), NOW)).embeddings).toEqual([1]);
    expect(applyPipeline({ embeddings: [1] }, itemUpdate(put({ embeddings: [] }), NOW)).embeddings).toEqual([]);
    const withVectors = applyPipeline({}, itemUpdate(put({ embeddings: [{ field: "text", text: "x", vector: [3, 4] }] }), NOW));
    expect(withVectors.embeddings).toEqual([{ field: "text", vector: [3, 4], norm: 5 }]);
  });

  it("a TTL put stores the absolute expiry the TTL index uses", () => {
    const d = applyPipeline({}, itemUpdate(put({ ttlMinutes: 2, expiresAt: NOW.getTime() + 120_000 }), NOW));
    expect(d.expire_at).toEqual(new Date(NOW.getTime() + 120_000));
    expect(d.ttl_minutes).toBe(2);
  });

  it("one model per put (upsert or delete by (ns, key)), all on the items collection", () => {
    const models = planStorePuts(st, [put(), put({ key: "gone", value: null })], NOW, false);
    expect(models.map((m) => `${m.kind}:${m.collection}`)).toEqual(["updateOne:p_store", "deleteOne:p_store"]);
    expect(models[1].filter).toEqual({ ns: "a.b", key: "gone" });
  });

  it("with Atlas vectors: vector i is replaced by _id and vectors past the new count deleted (models commute)", () => {
    const p = put({ embeddings: [{ field: "text", text: "x", vector: [1, 0] }, { field: "text", text: "y", vector: [0, 1] }] });
    const models = planStorePuts(st, [p, put({ key: "gone", value: null })], NOW, true);
    expect(models.map((m) => `${m.kind}:${m.collection}`)).toEqual([
      "updateOne:p_store",
      "deleteOne:p_store",
      "replaceOne:p_store_vectors",
      "replaceOne:p_store_vectors",
      "deleteMany:p_store_vectors",
      "deleteMany:p_store_vectors",
    ]);
    const second = (models[3] as Extract<WriteModel, { kind: "replaceOne" }>).replacement;
    expect(second).toMatchObject({ _id: { ns: "a.b", key: "k", i: 1 }, ns_prefixes: ["a", "a.b"], norm: 1 });
    // Sent as BSON doubles even when a component is integral.
    expect(second.embedding.map((d: { _bsontype: string; value: number }) => [d._bsontype, d.value])).toEqual([["Double", 0], ["Double", 1]]);
    expect(models[4].filter).toEqual({ ns: "a.b", key: "k", "_id.i": { $gte: 2 } });
    expect(models[5].filter).toEqual({ ns: "a.b", key: "gone", "_id.i": { $gte: 0 } });
  });

  it("refresh on read restarts each live item's expiry by its own TTL, in one updateMany", () => {
    const m = planRefresh("p_store", [{ ns: "a", key: "1" }, { ns: "a", key: "2" }], NOW) as Extract<WriteModel, { kind: "updateMany" }>;
    expect(m.filter).toEqual({ $or: [{ ns: "a", key: "1" }, { ns: "a", key: "2" }], ttl_minutes: { $type: "number" }, expire_at: { $gt: NOW } });
    const after = applyPipeline({ ttl_minutes: 0.5, expire_at: LATER }, m.update as Array<Record<string, unknown>>);
    expect(after.expire_at).toEqual(new Date(NOW.getTime() + 30_000));
    expect(planRefresh("p_store", [], NOW)).toBeUndefined();
  });
});

describe("deployment detection (hello)", () => {
  it("replica sets and mongos have transactions; a standalone does not", () => {
    expect(describeDeployment({ maxWireVersion: 21, setName: "rs0", logicalSessionTimeoutMinutes: 30 })).toEqual({ maxWireVersion: 21, transactions: true, clientBulkWrite: false });
    expect(describeDeployment({ maxWireVersion: 21, msg: "isdbgrid", logicalSessionTimeoutMinutes: 30 }).transactions).toBe(true);
    expect(describeDeployment({ maxWireVersion: 21, logicalSessionTimeoutMinutes: 30 }).transactions).toBe(false);
    expect(describeDeployment({ maxWireVersion: 21, setName: "rs0" }).transactions).toBe(false);
  });

  it("MongoDB 8.0 (wire version 25) can send one bulkWrite across collections", () => {
    expect(describeDeployment({ maxWireVersion: 25 }).clientBulkWrite).toBe(true);
    expect(describeDeployment({ maxWireVersion: 24 }).clientBulkWrite).toBe(false);
  });
});

describe("the evaluator used above refuses what it cannot model", () => {
  it("throws on a comparison across BSON types instead of guessing", () => {
    expect(() => evaluate({ $gt: ["$a", 1] }, { a: "x" })).toThrow(/across types/);
    expect(() => evaluate({ $eq: ["$missing", null] }, {})).toThrow(/missing/);
  });
});
