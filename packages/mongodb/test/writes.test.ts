import { describe, expect, it } from "vitest";
import { BSON } from "mongodb";
import {
  DELTA_BLOB_PREFIX,
  InvalidArgumentError,
  MAX_VALUE_DEPTH,
  chainKey,
  matchesConditions,
  parseFilter,
  type CheckpointRecord,
  type PreparedPut,
  type WriteRecord,
} from "@langgraph-persist/core";
import { describeDeployment } from "../src/connection.js";
import { readValue } from "../src/escape.js";
import { SERVER_NOW, saverCollections, storeCollections } from "../src/keys.js";
import { getsQuery, translateFilter, visibleStages } from "../src/query.js";
import {
  MAX_BSON_OBJECT_SIZE,
  executeWrites,
  garbageDeletes,
  groupByCollection,
  itemUpdate,
  planPut,
  planPutWrites,
  planRefresh,
  planStorePuts,
  threadRefresh,
  threadTouch,
  threadUpdateForPut,
  transactionGroups,
  type WriteModel,
  type WriteTarget,
} from "../src/writes.js";
import { applyPipeline, evaluate } from "./support/expr.js";

const sc = saverCollections("p_");
const st = storeCollections("p_");
/** The batch's (client) time, where a write still uses it (store items' created_at/updated_at). */
const NOW = new Date("2030-01-01T00:00:00Z");
const LATER = new Date("2030-01-01T01:00:00Z");
/** The server's clock (`$$NOW`) when the statements run: deliberately not the client's. */
const SERVER = new Date("2030-01-01T00:00:07Z");
const ON_SERVER = { NOW: SERVER };
const at = (d: Date) => ({ NOW: d });
const HOUR = 3_600_000;
const bytes = (s: string) => new TextEncoder().encode(s);
type Pipeline = Array<Record<string, unknown>>;
const pipelineOf = (m: WriteModel) => (m as Extract<WriteModel, { kind: "updateOne" }>).update as Pipeline;

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

/** The statement the driver builds for an update model (and checks against 16 MiB), serialised by the real `bson`. */
function serializeStatement(m: WriteModel): Uint8Array {
  const u = m as Extract<WriteModel, { kind: "updateOne" }>;
  return BSON.serialize({ q: u.filter, u: u.update, upsert: u.upsert ?? false, multi: false });
}

describe("put: one bulk write, blobs before the checkpoint before the thread document", () => {
  const models = planPut(sc, record(), [
    { channel: "a", version: "1", type: "json", data: bytes('"x"') },
    { channel: "b", version: "1", type: "empty", data: new Uint8Array(0) },
  ], {});

  it("orders the operations so that without a transaction no reader sees a checkpoint whose blobs are missing", () => {
    expect(models.map((m) => `${m.kind}:${m.collection}`)).toEqual([
      "updateOne:p_checkpoint_blobs",
      "updateOne:p_checkpoint_blobs",
      "updateOne:p_checkpoints",
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

  it("the checkpoint document is written whole by _id: refs, run id, canonical metadata keys, and written_at from the server's clock", () => {
    const m = models[2] as Extract<WriteModel, { kind: "updateOne" }>;
    expect(m.filter).toEqual({ _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c1" } });
    expect(m.upsert).toBe(true);
    const doc = applyPipeline({}, pipelineOf(m), ON_SERVER);
    expect(doc).toMatchObject({
      parent_checkpoint_id: null,
      run_id: "r1",
      blob_refs: [["a", "1"], ["b", "1"]],
      metadata_kv: ['["step",1]', '["source","loop"]'],
      written_at: SERVER,
    });
    expect(new TextDecoder().decode(doc.checkpoint as Uint8Array)).toBe("{}");
    // Rewriting an existing checkpoint leaves nothing of the old document behind (a run id that is gone, too).
    const again = applyPipeline({ ...doc, run_id: "old" }, pipelineOf(planPut(sc, record({ runId: null }), [], {})[0]), ON_SERVER);
    expect("run_id" in again).toBe(false);
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
  ], {});

  it("stores the delta under its chain key (insert-if-absent) before the checkpoint that references it", () => {
    expect(models.map((m) => `${m.kind}:${m.collection}`)).toEqual([
      "updateOne:p_checkpoint_blobs",
      "updateOne:p_checkpoint_blobs",
      "updateOne:p_checkpoints",
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
    const doc = applyPipeline({}, pipelineOf(models[2]), ON_SERVER);
    expect(doc.blob_refs).toEqual([["messages", link], ["step", "000000000003.s"]]);
    expect(Object.keys(doc)).toEqual(["parent_checkpoint_id", "type", "checkpoint", "metadata_type", "metadata", "metadata_kv", "blob_refs", "written_at"]);
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

describe("deleting whole threads: one bounded transaction per group, each thread in exactly one", () => {
  it("groups hold at most the bound of checkpoints; a thread above it goes alone; order is kept", () => {
    const counts = new Map([["a", 400], ["b", 500], ["c", 200], ["huge", 5000], ["d", 1], ["e", 1000]]);
    const groups = transactionGroups(["a", "b", "c", "huge", "d", "none", "e"], counts, 1000);
    expect(groups).toEqual([["a", "b"], ["c"], ["huge"], ["d", "none"], ["e"]]);
    for (const g of groups) {
      const total = g.reduce((n, t) => n + (counts.get(t) ?? 0), 0);
      expect(g.length === 1 || total <= 1000).toBe(true);
    }
    expect(groups.flat()).toEqual(["a", "b", "c", "huge", "d", "none", "e"]);
    expect(transactionGroups([], counts, 1000)).toEqual([]);
    // Threads without checkpoints (thread documents or writes only) share one transaction.
    expect(transactionGroups(["x", "y", "z"], new Map(), 1000)).toEqual([["x", "y", "z"]]);
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
  const put = (doc: Record<string, unknown>, r: Partial<CheckpointRecord>) => applyPipeline(doc, threadUpdateForPut(record(r), [`kv-${r.checkpointId}`]));

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

  it("without a TTL no TTL field is written, and no thread touch is planned", () => {
    const d = put({}, { checkpointId: "c1" });
    expect(Object.keys(d).sort()).toEqual(["latest"]);
    expect(planPut(sc, record(), [], {}).filter((m) => m.collection === sc.threads)).toHaveLength(1);
  });
});

describe("TTL clocks are the server's: thread lives", () => {
  /** Applies a put's models (without blobs) to a thread document and a checkpoint document, at server time `now`. */
  function applyPut(thread: Record<string, unknown>, r: Partial<CheckpointRecord>, now: Date) {
    let t = thread;
    let checkpoint: Record<string, unknown> = {};
    for (const m of planPut(sc, record(r), [], { ttlMs: HOUR })) {
      if (m.collection === sc.threads) t = applyPipeline(t, pipelineOf(m), at(now));
      else checkpoint = applyPipeline({}, pipelineOf(m), at(now));
    }
    return { thread: t, checkpoint };
  }
  const visibleExpr = (visibleStages(sc, SERVER_NOW)[1].$match as { $expr: unknown }).$expr;
  const visible = (checkpoint: Record<string, unknown>, thread: Record<string, unknown>, now: Date) =>
    evaluate(visibleExpr, { written_at: checkpoint.written_at, __thread: [thread] }, at(now));

  it("a put restarts the expiry from the server's clock; a live thread keeps its life start", () => {
    const { thread: fresh } = applyPut({}, { checkpointId: "c1" }, SERVER);
    expect(fresh.expire_at).toEqual(new Date(SERVER.getTime() + HOUR));
    expect(fresh.alive_since).toEqual(new Date(0));
    expect(fresh.reset_pending).toBeUndefined();
    const { thread: alive } = applyPut({ ...fresh, alive_since: new Date(5) }, { checkpointId: "c2" }, new Date(SERVER.getTime() + 1000));
    expect(alive.alive_since).toEqual(new Date(5));
    expect(alive.expire_at).toEqual(new Date(SERVER.getTime() + 1000 + HOUR));
  });

  it("a put to an expired thread starts a new life that its own checkpoint belongs to (written after the revival, by the same clock)", () => {
    const old = { latest: { checkpoint_ns: "", checkpoint_id: "c9", metadata_kv: [] }, alive_since: new Date(0), expire_at: SERVER };
    const now = new Date(SERVER.getTime() + 2 * HOUR);
    const { thread, checkpoint } = applyPut(old, { checkpointId: "c2" }, now);
    expect(thread.alive_since).toEqual(now);
    expect(thread.reset_pending).toBe(true);
    // The new life's first checkpoint is the latest even though an older life had a higher id.
    expect((thread.latest as any).checkpoint_id).toBe("c2");
    expect(checkpoint.written_at).toEqual(now);
    expect(visible(checkpoint, thread, now)).toBe(true);
    // A checkpoint of the earlier life stays hidden.
    expect(visible({ written_at: new Date(SERVER.getTime() - 1) }, thread, now)).toBe(false);
  });

  it("a writer whose clock is behind (or a retried transaction) cannot write into an earlier life: no timestamp comes from the client", () => {
    // Another process revived the thread at server time T; this put runs at server time T + 1 ms,
    // whatever its own clock says: its checkpoint is in the current life and visible.
    const revivedAt = new Date(SERVER.getTime() + 2 * HOUR);
    const revived = { latest: undefined, alive_since: revivedAt, expire_at: new Date(revivedAt.getTime() + HOUR), reset_pending: true };
    const now = new Date(revivedAt.getTime() + 1);
    const { thread, checkpoint } = applyPut(revived, { checkpointId: "c3" }, now);
    expect(thread.alive_since).toEqual(revivedAt);
    expect(visible(checkpoint, thread, now)).toBe(true);
    const dates = JSON.stringify(planPut(sc, record(), [], { ttlMs: HOUR }), (_k, v) => (v instanceof Date && v.getTime() !== 0 ? "CLIENT-DATE" : v));
    expect(dates).not.toContain("CLIENT-DATE");
    expect(JSON.stringify(planPutWrites(sc, "t", "", "c1", [write("task", 0, "a")], { ttlMs: HOUR }))).toContain("$$NOW");
  });

  it("pending writes restart the clock; on an expired thread they start a new life with no latest checkpoint", () => {
    const doc = { latest: { checkpoint_ns: "", checkpoint_id: "c1", metadata_kv: [] }, alive_since: new Date(0), expire_at: NOW };
    const alive = applyPipeline({ ...doc, expire_at: LATER }, threadTouch({ ttlMs: HOUR }), at(NOW));
    expect(alive.latest).toEqual(doc.latest);
    expect(alive.expire_at).toEqual(new Date(NOW.getTime() + HOUR));
    const dead = applyPipeline(doc, threadTouch({ ttlMs: HOUR }), at(LATER));
    expect(dead.latest).toBeUndefined();
    expect(dead.alive_since).toEqual(LATER);
  });

  it("refresh on read restarts live threads from the server's clock and leaves expired ones alone", () => {
    const { filter, update } = threadRefresh(["a", "b"], HOUR);
    expect(filter._id).toEqual({ $in: ["a", "b"] });
    expect(evaluate(filter.$expr, { expire_at: LATER }, at(NOW))).toBe(true);
    expect(evaluate(filter.$expr, { expire_at: NOW }, at(LATER))).toBe(false);
    expect(evaluate(filter.$expr, {}, at(NOW))).toBe(false);
    expect(applyPipeline({ expire_at: LATER }, update as Pipeline, at(NOW)).expire_at).toEqual(new Date(NOW.getTime() + HOUR));
  });
});

describe("putWrites", () => {
  it("regular writes are insert-if-absent ($setOnInsert), special channels replace ($set), keyed by (thread, ns, checkpoint, task, idx)", () => {
    const models = planPutWrites(sc, "t", "ns", "c1", [write("task", 0, "a"), write("task", 1, "b"), write("task", -1, "__error__")], {});
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
    const models = planPutWrites(sc, "t", "", "c1", [write("task", 0, "a")], { ttlMs: HOUR });
    expect(models[1]).toMatchObject({ kind: "updateOne", collection: "p_checkpoint_threads", filter: { _id: "t" }, upsert: false });
  });
});

describe("documents over 16 MiB are refused before anything is sent", () => {
  const big = new Uint8Array(MAX_BSON_OBJECT_SIZE);
  const justFits = new Uint8Array(MAX_BSON_OBJECT_SIZE - 1024);

  it("a blob, a checkpoint or a pending write that cannot be one document: InvalidArgumentError naming it", () => {
    expect(() => planPut(sc, record(), [{ channel: "a", version: "1", type: "bytes", data: big }], {})).toThrow(InvalidArgumentError);
    expect(() => planPut(sc, record(), [{ channel: "a", version: "1", type: "bytes", data: big }], {})).toThrow(/channel "a" \(version "1"\) of checkpoint "c1".*16 MiB/);
    expect(() => planPut(sc, record({ checkpoint: { type: "bytes", data: big } }), [], {})).toThrow(InvalidArgumentError);
    expect(() => planPutWrites(sc, "t", "", "c1", [{ ...write("task", 0, "a"), data: big }], {})).toThrow(/pending write to channel "a" of task "task"/);
    const ok = planPut(sc, record(), [{ channel: "a", version: "1", type: "bytes", data: justFits }], {});
    expect(serializeStatement(ok[0]).length).toBeLessThan(MAX_BSON_OBJECT_SIZE);
  });

  it("a store value (or its Atlas vector copy) that cannot be one document: InvalidArgumentError naming the item", () => {
    const value = { text: "x".repeat(MAX_BSON_OBJECT_SIZE) };
    const p: PreparedPut = { namespace: ["a"], ns: "a", key: "k", value, ttlMinutes: null, expiresAt: null };
    expect(() => planStorePuts(st, [p], NOW, false)).toThrow(InvalidArgumentError);
    expect(() => planStorePuts(st, [p], NOW, false)).toThrow(/\["a"\] \/ "k".*16 MiB/);
    const fits = { ...p, value: { text: "x".repeat(MAX_BSON_OBJECT_SIZE - 4096) } };
    expect(planStorePuts(st, [fits], NOW, false)).toHaveLength(1);
  });
});

describe("store puts", () => {
  function put(over: Partial<PreparedPut> = {}): PreparedPut {
    return { namespace: ["a", "b"], ns: "a.b", key: "k", value: { text: "$not-a-path", n: 1 }, ttlMinutes: null, expiresAt: null, ...over };
  }

  it("an upsert keeps created_at of a live item, restarts it for a new or expired one (server time), and stores values literally", () => {
    const update = itemUpdate(put(), NOW);
    const created = applyPipeline({}, update, ON_SERVER);
    expect(created).toMatchObject({ namespace: ["a", "b"], value: { text: "$not-a-path", n: 1 }, created_at: NOW, updated_at: NOW, ttl_minutes: null, expire_at: null });
    expect("keys_escaped" in created).toBe(false);
    const updated = applyPipeline({ ...created, created_at: new Date(1) }, itemUpdate(put(), LATER), ON_SERVER);
    expect(updated.created_at).toEqual(new Date(1));
    expect(updated.updated_at).toEqual(LATER);
    const revived = applyPipeline({ ...created, created_at: new Date(1), expire_at: new Date(2) }, itemUpdate(put(), LATER), ON_SERVER);
    expect(revived.created_at).toEqual(LATER);
    // Expired by the server's clock, whatever the client's says.
    const notYet = applyPipeline({ ...created, created_at: new Date(1), expire_at: new Date(SERVER.getTime() + 1) }, itemUpdate(put(), LATER), ON_SERVER);
    expect(notYet.created_at).toEqual(new Date(1));
  });

  it("embeddings: undefined leaves vectors alone, [] clears them, vectors are stored with their norm", () => {
    expect(applyPipeline({ embeddings: [1] }, itemUpdate(put(), NOW), ON_SERVER).embeddings).toEqual([1]);
    expect(applyPipeline({ embeddings: [1] }, itemUpdate(put({ embeddings: [] }), NOW), ON_SERVER).embeddings).toEqual([]);
    const withVectors = applyPipeline({}, itemUpdate(put({ embeddings: [{ field: "text", text: "x", vector: [3, 4] }] }), NOW), ON_SERVER);
    expect(withVectors.embeddings).toEqual([{ field: "text", vector: [3, 4], norm: 5 }]);
  });

  it("a TTL put stores the expiry the TTL monitor uses: the server's clock plus the TTL (not the client's expiresAt)", () => {
    // The client clock is an hour behind the server: its expiresAt would let the TTL monitor delete early.
    const d = applyPipeline({}, itemUpdate(put({ ttlMinutes: 2, expiresAt: NOW.getTime() - HOUR + 120_000 }), NOW), ON_SERVER);
    expect(d.expire_at).toEqual(new Date(SERVER.getTime() + 120_000));
    expect(d.ttl_minutes).toBe(2);
  });

  it("reads compare expiry with the server's clock", () => {
    const q = getsQuery([{ ns: "a", key: "1" }], SERVER_NOW);
    expect(q.$or).toEqual([{ ns: "a", key: "1" }]);
    expect(evaluate(q.$expr, { expire_at: new Date(SERVER.getTime() + 1) }, ON_SERVER)).toBe(true);
    expect(evaluate(q.$expr, { expire_at: SERVER }, ON_SERVER)).toBe(false);
    expect(evaluate(q.$expr, { expire_at: null }, ON_SERVER)).toBe(true);
    expect(evaluate(q.$expr, {}, ON_SERVER)).toBe(true);
  });

  it("one model per put (upsert or delete by (ns, key)), all on the items collection", () => {
    const models = planStorePuts(st, [put(), put({ key: "gone", value: null })], NOW, false);
    expect(models.map((m) => `${m.kind}:${m.collection}`)).toEqual(["updateOne:p_store", "deleteOne:p_store"]);
    expect(models[1].filter).toEqual({ ns: "a.b", key: "gone" });
  });

  it("with Atlas vectors: vector i is rewritten by _id (expiry from the server's clock) and vectors past the new count deleted (models commute)", () => {
    const p = put({ ttlMinutes: 1, embeddings: [{ field: "text", text: "x", vector: [1, 0] }, { field: "text", text: "y", vector: [0, 1] }] });
    const models = planStorePuts(st, [p, put({ key: "gone", value: null })], NOW, true);
    expect(models.map((m) => `${m.kind}:${m.collection}`)).toEqual([
      "updateOne:p_store",
      "deleteOne:p_store",
      "updateOne:p_store_vectors",
      "updateOne:p_store_vectors",
      "deleteMany:p_store_vectors",
      "deleteMany:p_store_vectors",
    ]);
    expect(models[3]).toMatchObject({ filter: { _id: { ns: "a.b", key: "k", i: 1 } }, upsert: true });
    const second = applyPipeline({}, pipelineOf(models[3]), ON_SERVER);
    expect(second).toMatchObject({ ns: "a.b", key: "k", ns_prefixes: ["a", "a.b"], norm: 1, value: p.value, expire_at: new Date(SERVER.getTime() + 60_000) });
    // Sent as BSON doubles even when a component is integral.
    expect((second.embedding as Array<{ _bsontype: string; value: number }>).map((d) => [d._bsontype, d.value])).toEqual([["Double", 0], ["Double", 1]]);
    expect(models[4].filter).toEqual({ ns: "a.b", key: "k", "_id.i": { $gte: 2 } });
    expect(models[5].filter).toEqual({ ns: "a.b", key: "gone", "_id.i": { $gte: 0 } });
  });

  it("refresh on read restarts each live item's expiry from the server's clock by its own TTL, in one updateMany", () => {
    const m = planRefresh("p_store", [{ ns: "a", key: "1" }, { ns: "a", key: "2" }]) as Extract<WriteModel, { kind: "updateMany" }>;
    expect(m.filter).toMatchObject({ $or: [{ ns: "a", key: "1" }, { ns: "a", key: "2" }], ttl_minutes: { $type: "number" } });
    expect(evaluate(m.filter.$expr, { expire_at: LATER }, ON_SERVER)).toBe(true);
    expect(evaluate(m.filter.$expr, { expire_at: SERVER }, ON_SERVER)).toBe(false);
    const after = applyPipeline({ ttl_minutes: 0.5, expire_at: LATER }, m.update as Pipeline, ON_SERVER);
    expect(after.expire_at).toEqual(new Date(SERVER.getTime() + 30_000));
    expect(planRefresh("p_store", [])).toBeUndefined();
  });
});

describe("store values with U+0000 in an object key", () => {
  const value = { nul: "a\u0000b", controls: "\t\n\r\u0001\u001f\u007f", ["key\u0000with nul"]: 1, nested: [{ ["x\u0000"]: { ["\u0001y"]: 2 } }], ["one\u0001"]: 3 };
  const put: PreparedPut = { namespace: ["a"], ns: "a", key: "k", value, ttlMinutes: null, expiresAt: null };

  it("as given, the bson serializer refuses the write on the client (field names are NUL-terminated)", () => {
    expect(() => BSON.serialize({ u: [{ $set: { value: { $literal: value } } }] })).toThrow(/must not contain null bytes/);
  });

  it("are stored with escaped keys (and keys_escaped: true), serialise with the real bson, and read back exactly", () => {
    for (const withVectors of [false, true]) {
      const models = planStorePuts(st, [{ ...put, embeddings: [{ field: "nul", text: "a", vector: [1, 0] }] }], NOW, withVectors);
      for (const m of models) if (m.kind === "updateOne") expect(() => serializeStatement(m)).not.toThrow();
    }
    const stored = applyPipeline({}, itemUpdate(put, NOW), ON_SERVER);
    expect(stored.keys_escaped).toBe(true);
    // What the server stores, and what the driver hands back.
    const roundTrip = BSON.deserialize(BSON.serialize(stored)) as { value: Record<string, unknown>; keys_escaped?: boolean };
    expect(readValue(roundTrip)).toEqual(value);
    // Rewriting it with an ordinary value drops the marker.
    const plain = applyPipeline(stored, itemUpdate({ ...put, value: { "one\u0001": 1 } }, NOW), ON_SERVER);
    expect("keys_escaped" in plain).toBe(false);
    expect(readValue(plain as { value: Record<string, unknown> })).toEqual({ "one\u0001": 1 });
  });

  it("filters on any path answer as core does, escaped or not (keys with U+0000 or U+0001 included)", () => {
    const values: Array<Record<string, unknown>> = [
      value,
      { "one\u0001": 3, "key\u0000with nul": 2 },
      { "one\u0001": 3 },
      { "one\u0001\u0002": 3 },
      { "x\u0001\u0001": 1, nested: [{ "x\u0000": { "\u0001y": 2 } }] },
      { obj: { "k\u0000": 1, "k\u0001": 2 } },
      { obj: { "k\u0001": 2, "k\u0001\u0001": 1 } },
    ];
    const filters: Array<Record<string, unknown>> = [
      { "key\u0000with nul": 1 },
      { "key\u0000with nul": { $exists: true } },
      { "one\u0001": 3 },
      { "one\u0001": { $gte: 3 } },
      { "one\u0001\u0002": { $exists: true } },
      { "x\u0001\u0001": { $exists: true } },
      { "nested.0.x\u0000.\u0001y": 2 },
      { nul: "a\u0000b" },
      { obj: { "k\u0000": 1, "k\u0001": 2 } },
      { obj: { $ne: { "k\u0001": 2, "k\u0001\u0001": 1 } } },
      { obj: { $in: [{ "k\u0001": 2, "k\u0001\u0001": 1 }] } },
    ];
    let checked = 0;
    for (const v of values) {
      const doc = applyPipeline({}, itemUpdate({ ...put, value: v }, NOW), ON_SERVER);
      for (const f of filters) {
        const conditions = parseFilter(f);
        const { match, exact } = translateFilter(conditions);
        expect(exact).toBe(true);
        expect(evaluate(match.$expr, doc), `${JSON.stringify(v)} ${JSON.stringify(f)}`).toBe(matchesConditions(v, conditions));
        checked++;
      }
    }
    expect(checked).toBe(values.length * filters.length);
  });

  it("ordinary values and filters on ordinary keys are unchanged", () => {
    const doc = applyPipeline({}, itemUpdate({ ...put, value: { a: { b: 1 } } }, NOW), ON_SERVER);
    expect(doc.value).toEqual({ a: { b: 1 } });
    expect(JSON.stringify(translateFilter(parseFilter({ "a.b": 1 })).match)).not.toContain("keys_escaped");
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

  it("an 8.0 binary still at featureCompatibilityVersion 7.0 cannot (the server refuses the command until the FCV is raised)", () => {
    expect(describeDeployment({ maxWireVersion: 25 }, "7.0").clientBulkWrite).toBe(false);
    expect(describeDeployment({ maxWireVersion: 25 }, "8.0").clientBulkWrite).toBe(true);
    expect(describeDeployment({ maxWireVersion: 27 }, "8.2").clientBulkWrite).toBe(true);
    expect(describeDeployment({ maxWireVersion: 24 }, "8.0").clientBulkWrite).toBe(false);
  });
});

describe("the evaluator used above refuses what it cannot model", () => {
  it("throws on a comparison across BSON types instead of guessing", () => {
    expect(() => evaluate({ $gt: ["$a", 1] }, { a: "x" })).toThrow(/across types/);
    expect(() => evaluate({ $eq: ["$missing", null] }, {})).toThrow(/missing/);
  });
});

describe("store values at core's depth limit", () => {
  // Nesting levels of a BSON document as the server counts them (the document itself is level 1).
  const bsonDepth = (v: unknown): number =>
    v !== null && typeof v === "object" && !(v instanceof Date) && !("_bsontype" in (v as object))
      ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(bsonDepth))
      : 0;

  it("a value nested MAX_VALUE_DEPTH levels is a document MongoDB stores (at most 100 levels)", () => {
    let value: unknown = "leaf";
    for (let i = MAX_VALUE_DEPTH - 1; i >= 0; i--) value = i % 2 === 0 ? { next: value } : [value];
    const put: PreparedPut = { namespace: ["a"], ns: "a", key: "k", value: value as Record<string, unknown>, ttlMinutes: null, expiresAt: null };
    const stored = applyPipeline({}, itemUpdate(put, NOW), ON_SERVER);
    expect(bsonDepth(stored)).toBe(MAX_VALUE_DEPTH + 1);
    expect(bsonDepth(stored)).toBeLessThanOrEqual(100);
    const [model] = planStorePuts(st, [put], NOW, false);
    expect(() => serializeStatement(model)).not.toThrow();
  });
});
