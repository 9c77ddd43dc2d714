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
  type KnownRefs,
  type StoredCheckpoint,
  type StoredThreadInfo,
  type WriteRecord,
} from "@langgraph-persist/core";
import type { Pool } from "pg";
import { PgConnection, SOURCE, checkPrepared, checkSchema, mapPgError } from "./client.js";
import { applyMigrations } from "./migrations.js";
import type { PostgresConnection, PostgresSaverOptions } from "./options.js";
import { toJsonbText } from "./json.js";
import { packJson, unpackJson } from "./pack.js";
import * as sql from "./sql.js";

const SWEEP_BATCH = 500;
const EMPTY = new Uint8Array(0);

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

const asBuffer = (data: Uint8Array) => (Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));

/** JSON escapes that need a closer look: NUL / U+0001 (see json.ts) and surrogates (maybe unpaired). */
const NEEDS_CHECK = /\\u(000[01]|d[89a-f])/i;

function wellFormed(value: unknown): boolean {
  if (typeof value === "string") return (value as string & { isWellFormed(): boolean }).isWellFormed();
  if (Array.isArray(value)) return value.every(wellFormed);
  if (value !== null && typeof value === "object") return Object.entries(value).every(([k, v]) => wellFormed(k) && wellFormed(v));
  return true;
}

function rejectMalformed(text: string, what: string): void {
  if (!wellFormed(JSON.parse(text))) {
    throw new InvalidArgumentError(SOURCE, `put: ${what} must be well-formed UTF-16 strings (no unpaired surrogates) to be stored in PostgreSQL`);
  }
}

/**
 * What the `json` metadata column holds: the exact metadata JSON, or — when it contains `\u0000` or
 * `\u0001`, which the `jsonb` comparisons of filters cannot read — the escaped form (json.ts), with
 * the exact text as `exactBytes` (stored as the metadata bytes when the serializer left them empty).
 */
function metadataColumns(json: string): { json: string; exactBytes: Buffer | null } {
  if (!NEEDS_CHECK.test(json)) return { json, exactBytes: null };
  rejectMalformed(json, "metadata keys and values");
  const escaped = toJsonbText(json);
  return escaped.escaped ? { json: escaped.text, exactBytes: Buffer.from(json, "utf8") } : { json, exactBytes: null };
}

/** `blob_refs` as stored: a JSON object, channel → key (one key per channel). */
function refsJson(refs: Array<[string, string]>): string {
  let text = "{";
  for (let i = 0; i < refs.length; i++) text += `${i ? "," : ""}${JSON.stringify(refs[i][0])}:${JSON.stringify(refs[i][1])}`;
  text += "}";
  if (NEEDS_CHECK.test(text)) {
    if (text.includes("\\u0000")) {
      throw new InvalidArgumentError(SOURCE, "put: PostgreSQL text cannot contain NUL characters (\\u0000) in ids, namespaces, keys or channel names");
    }
    rejectMalformed(text, "channel names and versions");
  }
  return text;
}

/** The text before the first `~` of a blob key: the chain base a key belongs to (core `chainLowerBound`). */
function chainBase(key: string): string {
  const i = key.indexOf("~");
  return i < 0 ? key : key.slice(0, i);
}

/** A surrogate: the text holds a character outside the Basic Multilingual Plane. */
const ASTRAL = /[\uD800-\uDFFF]/;

const groupKey = (threadId: string, ns: string, channel: string, base: string) => `${threadId}\u0000${ns}\u0000${channel}\u0000${base}`;
const checkpointKey = (threadId: string, ns: string, id: string) => `${threadId}\u0000${ns}\u0000${id}`;

/**
 * Turns the rows of one `readCheckpoints` statement into stored checkpoints, newest first. Each
 * checkpoint gets, per reference, the blobs of its range (shared with the other checkpoints of the page
 * that reference the same chain); the codec walks the chain it needs.
 */
function assemble(rows: sql.ReadRow[]): StoredCheckpoint[] {
  const page: Array<{ n: number; stored: StoredCheckpoint }> = [];
  const byCheckpoint = new Map<string, StoredCheckpoint>();
  const groups = new Map<string, BlobRecord[]>();
  const writes: sql.ReadRow[] = [];
  for (const r of rows) {
    if (r[0] === 0) {
      const refs = r[12] ?? {};
      const blobRefs: Array<[string, string]> = [];
      for (const channel in refs) blobRefs.push([channel, refs[channel]]);
      const record: CheckpointRecord = {
        threadId: r[1],
        checkpointNs: r[2],
        checkpointId: r[3]!,
        parentCheckpointId: r[4],
        checkpoint: r[5] === null ? { type: "json", data: unpackJson(r[10]!) } : { type: r[5], data: r[10]! },
        metadata: { type: r[6] ?? "json", data: r[11] ?? EMPTY },
        metadataJson: r[8]!,
        runId: r[7],
        blobRefs,
      };
      const stored: StoredCheckpoint = { record, blobs: [], writes: [] };
      page.push({ n: r[9]!, stored });
      byCheckpoint.set(checkpointKey(r[1], r[2], record.checkpointId), stored);
    } else if (r[0] === 1) {
      const data = r[10]!;
      const channel = r[4]!;
      const lengths = r[7]!.split(",");
      // Lengths of text count characters (code points); JavaScript slices UTF-16 units, which are the
      // same unless a key or type holds a character outside the BMP.
      const text = r[8]!;
      const chars = ASTRAL.test(text) ? Array.from(text) : undefined;
      const cut = (from: number, to: number) => (chars ? chars.slice(from, to).join("") : text.slice(from, to));
      let at = 0;
      let t = 0;
      for (let i = 0; i + 2 < lengths.length; i += 3) {
        const key = cut(t, (t += Number(lengths[i])));
        const type = cut(t, (t += Number(lengths[i + 1])));
        const length = Number(lengths[i + 2]);
        const g = groupKey(r[1], r[2], channel, chainBase(key));
        let group = groups.get(g);
        if (!group) groups.set(g, (group = []));
        group.push({ channel, version: key, type, data: data.subarray(at, at + length) });
        at += length;
      }
    } else {
      writes.push(r);
    }
  }
  for (const w of writes) {
    byCheckpoint.get(checkpointKey(w[1], w[2], w[3]!))?.writes.push({ taskId: w[4]!, channel: w[5]!, type: w[6]!, taskPath: w[7] ?? "", idx: w[9]!, data: w[10]! });
  }
  page.sort((a, b) => a.n - b.n);
  return page.map(({ stored }) => {
    const { threadId, checkpointNs } = stored.record;
    for (const [channel, key] of stored.record.blobRefs) {
      const group = groups.get(groupKey(threadId, checkpointNs, channel, chainBase(key)));
      if (group) for (const blob of group) stored.blobs.push(blob);
    }
    return stored;
  });
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
  /** `metadata_json` is a `json` column: it returns the metadata JSON exactly as put, so it is stored once. */
  protected override readonly metadataFromJson = true;

  /** The schema this saver's tables live in. */
  readonly schema: string;
  private readonly n: sql.Names;
  private readonly pageSize: number;
  private readonly prepared: boolean;
  private readonly conn: PgConnection;
  private readonly statements: Record<"put" | "putPurge" | "putWrites" | "putWritesPurge" | "putWritesTtl" | "putWritesTtlPurge" | "getWrites", string>;
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
    this.prepared = checkPrepared(options.preparedStatements);
    this.n = sql.names(this.schema);
    this.statements = {
      put: sql.putCheckpoint(this.n, "fast"),
      putPurge: sql.putCheckpoint(this.n, "purge"),
      putWrites: sql.putWrites(this.n, false, "fast"),
      putWritesPurge: sql.putWrites(this.n, false, "purge"),
      putWritesTtl: sql.putWrites(this.n, true, "fast"),
      putWritesTtlPurge: sql.putWrites(this.n, true, "purge"),
      getWrites: sql.getWrites(this.n),
    };
    this.conn = new PgConnection(connection, options);
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
    return mapPgError(action, err, "saver", this.conn.timeouts);
  }

  protected async _setup(): Promise<void> {
    try {
      await this.conn.transaction((client) => applyMigrations(client, this.n, ["saver"]), { untimed: true });
    } catch (err) {
      throw mapPgError("setup()", err, "saver", this.conn.timeouts);
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
    const metadata = metadataColumns(record.metadataJson);
    // JSON metadata has no bytes (core reads `metadata_json`) unless its text had to be escaped.
    const metadataBytes = record.metadata.data.byteLength ? asBuffer(record.metadata.data) : metadata.exactBytes;
    const checkpoint = record.checkpoint.type === "json" ? packJson(record.checkpoint.data) : undefined;
    const values = [
        record.threadId,
        record.checkpointNs,
        record.checkpointId,
        new Date(now),
        this.expiry(now),
        record.parentCheckpointId,
        record.runId,
        checkpoint ? null : record.checkpoint.type,
        checkpoint ?? asBuffer(record.checkpoint.data),
        record.metadata.type === "json" ? null : record.metadata.type,
        metadataBytes,
        metadata.json,
        refsJson(record.blobRefs),
        blobs.map((b) => b.channel),
        blobs.map((b) => b.version),
        blobs.map((b) => b.type),
        packed.offsets,
        packed.lengths,
        packed.data,
    ];
    // A thread whose TTL has passed (not swept yet) starts over: the rare second statement purges it.
    if (await this.expired(this.statements.put, values)) await this.conn.execute(this.statements.putPurge, values, this.prepared);
  }

  /** Runs a `fast` write shape; true when it wrote nothing because the thread has expired. */
  private async expired(text: string, values: unknown[]): Promise<boolean> {
    const rows = await this.conn.executeArrays<[boolean]>(text, values, this.prepared);
    return rows[0]?.[0] === true;
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
    const expiresAt = this.expiry(now);
    const values: unknown[] = [
      threadId,
      new Date(now),
      checkpointNs,
      checkpointId,
      writes.map((w) => w.taskId),
      writes.map((w) => w.idx),
      writes.map((w) => w.channel),
      writes.map((w) => w.type),
      writes.map((w) => w.taskPath),
      packed.offsets,
      packed.lengths,
      packed.data,
    ];
    if (expiresAt !== null) values.push(expiresAt);
    const [fast, purge] = expiresAt !== null ? [this.statements.putWritesTtl, this.statements.putWritesTtlPurge] : [this.statements.putWrites, this.statements.putWritesPurge];
    if (await this.expired(fast, values)) await this.conn.execute(purge, values, this.prepared);
  }

  private async read(q: sql.CheckpointReadQuery): Promise<StoredCheckpoint[]> {
    const { text, values } = sql.readCheckpoints(this.n, q);
    return assemble(await this.conn.executeArrays<sql.ReadRow>(text, values, this.prepared));
  }

  protected async _getCheckpoint(
    threadId: string,
    checkpointNs: string,
    checkpointId: string | undefined,
    known?: KnownRefs,
  ): Promise<StoredCheckpoint | undefined> {
    const now = Date.now();
    const q: sql.CheckpointReadQuery = { threadId, checkpointNs, checkpointId, limit: 1, now: new Date(now), refreshTo: this.readRefresh(now) };
    if (known && known.length > 0) {
      // The blobs of these references stay out of the result (the codec holds them): no range scan,
      // no transfer.
      const channels: string[] = [];
      const keys: string[] = [];
      for (const [channel, key] of known) {
        channels.push(channel);
        keys.push(key);
      }
      q.known = { channels, keys };
    }
    return (await this.read(q))[0];
  }

  protected async *_list(query: ListQuery): AsyncIterable<StoredCheckpoint> {
    let remaining = query.limit ?? Number.POSITIVE_INFINITY;
    let after: [string, string, string] | undefined;
    while (remaining > 0) {
      const limit = Math.min(this.pageSize, remaining);
      const now = Date.now();
      const page = await this.read({
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
      for (const stored of page) yield stored;
      if (page.length < limit) return;
      remaining -= page.length;
      const last = page[page.length - 1].record;
      after = [last.checkpointId, last.threadId, last.checkpointNs];
    }
  }

  protected async _getWrites(threadId: string, checkpointNs: string, checkpointId: string): Promise<WriteRecord[]> {
    const { rows } = await this.conn.execute<{ task_id: string; idx: number; channel: string; type: string; blob: Buffer; task_path: string }>(
      this.statements.getWrites,
      [threadId, checkpointNs, checkpointId],
      this.prepared,
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
    const { rows } = await this.conn.query<sql.ThreadRow>(q.text, q.values);
    return rows.map((r) => ({
      threadId: r.thread_id,
      checkpointNs: r.latest_checkpoint_ns,
      checkpointId: r.latest_checkpoint_id,
      checkpoint: r.checkpoint_type === null ? { type: "json", data: unpackJson(r.checkpoint) } : { type: r.checkpoint_type, data: r.checkpoint },
      metadata: { type: r.metadata_type ?? "json", data: r.metadata ?? EMPTY },
      metadataJson: r.metadata_json,
    }));
  }
}
