import {
  InvalidArgumentError,
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
import type { Pool } from "pg";
import { PgConnection, SOURCE, checkSchema, mapPgError } from "./client.js";
import { applyMigrations } from "./migrations.js";
import type { PostgresConnection, PostgresSaverOptions } from "./options.js";
import { toJsonbText } from "./json.js";
import * as sql from "./sql.js";

const SWEEP_BATCH = 500;

function concat(parts: Uint8Array[]): { data: Buffer; offsets: number[]; lengths: number[] } {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  for (const part of parts) {
    offsets.push(at);
    lengths.push(part.byteLength);
    at += part.byteLength;
  }
  return { data: Buffer.concat(parts), offsets, lengths };
}

const scopeKey = (threadId: string, ns: string) => `${threadId}\u0000${ns}`;
const blobKey = (channel: string, version: string) => `${channel}\u0000${version}`;

/** Turns the rows of one `readCheckpoints` statement into stored checkpoints, in row (newest-first) order. */
function assemble(rows: sql.ReadRow[]): StoredCheckpoint[] {
  const out: StoredCheckpoint[] = [];
  const byCheckpoint = new Map<string, StoredCheckpoint>();
  const blobsByScope = new Map<string, Map<string, BlobRecord>>();
  for (const r of rows) {
    if (r.kind === 0) {
      const record: CheckpointRecord = {
        threadId: r.thread_id,
        checkpointNs: r.checkpoint_ns,
        checkpointId: r.checkpoint_id!,
        parentCheckpointId: r.s1,
        checkpoint: { type: r.s2!, data: r.d1! },
        metadata: { type: r.s3!, data: r.d2! },
        // Only writes use the JSON form of the metadata (for filters); reads never need it back.
        metadataJson: "",
        runId: r.s4,
        blobRefs: r.j ?? [],
      };
      const stored: StoredCheckpoint = { record, blobs: [], writes: [] };
      out.push(stored);
      byCheckpoint.set(`${scopeKey(r.thread_id, r.checkpoint_ns)}\u0000${record.checkpointId}`, stored);
    } else if (r.kind === 1) {
      const scope = scopeKey(r.thread_id, r.checkpoint_ns);
      let blobs = blobsByScope.get(scope);
      if (!blobs) blobsByScope.set(scope, (blobs = new Map()));
      blobs.set(blobKey(r.s1!, r.s2!), { channel: r.s1!, version: r.s2!, type: r.s3!, data: r.d1! });
    } else {
      byCheckpoint.get(`${scopeKey(r.thread_id, r.checkpoint_ns)}\u0000${r.checkpoint_id}`)?.writes.push({
        taskId: r.s1!,
        channel: r.s2!,
        type: r.s3!,
        taskPath: r.s4 ?? "",
        idx: r.n!,
        data: r.d1!,
      });
    }
  }
  for (const stored of out) {
    const blobs = blobsByScope.get(scopeKey(stored.record.threadId, stored.record.checkpointNs));
    if (!blobs) continue;
    for (const [channel, version] of stored.record.blobRefs) {
      const blob = blobs.get(blobKey(channel, version));
      if (blob) stored.blobs.push(blob);
    }
  }
  return out;
}

/**
 * A LangGraph checkpointer on PostgreSQL (`pg` ^8).
 *
 * - `put` is one statement (new blobs via `unnest`, the checkpoint row, the thread index); `putWrites`,
 *   `getTuple`, `deleteThread` are one statement each; `list` is one statement per page.
 * - Channel values are stored once per version and shared by the checkpoints that reference it.
 * - Extended operations (`deleteForRuns`, `copyThread`, `prune`, `listThreads`) and thread TTL.
 *
 * @example
 * const checkpointer = PostgresSaver.fromConnString("postgres://user:pass@localhost:5432/app");
 * await checkpointer.setup();
 * const graph = builder.compile({ checkpointer });
 */
export class PostgresSaver extends PersistSaver {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: SaverCapabilities = { ttl: true, extendedOps: true, listThreads: true, multiProcess: true };

  /** The schema this saver's tables live in. */
  readonly schema: string;
  private readonly n: sql.Names;
  private readonly pageSize: number;
  private readonly conn: PgConnection;
  private stopSweeper: (() => void) | undefined;

  /**
   * @param connection a `pg.Pool` (yours: `close()` leaves it open), or a connection string / `PoolConfig`
   *   (the saver creates a pool and ends it on `close()`).
   */
  constructor(connection: PostgresConnection, options: PostgresSaverOptions = {}) {
    super(options);
    this.schema = checkSchema(options.schema);
    const pageSize = options.listPageSize ?? 50;
    if (!Number.isInteger(pageSize) || pageSize < 1) {
      throw new InvalidArgumentError(SOURCE, `listPageSize must be a positive integer, got ${String(pageSize)}`);
    }
    this.pageSize = pageSize;
    this.n = sql.names(this.schema);
    this.conn = new PgConnection(connection);
  }

  /**
   * A saver with its own pool, ended by `close()`.
   * @example
   * const checkpointer = PostgresSaver.fromConnString(process.env.DATABASE_URL!, { schema: "agents" });
   * await checkpointer.setup();
   */
  static fromConnString(url: string, options: PostgresSaverOptions = {}): PostgresSaver {
    if (typeof url !== "string" || url === "") throw new InvalidArgumentError(SOURCE, "fromConnString: url must be a non-empty connection string");
    return new PostgresSaver(url, options);
  }

  /** The pool statements go through (yours, or the one the saver created). */
  get pool(): Pool {
    return this.conn.pool;
  }

  protected override mapError(action: string, err: unknown): PersistenceError {
    return mapPgError(action, err, "saver");
  }

  protected async _setup(): Promise<void> {
    try {
      await this.conn.transaction((client) => applyMigrations(client, this.n, ["saver"]));
    } catch (err) {
      throw mapPgError("setup()", err, "saver");
    }
    if (this.ttl) this.stopSweeper = startSweeper(this.ttl.sweepIntervalMinutes, () => this.sweep());
  }

  protected async _close(): Promise<void> {
    this.stopSweeper?.();
    await this.conn.end();
  }

  /** Deletes every thread whose TTL has passed; returns how many. Runs on a timer when `ttl` is set. */
  async sweep(): Promise<number> {
    return this.run("sweep", async () => {
      let total = 0;
      for (;;) {
        const res = await this.conn.query(sql.sweepThreads(this.n), [new Date(), SWEEP_BATCH]);
        total += res.rowCount ?? 0;
        if ((res.rowCount ?? 0) < SWEEP_BATCH) return total;
      }
    });
  }

  private expiry(now: number): Date | null {
    return this.ttl ? new Date(now + minutesToMs(this.ttl.defaultTtl)) : null;
  }

  private readRefresh(now: number): Date | undefined {
    return this.ttl?.refreshOnRead ? new Date(now + minutesToMs(this.ttl.defaultTtl)) : undefined;
  }

  protected async _putCheckpoint(record: CheckpointRecord, blobs: BlobRecord[]): Promise<void> {
    const now = Date.now();
    const packed = concat(blobs.map((b) => b.data));
    const q = sql.putCheckpoint(this.n, {
      threadId: record.threadId,
      checkpointNs: record.checkpointNs,
      checkpointId: record.checkpointId,
      parentCheckpointId: record.parentCheckpointId,
      runId: record.runId,
      checkpointType: record.checkpoint.type,
      checkpoint: Buffer.from(record.checkpoint.data.buffer, record.checkpoint.data.byteOffset, record.checkpoint.data.byteLength),
      metadataType: record.metadata.type,
      metadata: Buffer.from(record.metadata.data.buffer, record.metadata.data.byteOffset, record.metadata.data.byteLength),
      metadataJson: toJsonbText(record.metadataJson).text,
      blobRefs: JSON.stringify(record.blobRefs),
      blobChannels: blobs.map((b) => b.channel),
      blobVersions: blobs.map((b) => b.version),
      blobTypes: blobs.map((b) => b.type),
      blobOffsets: packed.offsets,
      blobLengths: packed.lengths,
      blobData: packed.data,
      now: new Date(now),
      expiresAt: this.expiry(now),
    });
    await this.conn.query(q.text, q.values);
  }

  protected async _putWrites(threadId: string, checkpointNs: string, checkpointId: string, writes: WriteRecord[]): Promise<void> {
    const now = Date.now();
    // One statement cannot upsert a row twice: of several special writes (idx < 0) with the same key
    // the last replaces, of regular ones the first is kept.
    const byKey = new Map<string, WriteRecord>();
    for (const w of writes) {
      const key = `${w.taskId}\u0000${w.idx}`;
      if (w.idx < 0 || !byKey.has(key)) byKey.set(key, w);
    }
    writes = [...byKey.values()];
    const packed = concat(writes.map((w) => w.data));
    const q = sql.putWrites(this.n, {
      threadId,
      checkpointNs,
      checkpointId,
      taskIds: writes.map((w) => w.taskId),
      idxs: writes.map((w) => w.idx),
      channels: writes.map((w) => w.channel),
      types: writes.map((w) => w.type),
      taskPaths: writes.map((w) => w.taskPath),
      offsets: packed.offsets,
      lengths: packed.lengths,
      data: packed.data,
      now: new Date(now),
      expiresAt: this.expiry(now),
    });
    await this.conn.query(q.text, q.values);
  }

  protected async _getCheckpoint(threadId: string, checkpointNs: string, checkpointId: string | undefined): Promise<StoredCheckpoint | undefined> {
    const now = Date.now();
    const q = sql.readCheckpoints(this.n, { threadId, checkpointNs, checkpointId, limit: 1, now: new Date(now), refreshTo: this.readRefresh(now) });
    const { rows } = await this.conn.query<sql.ReadRow>(q.text, q.values);
    return assemble(rows)[0];
  }

  protected async *_list(query: ListQuery): AsyncIterable<StoredCheckpoint> {
    let remaining = query.limit ?? Number.POSITIVE_INFINITY;
    let after: [string, string, string] | undefined;
    while (remaining > 0) {
      const limit = Math.min(this.pageSize, remaining);
      const now = Date.now();
      const q = sql.readCheckpoints(this.n, {
        threadId: query.threadId,
        checkpointNs: query.checkpointNs,
        checkpointId: query.checkpointId,
        before: query.before,
        after,
        filter: query.filter,
        limit,
        now: new Date(now),
        refreshTo: this.readRefresh(now),
      });
      const { rows } = await this.conn.query<sql.ReadRow>(q.text, q.values);
      const page = assemble(rows);
      for (const stored of page) yield stored;
      if (page.length < limit) return;
      remaining -= page.length;
      const last = page[page.length - 1].record;
      after = [last.checkpointId, last.threadId, last.checkpointNs];
    }
  }

  protected async _getWrites(threadId: string, checkpointNs: string, checkpointId: string): Promise<WriteRecord[]> {
    const { rows } = await this.conn.query<{ task_id: string; idx: number; channel: string; type: string; blob: Buffer; task_path: string }>(
      sql.getWrites(this.n),
      [threadId, checkpointNs, checkpointId],
    );
    return rows.map((r) => ({ taskId: r.task_id, idx: r.idx, channel: r.channel, type: r.type, data: r.blob, taskPath: r.task_path }));
  }

  protected async _deleteThreads(threadIds: string[]): Promise<void> {
    await this.conn.query(sql.deleteThreads(this.n), [threadIds]);
  }

  protected async _deleteForRuns(runIds: string[]): Promise<void> {
    await this.conn.query(sql.deleteForRuns(this.n), [runIds]);
  }

  protected async _copyThread(sourceThreadId: string, targetThreadId: string): Promise<void> {
    const now = Date.now();
    await this.conn.transaction(async (client) => {
      const { rows } = await client.query<{ source_live: boolean }>(sql.copyThreadPrepare(this.n), [sourceThreadId, targetThreadId, new Date(now)]);
      if (!rows[0]?.source_live) return;
      await client.query(sql.copyThread(this.n), [sourceThreadId, targetThreadId, this.expiry(now)]);
    });
  }

  protected async _pruneKeepLatest(threadIds: string[]): Promise<void> {
    await this.conn.query(sql.pruneKeepLatest(this.n), [threadIds]);
  }

  protected async _listThreads(options: { limit: number; before?: string; filter?: ListQuery["filter"] }): Promise<StoredThreadInfo[]> {
    const q = sql.listThreads(this.n, { ...options, now: new Date() });
    const { rows } = await this.conn.query<{
      thread_id: string;
      latest_checkpoint_ns: string;
      latest_checkpoint_id: string;
      checkpoint_type: string;
      checkpoint: Buffer;
      metadata_type: string;
      metadata: Buffer;
    }>(q.text, q.values);
    return rows.map((r) => ({
      threadId: r.thread_id,
      checkpointNs: r.latest_checkpoint_ns,
      checkpointId: r.latest_checkpoint_id,
      checkpoint: { type: r.checkpoint_type, data: r.checkpoint },
      metadata: { type: r.metadata_type, data: r.metadata },
    }));
  }
}
