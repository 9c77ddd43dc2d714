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
  type KnownRefs,
  type StoredCheckpoint,
  type StoredThreadInfo,
  type WriteRecord,
} from "@langgraph-persist/core";
import type { Statement } from "better-sqlite3";
import { SqliteConnection, mapSqliteError, resolveConnectionOptions, type SqliteDatabase } from "./connection.js";
import { saverMigrations } from "./migrations.js";
import { loadedCheckpoint, loadedParent, loadedRefs, loadedType, storedCheckpoint, storedParent, storedRefs, storedType } from "./encoding.js";
import type { SqliteSaverOptions } from "./options.js";
import { EXPIRED_THREAD, listSql, listThreadsSql, saverSql, saverTableNames, type ListPosition, type PageShape, type SaverStatements, type SaverTables } from "./sql.js";

const SOURCE = "@langgraph-persist/sqlite";
const NOT_SET_UP = "setup() has not run: call await saver.setup() first";

/**
 * A row of a page statement (`pageSql`), read with `raw(true)`. kind 0: thread_id, checkpoint_ns,
 * checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint, metadata_type, metadata,
 * metadata_json, run_id, blob_refs; kind 1: JSON arrays of thread ids (or NULL), namespaces (or NULL),
 * channels, versions, types, byte lengths, then the blobs' bytes concatenated (hex text when the
 * database is not UTF-8); kind 2: thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type,
 * data, task_path.
 */
type PageRow = [kind: 0 | 1 | 2, threadId: string, ns: string, ...rest: unknown[]];

/** The first page of an unlimited `list`; each next page doubles, up to `MAX_PAGE`. */
const FIRST_PAGE = 16;
const MAX_PAGE = 256;
/** `expires_at` the thread upserts return for a thread that had expired. */
const EXPIRED = -1;

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
  checkpoint_type: string | null;
  checkpoint: Buffer | string;
  metadata_type: string | null;
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

/** The abort of a put whose thread had expired (see `putObjects` in sql.ts). */
function isExpiredThread(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === "SQLITE_CONSTRAINT_TRIGGER" && err.message === EXPIRED_THREAD;
}

function filterObject(filter: ListQuery["filter"]): Record<string, unknown> | undefined {
  return filter && filter.length > 0 ? Object.fromEntries(filter.map(([k, json]) => [k, JSON.parse(json) as unknown])) : undefined;
}

/**
 * A LangGraph checkpointer on SQLite (better-sqlite3): a file for local agents and several processes,
 * or `":memory:"` for tests. Channel values are stored once per version (growing arrays as delta
 * chains), `put` is one transaction without reads, `getTuple` is one statement, `list` is one statement
 * per page, and the extended operations (`deleteForRuns`, `copyThread`, `prune`, `listThreads`, thread
 * TTL) run in single transactions.
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
  // metadata_json is a TEXT column: it reads back byte for byte, so JSON metadata is stored once.
  protected override readonly metadataFromJson = true;
  private readonly connection: SqliteConnection;
  private readonly tables: SaverTables;
  private statements: SaverStatements | undefined;
  private utf8: boolean | undefined;
  private stopSweeper: (() => void) | undefined;
  private putStmt: Statement | undefined;

  /**
   * @param database a better-sqlite3 `Database` you own (the saver never closes it), or a filename /
   *   `":memory:"` the saver opens and closes.
   */
  constructor(database: SqliteDatabase | string, options: SqliteSaverOptions = {}) {
    super(options);
    const resolved = resolveConnectionOptions(SOURCE, options);
    this.tables = saverTableNames(resolved.tablePrefix);
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

  /** Whether the database stores text as UTF-8 (then blob bytes are concatenated as they are). */
  private get isUtf8(): boolean {
    return (this.utf8 ??= this.connection.database.pragma("encoding", { simple: true }) === "UTF-8");
  }

  private get sql(): SaverStatements {
    return (this.statements ??= saverSql(this.tables, this.isUtf8));
  }

  protected override mapError(action: string, err: unknown): PersistenceError {
    return mapSqliteError(this.source, action, err, NOT_SET_UP);
  }

  protected async _setup(): Promise<void> {
    try {
      this.connection.migrate(this.tables.migrations, saverMigrations(this.tables));
      this.putStatement();
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

  /**
   * Rebuilds the checkpoints of a page statement's rows, in the statement's (list) order. Each one gets
   * the blobs fetched for its thread and namespace (the union of the page's chain ranges: the codec
   * follows its own chain and ignores the rest) and its own writes.
   */
  private assemble(rows: PageRow[], shape: PageShape): StoredCheckpoint[] {
    const out: StoredCheckpoint[] = [];
    const blobs = new Map<string, BlobRecord[]>();
    const writes = new Map<string, WriteRecord[]>();
    for (const r of rows) {
      if (r[0] === 0) {
        out.push({
          record: {
            threadId: r[1],
            checkpointNs: r[2],
            checkpointId: r[3] as string,
            parentCheckpointId: loadedParent(r[3] as string, r[4]),
            checkpoint: loadedCheckpoint(r[5] as string | null, r[6] as string | Buffer),
            metadata: { type: loadedType(r[7] as string | null), data: bytes(r[8] as Buffer) },
            metadataJson: r[9] as string,
            runId: r[10] as string | null,
            blobRefs: loadedRefs(r[11] as string),
          },
          blobs: [],
          writes: [],
        });
      } else if (r[0] === 1) {
        const versions = JSON.parse(r[4] as string) as string[];
        if (versions.length === 0) continue;
        const threads = shape.thread ? undefined : (JSON.parse(r[1]) as string[]);
        const namespaces = shape.ns ? undefined : (JSON.parse(r[2]) as string[]);
        const channels = JSON.parse(r[3] as string) as string[];
        const types = JSON.parse(r[5] as string) as Array<string | null>;
        const lengths = JSON.parse(r[6] as string) as number[];
        const data = shape.utf8 ? bytes(r[7] as Buffer) : bytes(Buffer.from(r[7] as string, "hex"));
        let group: BlobRecord[] | undefined;
        let groupKey: string | undefined;
        for (let i = 0, at = 0; i < versions.length; i++) {
          const key = threads || namespaces ? `${threads ? threads[i] : ""}\u0000${namespaces ? namespaces[i] : ""}` : "";
          if (!group || key !== groupKey) {
            groupKey = key;
            group = blobs.get(key);
            if (!group) blobs.set(key, (group = []));
          }
          group.push({ channel: channels[i], version: versions[i], type: loadedType(types[i]), data: data.subarray(at, (at += lengths[i])) });
        }
      } else {
        const key = `${r[1]}\u0000${r[2]}\u0000${r[3] as string}`;
        let list = writes.get(key);
        if (!list) writes.set(key, (list = []));
        list.push({ taskId: r[4] as string, idx: r[5] as number, channel: r[6] as string, type: r[7] as string, data: bytes(r[8] as Buffer), taskPath: r[9] as string });
      }
    }
    for (const s of out) {
      const { threadId, checkpointNs, checkpointId } = s.record;
      s.blobs = blobs.get(shape.thread && shape.ns ? "" : `${shape.thread ? "" : threadId}\u0000${shape.ns ? "" : checkpointNs}`) ?? [];
      s.writes = writes.get(`${threadId}\u0000${checkpointNs}\u0000${checkpointId}`) ?? [];
    }
    return out;
  }

  /** Runs a page statement. */
  private page(sql: string, params: Record<string, unknown>, shape: PageShape): StoredCheckpoint[] {
    const stmt = this.connection.stmt(sql);
    stmt.raw(true);
    return this.assemble(stmt.all(params) as PageRow[], shape);
  }

  /**
   * Upserts the thread index row first thing in a write transaction. When the thread had expired (not
   * yet swept), its rows are deleted and the row is written afresh: the write starts a new thread
   * instead of reviving the old state. No separate expiry read.
   */
  private upsertThread(sql: string, params: Record<string, unknown>): void {
    const stmt = this.connection.stmt(sql);
    const row = stmt.get(params) as { expires_at: number | null } | undefined;
    if (row?.expires_at !== EXPIRED) return;
    this.deleteThreadRows([params.thread as string]);
    stmt.get(params);
  }

  /**
   * The one-statement put (`putObjects` in sql.ts). Its TEMP view and trigger are created on the
   * connection the first time, then the statement is prepared once and reused.
   */
  private putStatement(): Statement {
    if (this.putStmt) return this.putStmt;
    this.connection.database.exec(this.sql.putObjects);
    return (this.putStmt = this.connection.stmt(this.sql.put));
  }

  // ------------------------------------------------------------------------------ primitives

  protected async _putCheckpoint(record: CheckpointRecord, blobs: BlobRecord[]): Promise<void> {
    const now = Date.now();
    const thread = record.threadId;
    let blobMeta: string | null = null;
    let blobData: Buffer | null = null;
    if (blobs.length === 1) {
      // The common case (one changed channel): the bytes are bound as they are, no copy.
      const b = blobs[0];
      blobMeta = JSON.stringify([[b.channel, b.version, storedType(b.type), 1, b.data.length]]);
      blobData = blob(b.data);
    } else if (blobs.length > 1) {
      const meta: Array<[string, string, string | null, number, number]> = [];
      let at = 1;
      for (const b of blobs) {
        meta.push([b.channel, b.version, storedType(b.type), at, b.data.length]);
        at += b.data.length;
      }
      blobMeta = JSON.stringify(meta);
      blobData = Buffer.concat(blobs.map((b) => b.data));
    }
    const checkpoint = storedCheckpoint(record.checkpoint.type, record.checkpoint.data, this.isUtf8);
    const params = {
      thread,
      ns: record.checkpointNs,
      id: record.checkpointId,
      parent: storedParent(record.checkpointId, record.parentCheckpointId),
      checkpointType: checkpoint.type,
      checkpoint: checkpoint.value,
      metadataType: storedType(record.metadata.type),
      metadata: blob(record.metadata.data),
      metadataJson: record.metadataJson,
      runId: record.runId,
      blobRefs: storedRefs(record.blobRefs),
      expiresAt: this.expiry(now),
      now,
      blobs: blobMeta,
      blobData,
    };
    const put = this.putStatement();
    try {
      put.run(params);
    } catch (err) {
      if (!isExpiredThread(err)) throw err;
      this.connection.write(() => {
        this.deleteThreadRows([thread]);
        put.run(params);
      });
    }
  }

  protected async _putWrites(threadId: string, ns: string, checkpointId: string, writes: WriteRecord[]): Promise<void> {
    const now = Date.now();
    this.connection.write(() => {
      this.upsertThread(this.sql.touchThread, { thread: threadId, expiresAt: this.expiry(now), now, expired: EXPIRED });
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
    });
  }

  protected async _getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId: string | undefined,
    known?: KnownRefs,
  ): Promise<StoredCheckpoint | undefined> {
    const now = Date.now();
    const shape = { thread: true, ns: true, utf8: this.isUtf8 };
    const held = known && known.length > 0 ? JSON.stringify(known) : null;
    const [stored] =
      checkpointId === undefined
        ? this.page(this.sql.getLatest, { thread: threadId, ns, now, known: held }, shape)
        : this.page(this.sql.getById, { thread: threadId, ns, id: checkpointId, now, known: held }, shape);
    if (!stored) return undefined;
    this.refresh([threadId], now);
    return stored;
  }

  /**
   * Pages of `listSql`, each one statement run to completion (so writes between yielded tuples never
   * meet an open cursor): the first page is the limit (or 16), later ones double up to 256. The next
   * page starts strictly after the last row of the previous one.
   */
  protected async *_list(query: ListQuery): AsyncIterable<StoredCheckpoint> {
    const now = Date.now();
    const filter = filterObject(query.filter);
    let remaining = query.limit;
    let size = FIRST_PAGE;
    let after: ListPosition | undefined;
    const seen = new Set<string>();
    try {
      while (remaining === undefined || remaining > 0) {
        const compiled = listSql(this.tables, query, after, 0, this.isUtf8);
        const exact = compiled.exact;
        // Without a filter the page needs no more rows than remain; with a filter checked in JS it may.
        const limit = exact && remaining !== undefined ? Math.min(remaining, MAX_PAGE) : size;
        compiled.params.limit = limit;
        let page: StoredCheckpoint[];
        try {
          page = this.page(compiled.sql, { ...compiled.params, now }, compiled.shape);
        } catch (err) {
          throw this.mapError("list", err);
        }
        for (const stored of page) {
          if (!exact && !metadataMatches(JSON.parse(stored.record.metadataJson) as Record<string, unknown>, filter)) continue;
          seen.add(stored.record.threadId);
          yield stored;
          if (remaining !== undefined && --remaining === 0) return;
        }
        if (page.length < limit) return;
        const last = page[page.length - 1].record;
        after = { checkpointId: last.checkpointId, threadId: last.threadId, checkpointNs: last.checkpointNs };
        size = Math.min(size * 2, MAX_PAGE);
      }
    } finally {
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
      this.connection.stmt(this.sql.deleteUnreachableBlobs).run({ pairs: JSON.stringify(affected.map((a) => [a.thread_id, a.checkpoint_ns])) });
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
      this.upsertThread(this.sql.touchThread, { thread: targetThreadId, expiresAt: this.expiry(now), now, expired: EXPIRED });
      this.connection.stmt(this.sql.recomputeThread).run({ ids: JSON.stringify([targetThreadId]) });
    });
  }

  protected async _pruneKeepLatest(threadIds: string[]): Promise<void> {
    this.connection.write(() => {
      const ids = JSON.stringify(threadIds);
      this.connection.stmt(this.sql.pruneWrites).run({ ids });
      this.connection.stmt(this.sql.pruneCheckpoints).run({ ids });
      this.connection.stmt(this.sql.deleteUnreachableThreadBlobs).run({ ids });
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
        checkpoint: loadedCheckpoint(row.checkpoint_type, row.checkpoint),
        metadata: { type: loadedType(row.metadata_type), data: bytes(row.metadata) },
        metadataJson: row.metadata_json,
      });
      if (out.length >= options.limit) break;
    }
    return out;
  }
}
