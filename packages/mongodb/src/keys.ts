import { InvalidArgumentError, encodeNamespace, namespacePrefixRange, type DistanceType } from "@langgraph-persist/core";
import type { Binary, Document, Double } from "mongodb";

/**
 * Every collection, document shape and index of the MongoDB adapter, in one place.
 *
 * Saver documents use a compound `_id` (thread, namespace, checkpoint id, ...): the natural key is the
 * primary key, so insert-if-absent and replace are plain `_id` upserts (no unique-index races), and a
 * checkpoint's blobs are fetched from its `blob_refs` by `_id`: plain versions with `$in`, a delta
 * chain with one `_id` range (compound `_id`s compare field by field, so thread, namespace and channel
 * stay fixed and only the version varies).
 * Secondary indexes on `_id.*` sub-fields give the range scans (latest checkpoint, newest first, one
 * thread).
 */

export const SOURCE = "@langgraph-persist/mongodb";
export const DEFAULT_COLLECTION_PREFIX = "langgraph_";

// ---------------------------------------------------------------- names

export interface SaverCollections {
  /** One document per checkpoint (no channel values). */
  checkpoints: string;
  /** One document per channel version: a value is stored once, however many checkpoints use it. */
  blobs: string;
  /** One document per pending write. */
  writes: string;
  /** One document per thread: its latest checkpoint (the `listThreads` index) and its TTL clock. */
  threads: string;
  /** Applied schema versions. */
  migrations: string;
}

export interface StoreCollections {
  /** One document per item, with its vectors for the exact cosine ranking. */
  items: string;
  /** One document per vector, for Atlas `$vectorSearch` (which indexes one vector per document). */
  vectors: string;
  migrations: string;
}

export function saverCollections(prefix: string): SaverCollections {
  return {
    checkpoints: `${prefix}checkpoints`,
    blobs: `${prefix}checkpoint_blobs`,
    writes: `${prefix}checkpoint_writes`,
    threads: `${prefix}checkpoint_threads`,
    migrations: `${prefix}migrations`,
  };
}

export function storeCollections(prefix: string): StoreCollections {
  return { items: `${prefix}store`, vectors: `${prefix}store_vectors`, migrations: `${prefix}migrations` };
}

const utf8 = new TextEncoder();
// Characters MongoDB forbids in database names (any platform).
const BAD_DB_CHARS = /[/\\. "$*<>:|?\u0000]/;
// Stricter than MongoDB's own rule (no `$`, no NUL): names stay portable and never need quoting in tools.
const PREFIX_RE = /^[A-Za-z0-9_.-]*$/;
/** MongoDB's limit for `<db>.<collection>` (unsharded collections, 4.4+). */
const MAX_NAMESPACE_BYTES = 255;

export function validateDbName(dbName: unknown): string {
  if (typeof dbName !== "string" || dbName === "") {
    throw new InvalidArgumentError(SOURCE, `dbName must be a non-empty string, got ${dbName === "" ? "an empty string" : typeof dbName}`);
  }
  if (BAD_DB_CHARS.test(dbName)) {
    throw new InvalidArgumentError(SOURCE, `dbName ${JSON.stringify(dbName)} contains a character MongoDB does not allow in database names (/\\. "$*<>:|? or NUL)`);
  }
  if (utf8.encode(dbName).length >= 64) throw new InvalidArgumentError(SOURCE, `dbName ${JSON.stringify(dbName)} must be shorter than 64 bytes`);
  return dbName;
}

export function validateCollectionPrefix(prefix: unknown): string {
  if (typeof prefix !== "string") throw new InvalidArgumentError(SOURCE, `collectionPrefix must be a string, got ${typeof prefix}`);
  if (!PREFIX_RE.test(prefix)) {
    throw new InvalidArgumentError(SOURCE, `collectionPrefix ${JSON.stringify(prefix)} may only contain letters, digits, "_", "-" and "."`);
  }
  if (prefix.startsWith("system.")) throw new InvalidArgumentError(SOURCE, `collectionPrefix cannot start with "system." (reserved by MongoDB)`);
  return prefix;
}

/** Every `<db>.<collection>` must fit MongoDB's namespace limit. */
export function checkNamespaceLengths(dbName: string, collections: Record<string, string>): void {
  for (const name of Object.values(collections)) {
    const bytes = utf8.encode(`${dbName}.${name}`).length;
    if (bytes > MAX_NAMESPACE_BYTES) {
      throw new InvalidArgumentError(SOURCE, `"${dbName}.${name}" is ${bytes} bytes; MongoDB allows ${MAX_NAMESPACE_BYTES}: use a shorter dbName or collectionPrefix`);
    }
  }
}

// ---------------------------------------------------------------- saver documents

export interface CheckpointKey {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
}

export interface BlobKey {
  thread_id: string;
  checkpoint_ns: string;
  channel: string;
  version: string;
}

export interface WriteKey {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  task_id: string;
  idx: number;
}

/** Bytes as written (`Uint8Array`) or as read back (`Binary`). */
export type Bytes = Uint8Array | Binary;

export interface CheckpointDoc {
  _id: CheckpointKey;
  parent_checkpoint_id: string | null;
  /** Serde type and bytes of the checkpoint without `channel_values`. */
  type: string;
  checkpoint: Bytes;
  metadata_type: string;
  metadata: Bytes;
  /** `canonicalJson([key, value])` per top-level metadata key: `list({ filter })` is an exact `$all`. */
  metadata_kv: string[];
  /** `metadata.run_id` (for `deleteForRuns`); absent when the metadata has none (older documents may hold null). */
  run_id?: string | null;
  /**
   * One `[channel, key]` per channel: a plain key is the channel version of one blob; a chain key
   * (`<base>~<seq>~<link>`) ends a delta chain, whose blobs are every key in `[<base>, key]` of the channel.
   */
  blob_refs: Array<[string, string]>;
  /** When the checkpoint was stored (server clock); hides checkpoints of an expired thread's earlier life. */
  written_at: Date;
}

export interface BlobDoc {
  _id: BlobKey;
  type: string;
  data: Bytes;
}

export interface WriteDoc {
  _id: WriteKey;
  channel: string;
  type: string;
  data: Bytes;
  task_path: string;
}

export interface ThreadDoc {
  /** The thread id. */
  _id: string;
  /** The checkpoint `listThreads` reports: the newest of the root namespace, else the newest put. */
  latest?: { checkpoint_ns: string; checkpoint_id: string; metadata_kv: string[] };
  /** TTL only: start of the thread's current life; checkpoints written before it are hidden. */
  alive_since?: Date;
  /** TTL only: when the thread expires unless written (or read, with `refreshOnRead`) again. */
  expire_at?: Date;
  /** TTL only: a write revived an expired thread; the sweeper removes the earlier life's documents. */
  reset_pending?: true;
}

// Field order matters: compound `_id`s compare as whole documents, so every builder emits the same order.
export const checkpointKey = (threadId: string, checkpointNs: string, checkpointId: string): CheckpointKey => ({
  thread_id: threadId,
  checkpoint_ns: checkpointNs,
  checkpoint_id: checkpointId,
});

export const blobKey = (threadId: string, checkpointNs: string, channel: string, version: string): BlobKey => ({
  thread_id: threadId,
  checkpoint_ns: checkpointNs,
  channel,
  version,
});

export const writeKey = (threadId: string, checkpointNs: string, checkpointId: string, taskId: string, idx: number): WriteKey => ({
  thread_id: threadId,
  checkpoint_ns: checkpointNs,
  checkpoint_id: checkpointId,
  task_id: taskId,
  idx,
});

/** The writes of one checkpoint, by the `writes_by_checkpoint` index. */
export const writesOfCheckpoint = (threadId: string, checkpointNs: string, checkpointId: string): Document => ({
  "_id.thread_id": threadId,
  "_id.checkpoint_id": checkpointId,
  "_id.checkpoint_ns": checkpointNs,
});

// ---------------------------------------------------------------- metadata filter keys

/** JSON with object keys sorted, so equal JSON values (deep equality) give equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** One string per top-level metadata key; `[key, value]` framing keeps it injective. */
export function metadataKv(metadataJson: string): string[] {
  const parsed: unknown = JSON.parse(metadataJson);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return [];
  return Object.entries(parsed as Record<string, unknown>).map(([k, v]) => canonicalJson([k, v]));
}

/** The `metadata_kv` entries a `list`/`listThreads` filter requires (all of them: `$all`). */
export function filterKv(filter: ReadonlyArray<readonly [string, string, unknown]>): string[] {
  return filter.map(([key, json]) => canonicalJson([key, JSON.parse(json) as unknown]));
}

// ---------------------------------------------------------------- store documents

export interface StoredVector {
  /** The index field path the text came from. */
  field: string;
  vector: number[];
  /** Euclidean norm, computed once at write time so ranking only computes dot products. */
  norm: number;
}

export interface ItemDoc {
  /** Encoded namespace (`encodeNamespace`): exact match and segment-safe prefix ranges. */
  ns: string;
  key: string;
  /** The namespace labels, returned as they were written. */
  namespace: string[];
  value: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  /** TTL in minutes (for refresh on read) or null. */
  ttl_minutes: number | null;
  /** Expiry; the TTL index deletes the item after it, reads hide it from then on. */
  expire_at: Date | null;
  /** The item's vectors (absent when the store has no index). */
  embeddings?: StoredVector[];
}

export interface VectorDoc {
  _id: { ns: string; key: string; i: number };
  ns: string;
  key: string;
  /** Every encoded prefix of the namespace, so `$vectorSearch` can pre-filter a prefix by equality. */
  ns_prefixes: string[];
  field: string;
  embedding: Double[];
  norm: number;
  /** Copy of the item value, for pre-filters on `vectorFilterFields`. */
  value: Record<string, unknown>;
  ttl_minutes: number | null;
  expire_at: Date | null;
}

/** `["a", "a.b", "a.b.c"]` for `["a", "b", "c"]`. */
export function namespacePrefixes(namespace: readonly string[]): string[] {
  return namespace.map((_, i) => encodeNamespace(namespace.slice(0, i + 1)));
}

/**
 * Items whose namespace starts with `prefix`, label by label: the exact namespace or the range of
 * encodings that continue with the separator. A plain string range on the `ns_key` index, never a regex.
 */
export function namespacePrefixQuery(prefix: readonly string[], field = "ns"): Document {
  const range = namespacePrefixRange(prefix);
  if (range === null) return {};
  return { $or: [{ [field]: range.exact }, { [field]: { $gte: range.lower, $lt: range.upper } }] };
}

/**
 * The server's clock in aggregation expressions. Every TTL timestamp is written from it and every
 * expiry check compares against it, as the TTL monitor does: clients whose clocks disagree with the
 * server (or with each other) cannot expire or revive anything early.
 */
export const SERVER_NOW = "$$NOW";

/** The clock of an expiry check: the server's (what the adapter uses), or a fixed date (explicit sweeps, tests). */
export type Clock = Date | typeof SERVER_NOW;

/**
 * Not expired at `now` (no expiry, or an expiry still in the future). With the server's clock this is
 * an `$expr` (type-guarded: no expiry compares as alive); with a date, a plain query on the field.
 */
export function liveAt(now: Clock, field = "expire_at"): Document {
  if (now instanceof Date) return { [field]: { $not: { $lte: now } } };
  return { $expr: { $or: [{ $ne: [{ $type: `$${field}` }, "date"] }, { $gt: [`$${field}`, now] }] } };
}

// ---------------------------------------------------------------- indexes

export interface IndexSpec {
  name: string;
  key: Record<string, 1 | -1>;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
  expireAfterSeconds?: number;
}

export function saverIndexes(c: SaverCollections): Record<string, IndexSpec[]> {
  return {
    [c.checkpoints]: [
      // getTuple (latest of a namespace) and list(thread, ns): equality, equality, newest first.
      { name: "checkpoints_by_thread_ns", key: { "_id.thread_id": 1, "_id.checkpoint_ns": 1, "_id.checkpoint_id": -1 } },
      // list(thread) across namespaces, newest first; thread-wide deletes.
      { name: "checkpoints_by_thread", key: { "_id.thread_id": 1, "_id.checkpoint_id": -1, "_id.checkpoint_ns": 1 } },
      // deleteForRuns.
      { name: "checkpoints_by_run", key: { run_id: 1 } },
    ],
    [c.blobs]: [{ name: "blobs_by_thread_ns", key: { "_id.thread_id": 1, "_id.checkpoint_ns": 1 } }],
    // Checkpoint id before namespace: ids are unique per thread in practice, so the scan is tight
    // whatever the namespace predicate does.
    [c.writes]: [{ name: "writes_by_checkpoint", key: { "_id.thread_id": 1, "_id.checkpoint_id": 1, "_id.checkpoint_ns": 1 } }],
    [c.threads]: [
      { name: "threads_by_latest", key: { "latest.checkpoint_id": -1, _id: 1 } },
      // The sweeper's scan; threads without a TTL stay out of the index.
      { name: "threads_by_expiry", key: { expire_at: 1 }, sparse: true },
      { name: "threads_reset_pending", key: { reset_pending: 1 }, partialFilterExpression: { reset_pending: { $eq: true } } },
    ],
  };
}

export function storeIndexes(c: StoreCollections, withVectors: boolean): Record<string, IndexSpec[]> {
  const out: Record<string, IndexSpec[]> = {
    [c.items]: [
      // Gets, upserts (unique), namespace prefix ranges and listNamespaces.
      { name: "items_ns_key", key: { ns: 1, key: 1 }, unique: true },
      // MongoDB deletes an item once `expire_at` has passed (reads hide it before that).
      { name: "items_ttl", key: { expire_at: 1 }, expireAfterSeconds: 0 },
    ],
  };
  if (withVectors) {
    out[c.vectors] = [
      { name: "vectors_by_item", key: { ns: 1, key: 1 } },
      { name: "vectors_ttl", key: { expire_at: 1 }, expireAfterSeconds: 0 },
    ];
  }
  return out;
}

const ATLAS_SIMILARITY = { cosine: "cosine", l2: "euclidean", inner_product: "dotProduct" } as const;

/**
 * The Atlas Vector Search index definition the store's `$vectorSearch` expects on
 * `<collectionPrefix>store_vectors`. Create it once (Atlas UI, CLI, or
 * `db.collection(name).createSearchIndex({ name, type: "vectorSearch", definition })`).
 * `distanceType` (the store's `index.distanceType`) picks the matching Atlas `similarity` (cosine →
 * "cosine", l2 → "euclidean", inner_product → "dotProduct"), unless `similarity` is given.
 *
 * @example
 * await client.db("app").collection("langgraph_store_vectors").createSearchIndex({
 *   name: "store_vectors",
 *   type: "vectorSearch",
 *   definition: vectorSearchIndexDefinition({ dims: 1536, filterFields: ["kind"] }),
 * });
 */
export function vectorSearchIndexDefinition(options: {
  dims: number;
  similarity?: "cosine" | "euclidean" | "dotProduct";
  distanceType?: DistanceType;
  filterFields?: string[];
}): Document {
  const similarity = options.similarity ?? ATLAS_SIMILARITY[options.distanceType ?? "cosine"];
  return {
    fields: [
      { type: "vector", path: "embedding", numDimensions: options.dims, similarity },
      { type: "filter", path: "ns_prefixes" },
      ...(options.filterFields ?? []).map((f) => ({ type: "filter", path: `value.${f}` })),
    ],
  };
}
