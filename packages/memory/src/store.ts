import {
  InvalidArgumentError,
  PersistStore,
  encodeNamespace,
  hasNamespacePrefix,
  isExpired,
  matchesConditions,
  minutesToMs,
  scoreVectors,
  topRanked,
  selectNamespaces,
  startSweeper,
  validateNamespace,
  READ_NAMESPACE_RULE,
  putValueCopy,
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
  /** Every property of `value` is a primitive: a shallow copy is a full copy. */
  flat: boolean;
}

/**
 * A store that keeps items in process memory, with the full contract: filters, segment-safe
 * namespaces, semantic search (exact, scored by the index's `distanceType`), TTL.
 *
 * @example
 * const store = new InMemoryStore({ index: { dims: 1536, embeddings, fields: ["text"] } });
 * const graph = builder.compile({ checkpointer, store });
 */
export class InMemoryStore extends PersistStore {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: StoreCapabilities = { ttl: true, vectorSearch: true, multiProcess: false, importTimestamps: true };
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

  /**
   * One item by key, without building a batch plan: the same validation, expiry and `refreshOnRead`
   * as `batch([{ namespace, key }])`, and the caller gets a copy of the stored value.
   */
  override async get(namespace: string[], key: string): Promise<Item | null> {
    this.assertOpen();
    const validKey = typeof key === "string" && key !== "";
    const it = validKey && Array.isArray(namespace) ? this.data.get(encodeNamespace(namespace))?.get(key) : undefined;
    // Labels equal to a stored item's are valid; anything else is validated (and, when valid, a miss).
    if (it === undefined || !sameLabels(namespace, it.namespace)) {
      validateNamespace(namespace, SOURCE, READ_NAMESPACE_RULE);
      if (!validKey) throw new InvalidArgumentError(SOURCE, `Item key must be a non-empty string, got ${key === "" ? "an empty string" : typeof key}`);
      // A stored key never holds NUL (puts refuse it), so only a miss needs the check.
      if (key.includes("\u0000")) throw new InvalidArgumentError(SOURCE, "Item key cannot contain NUL characters (\\u0000)");
      return null;
    }
    if (it.expiresAt !== null) {
      const now = Date.now();
      if (isExpired(it.expiresAt, now)) return null;
      if (this.ttlConfig?.refreshOnRead && it.ttlMinutes !== null) it.expiresAt = now + minutesToMs(it.ttlMinutes);
    }
    return toItem(it);
  }

  protected async _executeBatch(plan: BatchPlan): Promise<BatchResult> {
    this.assertOpen();
    if (plan.gets.length === 0 && plan.searches.length === 0 && plan.listNamespaces.length === 0) {
      this.applyPuts(plan);
      return { gets: [], searches: [], listNamespaces: [] };
    }
    const { now } = plan;
    const live = (it: StoredItem | undefined) => liveItem(it, now);
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
    this.applyPuts(plan);
    return result;
  }

  private applyPuts(plan: BatchPlan): void {
    const { now } = plan;
    for (const p of plan.puts) {
      let items = this.data.get(p.ns);
      if (p.value === null) {
        items?.delete(p.key);
        if (items?.size === 0) this.data.delete(p.ns);
        continue;
      }
      if (!items) this.data.set(p.ns, (items = new Map()));
      const prev = liveItem(items.get(p.key), now);
      // Stored as its JSON round trip, so it reads back as on every other backend (a Date as its string).
      const value = putValueCopy(p);
      items.set(p.key, {
        namespace: p.namespace,
        key: p.key,
        value,
        createdAt: p.createdAt ?? prev?.createdAt ?? now,
        updatedAt: p.updatedAt ?? now,
        ttlMinutes: p.ttlMinutes,
        expiresAt: p.expiresAt,
        vectors: p.embeddings ? p.embeddings.map((e) => e.vector) : (prev?.vectors ?? []),
        flat: isFlat(value),
      });
    }
  }

  private runSearch(s: PreparedSearch, now: number, touched: Set<StoredItem>): SearchItem[] {
    // Candidates are the stored items themselves; only the returned page becomes (copied) Items.
    const candidates: Array<{ score?: number; stored: StoredItem }> = [];
    const distanceType = this.index?.distanceType;
    for (const items of this.data.values()) {
      let first = true;
      for (const it of items.values()) {
        if (first && !hasNamespacePrefix(it.namespace, s.namespacePrefix)) break;
        first = false;
        if (isExpired(it.expiresAt, now) || !matchesConditions(it.value, s.conditions)) continue;
        candidates.push({ score: s.queryVector ? scoreVectors(it.vectors, s.queryVector, distanceType) : undefined, stored: it });
      }
    }
    const ranked = topRanked(candidates, s.offset + s.limit, (c) => c.score, (c) => c.stored.updatedAt, (c) => c.stored.key, s.queryVector !== undefined);
    return ranked.slice(s.offset).map((c) => {
      touched.add(c.stored);
      const item = toItem(c.stored);
      return s.queryVector && c.score !== undefined ? { ...item, score: c.score } : item;
    });
  }
}

/** The item, unless it is missing or expired at `now`. */
function liveItem(it: StoredItem | undefined, now: number): StoredItem | undefined {
  return it && !isExpired(it.expiresAt, now) ? it : undefined;
}

/** The caller's copy of a stored item: changing it never changes the store. */
function toItem(it: StoredItem): Item {
  return {
    namespace: it.namespace.slice(),
    key: it.key,
    value: it.flat ? { ...it.value } : copyValue(it.value),
    createdAt: new Date(it.createdAt),
    updatedAt: new Date(it.updatedAt),
  };
}

function sameLabels(a: readonly unknown[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A plain object whose own properties are all primitives. */
function isFlat(value: Record<string, unknown>): boolean {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in value) {
    const v = value[k];
    if (typeof v === "object" && v !== null) return false;
  }
  return true;
}

/**
 * A deep copy, so callers never share (and mutate) stored values: plain objects, arrays and primitives
 * are copied directly (several times faster than `structuredClone` for JSON-like values); anything
 * else (Date, Map, typed arrays, ...) goes through `structuredClone`.
 */
function copyValue<T>(value: T): T {
  return copyPlain(value) as T;
}

function copyPlain(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyPlain(value[i]);
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const v = copyPlain((value as Record<string, unknown>)[k]);
    // An own "__proto__" key (JSON.parse makes those) stays a key, never becomes the prototype.
    if (k === "__proto__") Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}
