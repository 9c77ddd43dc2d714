import * as crypto from "node:crypto";
import type { ChannelVersions, Checkpoint, SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { InvalidArgumentError, SerializationError } from "./errors.js";
import type { BlobRecord, CheckpointRecord } from "./saver-types.js";
import { PersistSerializer, readsAsPlainJson, utf8Bytes } from "./serde.js";
import { copyElements, copyTree, elementSnapshots, plainTree, sameAsSnapshot } from "./plain.js";

/** Blob type of a channel version that holds no value (the channel was cleared). */
export const EMPTY_BLOB_TYPE = "empty";
/**
 * Blob type prefix of an append-only delta: the blob holds only the JSON array of the items appended to
 * the previous link of its chain, and the rest of the type names that link (see {@link chainLink}).
 */
export const DELTA_BLOB_PREFIX = "+";
/** Separates the parts of a chain key: `<base version>~<sequence>~<link id>`. */
export const CHAIN_SEPARATOR = "~";

/** Longest chain a key can express (two base-36 digits). */
export const MAX_SNAPSHOT_EVERY = 36 * 36 - 1;
const SEQ_WIDTH = 2;

export interface EncodeInput {
  threadId: string;
  checkpointNs: string;
  checkpointId: string;
  parentCheckpointId: string | null;
  /** The checkpoint being stored, `channel_values` already removed. */
  checkpoint: Checkpoint;
  /** Its channel values. */
  values: Record<string, unknown>;
  /** Only these channels changed: only they get new blobs. */
  newVersions: ChannelVersions;
}

export interface EncodedBlobs {
  /** Blobs to store with the checkpoint. */
  records: BlobRecord[];
  /** One `[channel, key]` per channel of `channel_versions`: what a read must fetch (see `CheckpointRecord.blobRefs`). */
  refs: Array<[string, string]>;
  /** Codec state to remember once the backend stored the blobs. */
  commit?: () => void;
}

/**
 * Splits a checkpoint's channel values into per-version blobs and merges them back. Lives once in core
 * so that every backend stores the same layout.
 */
export interface BlobCodec {
  /** Whether `encode` would benefit from the parent being read first (it is not in the codec's memory). */
  needsParent(threadId: string, checkpointNs: string, parentCheckpointId: string | null): boolean;
  encode(input: EncodeInput): Promise<EncodedBlobs>;
  /**
   * Rebuilds `channel_values`; `versions` is the checkpoint's `channel_versions`. A reference whose blob
   * is not in `blobs` is taken from `options.known` when it holds it (see `knownBlobs`); with
   * `options.tips`, the values become the thread's tips offered by `knownBlobs` (reads of the latest
   * checkpoint, not of every checkpoint a list passes).
   */
  decode(record: CheckpointRecord, blobs: readonly BlobRecord[], versions: ChannelVersions, options?: DecodeOptions): Promise<Record<string, unknown>>;
  /**
   * The channel values of a thread's namespace the codec holds in full (the latest chain tips it wrote
   * or read), for a read to tell the backend which blobs it need not fetch. A snapshot: what it holds
   * stays valid however the cache changes meanwhile. `undefined` when it holds none.
   */
  knownBlobs(threadId: string, checkpointNs: string): KnownBlobs | undefined;
  /** Drops what the codec remembers of a thread (after delete / prune). */
  forgetThread(threadId: string): void;
  /** Drops everything the codec remembers. */
  reset(): void;
}

/** Blob references as `[channel, key]`: what a read tells the backend it need not fetch. */
export type KnownRefs = ReadonlyArray<readonly [channel: string, key: string]>;

/**
 * Blobs a reader already holds: `refs` lists them as `[channel, key]` (a backend may leave these out of
 * `StoredCheckpoint.blobs`, with the rest of their chains); the codec fills them in from `values`.
 * Blobs never change once stored under a key (keys carry a random version suffix), so a held blob is
 * never stale; only keys in this library's version format are offered.
 */
export interface KnownBlobs {
  readonly refs: KnownRefs;
  /** The full value of each reference, by `channel \0 key`. */
  readonly values: ReadonlyMap<string, HeldValue>;
}

/**
 * A channel value (a JSON array) the codec holds in full: its bytes, kept as the parts they were built
 * from (a snapshot, then the elements each later version appended) and joined on first use; when the
 * value is a plain JSON tree (see plain.ts), a private parsed copy; and, when every element has one, a
 * snapshot per element (the tree's elements, or a LangChain message's state) that tells whether a later
 * array kept them. Never changed once made.
 */
export class HeldValue {
  private parts: Uint8Array[] | undefined;
  private joined: Uint8Array | undefined;

  private constructor(
    parts: Uint8Array[] | undefined,
    joined: Uint8Array | undefined,
    /** Byte length of the joined JSON. */
    readonly length: number,
    readonly tree: unknown[] | undefined,
    /** `null`: some element has none (not tried again on reads). */
    readonly snapshots: unknown[] | null | undefined,
  ) {
    this.parts = parts;
    this.joined = joined;
  }

  static of(bytes: Uint8Array, tree?: unknown[], snapshots: unknown[] | null | undefined = tree): HeldValue {
    return new HeldValue(undefined, bytes, bytes.length, tree, snapshots);
  }

  /** The JSON bytes of the whole array. */
  get bytes(): Uint8Array {
    if (this.joined === undefined) {
      this.joined = joinArrays(this.parts!);
      this.parts = undefined;
    }
    return this.joined;
  }

  /** What it counts against `cacheBytes`: its bytes, three times over with a parsed copy or snapshots. */
  get cost(): number {
    return this.tree || this.snapshots ? 3 * this.length : this.length;
  }

  /** This array with the elements of `more` (a JSON array) appended, without copying the bytes held so far. */
  append(more: Uint8Array, tree: unknown[] | undefined, snapshots: unknown[] | null): HeldValue {
    const parts = this.joined !== undefined ? [this.joined, more] : [...this.parts!, more];
    const both = this.length > 2 && more.length > 2;
    return new HeldValue(parts, undefined, this.length + more.length - (both ? 1 : 2), tree, snapshots);
  }
}

export interface DecodeOptions {
  known?: KnownBlobs;
  tips?: boolean;
  /** The listing this read belongs to: chains decoded for newer checkpoints are reused for older ones. */
  page?: ListPage;
}

/** Chains a listing keeps at most (the newest decoded). */
const PAGE_CHAINS = 16;

/**
 * What one listing (`list`) keeps between the checkpoints it decodes. A listing walks a thread from the
 * newest checkpoint back; the chain of an older checkpoint is usually a prefix of a chain already
 * decoded (the same links, fewer of them), so its value is the first elements of that parsed value:
 * copied, not joined and parsed again. Only values core's serializer reads as plain `JSON.parse`.
 */
export class ListPage {
  private readonly chains = new Map<string, PageChain>();

  /** A copy of the value of the chain ending at `key`, when it is a prefix of a chain this page decoded. */
  prefix(chainId: string, key: string): unknown[] | undefined {
    const chain = this.chains.get(chainId);
    const at = chain?.index.get(key);
    if (chain === undefined || at === undefined) return undefined;
    let end = chain.ends[at];
    if (end === undefined) {
      // Counted down from the nearest link whose end is known (the newest always is).
      let k = at + 1;
      while (chain.ends[k] === undefined) k++;
      end = chain.ends[k]!;
      for (let i = k; i > at; i--) {
        const count = elementCount(chain.datas[i]);
        if (count === undefined || count > end) {
          this.chains.delete(chainId);
          return undefined;
        }
        end -= count;
        chain.ends[i - 1] = end;
      }
    }
    return copyElements(chain.full, end);
  }

  /** Keeps a decoded chain: its links' keys and bytes (oldest first) and a private copy of its value. */
  keep(chainId: string, keys: string[], datas: Uint8Array[], full: unknown[]): void {
    const ends = new Array<number | undefined>(keys.length);
    ends[keys.length - 1] = full.length;
    this.chains.delete(chainId);
    this.chains.set(chainId, { index: new Map(keys.map((k, i) => [k, i])), datas, ends, full });
    while (this.chains.size > PAGE_CHAINS) this.chains.delete(this.chains.keys().next().value as string);
  }
}

interface PageChain {
  /** Link key → its position (0: the base snapshot). */
  index: Map<string, number>;
  datas: Uint8Array[];
  /** Elements of the value up to and including each link, where counted. */
  ends: Array<number | undefined>;
  full: unknown[];
}

/** Elements of a JSON array's bytes; `undefined` when they are not one. */
function elementCount(data: Uint8Array): number | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
    return Array.isArray(parsed) ? parsed.length : undefined;
  } catch {
    return undefined;
  }
}

/** `channel \0 key`: the index of `KnownBlobs.values`. */
export function knownBlobId(channel: string, key: string): string {
  return `${channel}\u0000${key}`;
}

/** Keys made by `PersistSaver.getNextVersion` (12 digits, `.`, 8 random base-36 characters), or chains based on one. */
const OWN_VERSION = /^\d{12}\.[0-9a-z]{8}(?:~|$)/;

/** Chain tips remembered per channel of a thread's namespace for `knownBlobs`. */
const TIPS_PER_CHANNEL = 2;

export interface LinearStorageOptions {
  /**
   * Store array channels that only grew (e.g. `messages`) as the appended items plus a reference to the
   * previous version, so a thread's storage grows linearly instead of quadratically.
   * @default true
   */
  enabled?: boolean;
  /**
   * A full snapshot is written after this many deltas, so a read rebuilds a channel from at most this
   * many + 1 blobs (fetched in the same query as the checkpoint). At most 1295.
   * @default 256
   */
  snapshotEvery?: number;
  /**
   * How many checkpoints (their channel keys and chain positions) and threads the codec remembers to
   * detect appends without reading.
   * @default 1000
   */
  cacheSize?: number;
  /**
   * Upper bound of the serialised bytes the codec keeps: the latest values of each thread's array
   * channels (two per channel), compared against the next version and offered to reads as known blobs.
   * The least recently used threads are forgotten first; a forgotten value only costs one read.
   * @default 33554432 (32 MiB)
   */
  cacheBytes?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Checks `linearStorage` options, so a typo is a clear error instead of a silently clamped setting.
 * Throws `InvalidArgumentError` naming `source`.
 */
export function validateLinearStorageOptions(options: unknown, source: string): LinearStorageOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(source, "linearStorage must be an object");
  }
  const o = options as Record<string, unknown>;
  if (o.enabled !== undefined && typeof o.enabled !== "boolean") throw new InvalidArgumentError(source, `linearStorage.enabled must be a boolean, got ${typeof o.enabled}`);
  const integer = (name: string, min: number, max: number) => {
    const v = o[name];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)) {
      throw new InvalidArgumentError(source, `linearStorage.${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  };
  integer("snapshotEvery", 1, MAX_SNAPSHOT_EVERY);
  integer("cacheSize", 1, Number.MAX_SAFE_INTEGER);
  integer("cacheBytes", 0, Number.MAX_SAFE_INTEGER);
  return o as LinearStorageOptions;
}

/** A chain key, parsed: the link `seq` (1-based) of the chain whose full snapshot is stored under `base`. */
export interface ChainKey {
  base: string;
  seq: number;
  link: string;
}

/** The key of link `seq` of the chain based on `base`; `link` identifies the channel version it rebuilds. */
export function chainKey(base: string, seq: number, link: string): string {
  return `${base}${CHAIN_SEPARATOR}${seq.toString(36).padStart(SEQ_WIDTH, "0")}${CHAIN_SEPARATOR}${link}`;
}

/** Parses a blob key; `undefined` for a plain version key (a snapshot or any other blob). */
export function parseChainKey(key: string): ChainKey | undefined {
  const end = key.lastIndexOf(CHAIN_SEPARATOR);
  const mid = end > 0 ? key.lastIndexOf(CHAIN_SEPARATOR, end - 1) : -1;
  if (mid <= 0 || end - mid - 1 !== SEQ_WIDTH) return undefined;
  const seq = Number.parseInt(key.slice(mid + 1, end), 36);
  if (!Number.isInteger(seq) || seq < 1) return undefined;
  return { base: key.slice(0, mid), seq, link: key.slice(end + 1) };
}

/**
 * The lowest blob key a read of `key` may need: a chain's base snapshot (the text before the first `~`),
 * else `key` itself. Every link of the chain sorts (bytewise) between this bound and `key`, so a backend
 * with ordered keys fetches `[chainLowerBound(key), key]` of the channel in one range scan; it may return
 * more (sibling links of forked branches), the codec picks the path.
 */
export function chainLowerBound(key: string): string {
  const i = key.indexOf(CHAIN_SEPARATOR);
  return i < 0 ? key : key.slice(0, i);
}

/**
 * The key of the link before `key` in its chain, read from a stored delta's type; `undefined` when the
 * blob is not a delta (the chain's base snapshot, or a plain blob).
 */
export function previousChainKey(key: string, type: string): string | undefined {
  if (!type.startsWith(DELTA_BLOB_PREFIX)) return undefined;
  const parsed = parseChainKey(key);
  if (!parsed) return undefined;
  return parsed.seq === 1 ? parsed.base : chainKey(parsed.base, parsed.seq - 1, type.slice(DELTA_BLOB_PREFIX.length));
}

/**
 * Every blob of the chain ending at `key`, newest first, fetched one key at a time (for backends
 * without ordered keys: they walk the chain from the reference). Stops at a missing link: the reader
 * then reports it.
 */
export function walkChain(key: string, get: (key: string) => BlobRecord | undefined): BlobRecord[] {
  const tip = get(key);
  if (!tip) return [];
  const out = [tip];
  const parsed = tip.type.startsWith(DELTA_BLOB_PREFIX) ? parseChainKey(key) : undefined;
  if (!parsed) return out;
  let type = tip.type;
  for (let seq = parsed.seq - 1; seq >= 0; seq--) {
    const blob = get(seq === 0 ? parsed.base : chainKey(parsed.base, seq, type.slice(DELTA_BLOB_PREFIX.length)));
    if (!blob) break;
    out.push(blob);
    if (seq === 0 || !blob.type.startsWith(DELTA_BLOB_PREFIX)) break;
    type = blob.type;
  }
  return out;
}

/**
 * The blobs of one channel a backend returned, in its order, with an index by key built on first use
 * (the common read finds its tip last and needs no index).
 */
class ChannelBlobs {
  readonly list: BlobRecord[] = [];
  private index: Map<string, BlobRecord> | undefined;

  get(key: string): BlobRecord | undefined {
    const last = this.list[this.list.length - 1];
    if (last !== undefined && last.version === key && this.index === undefined) return last;
    if (this.index === undefined) {
      this.index = new Map();
      for (const b of this.list) this.index.set(b.version, b);
    }
    return this.index.get(key);
  }
}

const NO_BLOBS = new ChannelBlobs();

/** Grouped blobs per blob array: a backend hands the checkpoints of one page the same array, grouped once. */
const groupedBlobs = new WeakMap<readonly BlobRecord[], Map<string, ChannelBlobs>>();

function channelBlobs(blobs: readonly BlobRecord[]): Map<string, ChannelBlobs> {
  let grouped = groupedBlobs.get(blobs);
  if (grouped !== undefined) return grouped;
  grouped = new Map();
  for (const b of blobs) {
    let c = grouped.get(b.channel);
    if (c === undefined) grouped.set(b.channel, (c = new ChannelBlobs()));
    c.list.push(b);
  }
  if (blobs.length > 0) groupedBlobs.set(blobs, grouped);
  return grouped;
}

/**
 * A channel's blobs as the backend returned them, oldest first, when they are exactly the chain ending
 * at `key` (in order, or newest first), base snapshot first and each link in order: link `i` keyed `<base>~<i>~<id>`, its type naming the
 * previous link's id (as {@link walkChain} follows them). `undefined` otherwise.
 */
function linearChain(blobs: readonly BlobRecord[], key: string, parsed: ChainKey): readonly BlobRecord[] | undefined {
  if (blobs.length !== parsed.seq + 1 || blobs.length < 2) return undefined;
  // Backends that walk the chain from its tip return it newest first.
  const list = blobs[0].version === key ? [...blobs].reverse() : blobs;
  if (list[0].version !== parsed.base || list[list.length - 1].version !== key) return undefined;
  const base = parsed.base;
  const at = base.length;
  const idAt = at + SEQ_WIDTH + 2;
  let previousId = "";
  for (let i = 1; i < list.length; i++) {
    const { version, type } = list[i];
    if (
      version.charCodeAt(at) !== SEPARATOR_CODE ||
      version.charCodeAt(idAt - 1) !== SEPARATOR_CODE ||
      !version.startsWith(base) ||
      version.slice(at + 1, idAt - 1) !== i.toString(36).padStart(SEQ_WIDTH, "0") ||
      type.length !== previousId.length + 1 ||
      !type.startsWith(DELTA_BLOB_PREFIX) ||
      !type.endsWith(previousId)
    ) {
      return undefined;
    }
    previousId = version.slice(idAt);
    if (previousId.includes(CHAIN_SEPARATOR)) return undefined;
  }
  return list;
}

const SEPARATOR_CODE = CHAIN_SEPARATOR.charCodeAt(0);

/** SHA-256 of a string as base64url: the one-shot `crypto.hash` where Node has it (20.12+), else a Hash object. */
const sha256: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (text) => (crypto as unknown as { hash(algorithm: string, data: string, encoding: string): string }).hash("sha256", text, "base64url")
    : (text) => crypto.createHash("sha256").update(text).digest("base64url");

/** Link id of a channel version: short, fixed-length, determined by the version alone. */
function linkOf(version: string): string {
  return sha256(version).slice(0, 10);
}

interface ChannelState {
  /** The channel version. */
  version: string;
  /** Key of the blob that ends its chain (the version itself for a snapshot or a plain blob). */
  key: string;
  /** Base snapshot version and position of `key` in its chain (0: the snapshot). Unset: not extendable. */
  base?: string;
  seq?: number;
  /**
   * The full value of an array channel: a later value that starts with its elements only appended
   * some. Only while a state is being built: remembered states leave their values to the thread's
   * tips, so the codec holds the latest values, not every checkpoint's.
   */
  held?: HeldValue;
}

/** A value the codec holds in full, under the key of the blob that ends its chain. */
interface Tip {
  key: string;
  value: HeldValue;
}

/**
 * The default codec. Every changed channel version gets one blob. When a channel holds an array that
 * extends the parent checkpoint's array (its JSON starts with the parent's bytes), the blob holds only
 * the new elements, under a chain key naming the chain's base snapshot, its position and its version;
 * the delta's type names the previous link. A checkpoint references one key per channel, however long
 * the chain: storage stays linear in the thread's length, and a backend fetches a chain with one range
 * scan (or a server-side walk). A read concatenates the chain's bytes and parses once. Detection needs
 * the parent's bytes, which the codec remembers from its own puts and reads; a miss just
 * writes a full snapshot.
 */
export class LinearBlobCodec implements BlobCodec {
  private readonly states = new Map<string, Map<string, ChannelState>>();
  private readonly enabled: boolean;
  private readonly snapshotEvery: number;
  private readonly cacheSize: number;
  private readonly cacheBytes: number;
  private heldBytes = 0;
  /**
   * `threadId \0 ns` → channel → its latest values held in full (newest first); least recently used
   * thread first. What `encode` compares a new version against, and what `knownBlobs` offers.
   */
  private readonly tips = new Map<string, Map<string, Tip[]>>();
  /**
   * The serializer writes a plain JSON tree as `JSON.stringify` does and reads it back as `JSON.parse`
   * does (core's own serializer, not overridden), so held values keep a parsed copy: the next version is
   * compared against it instead of being serialised whole, and reads copy it instead of parsing.
   */
  private readonly plainTrees: boolean;

  constructor(
    protected readonly serde: SerializerProtocol,
    options: LinearStorageOptions = {},
  ) {
    this.enabled = options.enabled ?? true;
    this.snapshotEvery = Math.min(MAX_SNAPSHOT_EVERY, Math.max(1, Math.floor(options.snapshotEvery ?? 256)));
    this.cacheSize = Math.max(1, Math.floor(options.cacheSize ?? 1000));
    this.cacheBytes = Math.max(0, Math.floor(options.cacheBytes ?? 32 * 1024 * 1024));
    this.plainTrees =
      serde instanceof PersistSerializer && serde.dumpsTyped === PersistSerializer.prototype.dumpsTyped && serde.loadsTyped === PersistSerializer.prototype.loadsTyped;
  }

  /** The settings in effect, defaults filled in. */
  get options(): Required<LinearStorageOptions> {
    return { enabled: this.enabled, snapshotEvery: this.snapshotEvery, cacheSize: this.cacheSize, cacheBytes: this.cacheBytes };
  }

  private key(threadId: string, ns: string, checkpointId: string): string {
    return `${threadId}\u0000${ns}\u0000${checkpointId}`;
  }

  /**
   * Remembers a checkpoint's channel states (keys and chain positions only). With `threadNs`, their full
   * values become the thread's tips; without (reads a list passes), the values are dropped.
   */
  private remember(key: string, state: Map<string, ChannelState>, threadNs?: string): void {
    if (threadNs !== undefined) this.rememberTips(threadNs, state);
    for (const st of state.values()) if (st.held !== undefined) st.held = undefined;
    this.states.delete(key);
    this.states.set(key, state);
    while (this.states.size > this.cacheSize) this.states.delete(this.states.keys().next().value as string);
  }

  private rememberTips(threadNs: string, state: Map<string, ChannelState>): void {
    let channels = this.tips.get(threadNs);
    for (const [channel, st] of state) {
      if (!st.held) continue;
      if (!channels) channels = new Map();
      const list = channels.get(channel) ?? [];
      const same = list.findIndex((t) => t.key === st.key);
      if (same >= 0) this.heldBytes -= list.splice(same, 1)[0].value.cost;
      list.unshift({ key: st.key, value: st.held });
      this.heldBytes += st.held.cost;
      while (list.length > TIPS_PER_CHANNEL) this.heldBytes -= list.pop()!.value.cost;
      channels.set(channel, list);
    }
    if (!channels) return;
    this.tips.delete(threadNs);
    this.tips.set(threadNs, channels);
    while (this.tips.size > 1 && (this.tips.size > this.cacheSize || this.heldBytes > this.cacheBytes)) {
      this.dropTips(this.tips.keys().next().value as string);
    }
  }

  private dropTips(threadNs: string): void {
    const channels = this.tips.get(threadNs);
    if (!channels) return;
    for (const list of channels.values()) for (const t of list) this.heldBytes -= t.value.cost;
    this.tips.delete(threadNs);
  }

  /** The full value of a channel at `key`, when the thread's tips hold it. */
  private tip(threadNs: string, channel: string, key: string): Tip | undefined {
    return this.tips.get(threadNs)?.get(channel)?.find((t) => t.key === key);
  }

  /** A private copy of an array value read or written, when it is a plain JSON tree and worth holding. */
  private treeOf(value: unknown): unknown[] | undefined {
    return this.plainTrees && Array.isArray(value) ? (plainTree(value) as unknown[] | undefined) : undefined;
  }

  /** `value` (an array read or written, its JSON `bytes`) as a held value, with its parsed copy or element snapshots where it has them. */
  private holdValue(bytes: Uint8Array, value: unknown): HeldValue {
    const tree = this.treeOf(value);
    const snapshots = tree ?? (this.plainTrees && Array.isArray(value) ? (elementSnapshots(value) ?? null) : undefined);
    return HeldValue.of(bytes, tree, snapshots);
  }

  knownBlobs(threadId: string, checkpointNs: string): KnownBlobs | undefined {
    if (!this.enabled) return undefined;
    const channels = this.tips.get(`${threadId}\u0000${checkpointNs}`);
    if (!channels) return undefined;
    const refs: Array<[string, string]> = [];
    const values = new Map<string, HeldValue>();
    for (const [channel, list] of channels) {
      for (const t of list) {
        if (!OWN_VERSION.test(t.key)) continue;
        refs.push([channel, t.key]);
        values.set(knownBlobId(channel, t.key), t.value);
      }
    }
    return refs.length > 0 ? { refs, values } : undefined;
  }

  needsParent(threadId: string, checkpointNs: string, parentCheckpointId: string | null): boolean {
    if (parentCheckpointId === null) return false;
    const parent = this.states.get(this.key(threadId, checkpointNs, parentCheckpointId));
    if (!parent) return true;
    // An array channel whose value is no longer held must be read again to be extended.
    const threadNs = `${threadId}\u0000${checkpointNs}`;
    for (const [channel, st] of parent) if (st.base !== undefined && !this.tip(threadNs, channel, st.key)) return true;
    return false;
  }

  async encode(input: EncodeInput): Promise<EncodedBlobs> {
    const parent = input.parentCheckpointId !== null ? this.states.get(this.key(input.threadId, input.checkpointNs, input.parentCheckpointId)) : undefined;
    const state = new Map<string, ChannelState>();
    const threadNs = `${input.threadId}\u0000${input.checkpointNs}`;
    const records = await Promise.all(
      Object.entries(input.newVersions).map(async ([channel, v]): Promise<BlobRecord> => {
        const version = String(v);
        const has = Object.prototype.hasOwnProperty.call(input.values, channel) && input.values[channel] !== undefined;
        state.set(channel, { version, key: version });
        if (!has) return { channel, version, type: EMPTY_BLOB_TYPE, data: EMPTY };
        const value = input.values[channel];
        const prev = parent?.get(channel);
        const previous = prev !== undefined && this.enabled ? this.tip(threadNs, channel, prev.key)?.value : undefined;
        // An array that kept the held value's elements: only the new elements are serialised.
        const grown = previous?.snapshots && Array.isArray(value) && !version.includes(CHAIN_SEPARATOR) ? await appendTo(previous, value, this.serde) : undefined;
        let held: HeldValue;
        let data: Uint8Array | undefined;
        let type = "json";
        if (grown) held = grown.value;
        else {
          [type, data] = await this.serde.dumpsTyped(value);
          if (!this.enabled || !Array.isArray(value) || type !== "json" || data.length < 2 || data[data.length - 1] !== CLOSE || version.includes(CHAIN_SEPARATOR)) {
            return { channel, version, type, data };
          }
          held = this.holdValue(data, value);
        }
        if (prev?.base !== undefined && prev.seq !== undefined && previous && prev.seq < this.snapshotEvery) {
          let delta = grown?.more;
          if (data !== undefined && extendsArray(data, previous.bytes)) {
            // `[a,b` + `,c]` → store `[c]`: serialised elements are context-free JSON. From `[]`, `[` + `c]`.
            const start = previous.length === 2 ? 1 : previous.length;
            delta = new Uint8Array(data.length - start + 1);
            delta[0] = OPEN;
            delta.set(data.subarray(start), 1);
          }
          if (delta !== undefined) {
            const seq = prev.seq + 1;
            const key = chainKey(prev.base, seq, linkOf(version));
            const previousLink = prev.seq === 0 ? "" : (parseChainKey(prev.key)?.link ?? "");
            state.set(channel, { version, key, base: prev.base, seq, held });
            return { channel, version: key, type: DELTA_BLOB_PREFIX + previousLink, data: delta };
          }
        }
        state.set(channel, { version, key: version, base: version, seq: 0, held });
        return { channel, version, type, data: data ?? held.bytes };
      }),
    );
    const refs: Array<[string, string]> = [];
    for (const [channel, v] of Object.entries(input.checkpoint.channel_versions ?? {})) {
      const version = String(v);
      let known = state.get(channel);
      if (!known) {
        const inherited = parent?.get(channel);
        if (inherited && inherited.version === version) state.set(channel, (known = inherited));
      }
      refs.push([channel, known && known.version === version ? known.key : version]);
    }
    const key = this.key(input.threadId, input.checkpointNs, input.checkpointId);
    return { records, refs, commit: () => this.remember(key, state, threadNs) };
  }

  async decode(record: CheckpointRecord, blobs: readonly BlobRecord[], versions: ChannelVersions, options: DecodeOptions = {}): Promise<Record<string, unknown>> {
    const { known } = options;
    const byChannel = channelBlobs(blobs);
    const threadNs = `${record.threadId}\u0000${record.checkpointNs}`;
    const values: Record<string, unknown> = {};
    const state = new Map<string, ChannelState>();
    await Promise.all(
      record.blobRefs.map(async ([channel, key]) => {
        const version = versions[channel] !== undefined ? String(versions[channel]) : chainLowerBound(key);
        const own = byChannel.get(channel) ?? NO_BLOBS;
        const tip = own.get(key);
        let held = tip === undefined ? known?.values.get(knownBlobId(channel, key)) : undefined;
        if (held !== undefined) {
          if (held.tree) values[channel] = copyTree(held.tree);
          else {
            values[channel] = await this.serde.loadsTyped("json", held.bytes);
            if (options.tips && held.snapshots === undefined) held = this.holdValue(held.bytes, values[channel]);
          }
          const chain = parseChainKey(key);
          state.set(channel, { version, key, base: chain ? chain.base : key, seq: chain ? chain.seq : 0, held });
          return;
        }
        if (!tip || tip.type === EMPTY_BLOB_TYPE) {
          state.set(channel, { version, key });
          return;
        }
        if (!tip.type.startsWith(DELTA_BLOB_PREFIX)) {
          values[channel] = await this.serde.loadsTyped(tip.type, tip.data);
          const extendable = this.enabled && tip.type === "json" && tip.data.length >= 2 && tip.data[tip.data.length - 1] === CLOSE && Array.isArray(values[channel]);
          // Only a read of the thread's tips keeps the value (remember() drops it otherwise).
          const kept = extendable && options.tips ? this.holdValue(tip.data, values[channel]) : undefined;
          state.set(channel, extendable ? { version, key, base: key, seq: 0, held: kept } : { version, key });
          return;
        }
        const parsed = parseChainKey(key)!;
        const page = this.plainTrees ? options.page : undefined;
        const chainId = page && `${record.threadId}\u0000${record.checkpointNs}\u0000${channel}\u0000${parsed.base}`;
        const reused = page && page.prefix(chainId!, key);
        if (reused) {
          values[channel] = reused;
          state.set(channel, this.enabled ? { version, key, base: parsed.base, seq: parsed.seq } : { version, key });
          return;
        }
        // Oldest first. The backend's blobs are usually exactly the chain, in key order: checked link by
        // link without a lookup; anything else (sibling links of forks, another order) is walked by key.
        const links = linearChain(own.list, key, parsed) ?? walkChain(key, (k) => own.get(k)).reverse();
        const base = links[0];
        if (base.version !== parsed.base || base.type.startsWith(DELTA_BLOB_PREFIX) || links.length !== parsed.seq + 1) {
          throw new SerializationError(
            "@langgraph-persist/core",
            `Checkpoint ${record.checkpointId} of thread ${record.threadId} references blob ${channel}@${key}, whose chain is missing link ${parsed.seq + 1 - links.length} of ${parsed.seq}`,
          );
        }
        const datas = links.map((l) => l.data);
        const data = joinArrays(datas);
        values[channel] = await this.serde.loadsTyped(base.type, data);
        if (page && base.type === "json" && Array.isArray(values[channel]) && readsAsPlainJson(data)) {
          const full = values[channel] as unknown[];
          values[channel] = copyElements(full, full.length);
          page.keep(
            chainId!,
            links.map((l) => l.version),
            datas,
            full,
          );
        }
        const kept = options.tips ? this.holdValue(data, values[channel]) : undefined;
        state.set(channel, this.enabled ? { version, key, base: parsed.base, seq: parsed.seq, held: kept } : { version, key });
      }),
    );
    const key = this.key(record.threadId, record.checkpointNs, record.checkpointId);
    this.remember(key, state, options.tips ? threadNs : undefined);
    return values;
  }

  forgetThread(threadId: string): void {
    const prefix = `${threadId}\u0000`;
    for (const k of [...this.states.keys()]) if (k.startsWith(prefix)) this.states.delete(k);
    for (const k of [...this.tips.keys()]) if (k.startsWith(prefix)) this.dropTips(k);
  }

  reset(): void {
    this.tips.clear();
    this.states.clear();
    this.heldBytes = 0;
  }
}

/**
 * `value` as a held value when it holds `previous`'s elements unchanged (compared against their
 * snapshots), plus elements appended: only those are serialised (`more`, a JSON array; `undefined`
 * when nothing was appended) — plain ones with `JSON.stringify`, LangChain messages by the serializer.
 * `undefined` otherwise.
 */
async function appendTo(previous: HeldValue, value: unknown[], serde: SerializerProtocol): Promise<{ value: HeldValue; more?: Uint8Array } | undefined> {
  const snapshots = previous.snapshots!;
  if (value.length < snapshots.length) return undefined;
  for (let i = 0; i < snapshots.length; i++) if (!sameAsSnapshot(value[i], snapshots[i])) return undefined;
  if (value.length === snapshots.length) return { value: previous };
  const rest = value.slice(snapshots.length);
  const added = previous.tree ? (plainTree(rest) as unknown[] | undefined) : undefined;
  if (added !== undefined) {
    const tree = previous.tree!.concat(added);
    const more = utf8Bytes(JSON.stringify(added));
    return { value: previous.append(more, tree, tree), more };
  }
  const [type, more] = await serde.dumpsTyped(rest);
  if (type !== "json" || more.length < 2 || more[0] !== OPEN || more[more.length - 1] !== CLOSE) return undefined;
  const restSnapshots = elementSnapshots(rest);
  return { value: previous.append(more, undefined, restSnapshots ? snapshots.concat(restSnapshots) : null), more };
}

/** `[a,b]` + `[c]` + `[]` + `[d,e]` (oldest first) → `[a,b,c,d,e]`, with one allocation. */
function joinArrays(parts: readonly Uint8Array[]): Uint8Array {
  let length = 2;
  for (const d of parts) length += d.length - 1;
  const out = new Uint8Array(length);
  out[0] = OPEN;
  let at = 1;
  for (const d of parts) {
    if (d.length <= 2) continue; // `[]`: nothing to add
    if (at > 1) out[at++] = COMMA;
    out.set(d.subarray(1, d.length - 1), at);
    at += d.length - 2;
  }
  out[at++] = CLOSE;
  return out.subarray(0, at);
}

const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const COMMA = 0x2c; // ,

/** `data` is the JSON of `previous`'s array with elements appended: `[a,b` then `,c…]`, or `[]` then `[c…]`. */
function extendsArray(data: Uint8Array, previous: Uint8Array): boolean {
  const n = previous.length - 1; // without the closing `]`
  if (data.length <= previous.length) return false;
  if (n > 1 && data[n] !== COMMA) return false;
  return Buffer.compare(Buffer.from(data.buffer, data.byteOffset, n), Buffer.from(previous.buffer, previous.byteOffset, n)) === 0;
}
