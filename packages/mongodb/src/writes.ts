import type { BlobRecord, CheckpointRecord, PreparedPut, WriteRecord } from "@langgraph-persist/core";
import { Double } from "mongodb";
import type { AnyBulkWriteOperation, AnyClientBulkWriteModel, ClientSession, Collection, Document, MongoClient } from "mongodb";
import {
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

/** TTL settings of a write: the clock and, when the saver expires threads, the TTL in ms. */
export interface WriteClock {
  now: Date;
  ttlMs?: number;
}

const isDate = (path: string) => ({ $eq: [{ $type: path }, "date"] });

/** The thread document was alive until now but has expired: this write starts a new life. */
function expiredExpr(now: Date): Document {
  return { $and: [isDate("$expire_at"), { $lte: ["$expire_at", now] }] };
}

/** TTL fields of the thread document after a write at `clock.now` (an update pipeline `$set`). */
function ttlFields(clock: WriteClock): Document {
  const expired = expiredExpr(clock.now);
  return {
    // A thread without TTL history began at the epoch: none of its checkpoints is hidden.
    alive_since: { $cond: [expired, clock.now, { $ifNull: ["$alive_since", new Date(0)] }] },
    expire_at: new Date(clock.now.getTime() + clock.ttlMs!),
    reset_pending: { $cond: [expired, true, "$reset_pending"] },
  };
}

/**
 * Update pipeline of the thread document for a new checkpoint. `latest` moves to the new checkpoint
 * when it is the newest of the root namespace (a root checkpoint always beats a subgraph one), or when
 * the thread has no root checkpoint and it is the newest put. Comparisons run on the server, so
 * concurrent puts of one thread converge without a read-modify-write.
 */
export function threadUpdateForPut(record: CheckpointRecord, kv: string[], clock: WriteClock): Document[] {
  const latestNew = { $literal: { checkpoint_ns: record.checkpointNs, checkpoint_id: record.checkpointId, metadata_kv: kv } };
  const noLatest = { $ne: [{ $type: "$latest" }, "object"] };
  const latestIsRoot = { $eq: ["$latest.checkpoint_ns", ""] };
  const notOlder = { $gte: [{ $literal: record.checkpointId }, "$latest.checkpoint_id"] };
  const better =
    record.checkpointNs === ""
      ? { $or: [noLatest, { $not: [latestIsRoot] }, notOlder] }
      : { $or: [noLatest, { $and: [{ $not: [latestIsRoot] }, notOlder] }] };
  if (clock.ttlMs === undefined) return [{ $set: { latest: { $cond: [better, latestNew, "$latest"] } } }];
  return [{ $set: { latest: { $cond: [{ $or: [expiredExpr(clock.now), better] }, latestNew, "$latest"] }, ...ttlFields(clock) } }];
}

/** Update pipeline that restarts a thread's TTL clock after pending writes (an expired thread starts over). */
export function threadTouchForWrites(clock: WriteClock): Document[] {
  return [{ $set: { latest: { $cond: [expiredExpr(clock.now), "$$REMOVE", "$latest"] }, ...ttlFields(clock) } }];
}

export function checkpointDoc(record: CheckpointRecord, kv: string[], now: Date): CheckpointDoc {
  return {
    _id: checkpointKey(record.threadId, record.checkpointNs, record.checkpointId),
    parent_checkpoint_id: record.parentCheckpointId,
    type: record.checkpoint.type,
    checkpoint: record.checkpoint.data,
    metadata_type: record.metadata.type,
    metadata: record.metadata.data,
    metadata_kv: kv,
    // Absent rather than null when there is no run id (most checkpoints): reads default it to null.
    ...(record.runId !== null ? { run_id: record.runId } : {}),
    blob_refs: record.blobRefs,
    written_at: now,
  };
}

/**
 * `put`: blobs first (insert-if-absent: a version's value never changes), then the checkpoint
 * (replace), then the thread document. Without a transaction this order is the commit order: a reader
 * can see a blob nobody references yet, never a checkpoint whose blobs are missing.
 */
export function planPut(c: SaverCollections, record: CheckpointRecord, blobs: readonly BlobRecord[], clock: WriteClock): WriteModel[] {
  const kv = metadataKv(record.metadataJson);
  const models: WriteModel[] = blobs.map((b) => ({
    kind: "updateOne",
    collection: c.blobs,
    filter: { _id: blobKey(record.threadId, record.checkpointNs, b.channel, b.version) },
    update: { $setOnInsert: { type: b.type, data: b.data } },
    upsert: true,
  }));
  const doc = checkpointDoc(record, kv, clock.now);
  models.push({ kind: "replaceOne", collection: c.checkpoints, filter: { _id: doc._id }, replacement: doc, upsert: true });
  models.push({ kind: "updateOne", collection: c.threads, filter: { _id: record.threadId }, update: threadUpdateForPut(record, kv, clock), upsert: true });
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
    return {
      kind: "updateOne",
      collection: c.writes,
      filter: { _id: writeKey(threadId, checkpointNs, checkpointId, w.taskId, w.idx) },
      update: w.idx < 0 ? { $set: fields } : { $setOnInsert: fields },
      upsert: true,
    };
  });
  if (clock.ttlMs !== undefined) {
    models.push({ kind: "updateOne", collection: c.threads, filter: { _id: threadId }, update: threadTouchForWrites(clock), upsert: false });
  }
  return models;
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
 * Update pipeline of one item put. `created_at` survives updates of a live item; an item that has
 * expired (but is not swept yet) starts over. Values go through `$literal`, so strings that start
 * with `$` stay strings.
 */
export function itemUpdate(put: PreparedPut, now: Date): Document[] {
  const expireAt = put.expiresAt === null ? null : new Date(put.expiresAt);
  const alive = { $and: [isDate("$created_at"), { $not: [{ $and: [isDate("$expire_at"), { $lte: ["$expire_at", now] }] }] }] };
  const set: Document = {
    namespace: { $literal: put.namespace },
    value: { $literal: put.value },
    created_at: { $cond: [alive, "$created_at", now] },
    updated_at: now,
    ttl_minutes: put.ttlMinutes,
    expire_at: expireAt,
  };
  if (put.embeddings !== undefined) set.embeddings = { $literal: storedVectors(put) };
  return [{ $set: set }];
}

export function storedVectors(put: PreparedPut): StoredVector[] {
  return (put.embeddings ?? []).map((e) => ({ field: e.field, vector: e.vector, norm: vectorNorm(e.vector) }));
}

export function vectorDocs(put: PreparedPut): VectorDoc[] {
  const prefixes = namespacePrefixes(put.namespace);
  return storedVectors(put).map((v, i) => ({
    _id: { ns: put.ns, key: put.key, i },
    ns: put.ns,
    key: put.key,
    ns_prefixes: prefixes,
    field: v.field,
    // Atlas indexes vectors of BSON doubles; integral components would otherwise be sent as int32.
    embedding: v.vector.map((x) => new Double(x)),
    norm: v.norm,
    value: put.value!,
    ttl_minutes: put.ttlMinutes,
    expire_at: put.expiresAt === null ? null : new Date(put.expiresAt),
  }));
}

/**
 * The puts of one batch (already one per key). Items: upsert or delete by `(ns, key)`. With Atlas
 * vector search the item's vector documents follow: vector `i` is replaced by `_id`, and vectors past
 * the new count are deleted. No two models touch the same document, so they commute and can be sent
 * unordered (one command per kind and collection).
 */
export function planStorePuts(c: StoreCollections, puts: readonly PreparedPut[], now: Date, withVectors: boolean): WriteModel[] {
  const models: WriteModel[] = [];
  for (const p of puts) {
    const filter = { ns: p.ns, key: p.key };
    if (p.value === null) models.push({ kind: "deleteOne", collection: c.items, filter });
    else models.push({ kind: "updateOne", collection: c.items, filter, update: itemUpdate(p, now), upsert: true });
  }
  if (withVectors) {
    for (const p of puts) {
      if (p.value !== null && p.embeddings === undefined) continue;
      const docs = p.value === null ? [] : vectorDocs(p);
      for (const doc of docs) models.push({ kind: "replaceOne", collection: c.vectors, filter: { _id: doc._id }, replacement: doc, upsert: true });
      models.push({ kind: "deleteMany", collection: c.vectors, filter: { ns: p.ns, key: p.key, "_id.i": { $gte: docs.length } } });
    }
  }
  return models;
}

/** Refresh on read: expiry restarts from `now` by each item's own TTL (items without TTL are untouched). */
export function planRefresh(collection: string, keys: ReadonlyArray<{ ns: string; key: string }>, now: Date): WriteModel | undefined {
  if (keys.length === 0) return undefined;
  return {
    kind: "updateMany",
    collection,
    filter: { $or: keys.map((k) => ({ ns: k.ns, key: k.key })), ttl_minutes: { $type: "number" }, expire_at: { $gt: now } },
    update: [{ $set: { expire_at: { $add: [now, { $round: [{ $multiply: ["$ttl_minutes", 60_000] }, 0] }] } } }],
  };
}

