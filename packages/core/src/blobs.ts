import type { ChannelVersions, Checkpoint, SerializerProtocol } from "@langchain/langgraph-checkpoint";
import type { BlobRecord, CheckpointRecord } from "./saver-types.js";

/** Blob type of a channel version that holds no value (the channel was cleared). */
export const EMPTY_BLOB_TYPE = "empty";

export interface EncodeInput {
  threadId: string;
  checkpointNs: string;
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
  /** Every `[channel, version]` a read must fetch to rebuild `channel_values`. */
  refs: Array<[string, string]>;
}

/**
 * Splits a checkpoint's channel values into per-version blobs and merges them back. Lives once in core
 * so that every backend stores the same layout.
 */
export interface BlobCodec {
  encode(input: EncodeInput): Promise<EncodedBlobs>;
  /** Called after the backend stored `encoded` successfully. */
  commit(encoded: EncodedBlobs): void;
  decode(record: CheckpointRecord, blobs: readonly BlobRecord[]): Promise<Record<string, unknown>>;
  /** Drops cached knowledge of a thread (after delete / prune). */
  forgetThread(threadId: string): void;
  /** Drops all cached knowledge. */
  reset(): void;
}

const EMPTY = new Uint8Array(0);

export function blobKey(channel: string, version: string): string {
  return `${channel}\u0000${version}`;
}

/** One blob per changed channel version; a read fetches one blob per channel. */
export class PerVersionBlobCodec implements BlobCodec {
  constructor(protected readonly serde: SerializerProtocol) {}

  async encode(input: EncodeInput): Promise<EncodedBlobs> {
    const records = await Promise.all(
      Object.entries(input.newVersions).map(async ([channel, version]): Promise<BlobRecord> => {
        const has = Object.prototype.hasOwnProperty.call(input.values, channel) && input.values[channel] !== undefined;
        if (!has) return { channel, version: String(version), type: EMPTY_BLOB_TYPE, data: EMPTY };
        const [type, data] = await this.serde.dumpsTyped(input.values[channel]);
        return { channel, version: String(version), type, data };
      }),
    );
    const refs = Object.entries(input.checkpoint.channel_versions ?? {}).map(([c, v]) => [c, String(v)] as [string, string]);
    return { records, refs };
  }

  commit(): void {}

  async decode(record: CheckpointRecord, blobs: readonly BlobRecord[]): Promise<Record<string, unknown>> {
    const byKey = new Map<string, BlobRecord>();
    for (const b of blobs) byKey.set(blobKey(b.channel, b.version), b);
    const values: Record<string, unknown> = {};
    await Promise.all(
      record.blobRefs.map(async ([channel, version]) => {
        const blob = byKey.get(blobKey(channel, version));
        if (!blob || blob.type === EMPTY_BLOB_TYPE) return;
        values[channel] = await this.serde.loadsTyped(blob.type, blob.data);
      }),
    );
    return values;
  }

  forgetThread(): void {}
  reset(): void {}
}

