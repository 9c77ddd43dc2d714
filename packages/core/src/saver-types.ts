/**
 * The storage-level records every saver persists. `PersistSaver` turns LangGraph checkpoints into these
 * records and back; an adapter only stores and fetches them, in as few round trips as its backend allows.
 */

/** A serialised value: the serde type tag and its bytes. */
export interface SerializedValue {
  type: string;
  data: Uint8Array;
}

/**
 * One checkpoint row. Versioned channel values are not inside: they live in blobs, one per channel
 * version. Values without a `channel_versions` entry have no blob and stay in the row.
 */
export interface CheckpointRecord {
  threadId: string;
  checkpointNs: string;
  checkpointId: string;
  parentCheckpointId: string | null;
  /**
   * The checkpoint without its id, serialised. Its `channel_values` holds only the values that have no
   * `channel_versions` entry, and is absent when there are none; other fields are kept as `put` received them.
   */
  checkpoint: SerializedValue;
  /** The metadata, serialised with the saver's serde. */
  metadata: SerializedValue;
  /**
   * The metadata as plain JSON text, for backends that push `list({ filter })` down
   * (deep equality per top-level key). Values JSON cannot express are encoded as the serde does.
   */
  metadataJson: string;
  /** `metadata.run_id` when it is a string, for `deleteForRuns`. */
  runId: string | null;
  /**
   * One `[channel, key]` per channel: the blob that rebuilds its value. A plain key (a channel version)
   * names one blob. A chain key (`<base>~<seq>~<link>`, see `parseChainKey`) ends a delta chain: the
   * backend returns every blob of that channel whose key lies (bytewise) in
   * `[chainLowerBound(key), key]` — one range scan — or walks the chain with `previousChainKey` /
   * `walkChain`. Extra blobs are ignored. Blob reachability (prune, deleteForRuns) follows the same rule.
   */
  blobRefs: Array<[channel: string, key: string]>;
}

/**
 * One channel value at one version. `type: "empty"` records a version with no value (a cleared channel);
 * a type starting with `+` is a delta of a chain. `version` is the blob's key: a channel version, or a
 * chain key for a delta.
 */
export interface BlobRecord {
  channel: string;
  version: string;
  type: string;
  data: Uint8Array;
}

/**
 * One pending write. `idx < 0` marks a special channel (error, interrupt, ...): it replaces, others
 * insert-if-absent. A backend returns writes in any order: core sorts them by `(taskPath, taskId, idx)`.
 */
export interface WriteRecord {
  taskId: string;
  idx: number;
  channel: string;
  type: string;
  data: Uint8Array;
  /** The task path `putWrites` received (`""` without one): the first key of the write order, so it must be stored and returned. */
  taskPath: string;
}

/** What a backend returns for one checkpoint: its row, the blobs it references, its pending writes. */
export interface StoredCheckpoint {
  record: CheckpointRecord;
  blobs: BlobRecord[];
  writes: WriteRecord[];
}

export interface ListQuery {
  /** Only this thread; all threads when undefined. */
  threadId?: string;
  /** Only this namespace; all namespaces when undefined. */
  checkpointNs?: string;
  /** Only this checkpoint id. */
  checkpointId?: string;
  /** Only checkpoints with an id strictly lower than this. */
  before?: string;
  /** At most this many rows; all when undefined. Never 0 (handled before the backend is asked). */
  limit?: number;
  /** Top-level metadata keys and the JSON text their value must deep-equal. */
  filter?: Array<[key: string, json: string, value: unknown]>;
}

/** One thread as `listThreads` reports it: its latest checkpoint (in the root namespace when it has one). */
export interface ThreadInfo {
  threadId: string;
  checkpointId: string;
  checkpointNs: string;
  ts: string;
  metadata: Record<string, unknown>;
}

export interface StoredThreadInfo {
  threadId: string;
  checkpointId: string;
  checkpointNs: string;
  checkpoint: SerializedValue;
  metadata: SerializedValue;
  /** Required when the saver sets `metadataFromJson` (then `metadata.data` may be empty). */
  metadataJson?: string;
}

export interface ListThreadsOptions {
  /** @default 100 */
  limit?: number;
  /** Only threads whose latest checkpoint id is lower than this (keyset paging, newest first). */
  before?: string;
  /** Deep equality on top-level keys of the latest checkpoint's metadata. */
  filter?: Record<string, unknown>;
}

export interface PruneOptions {
  /**
   * `keep_latest`: keep only the newest checkpoint of every namespace of each thread (with its
   * pending writes and the blobs it needs). `delete`: remove the threads entirely.
   * @default "keep_latest"
   */
  strategy?: "keep_latest" | "delete";
}

/** What a saver can do, so the conformance suite (and callers) can tell instead of guessing. */
export interface SaverCapabilities {
  /** `ttl: { defaultTtl, refreshOnRead }` is honoured. */
  ttl: boolean;
  /** `deleteForRuns`, `copyThread`, `prune`. */
  extendedOps: boolean;
  /** `listThreads`. */
  listThreads: boolean;
  /** Several processes may share the data (files or servers), so `setup()` is lock-protected. */
  multiProcess: boolean;
}

/** Saver TTL: a thread not written (or read, with `refreshOnRead`) for `defaultTtl` minutes disappears whole. */
export interface SaverTtlConfig {
  /** Minutes of inactivity after which a thread expires. */
  defaultTtl: number;
  /**
   * Reads (`getTuple`, `list`) restart the clock too.
   * @default false
   */
  refreshOnRead?: boolean;
  /**
   * Minutes between background sweeps (backends without native expiry). Expired threads are hidden from
   * reads before they are swept.
   * @default 5
   */
  sweepIntervalMinutes?: number;
}
