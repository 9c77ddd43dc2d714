import {
  PersistSaver,
  metadataMatches,
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
import { ResumableCursor, SqliteConnection, mapSqliteError, resolveConnectionOptions, type SqliteDatabase } from "./connection.js";
import { saverMigrations } from "./migrations.js";
import type { SqliteSaverOptions } from "./options.js";
import { listSql, listThreadsSql, saverSql, saverTableNames, type ListPosition, type SaverStatements, type SaverTables } from "./sql.js";

const SOURCE = "@langgraph-persist/sqlite";
const NOT_SET_UP = "setup() has not run: call await saver.setup() first";

interface CheckpointRow {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  checkpoint_type: string;
  checkpoint: Buffer;
  metadata_type: string;
  metadata: Buffer;
  metadata_json: string;
  run_id: string | null;
  blob_refs: string;
  blobs_json: string;
  writes_json: string;
}

interface WriteRow {
  task_id: string;
  idx: number;
  channel: string;
  type: string;
  data: Buffer;
  task_path: string;
}

interface ThreadRow {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  checkpoint_type: string;
  checkpoint: Buffer;
  metadata_type: string;
  metadata: Buffer;
  metadata_json: string;
}

/** A view of a Buffer as a plain Uint8Array (no copy). */
function bytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A Buffer view of bytes for binding (no copy). */
function blob(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function hexBytes(hex: string): Uint8Array {
  return bytes(Buffer.from(hex, "hex"));
}

function filterObject(filter: ListQuery["filter"]): Record<string, unknown> | undefined {
  return filter && filter.length > 0 ? Object.fromEntries(filter.map(([k, json]) => [k, JSON.parse(json) as unknown])) : undefined;
}

/**
 * A LangGraph checkpointer on SQLite (better-sqlite3): a file for local agents and several processes,
 * or `":memory:"` for tests. Channel values are stored once per version, `getTuple` is one statement,
 * `list` streams rows, and the extended operations (`deleteForRuns`, `copyThread`, `prune`,
 * `listThreads`, thread TTL) run in single transactions.
 *
 * @example
 * const checkpointer = SqliteSaver.fromConnString("./agent.db");
 * await checkpointer.setup();
 * const graph = builder.compile({ checkpointer });
 */
export class SqliteSaver extends PersistSaver {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: SaverCapabilities = { ttl: true, extendedOps: true, listThreads: true, multiProcess: true };
  private readonly connection: SqliteConnection;
  private readonly tables: SaverTables;
  private readonly sql: SaverStatements;
  private stopSweeper: (() => void) | undefined;

  /**
   * @param database a better-sqlite3 `Database` you own (the saver never closes it), or a filename /
   *   `":memory:"` the saver opens and closes.
   */
  constructor(database: SqliteDatabase | string, options: SqliteSaverOptions = {}) {
    super(options);
    const resolved = resolveConnectionOptions(SOURCE, options);
    this.tables = saverTableNames(resolved.tablePrefix);
    this.sql = saverSql(this.tables);
    this.connection = new SqliteConnection(SOURCE, database, resolved);
  }

  /**
   * A saver on a database file it opens (and closes on `close()`).
   *
   * @example
   * await using checkpointer = SqliteSaver.fromConnString("./checkpoints.db", { ttl: { defaultTtl: 60 * 24 } });
   * await checkpointer.setup();
   */
  static fromConnString(filename: string, options: SqliteSaverOptions = {}): SqliteSaver {
    return new SqliteSaver(filename, options);
  }

  protected override mapError(action: string, err: unknown): PersistenceError {
    return mapSqliteError(this.source, action, err, NOT_SET_UP);
  }

  protected async _setup(): Promise<void> {
    try {
      this.connection.migrate(this.tables.migrations, saverMigrations(this.tables));
    } catch (err) {
      throw this.mapError("setup()", err);
    }
    if (this.ttl) this.stopSweeper = startSweeper(this.ttl.sweepIntervalMinutes, async () => this.sweep());
  }

  protected async _close(): Promise<void> {
    this.stopSweeper?.();
    this.connection.close();
  }

  /** Deletes every thread whose TTL has passed; returns how many. Runs on a timer when `ttl` is set. */
  async sweep(now = Date.now()): Promise<number> {
    return this.run("sweep", async () =>
      this.connection.write(() => {
        const ids = (this.connection.stmt(this.sql.expiredThreads).all({ now }) as Array<{ thread_id: string }>).map((r) => r.thread_id);
        if (ids.length > 0) this.deleteThreadRows(ids);
        return ids.length;
      }),
    );
  }

  private expiry(now: number): number | null {
    return this.ttl ? now + minutesToMs(this.ttl.defaultTtl) : null;
  }

  private deleteThreadRows(threadIds: string[]): void {
    const ids = JSON.stringify(threadIds);
    for (const sql of this.sql.deleteThreads) this.connection.stmt(sql).run({ ids });
  }

  /** A write to an expired (not yet swept) thread starts it afresh instead of reviving its old state. */
  private purgeIfExpired(threadId: string, now: number): void {
    const row = this.connection.stmt(this.sql.threadExpiry).get({ thread: threadId }) as { expires_at: number | null } | undefined;
    if (row && row.expires_at !== null && row.expires_at <= now) this.deleteThreadRows([threadId]);
  }

  private refresh(threadIds: Iterable<string>, now: number): void {
    const ids = [...threadIds];
    if (!this.ttl?.refreshOnRead || ids.length === 0) return;
    this.connection.write(() => this.connection.stmt(this.sql.refreshThreads).run({ ids: JSON.stringify(ids), expiresAt: this.expiry(now), now }));
  }

  private toStored(row: CheckpointRow): StoredCheckpoint {
    const record: CheckpointRecord = {
      threadId: row.thread_id,
      checkpointNs: row.checkpoint_ns,
      checkpointId: row.checkpoint_id,
      parentCheckpointId: row.parent_checkpoint_id,
      checkpoint: { type: row.checkpoint_type, data: bytes(row.checkpoint) },
      metadata: { type: row.metadata_type, data: bytes(row.metadata) },
      metadataJson: row.metadata_json,
      runId: row.run_id,
      blobRefs: JSON.parse(row.blob_refs) as Array<[string, string]>,
    };
    const blobs = (JSON.parse(row.blobs_json) as Array<[string, string, string, string]>).map(
      ([channel, version, type, hex]): BlobRecord => ({ channel, version, type, data: hexBytes(hex) }),
    );
    const writes = (JSON.parse(row.writes_json) as Array<[string, number, string, string, string, string]>).map(
      ([taskId, idx, channel, type, hex, taskPath]): WriteRecord => ({ taskId, idx, channel, type, data: hexBytes(hex), taskPath }),
    );
    return { record, blobs, writes };
  }

  // ------------------------------------------------------------------------------ primitives

  protected async _putCheckpoint(record: CheckpointRecord, blobs: BlobRecord[]): Promise<void> {
    const now = Date.now();
    const { threadId: thread, checkpointNs: ns, checkpointId: id } = record;
    this.connection.write(() => {
      this.purgeIfExpired(thread, now);
      const insertBlob = this.connection.stmt(this.sql.insertBlob);
      for (const b of blobs) insertBlob.run({ thread, ns, channel: b.channel, version: b.version, type: b.type, data: blob(b.data) });
      this.connection.stmt(this.sql.upsertCheckpoint).run({
        thread,
        ns,
        id,
        parent: record.parentCheckpointId,
        checkpointType: record.checkpoint.type,
        checkpoint: blob(record.checkpoint.data),
        metadataType: record.metadata.type,
        metadata: blob(record.metadata.data),
        metadataJson: record.metadataJson,
        runId: record.runId,
        blobRefs: JSON.stringify(record.blobRefs),
      });
      this.connection.stmt(this.sql.upsertThreadOnPut).run({ thread, ns, id, expiresAt: this.expiry(now) });
    });
  }

  protected async _putWrites(threadId: string, ns: string, checkpointId: string, writes: WriteRecord[]): Promise<void> {
    const now = Date.now();
    this.connection.write(() => {
      this.purgeIfExpired(threadId, now);
      const insert = this.connection.stmt(this.sql.insertWrite);
      const replace = this.connection.stmt(this.sql.replaceWrite);
      for (const w of writes) {
        (w.idx < 0 ? replace : insert).run({
          thread: threadId,
          ns,
          id: checkpointId,
          taskId: w.taskId,
          idx: w.idx,
          channel: w.channel,
          type: w.type,
          data: blob(w.data),
          taskPath: w.taskPath,
        });
      }
      this.connection.stmt(this.sql.touchThread).run({ thread: threadId, expiresAt: this.expiry(now) });
    });
  }

  protected async _getCheckpoint(threadId: string, ns: string, checkpointId: string | undefined): Promise<StoredCheckpoint | undefined> {
    const now = Date.now();
    const row = (
      checkpointId === undefined
        ? this.connection.stmt(this.sql.getLatest).get({ thread: threadId, ns, now })
        : this.connection.stmt(this.sql.getById).get({ thread: threadId, ns, id: checkpointId, now })
    ) as CheckpointRow | undefined;
    if (!row) return undefined;
    this.refresh([threadId], now);
    return this.toStored(row);
  }

  protected async *_list(query: ListQuery): AsyncIterable<StoredCheckpoint> {
    const now = Date.now();
    const filter = filterObject(query.filter);
    const { exact } = listSql(this.tables, query, undefined, query.limit);
    let remaining = query.limit;
    const seen = new Set<string>();
    const cursor = new ResumableCursor<CheckpointRow>(this.connection, (after) => {
      const position: ListPosition | undefined = after && { checkpointId: after.checkpoint_id, threadId: after.thread_id, checkpointNs: after.checkpoint_ns };
      const compiled = listSql(this.tables, query, position, remaining);
      return this.connection.iterable(compiled.sql).iterate({ ...compiled.params, now }) as IterableIterator<CheckpointRow>;
    });
    try {
      while (remaining === undefined || remaining > 0) {
        const row = cursor.next();
        if (!row) break;
        if (!exact && !metadataMatches(JSON.parse(row.metadata_json) as Record<string, unknown>, filter)) continue;
        if (remaining !== undefined) remaining--;
        seen.add(row.thread_id);
        yield this.toStored(row);
      }
    } catch (err) {
      throw this.mapError("list", err);
    } finally {
      cursor.close();
      if (!this.closed) this.refresh(seen, now);
    }
  }

  protected async _getWrites(threadId: string, ns: string, checkpointId: string): Promise<WriteRecord[]> {
    const rows = this.connection.stmt(this.sql.getWrites).all({ thread: threadId, ns, id: checkpointId }) as WriteRow[];
    return rows.map((w) => ({ taskId: w.task_id, idx: w.idx, channel: w.channel, type: w.type, data: bytes(w.data), taskPath: w.task_path }));
  }

  protected async _deleteThreads(threadIds: string[]): Promise<void> {
    this.connection.write(() => this.deleteThreadRows(threadIds));
  }

  protected async _deleteForRuns(runIds: string[]): Promise<void> {
    this.connection.write(() => {
      const ids = JSON.stringify(runIds);
      const affected = this.connection.stmt(this.sql.runNamespaces).all({ ids }) as Array<{ thread_id: string; checkpoint_ns: string }>;
      if (affected.length === 0) return;
      this.connection.stmt(this.sql.deleteRunWrites).run({ ids });
      this.connection.stmt(this.sql.deleteRunCheckpoints).run({ ids });
      const dropBlobs = this.connection.stmt(this.sql.deleteUnreferencedBlobs);
      for (const a of affected) dropBlobs.run({ thread: a.thread_id, ns: a.checkpoint_ns });
      const threads = JSON.stringify([...new Set(affected.map((a) => a.thread_id))]);
      this.connection.stmt(this.sql.recomputeThread).run({ ids: threads });
      this.connection.stmt(this.sql.dropEmptyThreads).run({ ids: threads });
    });
  }

  protected async _copyThread(sourceThreadId: string, targetThreadId: string): Promise<void> {
    const now = Date.now();
    this.connection.write(() => {
      const src = this.connection.stmt(this.sql.threadExpiry).get({ thread: sourceThreadId }) as { expires_at: number | null } | undefined;
      if (src && src.expires_at !== null && src.expires_at <= now) return;
      this.purgeIfExpired(targetThreadId, now);
      const params = { source: sourceThreadId, target: targetThreadId };
      const copied =
        this.connection.stmt(this.sql.copyCheckpoints).run(params).changes +
        this.connection.stmt(this.sql.copyBlobs).run(params).changes +
        this.connection.stmt(this.sql.copyWrites).run(params).changes;
      if (copied === 0) return;
      this.connection.stmt(this.sql.touchThread).run({ thread: targetThreadId, expiresAt: this.expiry(now) });
      this.connection.stmt(this.sql.recomputeThread).run({ ids: JSON.stringify([targetThreadId]) });
    });
  }

  protected async _pruneKeepLatest(threadIds: string[]): Promise<void> {
    this.connection.write(() => {
      const ids = JSON.stringify(threadIds);
      this.connection.stmt(this.sql.pruneWrites).run({ ids });
      this.connection.stmt(this.sql.pruneCheckpoints).run({ ids });
      const dropBlobs = this.connection.stmt(this.sql.deleteUnreferencedThreadBlobs);
      for (const thread of threadIds) dropBlobs.run({ thread });
    });
  }

  protected async _listThreads(options: { limit: number; before?: string; filter?: ListQuery["filter"] }): Promise<StoredThreadInfo[]> {
    const compiled = listThreadsSql(this.tables, options);
    const params = { ...compiled.params, now: Date.now() };
    const filter = filterObject(options.filter);
    const out: StoredThreadInfo[] = [];
    for (const row of this.connection.iterable(compiled.sql).iterate(params) as IterableIterator<ThreadRow>) {
      if (!compiled.exact && !metadataMatches(JSON.parse(row.metadata_json) as Record<string, unknown>, filter)) continue;
      out.push({
        threadId: row.thread_id,
        checkpointId: row.checkpoint_id,
        checkpointNs: row.checkpoint_ns,
        checkpoint: { type: row.checkpoint_type, data: bytes(row.checkpoint) },
        metadata: { type: row.metadata_type, data: bytes(row.metadata) },
      });
      if (out.length >= options.limit) break;
    }
    return out;
  }
}
