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

interface ThreadChains {
  /** channel → its latest tips, newest first. */
  channels: Map<string, Array<{ key: string; node: ChainNode }>>;
  /** Blob bytes added to this entry's chains (an upper bound of what it holds). */
  bytes: number;
}

/**
 * The delta chains a saver read or wrote recently, per thread and namespace: for each channel its latest
 * chain tips (a blob key and the chain from it). Blobs never change once stored (a key names one channel
 * version, and blobs are insert-if-absent), so a chain the saver already holds need not be read again: reads
 * tell the script these tips, and its walk stops when it reaches one of them. Bounded by thread count and
 * bytes: the least recently used threads are dropped first.
 */
export class ChainCache {
  private readonly threads = new Map<string, ThreadChains>();
  private bytes = 0;

  constructor(
    private readonly maxThreads: number,
    private readonly maxBytes: number,
  ) {}

  private static id(threadId: string, ns: string): string {
    return `${threadId}\u0000${ns}`;
  }

  /** The remembered tips of a thread's namespace, as `[channel, key, chain]`. */
  tips(threadId: string, ns: string): Array<[string, string, ChainNode]> {
    const entry = this.threads.get(ChainCache.id(threadId, ns));
    if (!entry) return [];
    const out: Array<[string, string, ChainNode]> = [];
    for (const [channel, tips] of entry.channels) for (const t of tips) out.push([channel, t.key, t.node]);
    return out;
  }

  /** Remembers the chain that ends at `node` (its blob is the tip); `added` is the size of the blobs new to the cache. */
  remember(threadId: string, ns: string, node: ChainNode, added: number): void {
    const id = ChainCache.id(threadId, ns);
    let entry = this.threads.get(id);
    if (entry) this.threads.delete(id);
    else entry = { channels: new Map(), bytes: 0 };
    this.threads.set(id, entry);
    entry.bytes += added;
    this.bytes += added;
    const { channel, version } = node.blob;
    const tips = (entry.channels.get(channel) ?? []).filter((t) => t.key !== version);
    tips.unshift({ key: version, node });
    if (tips.length > TIPS_PER_CHANNEL) tips.length = TIPS_PER_CHANNEL;
    entry.channels.set(channel, tips);
    while (this.threads.size > 1 && (this.threads.size > this.maxThreads || this.bytes > this.maxBytes)) {
      const [oldest, dropped] = this.threads.entries().next().value as [string, ThreadChains];
      this.threads.delete(oldest);
      this.bytes -= dropped.bytes;
    }
  }

  /** After a put: each blob that extends a remembered tip, or starts a chain, becomes a tip. */
  extend(threadId: string, ns: string, blobs: readonly BlobRecord[]): void {
    for (const b of blobs) {
      if (!chainable(b)) continue;
      if (!b.type.startsWith(DELTA_BLOB_PREFIX)) {
        this.remember(threadId, ns, { blob: b, next: undefined }, b.data.length);
        continue;
      }
      const previous = previousChainKey(b.version, b.type);
      const tip = this.threads
        .get(ChainCache.id(threadId, ns))
        ?.channels.get(b.channel)
        ?.find((t) => t.key === previous);
      if (tip) this.remember(threadId, ns, { blob: b, next: tip.node }, b.data.length);
    }
  }

  clear(): void {
    this.threads.clear();
    this.bytes = 0;
  }

  forgetThread(threadId: string): void {
    const prefix = `${threadId}\u0000`;
    for (const [id, entry] of [...this.threads]) {
      if (!id.startsWith(prefix)) continue;
      this.threads.delete(id);
      this.bytes -= entry.bytes;
    }
  }
}
