import {
  DELTA_BLOB_PREFIX,
  EMPTY_BYTES,
  PersistSaver,
  isExpired,
  metadataMatches,
  minutesToMs,
  packJsonText,
  previousChainKey,
  startSweeper,
  unpackJsonText,
  type BlobRecord,
  type CheckpointRecord,
  type ListQuery,
  type SaverCapabilities,
  type SerializedValue,
  type KnownRefs,
  type StoredCheckpoint,
  type StoredThreadInfo,
  type WriteRecord,
} from "@langgraph-persist/core";
import type { MemorySaverOptions } from "./options.js";

const SOURCE = "@langgraph-persist/memory";

/**
 * One stored blob: a channel value at one version, or one link of a delta chain. A link points at the
 * link before it, so a read follows pointers instead of looking keys up, and a blob lives exactly as
 * long as a checkpoint (or a later link) references it.
 */
class StoredBlob {
  constructor(
    /** The blob key: a channel version, or a chain key. */
    readonly key: string,
    readonly type: string,
    readonly data: Uint8Array,
    /** The previous link of a delta; unset for anything else (and for a link stored before its predecessor). */
    readonly prev: StoredBlob | undefined,
  ) {}
}

/**
 * One checkpoint. Thread id, namespace and, usually, the parent id are implied by where the row is
 * stored; JSON is kept as packed text (`packJsonText`); channels point at their blobs.
 */
class Row {
  constructor(
    readonly id: string,
    /**
     * The parent checkpoint id; `undefined` when it is the id of the row just before this one in its
     * namespace (the common case: a thread grows one checkpoint at a time), `null` for none.
     */
    readonly parent: string | null | undefined,
    /** The checkpoint without id and values: packed JSON text, or the serde's value when it is not JSON. */
    readonly checkpoint: string | SerializedValue,
    /** The metadata JSON, packed; with the serde's value when that is not JSON. */
    readonly metadata: string | [json: string, serialized: SerializedValue],
    /** `channel, blob` pairs, flat; a key string stands for a blob that was not stored when the row was (looked up on read). */
    readonly refs: Array<string | StoredBlob>,
  ) {}
}

/** One namespace of a thread. */
class Namespace {
  /** Checkpoints in ascending id order: the latest is the last, `list` walks backwards. */
  rows: Row[] = [];
  /** checkpoint id → its pending writes, in the order they were first stored. */
  writes: Map<string, WriteRecord[]> | undefined = undefined;
  /** `channel \0 key` → blobs a put stored that its checkpoint does not reference (rare). */
  loose: Map<string, StoredBlob> | undefined = undefined;
}

interface ThreadData {
  namespaces: Map<string, Namespace>;
  expiresAt: number | null;
}

/** Opaque in-memory checkpoint data, shareable between `MemorySaver` instances. */
export class MemoryCheckpointData {
  /** @internal */
  readonly threads = new Map<string, ThreadData>();
}

const DELTA = DELTA_BLOB_PREFIX.charCodeAt(0);
const NO_WRITES: readonly WriteRecord[] = Object.freeze([]);
const JSON_METADATA: SerializedValue = Object.freeze({ type: "json", data: EMPTY_BYTES }) as SerializedValue;
const newest = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);

/** JSON text packed with core's fragment dictionary; text it cannot pack is kept whole behind a 0x00 mark. */
function pack(text: string): string {
  return packJsonText(text) ?? `\u0000${text}`;
}

function unpack(stored: string): string {
  return stored.charCodeAt(0) === 0 ? stored.slice(1) : unpackJsonText(stored);
}

function latin1(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1");
}

function metadataJsonOf(row: Row): string {
  return unpack(typeof row.metadata === "string" ? row.metadata : row.metadata[0]);
}

/** `metadata.run_id` when it is a string (what core records as `runId`), read from the metadata JSON. */
function runIdOf(metadataJson: string): string | null {
  if (!metadataJson.includes('"run_id"')) return null;
  const runId = (JSON.parse(metadataJson) as Record<string, unknown>).run_id;
  return typeof runId === "string" ? runId : null;
}

/** Position lookups of long write lists (a checkpoint with many tasks); short lists are scanned. */
const writeIndexes = new WeakMap<WriteRecord[], Map<string, number>>();
const SCAN_WRITES = 32;

/** Position of the write with `w`'s task id and index in `list`, or -1. */
function writeIndex(list: WriteRecord[], w: WriteRecord): number {
  if (list.length <= SCAN_WRITES) {
    for (let i = 0; i < list.length; i++) if (list[i].idx === w.idx && list[i].taskId === w.taskId) return i;
    return -1;
  }
  let index = writeIndexes.get(list);
  if (!index) writeIndexes.set(list, (index = new Map(list.map((x, i) => [`${x.taskId}\u0000${x.idx}`, i]))));
  return index.get(`${w.taskId}\u0000${w.idx}`) ?? -1;
}

function isKnown(known: ReadonlyArray<readonly [string, string]>, channel: string, key: string): boolean {
  for (const [c, k] of known) if (k === key && c === channel) return true;
  return false;
}

/** Index of the row with this id, or `-(insertion point) - 1`. */
function search(rows: readonly Row[], id: string): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = rows[mid].id;
    if (k < id) lo = mid + 1;
    else if (k > id) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

function parentOf(rows: readonly Row[], i: number): string | null {
  const p = rows[i].parent;
  return p === undefined ? rows[i - 1].id : p;
}

/** Rows in id order from `[row, parent id]` pairs: each parent is implied where it is the row before. */
function chained(entries: ReadonlyArray<readonly [Row, string | null]>): Row[] {
  const out: Row[] = [];
  for (const [row, parent] of entries) {
    const p = parent !== null && out.length > 0 && out[out.length - 1].id === parent ? undefined : parent;
    out.push(row.parent === p ? row : new Row(row.id, p, row.checkpoint, row.metadata, row.refs));
  }
  return out;
}

const withParents = (rows: readonly Row[]) => rows.map((row, i) => [row, parentOf(rows, i)] as const);

/** Keeps the rows `keep` accepts (and their writes). Rows are never changed in place: a list being consumed keeps its view. */
function keepRows(space: Namespace, keep: (row: Row) => boolean): void {
  for (const row of space.rows) if (!keep(row)) space.writes?.delete(row.id);
  space.rows = chained(withParents(space.rows).filter(([row]) => keep(row)));
  // Blobs no remaining checkpoint references went with their rows; the unreferenced ones go too.
  space.loose = undefined;
}

/**
 * A checkpointer that keeps everything in process memory: for tests, demos and single-process
 * agents. Same layout and semantics as the database adapters (per-version blobs, extended ops, TTL).
 *
 * @example
 * const checkpointer = new MemorySaver();
 * const graph = builder.compile({ checkpointer });
 */
export class MemorySaver extends PersistSaver {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: SaverCapabilities = { ttl: true, extendedOps: true, listThreads: true, multiProcess: false };
  protected override readonly metadataFromJson = true;
  /**
   * The checkpoint data. Pass it as `data` to another `MemorySaver` to get a second handle on the same
   * data (e.g. two workers of one process).
   */
  readonly data: MemoryCheckpointData;
  private readonly threads: Map<string, ThreadData>;
  private readonly ownsData: boolean;
  private stopSweeper: (() => void) | undefined;

  constructor(options: MemorySaverOptions = {}) {
    super(options);
    this.ownsData = options.data === undefined;
    this.data = options.data ?? new MemoryCheckpointData();
    this.threads = (this.data as unknown as { threads: Map<string, ThreadData> }).threads;
  }

  protected async _setup(): Promise<void> {
    if (this.ttl) this.stopSweeper = startSweeper(this.ttl.sweepIntervalMinutes, async () => this.sweep());
  }

  protected async _close(): Promise<void> {
    this.stopSweeper?.();
    if (this.ownsData) this.threads.clear();
  }

  private sweep(now = Date.now()): void {
    for (const [id, t] of this.threads) if (isExpired(t.expiresAt, now)) this.threads.delete(id);
  }

  /** The live thread (expired ones are dropped on access), optionally refreshing its expiry. */
  private thread(threadId: string, mode: "read" | "write"): ThreadData | undefined {
    let t = this.threads.get(threadId);
    if (t === undefined && mode === "read") return undefined;
    if (!this.ttl && t !== undefined) return t;
    const now = Date.now();
    if (t && isExpired(t.expiresAt, now)) {
      this.threads.delete(threadId);
      t = undefined;
    }
    if (!t && mode === "write") {
      t = { namespaces: new Map(), expiresAt: null };
      this.threads.set(threadId, t);
    }
    if (t && this.ttl && (mode === "write" || this.ttl.refreshOnRead)) t.expiresAt = now + minutesToMs(this.ttl.defaultTtl);
    return t;
  }

  private space(t: ThreadData, ns: string): Namespace {
    let space = t.namespaces.get(ns);
    if (!space) t.namespaces.set(ns, (space = new Namespace()));
    return space;
  }

  /**
   * The blob of `channel` stored under `key` anywhere in the namespace: the chains its checkpoints
   * reference, then the unreferenced blobs. Only for keys a put or read could not resolve directly.
   */
  private findBlob(space: Namespace, channel: string, key: string): StoredBlob | undefined {
    const seen = new Set<StoredBlob>();
    for (let i = space.rows.length - 1; i >= 0; i--) {
      const refs = space.rows[i].refs;
      for (let j = 0; j < refs.length; j += 2) {
        if (refs[j] !== channel) continue;
        const ref = refs[j + 1];
        for (let b = typeof ref === "string" ? undefined : ref; b !== undefined && !seen.has(b); b = b.prev) {
          if (b.key === key) return b;
          seen.add(b);
        }
      }
    }
    return space.loose?.get(`${channel}\u0000${key}`);
  }

  /** The stored checkpoint `rows[i]`, without the chains of the `[channel, key]` blobs the caller holds (`known`). */
  private stored(threadId: string, ns: string, space: Namespace, rows: readonly Row[], i: number, known?: ReadonlyArray<readonly [string, string]>): StoredCheckpoint {
    const row = rows[i];
    const refs = row.refs;
    const blobRefs: Array<[string, string]> = [];
    const blobs: BlobRecord[] = [];
    for (let j = 0; j < refs.length; j += 2) {
      const channel = refs[j] as string;
      const ref = refs[j + 1];
      const key = typeof ref === "string" ? ref : ref.key;
      blobRefs.push([channel, key]);
      if (known !== undefined && isKnown(known, channel, key)) continue;
      let blob: StoredBlob | undefined;
      // A reference or link that was not stored yet when the row was is looked up now (rows and blobs
      // are shared by copied threads, so what is found here is not written back).
      blob = typeof ref === "string" ? this.findBlob(space, channel, ref) : ref;
      // The chain, newest first, down to its base snapshot (or to a missing link: decode reports it).
      while (blob !== undefined) {
        blobs.push({ channel, version: blob.key, type: blob.type, data: blob.data });
        if (blob.type.charCodeAt(0) !== DELTA) break;
        const prevKey = blob.prev === undefined ? previousChainKey(blob.key, blob.type) : undefined;
        blob = prevKey === undefined ? blob.prev : this.findBlob(space, channel, prevKey);
      }
    }
    const metadataJson = metadataJsonOf(row);
    const record: CheckpointRecord = {
      threadId,
      checkpointNs: ns,
      checkpointId: row.id,
      parentCheckpointId: parentOf(rows, i),
      checkpoint: typeof row.checkpoint === "string" ? { type: "json", data: Buffer.from(unpack(row.checkpoint), "latin1") } : row.checkpoint,
      metadata: typeof row.metadata === "string" ? JSON_METADATA : row.metadata[1],
      metadataJson,
      runId: runIdOf(metadataJson),
      blobRefs,
    };
    const writes = space.writes?.get(row.id);
    return { record, blobs, writes: writes ? writes.slice() : (NO_WRITES as WriteRecord[]) };
  }

  protected async _putCheckpoint(record: CheckpointRecord, blobs: BlobRecord[]): Promise<void> {
    const t = this.thread(record.threadId, "write")!;
    const space = this.space(t, record.checkpointNs);
    const rows = space.rows;
    const id = record.checkpointId;
    const last = rows.length - 1;
    const at = last < 0 || rows[last].id < id ? -rows.length - 1 : search(rows, id);
    const replaced = at >= 0 ? rows[at] : undefined;
    const parentId = record.parentCheckpointId;
    let parent: Row | undefined;
    if (parentId !== null) {
      const p = last >= 0 && rows[last].id === parentId ? last : search(rows, parentId);
      if (p >= 0) parent = rows[p];
    }
    /**
     * The blob a checkpoint this put extends (its parent, or the row it replaces) references for the
     * channel, when it has this key: an unchanged channel, the link a delta follows, a re-put blob.
     */
    const nearby = (channel: string, key: string): StoredBlob | undefined => {
      for (const row of [parent, replaced]) {
        if (row === undefined) continue;
        for (let j = 0; j < row.refs.length; j += 2) {
          if (row.refs[j] !== channel) continue;
          const b = row.refs[j + 1];
          if (typeof b !== "string" && b.key === key) return b;
        }
      }
      return undefined;
    };

    const added = new Map<string, StoredBlob>();
    for (const b of blobs) {
      // Blobs already stored for the same version are kept.
      let blob = nearby(b.channel, b.version);
      if (blob === undefined) {
        const prevKey = b.type.charCodeAt(0) === DELTA ? previousChainKey(b.version, b.type) : undefined;
        blob = new StoredBlob(b.version, b.type, b.data, prevKey === undefined ? undefined : (nearby(b.channel, prevKey) ?? this.findBlob(space, b.channel, prevKey)));
      }
      added.set(`${b.channel}\u0000${b.version}`, blob);
    }
    const refs: Array<string | StoredBlob> = [];
    for (const [channel, key] of record.blobRefs) {
      const id = `${channel}\u0000${key}`;
      const blob = added.get(id) ?? nearby(channel, key) ?? this.findBlob(space, channel, key);
      added.delete(id);
      refs.push(channel, blob ?? key);
    }
    if (added.size > 0) {
      space.loose ??= new Map();
      for (const [id, blob] of added) space.loose.set(id, blob);
    }

    const json = record.checkpoint.type === "json" ? packJsonText(latin1(record.checkpoint.data)) : undefined;
    const checkpoint = json ?? (record.checkpoint.type === "json" ? { type: "json", data: Uint8Array.from(record.checkpoint.data) } : record.checkpoint);
    const metadataJson = pack(record.metadataJson);
    const metadata: Row["metadata"] = record.metadata.type === "json" && record.metadata.data.length === 0 ? metadataJson : [metadataJson, record.metadata];
    if (at >= 0) {
      rows[at] = new Row(id, parentId !== null && at > 0 && rows[at - 1].id === parentId ? undefined : parentId, checkpoint, metadata, refs);
    } else if (-at - 1 === rows.length) {
      rows.push(new Row(id, parentId !== null && last >= 0 && rows[last].id === parentId ? undefined : parentId, checkpoint, metadata, refs));
    } else {
      // An id older than the latest (rare): a new array, so that a list being consumed keeps its view.
      const entries = withParents(rows);
      entries.splice(-at - 1, 0, [new Row(id, parentId, checkpoint, metadata, refs), parentId]);
      space.rows = chained(entries);
    }
  }

  protected async _putWrites(threadId: string, ns: string, checkpointId: string, writes: WriteRecord[]): Promise<void> {
    const space = this.space(this.thread(threadId, "write")!, ns);
    space.writes ??= new Map();
    let list = space.writes.get(checkpointId);
    if (!list) space.writes.set(checkpointId, (list = []));
    for (const w of writes) {
      const at = writeIndex(list, w);
      if (at < 0) {
        list.push(w);
        writeIndexes.get(list)?.set(`${w.taskId}\u0000${w.idx}`, list.length - 1);
      } else if (w.idx < 0) {
        list[at] = w;
      }
    }
  }

  protected async _getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId: string | undefined,
    known?: KnownRefs,
  ): Promise<StoredCheckpoint | undefined> {
    const space = this.thread(threadId, "read")?.namespaces.get(ns);
    if (!space || space.rows.length === 0) return undefined;
    const rows = space.rows;
    const i = checkpointId === undefined ? rows.length - 1 : search(rows, checkpointId);
    return i >= 0 ? this.stored(threadId, ns, space, rows, i, known) : undefined;
  }

  protected async *_list(query: ListQuery): AsyncIterable<StoredCheckpoint> {
    const filter = query.filter ? Object.fromEntries(query.filter.map(([k, json]) => [k, JSON.parse(json) as unknown])) : undefined;
    const limit = query.limit ?? Infinity;
    const matches = (row: Row) => filter === undefined || metadataMatches(JSON.parse(metadataJsonOf(row)) as Record<string, unknown>, filter);
    const threadIds = query.threadId !== undefined ? [query.threadId] : [...this.threads.keys()];
    const sources: Array<{ threadId: string; ns: string; space: Namespace }> = [];
    for (const threadId of threadIds) {
      const t = this.thread(threadId, "read");
      if (!t) continue;
      for (const [ns, space] of t.namespaces) {
        if (query.checkpointNs === undefined || ns === query.checkpointNs) sources.push({ threadId, ns, space });
      }
    }
    if (sources.length === 1) {
      // One namespace of one thread: its rows are already in order.
      const { threadId, ns, space } = sources[0];
      const rows = space.rows;
      let i = rows.length - 1;
      if (query.checkpointId !== undefined) {
        const at = search(rows, query.checkpointId);
        if (at < 0 || (query.before !== undefined && query.checkpointId >= query.before)) return;
        if (limit > 0 && matches(rows[at])) yield this.stored(threadId, ns, space, rows, at);
        return;
      }
      if (query.before !== undefined) {
        const at = search(rows, query.before);
        i = at >= 0 ? at - 1 : -at - 2;
      }
      for (let n = 0; i >= 0 && n < limit; i--) {
        if (!matches(rows[i])) continue;
        n++;
        yield this.stored(threadId, ns, space, rows, i);
      }
      return;
    }
    const candidates: Array<{ threadId: string; ns: string; space: Namespace; rows: Row[]; i: number }> = [];
    for (const { threadId, ns, space } of sources) {
      const rows = space.rows;
      for (let i = 0; i < rows.length; i++) {
        const id = rows[i].id;
        if (query.checkpointId !== undefined && id !== query.checkpointId) continue;
        if (query.before !== undefined && id >= query.before) continue;
        if (!matches(rows[i])) continue;
        candidates.push({ threadId, ns, space, rows, i });
      }
    }
    candidates.sort((a, b) => newest(a.rows[a.i].id, b.rows[b.i].id) || (a.threadId < b.threadId ? -1 : a.threadId > b.threadId ? 1 : 0));
    for (let n = 0; n < candidates.length && n < limit; n++) {
      const c = candidates[n];
      yield this.stored(c.threadId, c.ns, c.space, c.rows, c.i);
    }
  }

  protected async _getWrites(threadId: string, ns: string, checkpointId: string): Promise<WriteRecord[]> {
    return this.thread(threadId, "read")?.namespaces.get(ns)?.writes?.get(checkpointId)?.slice() ?? [];
  }

  protected async _deleteThreads(threadIds: string[]): Promise<void> {
    for (const id of threadIds) this.threads.delete(id);
  }

  protected async _deleteForRuns(runIds: string[]): Promise<void> {
    const runs = new Set(runIds);
    for (const t of this.threads.values()) {
      for (const space of t.namespaces.values()) {
        const drop = new Set(space.rows.filter((row) => runs.has(runIdOf(metadataJsonOf(row)) as string)));
        if (drop.size > 0) keepRows(space, (row) => !drop.has(row));
      }
    }
  }

  protected async _copyThread(sourceId: string, targetId: string): Promise<void> {
    const src = this.thread(sourceId, "read");
    if (!src) return;
    const dst = this.thread(targetId, "write")!;
    for (const [ns, from] of src.namespaces) {
      const to = this.space(dst, ns);
      // Rows and blobs never change once stored (rows hold no thread id): the copy shares them.
      if (to.rows.length === 0) {
        to.rows = [...from.rows];
      } else {
        const byId = new Map<string, readonly [Row, string | null]>(withParents(to.rows).map((e) => [e[0].id, e]));
        for (const e of withParents(from.rows)) byId.set(e[0].id, e);
        to.rows = chained([...byId.values()].sort((a, b) => (a[0].id < b[0].id ? -1 : 1)));
      }
      if (from.writes) {
        to.writes ??= new Map();
        for (const [id, list] of from.writes) to.writes.set(id, list.slice());
      }
      if (from.loose) {
        to.loose ??= new Map();
        for (const [k, b] of from.loose) if (!to.loose.has(k)) to.loose.set(k, b);
      }
    }
  }

  protected async _pruneKeepLatest(threadIds: string[]): Promise<void> {
    for (const id of threadIds) {
      const t = this.thread(id, "read");
      if (!t) continue;
      for (const space of t.namespaces.values()) {
        const latest = space.rows[space.rows.length - 1];
        keepRows(space, (row) => row === latest);
      }
    }
  }

  protected async _listThreads(options: { limit: number; before?: string; filter?: ListQuery["filter"] }): Promise<StoredThreadInfo[]> {
    const out: StoredThreadInfo[] = [];
    const filter = options.filter ? Object.fromEntries(options.filter.map(([k, json]) => [k, JSON.parse(json)])) : undefined;
    for (const threadId of [...this.threads.keys()]) {
      const t = this.thread(threadId, "read");
      if (!t) continue;
      // The root namespace describes the thread; a thread with only subgraph checkpoints uses its newest.
      let ns = "";
      let latest = t.namespaces.get("")?.rows.at(-1);
      if (latest === undefined) {
        for (const [n, s] of t.namespaces) {
          const r = s.rows.at(-1);
          if (r !== undefined && (latest === undefined || r.id > latest.id)) [ns, latest] = [n, r];
        }
      }
      if (latest === undefined) continue;
      if (options.before !== undefined && latest.id >= options.before) continue;
      const metadataJson = metadataJsonOf(latest);
      if (filter && !metadataMatches(JSON.parse(metadataJson) as Record<string, unknown>, filter)) continue;
      out.push({
        threadId,
        checkpointId: latest.id,
        checkpointNs: ns,
        checkpoint: typeof latest.checkpoint === "string" ? { type: "json", data: Buffer.from(unpack(latest.checkpoint), "latin1") } : latest.checkpoint,
        metadata: typeof latest.metadata === "string" ? JSON_METADATA : latest.metadata[1],
        metadataJson,
      });
    }
    out.sort((a, b) => newest(a.checkpointId, b.checkpointId));
    return out.slice(0, options.limit);
  }
}
