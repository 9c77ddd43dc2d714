import {
  PersistStore,
  decodeNamespace,
  hasNamespacePrefix,
  isExpired,
  matchesConditions,
  minutesToMs,
  rankAndPage,
  scoreVectors,
  selectNamespaces,
  startSweeper,
  type BatchPlan,
  type BatchResult,
  type PreparedSearch,
  type StoreCapabilities,
} from "@langgraph-persist/core";
import type { Item, SearchItem } from "@langchain/langgraph-checkpoint";
import type { InMemoryStoreOptions } from "./options.js";

const SOURCE = "@langgraph-persist/memory";

/** Opaque in-memory store data, shareable between `InMemoryStore` instances. */
export class MemoryStoreData {
  /** @internal */
  readonly namespaces = new Map<string, Map<string, StoredItem>>();
}

interface StoredItem {
  namespace: string[];
  key: string;
  value: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  ttlMinutes: number | null;
  expiresAt: number | null;
  vectors: number[][];
}

/**
 * A store that keeps items in process memory, with the full contract: filters, segment-safe
 * namespaces, semantic search (exact cosine), TTL.
 *
 * @example
 * const store = new InMemoryStore({ index: { dims: 1536, embeddings, fields: ["text"] } });
 * const graph = builder.compile({ checkpointer, store });
 */
export class InMemoryStore extends PersistStore {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: StoreCapabilities = { ttl: true, vectorSearch: true, multiProcess: false };
  /** The items. Pass it as `data` to another `InMemoryStore` to get a second handle on the same items. */
  readonly items: MemoryStoreData;
  /** encoded namespace → key → item. */
  private readonly data: Map<string, Map<string, StoredItem>>;
  private readonly ownsData: boolean;
  private stopSweeper: (() => void) | undefined;

  constructor(options: InMemoryStoreOptions = {}) {
    super(options);
    this.ownsData = options.data === undefined;
    this.items = options.data ?? new MemoryStoreData();
    this.data = (this.items as unknown as { namespaces: Map<string, Map<string, StoredItem>> }).namespaces;
  }

  protected async _setup(): Promise<void> {
    if (this.ttlConfig) this.stopSweeper = startSweeper(this.ttlConfig.sweepIntervalMinutes, async () => this.sweep(Date.now()));
  }

  protected async _close(): Promise<void> {
    this.stopSweeper?.();
    if (this.ownsData) this.data.clear();
  }

  /** Deletes expired items; returns how many. */
  sweep(now = Date.now()): number {
    let n = 0;
    for (const [ns, items] of this.data) {
      for (const [key, item] of items) {
        if (isExpired(item.expiresAt, now)) {
          items.delete(key);
          n++;
        }
      }
      if (items.size === 0) this.data.delete(ns);
    }
    return n;
  }

  protected async _executeBatch(plan: BatchPlan): Promise<BatchResult> {
    this.assertOpen();
    const { now } = plan;
    const live = (it: StoredItem | undefined) => (it && !isExpired(it.expiresAt, now) ? it : undefined);
    const touched = new Set<StoredItem>();
    const result: BatchResult = {
      gets: plan.gets.map((g) => {
        const it = live(this.data.get(g.ns)?.get(g.key));
        if (it) touched.add(it);
        return it ? toItem(it) : null;
      }),
      searches: plan.searches.map((s) => this.runSearch(s, now, touched)),
      listNamespaces: plan.listNamespaces.map((l) => {
        const namespaces: string[][] = [];
        for (const items of this.data.values()) {
          for (const it of items.values()) {
            if (live(it)) {
              namespaces.push(it.namespace);
              break;
            }
          }
        }
        return selectNamespaces(namespaces, l);
      }),
    };
    if (plan.refreshOnRead) for (const it of touched) if (it.ttlMinutes !== null) it.expiresAt = now + minutesToMs(it.ttlMinutes);
    for (const p of plan.puts) {
      let items = this.data.get(p.ns);
      if (p.value === null) {
        items?.delete(p.key);
        if (items?.size === 0) this.data.delete(p.ns);
        continue;
      }
      if (!items) this.data.set(p.ns, (items = new Map()));
      const prev = live(items.get(p.key));
      items.set(p.key, {
        namespace: p.namespace,
        key: p.key,
        value: structuredClone(p.value),
        createdAt: prev?.createdAt ?? now,
        updatedAt: now,
        ttlMinutes: p.ttlMinutes,
        expiresAt: p.expiresAt,
        vectors: p.embeddings ? p.embeddings.map((e) => e.vector) : (prev?.vectors ?? []),
      });
    }
    return result;
  }

  private runSearch(s: PreparedSearch, now: number, touched: Set<StoredItem>): SearchItem[] {
    const candidates: Array<{ item: Item; score?: number; stored: StoredItem }> = [];
    for (const [ns, items] of this.data) {
      if (!hasNamespacePrefix(decodeNamespace(ns), s.namespacePrefix)) continue;
      for (const it of items.values()) {
        if (isExpired(it.expiresAt, now) || !matchesConditions(it.value, s.conditions)) continue;
        const score = s.queryVector ? scoreVectors(it.vectors, s.queryVector) : undefined;
        // Candidates share the stored value; only the returned page is copied.
        candidates.push({ item: { namespace: it.namespace, key: it.key, value: it.value, createdAt: new Date(it.createdAt), updatedAt: new Date(it.updatedAt) }, score, stored: it });
      }
    }
    const page = rankAndPage(candidates, s).map((p) => ({ ...p, namespace: [...p.namespace], value: structuredClone(p.value) }));
    const byKey = new Map(candidates.map((c) => [`${c.item.namespace.join(".")}\u0000${c.item.key}`, c.stored]));
    for (const p of page) {
      const st = byKey.get(`${p.namespace.join(".")}\u0000${p.key}`);
      if (st) touched.add(st);
    }
    return page;
  }
}

function toItem(it: StoredItem): Item {
  return { namespace: [...it.namespace], key: it.key, value: structuredClone(it.value), createdAt: new Date(it.createdAt), updatedAt: new Date(it.updatedAt) };
}
