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
  SERVER_NOW,
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
import { SAVER_MIGRATIONS, applyMigrations, ensureCollections } from "./migrations.js";
import type { MongoDBSaverOptions } from "./options.js";
import {
  BLOBS_AND_WRITES_BATCH_SIZE,
  CHECKPOINT_SORT,
  assemblePage,
  blobsAndWritesPipeline,
  checkpointsPipeline,
  listThreadsPipeline,
  refOf,
  toWriteRecord,
} from "./query.js";
import {
  chunks,
  expiredExpr,
  garbageDeletes,
  planPut,
  planPutWrites,
  threadRefresh,
  threadTouch,
  transactionGroups,
  type WriteClock,
  type WriteModel,
} from "./writes.js";

/** Checkpoints per `list` page: each page costs one `getMore` plus one query for its blobs and writes. */
const PAGE_SIZE = 100;
/** Ids per `$in` when deleting by id lists. */
export const DELETE_CHUNK = 1000;
/**
 * Checkpoints one transaction deletes when whole threads go (a thread with more goes alone: a thread
 * is always deleted all at once). Writes and blobs are not part of it (see `dropUnreferenced`).
 */
export const TRANSACTION_CHECKPOINTS = 1000;

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
      await ensureCollections(this.connection, Object.values(this.collections));
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
    return mapMongoError(this.source, action, err, this.client);
  }

  private ready(): void {
    this.assertOpen();
    if (!this.isSetUp) throw new NotSetUpError(this.source, "setup() has not run: call await saver.setup() first");
  }

  private coll<T extends Document>(name: string): Collection<T> {
    return this.connection.collection<T>(name);
  }

  private clock(): WriteClock {
    return { ttlMs: this.ttl ? minutesToMs(this.ttl.defaultTtl) : undefined };
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

  /** Attaches blobs and writes to a page of checkpoint documents with one query (one batch, see the batch size). */
  private async assemble(page: CheckpointDoc[]): Promise<StoredCheckpoint[]> {
    if (page.length === 0) return [];
    const pipeline = blobsAndWritesPipeline(this.collections, page.map(refOf));
    const fetched = await this.coll<Document>(this.collections.blobs).aggregate(pipeline, { batchSize: BLOBS_AND_WRITES_BATCH_SIZE }).toArray();
    return assemblePage(page, fetched);
  }

  /** With `refreshOnRead`, reading a live thread restarts its clock (server time). */
  private async refresh(threadIds: Iterable<string>): Promise<void> {
    if (!this.ttl?.refreshOnRead) return;
    const ids = [...new Set(threadIds)];
    if (ids.length === 0) return;
    const { filter, update } = threadRefresh(ids, minutesToMs(this.ttl.defaultTtl));
    await this.coll<ThreadDoc>(this.collections.threads).updateMany(filter, update);
  }

  protected async _getCheckpoint(threadId: string, checkpointNs: string, checkpointId: string | undefined): Promise<StoredCheckpoint | undefined> {
    this.ready();
    const pipeline = checkpointsPipeline(this.collections, { threadId, checkpointNs, checkpointId, limit: 1 }, this.ttl ? SERVER_NOW : undefined);
    const [doc] = await this.coll<CheckpointDoc>(this.collections.checkpoints).aggregate<CheckpointDoc>(pipeline).toArray();
    if (!doc) return undefined;
    const [stored] = await Promise.all([this.assemble([doc]), this.refresh([threadId])]);
    return stored[0];
  }

  protected async *_list(query: ListQuery): AsyncIterable<StoredCheckpoint> {
    this.ready();
    const pipeline = checkpointsPipeline(this.collections, query, this.ttl ? SERVER_NOW : undefined);
    const batchSize = Math.min(query.limit ?? PAGE_SIZE, PAGE_SIZE);
    const cursor = this.coll<CheckpointDoc>(this.collections.checkpoints).aggregate<CheckpointDoc>(pipeline, { batchSize, allowDiskUse: true });
    try {
      while (await cursor.hasNext()) {
        const page = cursor.readBufferedDocuments();
        const [stored] = await Promise.all([this.assemble(page), this.refresh(page.map((d) => d._id.thread_id))]);
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
    const pipeline = listThreadsPipeline(this.collections, options, this.ttl ? SERVER_NOW : undefined);
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

  /**
   * What readers see of whole threads: their checkpoints (once gone, a thread reads as empty), then
   * their thread documents. One transaction per group of `transactionGroups`.
   */
  private visibleThreadData(threadIds: string[]): WriteModel[] {
    const c = this.collections;
    return [
      { kind: "deleteMany", collection: c.checkpoints, filter: { "_id.thread_id": { $in: threadIds } } },
      { kind: "deleteMany", collection: c.threads, filter: { _id: { $in: threadIds } } },
    ];
  }

  /** How many checkpoints each of `threadIds` has (threads without any are absent). */
  private async checkpointCounts(threadIds: string[]): Promise<Map<string, number>> {
    const rows = await this.coll<CheckpointDoc>(this.collections.checkpoints)
      .aggregate<{ _id: string; n: number }>([{ $match: { "_id.thread_id": { $in: threadIds } } }, { $group: { _id: "$_id.thread_id", n: { $sum: 1 } } }])
      .toArray();
    return new Map(rows.map((r) => [r._id, r.n]));
  }

  /**
   * Deletes whole threads, each all at once: per group of threads holding at most
   * `TRANSACTION_CHECKPOINTS` checkpoints (a bigger thread alone), one transaction removes their
   * checkpoints and thread documents, `recheck` deciding inside it which of the group still go. Then
   * their writes and blobs, which nothing references any more, go outside any transaction. Returns the
   * threads deleted, known only once their transaction has committed (a retried transaction counts once).
   */
  private async removeThreads(threadIds: string[], recheck?: (group: string[], session: ClientSession | undefined) => Promise<string[]>): Promise<string[]> {
    const removed: string[] = [];
    for (const ids of chunks(threadIds, DELETE_CHUNK)) {
      const gone: string[] = [];
      for (const group of transactionGroups(ids, await this.checkpointCounts(ids), TRANSACTION_CHECKPOINTS)) {
        const deleted = await this.connection.inTransaction(async (session) => {
          const doomed = recheck ? await recheck(group, session) : group;
          if (doomed.length > 0) await this.connection.write(this.visibleThreadData(doomed), { session });
          return doomed;
        });
        gone.push(...deleted);
      }
      await this.dropUnreferenced(gone);
      removed.push(...gone);
    }
    return removed;
  }

  /**
   * The writes and blobs of deleted threads. Readers reach them only through checkpoints, so they go
   * after the commit, without a transaction (no size limit applies): with one `deleteMany` per
   * collection, or, for a thread written again since its deletion, by garbage collection (which keeps
   * what its new checkpoints need).
   */
  private async dropUnreferenced(threadIds: string[]): Promise<void> {
    if (threadIds.length === 0) return;
    const c = this.collections;
    const reborn = new Set((await this.coll<CheckpointDoc>(c.checkpoints).distinct("_id.thread_id", { "_id.thread_id": { $in: threadIds } })) as string[]);
    const empty = threadIds.filter((t) => !reborn.has(t));
    if (empty.length > 0) {
      const byThread = { "_id.thread_id": { $in: empty } };
      await this.connection.write([
        { kind: "deleteMany", collection: c.writes, filter: byThread },
        { kind: "deleteMany", collection: c.blobs, filter: byThread },
      ]);
    }
    for (const threadId of reborn) await this.collectGarbage(threadId);
  }

  protected async _deleteThreads(threadIds: string[]): Promise<void> {
    this.ready();
    await this.removeThreads(threadIds);
  }

  /**
   * Deletes the writes whose checkpoint is gone and the blobs no remaining checkpoint of the same
   * namespace needs: a blob stays while it lies in `[chainLowerBound(ref), ref]` of some remaining ref
   * on its channel, so every link and base of a referenced chain stays. Streams the thread's
   * checkpoint keys and refs and its blob and write keys (never their bytes), then deletes by `_id`
   * lists of at most `DELETE_CHUNK`. Runs after the transaction that removed checkpoints has committed,
   * outside any transaction: what it deletes is unreachable, so readers see no difference, and no
   * transaction grows with the thread.
   */
  private async collectGarbage(threadId: string): Promise<void> {
    const c = this.collections;
    const live = new LiveSet();
    const checkpoints = this.coll<CheckpointDoc>(c.checkpoints).find({ "_id.thread_id": threadId }, { projection: { blob_refs: 1 } });
    for await (const d of checkpoints) live.addCheckpoint(d);
    const deadWrites: Document[] = [];
    for await (const w of this.coll<WriteDoc>(c.writes).find({ "_id.thread_id": threadId }, { projection: { _id: 1 } })) {
      if (!live.hasCheckpoint(w._id.thread_id, w._id.checkpoint_ns, w._id.checkpoint_id)) deadWrites.push(w._id);
    }
    const deadBlobs: Document[] = [];
    for await (const b of this.coll<BlobDoc>(c.blobs).find({ "_id.thread_id": threadId }, { projection: { _id: 1 } })) {
      if (!live.hasBlob(b._id)) deadBlobs.push(b._id);
    }
    for (const model of garbageDeletes(c, deadWrites, deadBlobs, DELETE_CHUNK)) await this.connection.write([model]);
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

  /**
   * Per thread, one transaction deletes the runs' checkpoints and re-points the thread document (the
   * thread changes all at once); its unreferenced writes and blobs go afterwards (`collectGarbage`).
   */
  protected async _deleteForRuns(runIds: string[]): Promise<void> {
    this.ready();
    const checkpoints = this.coll<CheckpointDoc>(this.collections.checkpoints);
    const threadIds = (await checkpoints.distinct("_id.thread_id", { run_id: { $in: runIds } })) as string[];
    for (const threadId of threadIds) {
      await this.connection.inTransaction(async (session) => {
        await checkpoints.deleteMany({ "_id.thread_id": threadId, run_id: { $in: runIds } }, { session });
        await this.recomputeLatest(threadId, session);
      });
      await this.collectGarbage(threadId);
    }
  }

  /** Per thread, one transaction deletes every checkpoint but the latest of each namespace; then `collectGarbage`. */
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
      await this.connection.inTransaction((session) => this.connection.write(older, { session }));
      await this.collectGarbage(threadId);
    }
  }

  /**
   * Server-side copy (`$merge`, nothing streams through the client): blobs, then writes, then
   * checkpoints, then the thread document, so a reader of the target never sees a checkpoint whose
   * blobs are not there yet. `$merge` cannot run inside a transaction; the order is the safeguard.
   * With a TTL, a source that has expired (server time) copies nothing, and the target's clock restarts
   * before the checkpoints arrive (an expired target starts a new life that includes them).
   */
  protected async _copyThread(sourceThreadId: string, targetThreadId: string): Promise<void> {
    this.ready();
    const c = this.collections;
    const clock = this.clock();
    const checkpointMatch: Document = { "_id.thread_id": sourceThreadId };
    if (clock.ttlMs !== undefined) {
      const [source] = await this.coll<ThreadDoc>(c.threads)
        .aggregate<{ alive_since?: Date; expired: boolean }>([{ $match: { _id: sourceThreadId } }, { $project: { alive_since: 1, expired: expiredExpr() } }])
        .toArray();
      if (source?.expired) return;
      if (source?.alive_since) checkpointMatch.written_at = { $gte: source.alive_since };
      if (source) await this.coll<ThreadDoc>(c.threads).updateOne({ _id: targetThreadId }, threadTouch(clock), { upsert: false });
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
      { written_at: SERVER_NOW },
      "replace",
    );
    const copied = await this.coll<CheckpointDoc>(c.checkpoints).countDocuments({ "_id.thread_id": targetThreadId }, { limit: 1 });
    if (copied === 0) return;
    if (clock.ttlMs !== undefined) {
      // A target that did not exist yet gets its thread document (and TTL clock) now.
      await this.coll<ThreadDoc>(c.threads).updateOne({ _id: targetThreadId }, threadTouch(clock), { upsert: true });
    }
    await this.recomputeLatest(targetThreadId, undefined);
  }

  // ---------------------------------------------------------------- TTL

  /**
   * Deletes threads whose TTL has passed, and the documents of an expired thread's earlier life when a
   * write revived it. Runs every `ttl.sweepIntervalMinutes`; reads hide expired data before that.
   * Expiry is judged by the server's clock (`hello.localTime`) unless `now` is given. Each expired
   * thread goes all at once (see `removeThreads`); returns how many threads were deleted, counted
   * after their transactions committed.
   */
  async sweep(now?: Date): Promise<number> {
    this.ready();
    const c = this.collections;
    const threads = this.coll<ThreadDoc>(c.threads);
    let removed = 0;
    try {
      const at = now ?? (await this.connection.serverTime());
      for (;;) {
        const candidates = (await threads.find({ expire_at: { $lte: at } }, { projection: { _id: 1 }, limit: 100 }).toArray()).map((d) => d._id);
        if (candidates.length === 0) break;
        // Re-read inside each transaction: a thread written since the scan is alive again.
        const stillExpired = async (group: string[], session: ClientSession | undefined) =>
          (await threads.find({ _id: { $in: group }, expire_at: { $lte: at } }, { projection: { _id: 1 }, session }).toArray()).map((d) => d._id);
        removed += (await this.removeThreads(candidates, stillExpired)).length;
      }
      for (const t of await threads.find({ reset_pending: true }, { projection: { _id: 1, alive_since: 1 } }).toArray()) {
        await this.connection.inTransaction((session) =>
          this.coll<CheckpointDoc>(c.checkpoints).deleteMany({ "_id.thread_id": t._id, written_at: { $lt: t.alive_since! } }, { session }),
        );
        await this.collectGarbage(t._id);
        // Only now: a sweep that failed before this point finds the thread again.
        await threads.updateOne({ _id: t._id, alive_since: t.alive_since }, { $unset: { reset_pending: "" } });
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
