import { createHash } from "node:crypto";
import type { ChannelVersions, Checkpoint, SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { SerializationError } from "./errors.js";
import type { BlobRecord, CheckpointRecord } from "./saver-types.js";

/** Blob type of a channel version that holds no value (the channel was cleared). */
export const EMPTY_BLOB_TYPE = "empty";
/**
 * Blob type prefix of an append-only delta: the blob holds only the items appended to the previous
 * version of an array channel; the inner serde type follows the prefix.
 */
export const APPEND_BLOB_PREFIX = "lgp:append:";

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
  /** Every `[channel, version]` a read must fetch to rebuild `channel_values`, in chain order. */
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
  decode(record: CheckpointRecord, blobs: readonly BlobRecord[]): Promise<Record<string, unknown>>;
  /** Drops what the codec remembers of a thread (after delete / prune). */
  forgetThread(threadId: string): void;
  /** Drops everything the codec remembers. */
  reset(): void;
}

export interface LinearStorageOptions {
  /**
   * Store array channels that only grew (e.g. `messages`) as the appended items plus a reference to the
   * previous version, so a thread's storage grows linearly instead of quadratically.
   * @default true
   */
  enabled?: boolean;
  /**
   * A full snapshot is written after this many deltas, so a read rebuilds a channel from at most this
   * many blobs (and a checkpoint references at most this many blobs per channel).
   * @default 32
   */
  snapshotEvery?: number;
  /**
   * How many checkpoints the codec remembers (per saver instance) to detect appends without reading.
   * @default 1000
   */
  cacheSize?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Blob "version" of an append delta: the channel version it rebuilds, marked as a delta. A version is
 * created by exactly one put (on one parent), so the key determines the delta's content, and it never
 * collides with a full snapshot of the same version written by a saver that could not build the delta.
 */
export function deltaBlobKey(version: string): string {
  return `${version}+`;
}

/** The channel version a blob key rebuilds. */
export function versionOfBlobKey(key: string): string {
  return key.endsWith("+") ? key.slice(0, -1) : key;
}

export function blobKey(channel: string, version: string): string {
  return `${channel}\u0000${version}`;
}

interface ChannelState {
  version: string;
  /** Blob keys from the last full snapshot to `version`, inclusive. */
  chain: string[];
  /**
   * Fingerprint of the JSON bytes of the full value at `version` without its closing `]`: a later
   * value whose bytes start the same way (then `,`) only appended elements. Known only for values this
   * codec serialised itself.
   */
  prefix?: { length: number; digest: string };
}

/**
 * The default codec. Every changed channel version gets one blob. When a channel holds an array that
 * extends the parent checkpoint's array (same element objects, more of them), the blob holds only the
 * new elements, and the checkpoint references the whole chain back to the last full snapshot; one
 * backend query still fetches everything a read needs. Detection needs the parent's values, which the
 * codec remembers from its own puts and reads (a miss just writes a full snapshot).
 */
export class LinearBlobCodec implements BlobCodec {
  private readonly states = new Map<string, Map<string, ChannelState>>();
  private readonly enabled: boolean;
  private readonly snapshotEvery: number;
  private readonly cacheSize: number;

  constructor(
    protected readonly serde: SerializerProtocol,
    options: LinearStorageOptions = {},
  ) {
    this.enabled = options.enabled ?? true;
    this.snapshotEvery = Math.max(1, Math.floor(options.snapshotEvery ?? 32));
    this.cacheSize = Math.max(1, Math.floor(options.cacheSize ?? 1000));
  }

  private key(threadId: string, ns: string, checkpointId: string): string {
    return `${threadId}\u0000${ns}\u0000${checkpointId}`;
  }

  private remember(key: string, state: Map<string, ChannelState>): void {
    this.states.delete(key);
    this.states.set(key, state);
    while (this.states.size > this.cacheSize) this.states.delete(this.states.keys().next().value as string);
  }

  needsParent(threadId: string, checkpointNs: string, parentCheckpointId: string | null): boolean {
    return this.enabled && parentCheckpointId !== null && !this.states.has(this.key(threadId, checkpointNs, parentCheckpointId));
  }

  async encode(input: EncodeInput): Promise<EncodedBlobs> {
    const parent = input.parentCheckpointId !== null ? this.states.get(this.key(input.threadId, input.checkpointNs, input.parentCheckpointId)) : undefined;
    const state = new Map<string, ChannelState>();
    const records = await Promise.all(
      Object.entries(input.newVersions).map(async ([channel, v]): Promise<BlobRecord> => {
        const version = String(v);
        const has = Object.prototype.hasOwnProperty.call(input.values, channel) && input.values[channel] !== undefined;
        if (!has) return { channel, version, type: EMPTY_BLOB_TYPE, data: EMPTY };
        const value = input.values[channel];
        const [type, data] = await this.serde.dumpsTyped(value);
        if (!this.enabled || !Array.isArray(value) || type !== "json" || data.length < 2 || data[data.length - 1] !== CLOSE) {
          return { channel, version, type, data };
        }
        const own = { length: data.length - 1, digest: digest(data, data.length - 1) };
        const prev = parent?.get(channel)?.prefix;
        const chain = parent?.get(channel)?.chain;
        if (prev && chain && chain.length < this.snapshotEvery && data.length > prev.length + 1 && data[prev.length] === COMMA && digest(data, prev.length) === prev.digest) {
          // `[a,b` + `,c]` → store `[c]`: the serialised elements are context-free JSON.
          const delta = new Uint8Array(data.length - prev.length);
          delta[0] = OPEN;
          delta.set(data.subarray(prev.length + 1), 1);
          // A delta is stored under its own key, naming its base: a blob key always denotes one content,
          // so re-putting a checkpoint (e.g. from a saver that never saw its parent, which writes a full
          // snapshot) can never pair a delta left by an earlier put with the wrong chain.
          const key = deltaBlobKey(version);
          state.set(channel, { version, chain: [...chain, key], prefix: own });
          return { channel, version: key, type: APPEND_BLOB_PREFIX + type, data: delta };
        }
        state.set(channel, { version, chain: [version], prefix: own });
        return { channel, version, type, data };
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
      if (known && known.version === version) for (const c of known.chain) refs.push([channel, c]);
      else refs.push([channel, version]);
    }
    const key = this.key(input.threadId, input.checkpointNs, input.checkpointId);
    return { records, refs, commit: this.enabled ? () => this.remember(key, state) : undefined };
  }

  async decode(record: CheckpointRecord, blobs: readonly BlobRecord[]): Promise<Record<string, unknown>> {
    const byKey = new Map<string, BlobRecord>();
    for (const b of blobs) byKey.set(blobKey(b.channel, b.version), b);
    const chains = new Map<string, string[]>();
    for (const [channel, version] of record.blobRefs) {
      const chain = chains.get(channel);
      if (chain) chain.push(version);
      else chains.set(channel, [version]);
    }
    const values: Record<string, unknown> = {};
    const state = new Map<string, ChannelState>();
    await Promise.all(
      [...chains].map(async ([channel, chain]) => {
        const last = byKey.get(blobKey(channel, chain[chain.length - 1]));
        if (!last || last.type === EMPTY_BLOB_TYPE) return;
        let value: unknown;
        for (const version of chain) {
          const blob = byKey.get(blobKey(channel, version));
          if (!blob) {
            throw new SerializationError(
              "@langgraph-persist/core",
              `Checkpoint ${record.checkpointId} of thread ${record.threadId} references blob ${channel}@${version}, which is missing`,
            );
          }
          if (blob.type.startsWith(APPEND_BLOB_PREFIX)) {
            const items = (await this.serde.loadsTyped(blob.type.slice(APPEND_BLOB_PREFIX.length), blob.data)) as unknown[];
            value = [...(Array.isArray(value) ? value : []), ...items];
          } else {
            value = blob.type === EMPTY_BLOB_TYPE ? undefined : await this.serde.loadsTyped(blob.type, blob.data);
          }
        }
        values[channel] = value;
        if (this.enabled && chain.length > 1) state.set(channel, { version: versionOfBlobKey(chain[chain.length - 1]), chain });
      }),
    );
    if (this.enabled) {
      const key = this.key(record.threadId, record.checkpointNs, record.checkpointId);
      // What this codec wrote itself knows more (byte prefixes) than what a read can tell: keep it.
      this.remember(key, this.states.get(key) ?? state);
    }
    return values;
  }

  forgetThread(threadId: string): void {
    const prefix = `${threadId}\u0000`;
    for (const k of [...this.states.keys()]) if (k.startsWith(prefix)) this.states.delete(k);
  }

  reset(): void {
    this.states.clear();
  }
}

const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const COMMA = 0x2c; // ,

function digest(data: Uint8Array, length: number): string {
  return createHash("sha256").update(data.subarray(0, length)).digest("base64");
}
