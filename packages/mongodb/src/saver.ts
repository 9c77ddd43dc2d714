import {
  NotSetUpError,
  PersistSaver,
  minutesToMs,
  startSweeper,
  type BlobRecord,
  type CheckpointRecord,
  type ListQuery,
  type PersistenceError,
  type SaverCapabilities,
  type StoredCheckpoint,
  type StoredThreadInfo,
  type WriteRecord,
} from "@langgraph-persist/core";
import type { ClientSession, Collection, Document } from "mongodb";
import { LiveSet } from "./chains.js";
import { Connection, mapMongoError, resolveConnection } from "./connection.js";
import {
  SOURCE,
  checkNamespaceLengths,
  saverCollections,
  writesOfCheckpoint,
  type BlobDoc,
  type Bytes,
  type CheckpointDoc,
  type SaverCollections,
  type ThreadDoc,
  type WriteDoc,
} from "./keys.js";
import { SAVER_MIGRATIONS, applyMigrations } from "./migrations.js";
import type { MongoDBSaverOptions } from "./options.js";
import {
  CHECKPOINT_SORT,
  assemblePage,
  blobsAndWritesPipeline,
  checkpointsPipeline,
  listThreadsPipeline,
  refOf,
  toWriteRecord,
} from "./query.js";
import { chunks, garbageDeletes, planPut, planPutWrites, threadTouchForWrites, type WriteClock, type WriteModel } from "./writes.js";

/** Checkpoints per `list` page: each page costs one `getMore` plus one query for its blobs and writes. */
const PAGE_SIZE = 100;
/** Ids per `$in` when deleting by id lists. */
const DELETE_CHUNK = 1000;

const bytes = (b: Bytes): Uint8Array => (b instanceof Uint8Array ? b : b.value());

/**
 * A LangGraph checkpointer on MongoDB. One document per checkpoint, one per channel version (a value
 * is stored once however many checkpoints use it; an array that only grew stores just its new items,
 * as a link of a delta chain), one per pending write, one per thread.
 *
 * - `put` and `putWrites` are one `bulkWrite` each (one command across collections on MongoDB 8.0+,
 *   one per collection before), inside a transaction on replica sets and sharded clusters; without a
 *   transaction the write order never exposes a checkpoint whose blobs are missing.
 * - `getTuple` is two queries: the checkpoint, then its blobs (a delta chain as one `_id` range) and
 *   writes together.
 * - `list` streams a cursor; each page costs one query for the blobs and writes of the whole page.
 *
 * @example
 * const checkpointer = MongoDBSaver.fromConnString("mongodb://localhost:27017", { dbName: "agents" });
 * await checkpointer.setup();
 * const graph = builder.compile({ checkpointer });
 */
export class MongoDBSaver extends PersistSaver {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: SaverCapabilities = { ttl: true, extendedOps: true, listThreads: true, multiProcess: true };
  /** Collection names of this saver. */
  readonly collections: SaverCollections;
  protected readonly connection: Connection;
  private stopSweeper: (() => void) | undefined;

  constructor(options: MongoDBSaverOptions) {
    super(options);
    const resolved = resolveConnection(options);
    this.collections = saverCollections(resolved.collectionPrefix);
    checkNamespaceLengths(resolved.dbName, { ...this.collections });
    this.connection = new Connection(resolved);
  }

  /**
   * A saver that owns its client, created from a connection string.
   *
   * @example
   * const checkpointer = MongoDBSaver.fromConnString(process.env.MONGODB_URL!, { dbName: "agents", ttl: { defaultTtl: 60 * 24 } });
   * await checkpointer.setup();
   */
  static fromConnString(url: string, options: Omit<MongoDBSaverOptions, "url" | "client"> = {}): MongoDBSaver {
    return new MongoDBSaver({ ...options, url });
  }

  /** The MongoClient in use (the caller's, or the one this saver created). */
  get client() {
    return this.connection.client;
  }

  /** The database holding the collections. */
  get dbName(): string {
    return this.connection.dbName;
  }

  // ---------------------------------------------------------------- lifecycle

  protected async _setup(): Promise<void> {
    try {
      await this.connection.detect();
      await applyMigrations(this.connection, this.collections.migrations, "saver", SAVER_MIGRATIONS, this.collections);
    } catch (err) {
      throw this.mapError("setup()", err);
    }
    if (this.ttl) this.stopSweeper = startSweeper(this.ttl.sweepIntervalMinutes, () => this.sweep());
  }

  protected async _close(): Promise<void> {
    this.stopSweeper?.();
    await this.connection.close();
  }

  protected override mapError(action: string, err: unknown): PersistenceError {
    return mapMongoError(this.source, action, err);
  }

  private ready(): void {
    this.assertOpen();
    if (!this.isSetUp) throw new NotSetUpError(this.source, "setup() has not run: call await saver.setup() first");
  }

  private coll<T extends Document>(name: string): Collection<T> {
    return this.connection.collection<T>(name);
  }

  private clock(now = new Date()): WriteClock {
    return { now, ttlMs: this.ttl ? minutesToMs(this.ttl.defaultTtl) : undefined };
  }

  // ---------------------------------------------------------------- writes

  protected async _putCheckpoint(record: CheckpointRecord, blobs: BlobRecord[]): Promise<void> {
    this.ready();
    await this.connection.writeAtomically(planPut(this.collections, record, blobs, this.clock()));
  }

  protected async _putWrites(threadId: string, checkpointNs: string, checkpointId: string, writes: WriteRecord[]): Promise<void> {
    this.ready();
    await this.connection.writeAtomically(planPutWrites(this.collections, threadId, checkpointNs, checkpointId, writes, this.clock()));
  }

  // ---------------------------------------------------------------- reads

  /** Attaches blobs and writes to a page of checkpoint documents with one query. */
  private async assemble(page: CheckpointDoc[]): Promise<StoredCheckpoint[]> {
    if (page.length === 0) return [];
    const fetched = await this.coll<Document>(this.collections.blobs).aggregate(blobsAndWritesPipeline(this.collections, page.map(refOf))).toArray();
    return assemblePage(page, fetched);
  }

  /** With `refreshOnRead`, reading a live thread restarts its clock. */
  private async refresh(threadIds: Iterable<string>, now: Date): Promise<void> {
    if (!this.ttl?.refreshOnRead) return;
    const ids = [...new Set(threadIds)];
    if (ids.length === 0) return;
    await this.coll<ThreadDoc>(this.collections.threads).updateMany(
      { _id: { $in: ids }, expire_at: { $gt: now } },
      { $set: { expire_at: new Date(now.getTime() + minutesToMs(this.ttl.defaultTtl)) } },
    );
  }

  protected async _getCheckpoint(threadId: string, checkpointNs: string, checkpointId: string | undefined): Promise<StoredCheckpoint | undefined> {
    this.ready();
    const now = new Date();
    const pipeline = checkpointsPipeline(this.collections, { threadId, checkpointNs, checkpointId, limit: 1 }, this.ttl ? now : undefined);
    const [doc] = await this.coll<CheckpointDoc>(this.collections.checkpoints).aggregate<CheckpointDoc>(pipeline).toArray();
    if (!doc) return undefined;
    const [stored] = await Promise.all([this.assemble([doc]), this.refresh([threadId], now)]);
    return stored[0];
  }

  protected async *_list(query: ListQuery): AsyncIterable<StoredCheckpoint> {
    this.ready();
    const now = new Date();
    const pipeline = checkpointsPipeline(this.collections, query, this.ttl ? now : undefined);
    const batchSize = Math.min(query.limit ?? PAGE_SIZE, PAGE_SIZE);
    const cursor = this.coll<CheckpointDoc>(this.collections.checkpoints).aggregate<CheckpointDoc>(pipeline, { batchSize, allowDiskUse: true });
    try {
      while (await cursor.hasNext()) {
        const page = cursor.readBufferedDocuments();
        const [stored] = await Promise.all([this.assemble(page), this.refresh(page.map((d) => d._id.thread_id), now)]);
        for (const s of stored) yield s;
      }
    } finally {
      await cursor.close();
    }
  }

  protected async _getWrites(threadId: string, checkpointNs: string, checkpointId: string): Promise<WriteRecord[]> {
    this.ready();
    const docs = await this.coll<WriteDoc>(this.collections.writes).find(writesOfCheckpoint(threadId, checkpointNs, checkpointId)).toArray();
    return docs.map(toWriteRecord);
  }

  protected async _listThreads(options: { limit: number; before?: string; filter?: ListQuery["filter"] }): Promise<StoredThreadInfo[]> {
    this.ready();
    const pipeline = listThreadsPipeline(this.collections, options, this.ttl ? new Date() : undefined);
    const rows = await this.coll<ThreadDoc>(this.collections.threads).aggregate<Document>(pipeline).toArray();
    return rows.map((r) => ({
      threadId: r._id as string,
      checkpointId: r.latest.checkpoint_id as string,
      checkpointNs: r.latest.checkpoint_ns as string,
      checkpoint: { type: r.__doc.type as string, data: bytes(r.__doc.checkpoint as Bytes) },
      metadata: { type: r.__doc.metadata_type as string, data: bytes(r.__doc.metadata as Bytes) },
    }));
  }

  // ---------------------------------------------------------------- deletes and copies

  private threadData(threadIds: string[]): WriteModel[] {
    const c = this.collections;
    const byThread = { "_id.thread_id": { $in: threadIds } };
    // Checkpoints first: once they are gone the thread reads as empty, whatever is left of the rest.
    return [
      { kind: "deleteMany", collection: c.checkpoints, filter: byThread },
      { kind: "deleteMany", collection: c.threads, filter: { _id: { $in: threadIds } } },
      { kind: "deleteMany", collection: c.writes, filter: byThread },
      { kind: "deleteMany", collection: c.blobs, filter: byThread },
    ];
  }

  protected async _deleteThreads(threadIds: string[]): Promise<void> {
    this.ready();
    for (const ids of chunks(threadIds, DELETE_CHUNK)) await this.connection.writeAtomically(this.threadData(ids));
  }

  /**
   * Deletes the writes whose checkpoint is gone and the blobs no remaining checkpoint of the same
   * namespace needs: a blob stays while it lies in `[chainLowerBound(ref), ref]` of some remaining ref
   * on its channel, so every link and base of a referenced chain stays. Streams the thread's
   * checkpoint keys and refs and its blob and write keys (never their bytes).
   */
  private async collectGarbage(threadId: string, session: ClientSession | undefined): Promise<void> {
    const c = this.collections;
    const live = new LiveSet();
    const checkpoints = this.coll<CheckpointDoc>(c.checkpoints).find({ "_id.thread_id": threadId }, { projection: { blob_refs: 1 }, session });
    for await (const d of checkpoints) live.addCheckpoint(d);
    const deadWrites: Document[] = [];
    for await (const w of this.coll<WriteDoc>(c.writes).find({ "_id.thread_id": threadId }, { projection: { _id: 1 }, session })) {
      if (!live.hasCheckpoint(w._id.thread_id, w._id.checkpoint_ns, w._id.checkpoint_id)) deadWrites.push(w._id);
    }
    const deadBlobs: Document[] = [];
    for await (const b of this.coll<BlobDoc>(c.blobs).find({ "_id.thread_id": threadId }, { projection: { _id: 1 }, session })) {
      if (!live.hasBlob(b._id)) deadBlobs.push(b._id);
    }
    await this.connection.write(garbageDeletes(c, deadWrites, deadBlobs, DELETE_CHUNK), { session });
  }

  /** Points the thread document at its latest checkpoint again (root namespace first), or removes it. */
  private async recomputeLatest(threadId: string, session: ClientSession | undefined, extra: Document = {}): Promise<void> {
    const checkpoints = this.coll<CheckpointDoc>(this.collections.checkpoints);
    const projection = { metadata_kv: 1 };
    const latest =
      (await checkpoints.findOne({ "_id.thread_id": threadId, "_id.checkpoint_ns": "" }, { sort: CHECKPOINT_SORT, projection, session })) ??
      (await checkpoints.findOne({ "_id.thread_id": threadId }, { sort: CHECKPOINT_SORT, projection, session }));
    const threads = this.coll<ThreadDoc>(this.collections.threads);
    if (!latest) {
      // Nothing left: the thread is gone entirely (no document may keep mentioning it).
      await threads.deleteOne({ _id: threadId }, { session });
      return;
    }
    const value = { checkpoint_ns: latest._id.checkpoint_ns, checkpoint_id: latest._id.checkpoint_id, metadata_kv: latest.metadata_kv };
    await threads.updateOne({ _id: threadId }, { $set: { latest: value, ...extra } }, { upsert: true, session });
  }

  protected async _deleteForRuns(runIds: string[]): Promise<void> {
    this.ready();
    const checkpoints = this.coll<CheckpointDoc>(this.collections.checkpoints);
    const threadIds = (await checkpoints.distinct("_id.thread_id", { run_id: { $in: runIds } })) as string[];
    for (const threadId of threadIds) {
      await this.connection.inTransaction(async (session) => {
        await checkpoints.deleteMany({ "_id.thread_id": threadId, run_id: { $in: runIds } }, { session });
        await this.collectGarbage(threadId, session);
        await this.recomputeLatest(threadId, session);
      });
    }
  }

  protected async _pruneKeepLatest(threadIds: string[]): Promise<void> {
    this.ready();
    const checkpoints = this.coll<CheckpointDoc>(this.collections.checkpoints);
    const groups = await checkpoints
      .aggregate<{ _id: { t: string; n: string }; latest: string }>([
        { $match: { "_id.thread_id": { $in: threadIds } } },
        { $sort: { "_id.thread_id": 1, "_id.checkpoint_ns": 1, "_id.checkpoint_id": -1 } },
        { $group: { _id: { t: "$_id.thread_id", n: "$_id.checkpoint_ns" }, latest: { $first: "$_id.checkpoint_id" } } },
      ])
      .toArray();
    const byThread = new Map<string, Array<{ ns: string; latest: string }>>();
    for (const g of groups) {
      let list = byThread.get(g._id.t);
      if (!list) byThread.set(g._id.t, (list = []));
      list.push({ ns: g._id.n, latest: g.latest });
    }
    for (const [threadId, namespaces] of byThread) {
      const older: WriteModel[] = namespaces.map((n) => ({
        kind: "deleteMany",
        collection: this.collections.checkpoints,
        filter: { "_id.thread_id": threadId, "_id.checkpoint_ns": n.ns, "_id.checkpoint_id": { $ne: n.latest } },
      }));
      await this.connection.inTransaction(async (session) => {
        await this.connection.write(older, { session });
        await this.collectGarbage(threadId, session);
      });
    }
  }

  /**
   * Server-side copy (`$merge`, nothing streams through the client): blobs, then writes, then
   * checkpoints, then the thread document, so a reader of the target never sees a checkpoint whose
   * blobs are not there yet. `$merge` cannot run inside a transaction; the order is the safeguard.
   */
  protected async _copyThread(sourceThreadId: string, targetThreadId: string): Promise<void> {
    this.ready();
    const c = this.collections;
    const clock = this.clock();
    const checkpointMatch: Document = { "_id.thread_id": sourceThreadId };
    if (this.ttl) {
      const source = await this.coll<ThreadDoc>(c.threads).findOne({ _id: sourceThreadId });
      if (source?.expire_at && source.expire_at <= clock.now) return;
      if (source?.alive_since) checkpointMatch.written_at = { $gte: source.alive_since };
    }
    const target = { $literal: targetThreadId };
    const copy = (collection: string, match: Document, id: Document, extra: Document, whenMatched: "keepExisting" | "replace") =>
      this.coll(collection)
        .aggregate([
          { $match: match },
          { $set: { _id: id, ...extra } },
          { $merge: { into: collection, on: "_id", whenMatched, whenNotMatched: "insert" } },
        ])
        .toArray();
    const byThread = { "_id.thread_id": sourceThreadId };
    await copy(c.blobs, byThread, { thread_id: target, checkpoint_ns: "$_id.checkpoint_ns", channel: "$_id.channel", version: "$_id.version" }, {}, "keepExisting");
    await copy(
      c.writes,
      byThread,
      { thread_id: target, checkpoint_ns: "$_id.checkpoint_ns", checkpoint_id: "$_id.checkpoint_id", task_id: "$_id.task_id", idx: "$_id.idx" },
      {},
      "replace",
    );
    await copy(
      c.checkpoints,
      checkpointMatch,
      { thread_id: target, checkpoint_ns: "$_id.checkpoint_ns", checkpoint_id: "$_id.checkpoint_id" },
      { written_at: clock.now },
      "replace",
    );
    const copied = await this.coll<CheckpointDoc>(c.checkpoints).countDocuments({ "_id.thread_id": targetThreadId }, { limit: 1 });
    if (copied === 0) return;
    if (clock.ttlMs !== undefined) {
      await this.coll<ThreadDoc>(c.threads).updateOne({ _id: targetThreadId }, threadTouchForWrites(clock), { upsert: true });
    }
    await this.recomputeLatest(targetThreadId, undefined);
  }

  // ---------------------------------------------------------------- TTL

  /**
   * Deletes threads whose TTL has passed, and the documents of an expired thread's earlier life when a
   * write revived it. Runs every `ttl.sweepIntervalMinutes`; reads hide expired data before that.
   * Returns how many threads were deleted.
   */
  async sweep(now = new Date()): Promise<number> {
    this.ready();
    const c = this.collections;
    const threads = this.coll<ThreadDoc>(c.threads);
    let removed = 0;
    try {
      for (;;) {
        const candidates = (await threads.find({ expire_at: { $lte: now } }, { projection: { _id: 1 }, limit: 100 }).toArray()).map((d) => d._id);
        if (candidates.length === 0) break;
        await this.connection.inTransaction(async (session) => {
          // Re-read inside the transaction: a thread written since the scan is alive again.
          const expired = (await threads.find({ _id: { $in: candidates }, expire_at: { $lte: now } }, { projection: { _id: 1 }, session }).toArray()).map(
            (d) => d._id,
          );
          if (expired.length > 0) await this.connection.write(this.threadData(expired), { session });
          removed += expired.length;
        });
      }
      for (const t of await threads.find({ reset_pending: true }, { projection: { _id: 1, alive_since: 1 } }).toArray()) {
        await this.connection.inTransaction(async (session) => {
          await this.coll<CheckpointDoc>(c.checkpoints).deleteMany({ "_id.thread_id": t._id, written_at: { $lt: t.alive_since! } }, { session });
          await this.collectGarbage(t._id, session);
          await threads.updateOne({ _id: t._id, alive_since: t.alive_since }, { $unset: { reset_pending: "" } }, { session });
        });
      }
    } catch (err) {
      throw this.mapError("sweep", err);
    }
    return removed;
  }

  /** Document counts that still mention a thread (checkpoints, blobs, writes, thread document): for tests and audits. */
  async countThreadDocuments(threadId: string): Promise<number> {
    this.ready();
    const c = this.collections;
    const byThread = { "_id.thread_id": threadId };
    const counts = await Promise.all([
      this.coll(c.checkpoints).countDocuments(byThread),
      this.coll(c.blobs).countDocuments(byThread),
      this.coll(c.writes).countDocuments(byThread),
      this.coll<ThreadDoc>(c.threads).countDocuments({ _id: threadId }),
    ]);
    return counts.reduce((a, b) => a + b, 0);
  }
}
