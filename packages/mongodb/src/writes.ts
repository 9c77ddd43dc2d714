import { InvalidArgumentError, minutesToMs, type BlobRecord, type CheckpointRecord, type PreparedPut, type WriteRecord } from "@langgraph-persist/core";
import { BSON, Double } from "mongodb";
import type { AnyBulkWriteOperation, AnyClientBulkWriteModel, ClientSession, Collection, Document, MongoClient } from "mongodb";
import { KEYS_ESCAPED, storedValue } from "./escape.js";
import {
  SERVER_NOW,
  SOURCE,
  blobKey,
  checkpointKey,
  metadataKv,
  namespacePrefixes,
  writeKey,
  type CheckpointDoc,
  type SaverCollections,
  type StoreCollections,
  type StoredVector,
  type VectorDoc,
} from "./keys.js";

/**
 * Writes as data: the planners below turn records into an ordered list of these, and `executeWrites`
 * sends the list in as few commands as the server allows. Planning is pure, so the exact operations of
 * every write path are unit-tested without a server.
 */
export type WriteModel =
  | { kind: "updateOne"; collection: string; filter: Document; update: Document | Document[]; upsert?: boolean }
  | { kind: "updateMany"; collection: string; filter: Document; update: Document | Document[] }
  | { kind: "replaceOne"; collection: string; filter: Document; replacement: Document; upsert?: boolean }
  | { kind: "deleteOne"; collection: string; filter: Document }
  | { kind: "deleteMany"; collection: string; filter: Document };

export function toCollectionModel(m: WriteModel): AnyBulkWriteOperation<Document> {
  switch (m.kind) {
    case "updateOne":
      return { updateOne: { filter: m.filter, update: m.update, upsert: m.upsert ?? false } };
    case "updateMany":
      return { updateMany: { filter: m.filter, update: m.update } };
    case "replaceOne":
      return { replaceOne: { filter: m.filter, replacement: m.replacement, upsert: m.upsert ?? false } };
    case "deleteOne":
      return { deleteOne: { filter: m.filter } };
    case "deleteMany":
      return { deleteMany: { filter: m.filter } };
  }
}

export function toClientModel(m: WriteModel, dbName: string): AnyClientBulkWriteModel<Document> {
  const namespace = `${dbName}.${m.collection}`;
  switch (m.kind) {
    case "updateOne":
      return { name: "updateOne", namespace, filter: m.filter, update: m.update, upsert: m.upsert ?? false };
    case "updateMany":
      return { name: "updateMany", namespace, filter: m.filter, update: m.update };
    case "replaceOne":
      return { name: "replaceOne", namespace, filter: m.filter, replacement: m.replacement, upsert: m.upsert ?? false };
    case "deleteOne":
      return { name: "deleteOne", namespace, filter: m.filter };
    case "deleteMany":
      return { name: "deleteMany", namespace, filter: m.filter };
  }
}

/** MongoDB's document size limit (`maxBsonObjectSize`): no stored document, and no write statement, may exceed it. */
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;

/** The write statement the driver builds for `m` (what it checks against `maxBsonObjectSize`). */
function statementOf(m: WriteModel): Document {
  switch (m.kind) {
    case "updateOne":
    case "updateMany":
      return { q: m.filter, u: m.update, upsert: "upsert" in m ? (m.upsert ?? false) : false, multi: m.kind === "updateMany" };
    case "replaceOne":
      return { q: m.filter, u: m.replacement, upsert: m.upsert ?? false, multi: false };
    default:
      return { q: m.filter, limit: m.kind === "deleteOne" ? 1 : 0 };
  }
}

/**
 * Refuses a write whose statement exceeds MongoDB's 16 MiB document limit, before anything is sent:
 * a blob, pending write, checkpoint or store value that large cannot be stored as one document (the
 * driver would reject the statement, or the server the document, possibly after earlier commands of
 * the same operation had been applied).
 */
export function assertFits(m: WriteModel, what: () => string): void {
  const size = BSON.calculateObjectSize(statementOf(m), { ignoreUndefined: false });
  if (size >= MAX_BSON_OBJECT_SIZE) {
    throw new InvalidArgumentError(
      SOURCE,
      `${what()} needs a ${size}-byte write; MongoDB stores at most ${MAX_BSON_OBJECT_SIZE} bytes (16 MiB) per document. Nothing was written.`,
    );
  }
}

/** Consecutive models on the same collection: what one collection-level `bulkWrite` can carry. */
export function groupByCollection(models: readonly WriteModel[]): Array<{ collection: string; models: WriteModel[] }> {
  const out: Array<{ collection: string; models: WriteModel[] }> = [];
  for (const m of models) {
    const last = out[out.length - 1];
    if (last && last.collection === m.collection) last.models.push(m);
    else out.push({ collection: m.collection, models: [m] });
  }
  return out;
}

export interface WriteTarget {
  client: MongoClient;
  dbName: string;
  usesClientBulkWrite: boolean;
  collection(name: string): Collection<Document>;
}

/**
 * Sends `models` in their order. Models on one collection go as one `bulkWrite`; models spanning
 * collections go as one cross-collection `bulkWrite` on MongoDB 8.0+, else as one `bulkWrite` per
 * run of the same collection, each awaited before the next (so the order is also the commit order).
 */
export async function executeWrites(target: WriteTarget, models: readonly WriteModel[], options: { session?: ClientSession; ordered?: boolean } = {}): Promise<void> {
  if (models.length === 0) return;
  const ordered = options.ordered ?? true;
  const runs = groupByCollection(models);
  if (runs.length > 1 && target.usesClientBulkWrite) {
    await target.client.bulkWrite(
      models.map((m) => toClientModel(m, target.dbName)),
      { ordered, session: options.session, ignoreUndefined: true },
    );
    return;
  }
  for (const run of runs) {
    await target.collection(run.collection).bulkWrite(run.models.map(toCollectionModel), { ordered, session: options.session });
  }
}

// ---------------------------------------------------------------- saver

/**
 * TTL settings of a saver write: the thread TTL in ms when the saver expires threads. Timestamps are
 * the server's clock (`$$NOW`, evaluated by each statement when it runs, so a retried transaction
 * takes a fresh one); see `SERVER_NOW`.
 */
export interface WriteClock {
  ttlMs?: number;
}

const isDate = (path: string) => ({ $eq: [{ $type: path }, "date"] });

/** The document has an expiry and it has passed (server time). */
export function expiredExpr(field = "$expire_at"): Document {
  return { $and: [isDate(field), { $lte: [field, SERVER_NOW] }] };
}

/** TTL fields of the thread document after a write (an update pipeline `$set`). */
function ttlFields(ttlMs: number): Document {
  const expired = expiredExpr();
  return {
    // A thread without TTL history began at the epoch: none of its checkpoints is hidden.
    alive_since: { $cond: [expired, SERVER_NOW, { $ifNull: ["$alive_since", new Date(0)] }] },
    expire_at: { $add: [SERVER_NOW, ttlMs] },
    reset_pending: { $cond: [expired, true, "$reset_pending"] },
  };
}

/**
 * Update pipeline of the thread document for a new checkpoint. `latest` moves to the new checkpoint
 * when it is the newest of the root namespace (a root checkpoint always beats a subgraph one), or when
 * the thread has no root checkpoint and it is the newest put. Comparisons run on the server, so
 * concurrent puts of one thread converge without a read-modify-write. (With a TTL, `threadTouch` ran
 * first: an expired thread has no `latest` any more, so its new life's first checkpoint takes it.)
 */
export function threadUpdateForPut(record: CheckpointRecord, kv: string[]): Document[] {
  const latestNew = { $literal: { checkpoint_ns: record.checkpointNs, checkpoint_id: record.checkpointId, metadata_kv: kv } };
  const noLatest = { $ne: [{ $type: "$latest" }, "object"] };
  const latestIsRoot = { $eq: ["$latest.checkpoint_ns", ""] };
  const notOlder = { $gte: [{ $literal: record.checkpointId }, "$latest.checkpoint_id"] };
  const better =
    record.checkpointNs === ""
      ? { $or: [noLatest, { $not: [latestIsRoot] }, notOlder] }
      : { $or: [noLatest, { $and: [{ $not: [latestIsRoot] }, notOlder] }] };
  return [{ $set: { latest: { $cond: [better, latestNew, "$latest"] } } }];
}

/**
 * Update pipeline that restarts a thread's TTL clock (server time); a thread that had expired starts a
 * new life: `alive_since` moves to now, `latest` goes, and the sweeper is told to remove the earlier
 * life. Runs before the checkpoint of a put is written, so that checkpoint's `written_at` (also server
 * time, taken later) is never before the life it belongs to.
 */
export function threadTouch(clock: WriteClock): Document[] {
  return [{ $set: { latest: { $cond: [expiredExpr(), "$$REMOVE", "$latest"] }, ...ttlFields(clock.ttlMs!) } }];
}

/** The fields of a checkpoint document except `_id` and `written_at`. */
export function checkpointFields(record: CheckpointRecord, kv: string[]): Omit<CheckpointDoc, "_id" | "written_at"> {
  return {
    parent_checkpoint_id: record.parentCheckpointId,
    type: record.checkpoint.type,
    checkpoint: record.checkpoint.data,
    metadata_type: record.metadata.type,
    metadata: record.metadata.data,
    metadata_kv: kv,
    // Absent rather than null when there is no run id (most checkpoints): reads default it to null.
    ...(record.runId !== null ? { run_id: record.runId } : {}),
    blob_refs: record.blobRefs,
  };
}

/**
 * Update pipeline that writes a checkpoint document as a whole (every field, `run_id` removed when
 * there is none), with `written_at` taken from the server's clock.
 */
export function checkpointUpdate(record: CheckpointRecord, kv: string[]): Document[] {
  const fields = checkpointFields(record, kv) as Record<string, unknown>;
  const set: Document = {};
  for (const [k, v] of Object.entries(fields)) set[k] = { $literal: v };
  if (!("run_id" in fields)) set.run_id = "$$REMOVE";
  set.written_at = SERVER_NOW;
  return [{ $set: set }];
}

const describeCheckpoint = (r: CheckpointRecord) => `checkpoint ${JSON.stringify(r.checkpointId)} of thread ${JSON.stringify(r.threadId)}`;

/**
 * `put`: blobs first (insert-if-absent: a version's value never changes), then the checkpoint (all of
 * it, by `_id`), then the thread document. Without a transaction this order is the commit order: a
 * reader can see a blob nobody references yet, never a checkpoint whose blobs are missing. With a TTL
 * the thread's clock restarts before the checkpoint is written (see `threadTouch`).
 */
export function planPut(c: SaverCollections, record: CheckpointRecord, blobs: readonly BlobRecord[], clock: WriteClock): WriteModel[] {
  const kv = metadataKv(record.metadataJson);
  const models: WriteModel[] = blobs.map((b) => {
    const m: WriteModel = {
      kind: "updateOne",
      collection: c.blobs,
      filter: { _id: blobKey(record.threadId, record.checkpointNs, b.channel, b.version) },
      update: { $setOnInsert: { type: b.type, data: b.data } },
      upsert: true,
    };
    assertFits(m, () => `The value of channel ${JSON.stringify(b.channel)} (version ${JSON.stringify(b.version)}) of ${describeCheckpoint(record)}`);
    return m;
  });
  const thread = { _id: record.threadId };
  if (clock.ttlMs !== undefined) models.push({ kind: "updateOne", collection: c.threads, filter: thread, update: threadTouch(clock), upsert: true });
  const checkpoint: WriteModel = {
    kind: "updateOne",
    collection: c.checkpoints,
    filter: { _id: checkpointKey(record.threadId, record.checkpointNs, record.checkpointId) },
    update: checkpointUpdate(record, kv),
    upsert: true,
  };
  assertFits(checkpoint, () => describeCheckpoint(record));
  models.push(checkpoint);
  models.push({ kind: "updateOne", collection: c.threads, filter: thread, update: threadUpdateForPut(record, kv), upsert: true });
  return models;
}

/**
 * `putWrites`: regular writes are insert-if-absent (`$setOnInsert`: the first writer wins, a retried
 * task changes nothing); special channels (`idx < 0`: error, interrupt, ...) replace (`$set`). With a
 * TTL the thread's clock restarts; the thread document is never created here (a write to a deleted
 * thread must not bring it back).
 */
export function planPutWrites(
  c: SaverCollections,
  threadId: string,
  checkpointNs: string,
  checkpointId: string,
  writes: readonly WriteRecord[],
  clock: WriteClock,
): WriteModel[] {
  const models: WriteModel[] = writes.map((w) => {
    const fields = { channel: w.channel, type: w.type, data: w.data, task_path: w.taskPath };
    const m: WriteModel = {
      kind: "updateOne",
      collection: c.writes,
      filter: { _id: writeKey(threadId, checkpointNs, checkpointId, w.taskId, w.idx) },
      update: w.idx < 0 ? { $set: fields } : { $setOnInsert: fields },
      upsert: true,
    };
    assertFits(m, () => `The pending write to channel ${JSON.stringify(w.channel)} of task ${JSON.stringify(w.taskId)} (thread ${JSON.stringify(threadId)})`);
    return m;
  });
  if (clock.ttlMs !== undefined) {
    models.push({ kind: "updateOne", collection: c.threads, filter: { _id: threadId }, update: threadTouch(clock), upsert: false });
  }
  return models;
}

/**
 * With `refreshOnRead`, reading live threads restarts their clocks (server time): the filter and update
 * pipeline of one `updateMany`.
 */
export function threadRefresh(threadIds: readonly string[], ttlMs: number): { filter: Document; update: Document[] } {
  return {
    filter: { _id: { $in: [...threadIds] }, $expr: { $and: [isDate("$expire_at"), { $gt: ["$expire_at", SERVER_NOW] }] } },
    update: [{ $set: { expire_at: { $add: [SERVER_NOW, ttlMs] } } }],
  };
}

/**
 * Groups threads for deletion, one transaction per group: a group holds at most `maxCheckpoints`
 * checkpoints (a thread with more forms a group alone), so each transaction stays bounded while each
 * thread is deleted all at once. Order is kept; threads without checkpoints count as none.
 */
export function transactionGroups(threadIds: readonly string[], checkpointCounts: ReadonlyMap<string, number>, maxCheckpoints: number): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const id of threadIds) {
    const n = checkpointCounts.get(id) ?? 0;
    if (current.length > 0 && size + n > maxCheckpoints) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(id);
    size += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** `items` in lists of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Garbage collection's deletes, by `_id` lists of at most `chunk` ids: the writes whose checkpoint is
 * gone, then the blobs no remaining ref needs (see `LiveSet`).
 */
export function garbageDeletes(c: SaverCollections, deadWrites: readonly Document[], deadBlobs: readonly Document[], chunk: number): WriteModel[] {
  return [
    ...chunks(deadWrites, chunk).map((ids): WriteModel => ({ kind: "deleteMany", collection: c.writes, filter: { _id: { $in: ids } } })),
    ...chunks(deadBlobs, chunk).map((ids): WriteModel => ({ kind: "deleteMany", collection: c.blobs, filter: { _id: { $in: ids } } })),
  ];
}

// ---------------------------------------------------------------- store

/** Euclidean norm, summed in index order exactly as core `cosineSimilarity` does. */
export function vectorNorm(v: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  return Math.sqrt(n);
}

/**
 * The expiry of a put as an expression: server time plus the item's TTL, so it agrees with the TTL
 * monitor and with reads, which compare against the server's clock (`null`: no expiry).
 */
export function expiryExpr(ttlMinutes: number | null): unknown {
  return ttlMinutes === null ? null : { $add: [SERVER_NOW, minutesToMs(ttlMinutes)] };
}

/**
 * Update pipeline of one item put. `created_at` survives updates of a live item; an item that has
 * expired (but is not swept yet) starts over. Values go through `$literal`, so strings that start
 * with `$` stay strings; a value with U+0000 in a key is stored with escaped keys (see `escape.ts`).
 * `created_at`/`updated_at` are the batch's time (`now`); expiry is the server's.
 */
export function itemUpdate(put: PreparedPut, now: Date): Document[] {
  const alive = { $and: [isDate("$created_at"), { $not: [expiredExpr()] }] };
  const stored = storedValue(put.value);
  const set: Document = {
    namespace: { $literal: put.namespace },
    value: { $literal: stored.value },
    [KEYS_ESCAPED]: stored.escaped ? true : "$$REMOVE",
    created_at: { $cond: [alive, "$created_at", now] },
    updated_at: now,
    ttl_minutes: put.ttlMinutes,
    expire_at: expiryExpr(put.ttlMinutes),
  };
  if (put.embeddings !== undefined) set.embeddings = { $literal: storedVectors(put) };
  return [{ $set: set }];
}

export function storedVectors(put: PreparedPut): StoredVector[] {
  return (put.embeddings ?? []).map((e) => ({ field: e.field, vector: e.vector, norm: vectorNorm(e.vector) }));
}

/** The vector documents of a put, without `expire_at` (set by `vectorUpdate` from the server's clock). */
export function vectorDocs(put: PreparedPut): Array<Omit<VectorDoc, "expire_at">> {
  const prefixes = namespacePrefixes(put.namespace);
  // Same stored form as the item's value (filters on `vectorFilterFields` never contain U+0000).
  const value = storedValue(put.value!).value;
  return storedVectors(put).map((v, i) => ({
    _id: { ns: put.ns, key: put.key, i },
    ns: put.ns,
    key: put.key,
    ns_prefixes: prefixes,
    field: v.field,
    // Atlas indexes vectors of BSON doubles; integral components would otherwise be sent as int32.
    embedding: v.vector.map((x) => new Double(x)),
    norm: v.norm,
    value,
    ttl_minutes: put.ttlMinutes,
  }));
}

/** Update pipeline that writes one vector document as a whole, its expiry from the server's clock. */
export function vectorUpdate(doc: Omit<VectorDoc, "expire_at">): Document[] {
  const set: Document = {};
  for (const [k, v] of Object.entries(doc)) if (k !== "_id") set[k] = { $literal: v };
  set.expire_at = expiryExpr(doc.ttl_minutes);
  return [{ $set: set }];
}

const describeItem = (p: PreparedPut) => `The value of ${JSON.stringify(p.namespace)} / ${JSON.stringify(p.key)}`;

/**
 * The puts of one batch (already one per key). Items: upsert or delete by `(ns, key)`. With Atlas
 * vector search the item's vector documents follow: vector `i` is rewritten by `_id`, and vectors past
 * the new count are deleted. No two models touch the same document, so they commute and can be sent
 * unordered (one command per kind and collection). A value too large for one document is refused
 * before anything is sent.
 */
export function planStorePuts(c: StoreCollections, puts: readonly PreparedPut[], now: Date, withVectors: boolean): WriteModel[] {
  const models: WriteModel[] = [];
  for (const p of puts) {
    const filter = { ns: p.ns, key: p.key };
    if (p.value === null) {
      models.push({ kind: "deleteOne", collection: c.items, filter });
      continue;
    }
    const m: WriteModel = { kind: "updateOne", collection: c.items, filter, update: itemUpdate(p, now), upsert: true };
    assertFits(m, () => describeItem(p));
    models.push(m);
  }
  if (withVectors) {
    for (const p of puts) {
      if (p.value !== null && p.embeddings === undefined) continue;
      const docs = p.value === null ? [] : vectorDocs(p);
      for (const doc of docs) {
        const m: WriteModel = { kind: "updateOne", collection: c.vectors, filter: { _id: doc._id }, update: vectorUpdate(doc), upsert: true };
        assertFits(m, () => `${describeItem(p)} (its vector document ${doc._id.i})`);
        models.push(m);
      }
      models.push({ kind: "deleteMany", collection: c.vectors, filter: { ns: p.ns, key: p.key, "_id.i": { $gte: docs.length } } });
    }
  }
  return models;
}

/**
 * Refresh on read: the expiry of each live item restarts from the server's clock by the item's own TTL
 * (items without TTL, and items that expired meanwhile, are untouched).
 */
export function planRefresh(collection: string, keys: ReadonlyArray<{ ns: string; key: string }>): WriteModel | undefined {
  if (keys.length === 0) return undefined;
  return {
    kind: "updateMany",
    collection,
    filter: {
      $or: keys.map((k) => ({ ns: k.ns, key: k.key })),
      ttl_minutes: { $type: "number" },
      $expr: { $and: [isDate("$expire_at"), { $gt: ["$expire_at", SERVER_NOW] }] },
    },
    update: [{ $set: { expire_at: { $add: [SERVER_NOW, { $round: [{ $multiply: ["$ttl_minutes", 60_000] }, 0] }] } } }],
  };
}

