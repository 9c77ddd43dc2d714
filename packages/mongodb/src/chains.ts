import { chainLowerBound } from "@langgraph-persist/core";
import type { BlobKey, CheckpointKey } from "./keys.js";

/**
 * Which blobs a checkpoint reference needs, as key ranges. A ref `[channel, key]` needs every blob of
 * its thread, namespace and channel whose key lies in `[chainLowerBound(key), key]`: the key itself
 * for a plain version, the base snapshot and every link for a delta chain (plus sibling links of
 * forked branches, which the codec ignores). Reads fetch these ranges from the blobs' `_id` index;
 * garbage collection keeps every blob inside one of them. Pure, so both are unit-tested without a server.
 */

/**
 * String order of MongoDB under the simple (binary) collation: UTF-8 bytes, i.e. code points. JS `<`
 * compares UTF-16 code units, which differs only when a surrogate (a code point above U+FFFF) meets a
 * unit in U+E000–U+FFFF.
 */
export function compareBytewise(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    // A surrogate starts a code point above U+FFFF: it sorts after every other unit.
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** A closed range of blob keys, `lower <= key <= upper` bytewise. */
export interface KeyRange {
  lower: string;
  upper: string;
}

/** The keys a read of `key` needs: `[chainLowerBound(key), key]` (a single key when it is plain). */
export function refRange(key: string): KeyRange {
  return { lower: chainLowerBound(key), upper: key };
}

/** The union of `ranges` as sorted, disjoint ranges (ranges that share a key are merged). */
export function mergeRanges(ranges: readonly KeyRange[]): KeyRange[] {
  const sorted = [...ranges].sort((a, b) => compareBytewise(a.lower, b.lower) || compareBytewise(a.upper, b.upper));
  const out: KeyRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && compareBytewise(r.lower, last.upper) <= 0) {
      if (compareBytewise(r.upper, last.upper) > 0) last.upper = r.upper;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** Whether `key` lies in one of `ranges` (sorted and disjoint, as `mergeRanges` returns them). */
export function inRanges(ranges: readonly KeyRange[], key: string): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  // The last range whose lower bound is <= key is the only one that can hold it.
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (compareBytewise(ranges[mid].lower, key) <= 0) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found >= 0 && compareBytewise(key, ranges[found].upper) <= 0;
}

/** The merged key ranges of one channel of one thread and namespace. */
export interface ChannelRanges {
  threadId: string;
  checkpointNs: string;
  channel: string;
  ranges: KeyRange[];
}

const channelKey = (threadId: string, checkpointNs: string, channel: string) => JSON.stringify([threadId, checkpointNs, channel]);

/**
 * Collects the refs of checkpoints and answers which blob keys they need, per thread, namespace and
 * channel. Ranges of one chain share their lower bound, so a page of checkpoints along one chain
 * collapses to a single range per channel.
 */
export class BlobRangeSet {
  private readonly channels = new Map<string, { threadId: string; checkpointNs: string; channel: string; ranges: KeyRange[]; merged: boolean }>();

  /** Adds the blobs `[channel, key]` of a checkpoint of `threadId`/`checkpointNs` needs. */
  add(threadId: string, checkpointNs: string, channel: string, key: string): void {
    const k = channelKey(threadId, checkpointNs, channel);
    let c = this.channels.get(k);
    if (!c) this.channels.set(k, (c = { threadId, checkpointNs, channel, ranges: [], merged: true }));
    c.ranges.push(refRange(key));
    c.merged = false;
  }

  /** Adds every ref of one checkpoint. */
  addRefs(threadId: string, checkpointNs: string, refs: Iterable<readonly [string, string]>): void {
    for (const [channel, key] of refs) this.add(threadId, checkpointNs, channel, key);
  }

  private rangesOf(c: { ranges: KeyRange[]; merged: boolean }): KeyRange[] {
    if (!c.merged) {
      c.ranges = mergeRanges(c.ranges);
      c.merged = true;
    }
    return c.ranges;
  }

  /** Every channel with its merged ranges, channels in the order they were first added. */
  groups(): ChannelRanges[] {
    return [...this.channels.values()].map((c) => ({ threadId: c.threadId, checkpointNs: c.checkpointNs, channel: c.channel, ranges: this.rangesOf(c) }));
  }

  /** Whether some added ref needs the blob `id` (reachability: a blob outside every range is garbage). */
  has(id: BlobKey): boolean {
    const c = this.channels.get(channelKey(id.thread_id, id.checkpoint_ns, id.channel));
    return c !== undefined && inRanges(this.rangesOf(c), id.version);
  }
}

/**
 * What garbage collection of one thread keeps: the remaining checkpoints, and every blob inside a
 * range one of their refs needs (so every link and base of a referenced chain stays).
 */
export class LiveSet {
  private readonly checkpoints = new Set<string>();
  readonly blobs = new BlobRangeSet();

  addCheckpoint(doc: { _id: CheckpointKey; blob_refs?: ReadonlyArray<readonly [string, string]> }): void {
    this.checkpoints.add(JSON.stringify([doc._id.thread_id, doc._id.checkpoint_ns, doc._id.checkpoint_id]));
    this.blobs.addRefs(doc._id.thread_id, doc._id.checkpoint_ns, doc.blob_refs ?? []);
  }

  /** Whether the checkpoint a write belongs to remains. */
  hasCheckpoint(threadId: string, checkpointNs: string, checkpointId: string): boolean {
    return this.checkpoints.has(JSON.stringify([threadId, checkpointNs, checkpointId]));
  }

  hasBlob(id: BlobKey): boolean {
    return this.blobs.has(id);
  }
}
