import {
  PersistSaver,
  isExpired,
  metadataMatches,
  minutesToMs,
  startSweeper,
  type BlobRecord,
  type CheckpointRecord,
  type ListQuery,
  type SaverCapabilities,
  type StoredCheckpoint,
  type StoredThreadInfo,
  type WriteRecord,
  walkChain,
} from "@langgraph-persist/core";
import type { MemorySaverOptions } from "./options.js";

const SOURCE = "@langgraph-persist/memory";

interface ThreadData {
  /** namespace → checkpoint id → record. */
  checkpoints: Map<string, Map<string, CheckpointRecord>>;
  /** `ns \0 channel` → blob key (version or chain key) → blob. */
  blobs: Map<string, Map<string, BlobRecord>>;
  /** `ns \0 checkpointId` → `taskId \0 idx` → write. */
  writes: Map<string, Map<string, WriteRecord>>;
  expiresAt: number | null;
}

/** Opaque in-memory checkpoint data, shareable between `MemorySaver` instances. */
export class MemoryCheckpointData {
  /** @internal */
  readonly threads = new Map<string, ThreadData>();
}

const channelKey = (ns: string, channel: string) => `${ns}\u0000${channel}`;
const NO_BLOBS = new Map<string, BlobRecord>();
const cpKey = (ns: string, id: string) => `${ns}\u0000${id}`;
const newest = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);
/** Metadata is kept once, as the JSON text the saver put; filters parse it when they need it. */
const parsedMetadata = (r: CheckpointRecord) => JSON.parse(r.metadataJson) as Record<string, unknown>;

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
    const now = Date.now();
    if (t && isExpired(t.expiresAt, now)) {
      this.threads.delete(threadId);
      t = undefined;
    }
    if (!t && mode === "write") {
      t = { checkpoints: new Map(), blobs: new Map(), writes: new Map(), expiresAt: null };
      this.threads.set(threadId, t);
    }
    if (t && this.ttl && (mode === "write" || this.ttl.refreshOnRead)) t.expiresAt = now + minutesToMs(this.ttl.defaultTtl);
    return t;
  }

  private stored(t: ThreadData, record: CheckpointRecord): StoredCheckpoint {
    const ns = record.checkpointNs;
    const blobs: BlobRecord[] = [];
    for (const [channel, key] of record.blobRefs) {
      const own = t.blobs.get(channelKey(ns, channel)) ?? NO_BLOBS;
      for (const b of walkChain(key, (k) => own.get(k))) blobs.push(b);
    }
    const writes = [...(t.writes.get(cpKey(ns, record.checkpointId))?.values() ?? [])];
    return { record, blobs, writes };
  }

  protected async _putCheckpoint(record: CheckpointRecord, blobs: BlobRecord[]): Promise<void> {
    const t = this.thread(record.threadId, "write")!;
    for (const b of blobs) {
      const ck = channelKey(record.checkpointNs, b.channel);
      let own = t.blobs.get(ck);
      if (!own) t.blobs.set(ck, (own = new Map()));
      if (!own.has(b.version)) own.set(b.version, b);
    }
    let nsMap = t.checkpoints.get(record.checkpointNs);
    if (!nsMap) t.checkpoints.set(record.checkpointNs, (nsMap = new Map()));
    nsMap.set(record.checkpointId, record);
  }

  protected async _putWrites(threadId: string, ns: string, checkpointId: string, writes: WriteRecord[]): Promise<void> {
    const t = this.thread(threadId, "write")!;
    const k = cpKey(ns, checkpointId);
    let m = t.writes.get(k);
    if (!m) t.writes.set(k, (m = new Map()));
    for (const w of writes) {
      const wk = `${w.taskId}\u0000${w.idx}`;
      if (w.idx >= 0 && m.has(wk)) continue;
      m.set(wk, w);
    }
  }

  protected async _getCheckpoint(threadId: string, ns: string, checkpointId: string | undefined): Promise<StoredCheckpoint | undefined> {
    const t = this.thread(threadId, "read");
    const nsMap = t?.checkpoints.get(ns);
    if (!t || !nsMap || nsMap.size === 0) return undefined;
    let id = checkpointId;
    if (id === undefined) for (const k of nsMap.keys()) if (id === undefined || k > id) id = k;
    const record = nsMap.get(id!);
    return record ? this.stored(t, record) : undefined;
  }

  protected async *_list(query: ListQuery): AsyncIterable<StoredCheckpoint> {
    const candidates: Array<{ t: ThreadData; record: CheckpointRecord }> = [];
    const filter = query.filter ? Object.fromEntries(query.filter.map(([k, json]) => [k, JSON.parse(json) as unknown])) : undefined;
    const threadIds = query.threadId !== undefined ? [query.threadId] : [...this.threads.keys()];
    for (const threadId of threadIds) {
      const t = this.thread(threadId, "read");
      if (!t) continue;
      for (const [ns, nsMap] of t.checkpoints) {
        if (query.checkpointNs !== undefined && ns !== query.checkpointNs) continue;
        for (const [id, record] of nsMap) {
          if (query.checkpointId !== undefined && id !== query.checkpointId) continue;
          if (query.before !== undefined && id >= query.before) continue;
          if (filter && !metadataMatches(parsedMetadata(record), filter)) continue;
          candidates.push({ t, record });
        }
      }
    }
    candidates.sort((a, b) => newest(a.record.checkpointId, b.record.checkpointId) || (a.record.threadId < b.record.threadId ? -1 : 1));
    const limit = query.limit ?? Infinity;
    for (let i = 0; i < candidates.length && i < limit; i++) yield this.stored(candidates[i].t, candidates[i].record);
  }

  protected async _getWrites(threadId: string, ns: string, checkpointId: string): Promise<WriteRecord[]> {
    return [...(this.thread(threadId, "read")?.writes.get(cpKey(ns, checkpointId))?.values() ?? [])];
  }

  protected async _deleteThreads(threadIds: string[]): Promise<void> {
    for (const id of threadIds) this.threads.delete(id);
  }

  protected async _deleteForRuns(runIds: string[]): Promise<void> {
    const runs = new Set(runIds);
    for (const t of this.threads.values()) {
      for (const [ns, nsMap] of t.checkpoints) {
        for (const [id, record] of nsMap) {
          if (record.runId === null || !runs.has(record.runId)) continue;
          nsMap.delete(id);
          t.writes.delete(cpKey(ns, id));
        }
      }
      this.collectBlobs(t);
    }
  }

  /** Drops blobs no remaining checkpoint references. */
  private collectBlobs(t: ThreadData): void {
    const live = new Map<string, Set<string>>();
    for (const [ns, nsMap] of t.checkpoints) {
      for (const r of nsMap.values()) {
        for (const [c, key] of r.blobRefs) {
          // Every link of a chain is live; `walkChain` visits each blob it keeps.
          const ck = channelKey(ns, c);
          const own = t.blobs.get(ck) ?? NO_BLOBS;
          let keep = live.get(ck);
          if (!keep) live.set(ck, (keep = new Set()));
          const kept = keep;
          for (const b of walkChain(key, (k) => (kept.has(k) ? undefined : own.get(k)))) kept.add(b.version);
        }
      }
    }
    for (const [ck, own] of t.blobs) {
      const keep = live.get(ck);
      for (const k of [...own.keys()]) if (!keep?.has(k)) own.delete(k);
      if (own.size === 0) t.blobs.delete(ck);
    }
  }

  protected async _copyThread(sourceId: string, targetId: string): Promise<void> {
    const src = this.thread(sourceId, "read");
    if (!src) return;
    const dst = this.thread(targetId, "write")!;
    for (const [ns, nsMap] of src.checkpoints) {
      let d = dst.checkpoints.get(ns);
      if (!d) dst.checkpoints.set(ns, (d = new Map()));
      for (const [id, r] of nsMap) d.set(id, { ...r, threadId: targetId });
    }
    for (const [ck, own] of src.blobs) {
      let d = dst.blobs.get(ck);
      if (!d) dst.blobs.set(ck, (d = new Map()));
      for (const [k, b] of own) if (!d.has(k)) d.set(k, b);
    }
    for (const [k, m] of src.writes) dst.writes.set(k, new Map(m));
  }

  protected async _pruneKeepLatest(threadIds: string[]): Promise<void> {
    for (const id of threadIds) {
      const t = this.thread(id, "read");
      if (!t) continue;
      for (const [ns, nsMap] of t.checkpoints) {
        let latest: string | undefined;
        for (const k of nsMap.keys()) if (latest === undefined || k > latest) latest = k;
        for (const k of [...nsMap.keys()]) {
          if (k === latest) continue;
          nsMap.delete(k);
          t.writes.delete(cpKey(ns, k));
        }
      }
      this.collectBlobs(t);
    }
  }

  protected async _listThreads(options: { limit: number; before?: string; filter?: ListQuery["filter"] }): Promise<StoredThreadInfo[]> {
    const out: StoredThreadInfo[] = [];
    const filter = options.filter ? Object.fromEntries(options.filter.map(([k, json]) => [k, JSON.parse(json)])) : undefined;
    for (const threadId of [...this.threads.keys()]) {
      const t = this.thread(threadId, "read");
      if (!t) continue;
      // The root namespace describes the thread; a thread with only subgraph checkpoints uses its newest.
      const nsMap = t.checkpoints.get("") ?? [...t.checkpoints.values()].find((m) => m.size > 0);
      if (!nsMap || nsMap.size === 0) continue;
      let latest: CheckpointRecord | undefined;
      for (const r of nsMap.values()) if (!latest || r.checkpointId > latest.checkpointId) latest = r;
      if (!latest) continue;
      if (options.before !== undefined && latest.checkpointId >= options.before) continue;
      if (filter && !metadataMatches(parsedMetadata(latest), filter)) continue;
      out.push({ threadId, checkpointId: latest.checkpointId, checkpointNs: latest.checkpointNs, checkpoint: latest.checkpoint, metadata: latest.metadata, metadataJson: latest.metadataJson });
    }
    out.sort((a, b) => newest(a.checkpointId, b.checkpointId));
    return out.slice(0, options.limit);
  }
}
