import { DELTA_BLOB_PREFIX, parseChainKey, previousChainKey, type BlobRecord } from "@langgraph-persist/core";

/** A blob and the rest of its chain (the links before it, down to the base snapshot). Shared by the tips that extend it. */
export interface ChainNode {
  blob: BlobRecord;
  next: ChainNode | undefined;
}

/** The blobs of a chain, newest first. */
export function chainBlobs(node: ChainNode | undefined, out: BlobRecord[]): void {
  for (let n = node; n; n = n.next) out.push(n.blob);
}

/** Whether a blob can start or extend a delta chain: a JSON array (a base snapshot) or a delta. */
export function chainable(b: BlobRecord): boolean {
  if (b.type.startsWith(DELTA_BLOB_PREFIX)) return true;
  return b.type === "json" && b.data.length >= 2 && b.data[0] === 0x5b && parseChainKey(b.version) === undefined;
}

/** Tips remembered per channel of a thread's namespace. */
const TIPS_PER_CHANNEL = 2;

/**
 * The delta chains a saver read or wrote recently, per thread and namespace: for each channel its latest
 * chain tips (a blob key and the chain from it). Blobs never change once stored (a key names one channel
 * version, and blobs are insert-if-absent), so a chain the saver already holds need not be read again: reads
 * tell the script these tips, and its walk stops when it reaches one of them. Bounded: the least recently
 * used threads are dropped.
 */
export class ChainCache {
  private readonly threads = new Map<string, Map<string, Array<{ key: string; node: ChainNode }>>>();

  constructor(private readonly maxThreads: number) {}

  private static id(threadId: string, ns: string): string {
    return `${threadId}\u0000${ns}`;
  }

  /** The remembered tips of a thread's namespace, as `[channel, key, chain]`. */
  tips(threadId: string, ns: string): Array<[string, string, ChainNode]> {
    const channels = this.threads.get(ChainCache.id(threadId, ns));
    if (!channels) return [];
    const out: Array<[string, string, ChainNode]> = [];
    for (const [channel, tips] of channels) for (const t of tips) out.push([channel, t.key, t.node]);
    return out;
  }

  /** Remembers the chain that ends at `node` (its blob is the tip). */
  remember(threadId: string, ns: string, node: ChainNode): void {
    const id = ChainCache.id(threadId, ns);
    let channels = this.threads.get(id);
    if (channels) this.threads.delete(id);
    else channels = new Map();
    this.threads.set(id, channels);
    while (this.threads.size > this.maxThreads) this.threads.delete(this.threads.keys().next().value as string);
    const { channel, version } = node.blob;
    const tips = (channels.get(channel) ?? []).filter((t) => t.key !== version);
    tips.unshift({ key: version, node });
    if (tips.length > TIPS_PER_CHANNEL) tips.length = TIPS_PER_CHANNEL;
    channels.set(channel, tips);
  }

  /** After a put: each blob that extends a remembered tip, or starts a chain, becomes a tip. */
  extend(threadId: string, ns: string, blobs: readonly BlobRecord[]): void {
    for (const b of blobs) {
      if (!chainable(b)) continue;
      if (!b.type.startsWith(DELTA_BLOB_PREFIX)) {
        this.remember(threadId, ns, { blob: b, next: undefined });
        continue;
      }
      const previous = previousChainKey(b.version, b.type);
      const tip = this.threads
        .get(ChainCache.id(threadId, ns))
        ?.get(b.channel)
        ?.find((t) => t.key === previous);
      if (tip) this.remember(threadId, ns, { blob: b, next: tip.node });
    }
  }

  clear(): void {
    this.threads.clear();
  }

  forgetThread(threadId: string): void {
    const prefix = `${threadId}\u0000`;
    for (const id of [...this.threads.keys()]) if (id.startsWith(prefix)) this.threads.delete(id);
  }
}
