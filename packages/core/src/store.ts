import {
  BaseStore,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from "@langchain/langgraph-checkpoint";
import { InvalidArgumentError, PersistenceError, reissue, toPersistenceError } from "./errors.js";
import { parseFilter, type FilterCondition } from "./filter.js";
import { READ_NAMESPACE_RULE, encodeNamespace, validateMatchPath, validateNamespace, validateNamespacePrefix, type NamespaceMatch, type NamespaceRuleOptions } from "./namespace.js";
import { expiresAt, validateTtlConfig, validateTtlMinutes, type TtlConfig } from "./ttl.js";
import { embedBatch, resolveIndexConfig, similarity, textsToEmbed, type DistanceType, type IndexConfig, type ResolvedIndexConfig } from "./embeddings.js";
import { Lifecycle } from "./lifecycle.js";
import { storeValueJson } from "./values.js";

/** A put operation that may carry its own TTL in minutes (`null` = never expires). */
export interface TtlPutOperation extends PutOperation {
  ttl?: number | null;
}

/** One item for `PersistStore.importItems`: the value with the timestamps and expiry it had elsewhere. */
export interface ImportItem {
  namespace: string[];
  key: string;
  value: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** Absolute expiry (epoch ms), or `null`/absent for none. */
  expiresAt?: number | null;
}

export interface PersistStoreOptions {
  /** Semantic search: embeddings model, dimensions and the fields to embed. Off when omitted. */
  index?: IndexConfig;
  /** Item expiry in minutes. Off when omitted. */
  ttl?: TtlConfig;
}

export interface StoreCapabilities {
  /** Per-item TTL, `refreshOnRead` and sweeping. */
  ttl: boolean;
  /** `search(prefix, { query })` ranks by embedding similarity when an `index` is configured. */
  vectorSearch: boolean;
  /** Several processes may share the data, so `setup()` is lock-protected. */
  multiProcess: boolean;
  /** `importItems` stores the given `createdAt`/`updatedAt` (a backend without it refuses `importItems`). */
  importTimestamps?: boolean;
}

export interface PreparedGet {
  namespace: string[];
  /** Encoded namespace (labels joined by `.`). */
  ns: string;
  key: string;
}

export interface PreparedSearch {
  namespacePrefix: string[];
  conditions: FilterCondition[];
  limit: number;
  offset: number;
  query?: string;
  /** Embedding of `query` when the store has an index. */
  queryVector?: number[];
}

export interface PreparedEmbedding {
  field: string;
  text: string;
  vector: number[];
}

export interface PreparedPut {
  namespace: string[];
  ns: string;
  key: string;
  /** `null` deletes the item. */
  value: Record<string, unknown> | null;
  /**
   * The value's JSON text, made while validating it (see `storeValueJson`). Absent for a delete and for
   * a flat value (only strings, finite numbers, booleans and `null`), whose `JSON.stringify` cannot fail.
   * What a backend stores is this text (or `JSON.stringify(value)`), never `value` itself.
   */
  json?: string;
  /** TTL in minutes, or `null` for none. */
  ttlMinutes: number | null;
  /**
   * Set only by `importItems`: the item's timestamps (epoch ms) to store instead of the batch's `now`
   * (`createdAt` also replaces the one an existing item has). Backends with `capabilities.importTimestamps` honour them.
   */
  createdAt?: number;
  updatedAt?: number;
  /** Absolute expiry (epoch ms) or `null`. */
  expiresAt: number | null;
  /**
   * Vectors to store for the item. `undefined`: the store has no index (leave vectors alone is not
   * needed: there are none). `[]`: indexing disabled for this item or no text found — remove old vectors.
   */
  embeddings?: PreparedEmbedding[];
}

export interface PreparedListNamespaces {
  matchConditions?: NamespaceMatch[];
  maxDepth?: number;
  limit: number;
  offset: number;
}

/** Everything one `batch()` call asks of the backend, validated and de-duplicated. */
export interface BatchPlan {
  /** Epoch ms used for every expiry decision of this batch. */
  now: number;
  /** Whether reads should extend the expiry of the items they return. */
  refreshOnRead: boolean;
  gets: PreparedGet[];
  searches: PreparedSearch[];
  listNamespaces: PreparedListNamespaces[];
  /** At most one put per (namespace, key): the last one of the batch. */
  puts: PreparedPut[];
}

export interface BatchResult {
  gets: Array<Item | null>;
  searches: SearchItem[][];
  listNamespaces: string[][][];
}

type Kind = "get" | "search" | "put" | "list";

function kindOf(op: Operation): Kind {
  if ("namespacePrefix" in op) return "search";
  if ("value" in op) return "put";
  if ("key" in op && "namespace" in op) return "get";
  if ("limit" in op || "offset" in op || "matchConditions" in op || "maxDepth" in op) return "list";
  throw new InvalidArgumentError("@langgraph-persist/core", `Unknown store operation: ${JSON.stringify(op)}`);
}

/**
 * The shared half of every langgraph-persist store. `batch()` validates every operation, keeps the
 * last put per key, computes all embeddings with one `embedDocuments` call (before any database
 * work), then hands the backend one plan: reads first (they see the state before the batch's
 * writes), then writes. Results come back in input order.
 */
export abstract class PersistStore extends BaseStore {
  abstract readonly capabilities: StoreCapabilities;
  protected abstract readonly source: string;
  protected readonly index: ResolvedIndexConfig | undefined;
  protected readonly ttlConfig: ReturnType<typeof validateTtlConfig> | undefined;
  private readonly lifecycle = new Lifecycle(() => this.source, "store");

  constructor(options: PersistStoreOptions = {}) {
    super();
    const source = (this.constructor as { SOURCE?: string }).SOURCE ?? "@langgraph-persist/core";
    this.index = resolveIndexConfig(options.index, source);
    this.ttlConfig = options.ttl ? validateTtlConfig(options.ttl, source) : undefined;
  }

  protected abstract _setup(): Promise<void>;
  protected abstract _close(): Promise<void>;
  /** Executes a plan: every read against the state before the batch, then every put atomically. */
  protected abstract _executeBatch(plan: BatchPlan): Promise<BatchResult>;

  async setup(): Promise<void> {
    return this.lifecycle.setup(() => this._setup());
  }

  async close(): Promise<void> {
    return this.lifecycle.close(() => this._close());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** LangGraph calls `start()` when a graph using the store starts: it makes sure `setup()` ran. */
  override async start(): Promise<void> {
    await this.setup();
  }

  /** LangGraph calls `stop()` when a run ends; the store stays usable until `close()`. */
  override stop(): void {}

  protected get isSetUp(): boolean {
    return this.lifecycle.isSetUp;
  }

  protected get closed(): boolean {
    return this.lifecycle.closed;
  }

  protected assertOpen(): void {
    this.lifecycle.assertOpen();
  }

  protected mapError(action: string, err: unknown): PersistenceError {
    return toPersistenceError(this.source, action, err);
  }

  /**
   * One item by key: `batch([{ namespace, key }])`. The namespace follows the read rule (`[]` and a
   * `langgraph` root are allowed and find nothing); a bad label rejects with our `InvalidNamespaceError`.
   */
  override async get(namespace: string[], key: string): Promise<Item | null> {
    return (await this.batch([{ namespace, key }]))[0];
  }

  /** Items under `namespacePrefix` (`[]`: every namespace): `batch([{ namespacePrefix, ... }])`. */
  override async search(
    namespacePrefix: string[],
    options: { filter?: Record<string, any>; limit?: number; offset?: number; query?: string } = {},
  ): Promise<SearchItem[]> {
    const { filter, limit = 10, offset = 0, query } = options;
    return (await this.batch([{ namespacePrefix, filter, limit, offset, query }]))[0];
  }

  /** Deletes one item: `batch([{ namespace, key, value: null }])`, under the read rule like `get`. */
  override async delete(namespace: string[], key: string): Promise<void> {
    await this.batch([{ namespace, key, value: null }]);
  }

  /** Namespaces matching `prefix` and `suffix` (`*` matches any one label), under the read rule. */
  override async listNamespaces(
    options: { prefix?: string[]; suffix?: string[]; maxDepth?: number; limit?: number; offset?: number } = {},
  ): Promise<string[][]> {
    const { prefix, suffix, maxDepth, limit = 100, offset = 0 } = options;
    const matchConditions: NamespaceMatch[] = [];
    if (prefix) matchConditions.push({ matchType: "prefix", path: prefix });
    if (suffix) matchConditions.push({ matchType: "suffix", path: suffix });
    return (await this.batch([{ matchConditions: matchConditions.length ? matchConditions : undefined, maxDepth, limit, offset }]))[0];
  }

  /**
   * `put` with an optional per-item TTL in minutes (`null` = never expires). The same validation,
   * embedding and storage as `batch([op])`, without the bookkeeping a batch of many operations needs.
   */
  override async put(namespace: string[], key: string, value: Record<string, any>, index?: false | string[], options?: { ttl?: number | null }): Promise<void> {
    const op: TtlPutOperation = { namespace, key, value, index };
    if (options && "ttl" in options) op.ttl = options.ttl;
    this.assertOpen();
    const now = Date.now();
    const plan: BatchPlan = { now, refreshOnRead: this.ttlConfig?.refreshOnRead ?? false, gets: [], searches: [], listNamespaces: [], puts: [] };
    const json = this.checkPut(op, {});
    plan.puts.push(this.preparePut(op, [...namespace], encodeNamespace(namespace), now, json));
    await this.embed(plan, [op]);
    try {
      await this._executeBatch(plan);
    } catch (err) {
      throw this.mapError("batch", err);
    }
  }

  /**
   * Writes items with the `createdAt`/`updatedAt` and expiry they had in another store (an import),
   * validated like `put` and embedded when the store has an index; one atomic write. Only on backends
   * whose `capabilities.importTimestamps` is true; others throw `InvalidArgumentError` (use `put`).
   * The TTL kept for `refreshOnRead` is the time left until `expiresAt`.
   */
  async importItems(items: ImportItem[]): Promise<void> {
    this.assertOpen();
    if (this.capabilities.importTimestamps !== true) throw new InvalidArgumentError(this.source, "importItems: this store cannot keep item timestamps (capabilities.importTimestamps is false); use put()");
    if (!Array.isArray(items)) throw new InvalidArgumentError(this.source, "importItems takes an array of items");
    if (items.length === 0) return;
    const now = Date.now();
    const plan: BatchPlan = { now, refreshOnRead: false, gets: [], searches: [], listNamespaces: [], puts: [] };
    const byKey = new Map<string, { put: PreparedPut; op: TtlPutOperation }>();
    for (const item of items) {
      const createdAt = item.createdAt instanceof Date ? item.createdAt.getTime() : NaN;
      const updatedAt = item.updatedAt instanceof Date ? item.updatedAt.getTime() : NaN;
      if (!Number.isFinite(createdAt) || !Number.isFinite(updatedAt)) throw new InvalidArgumentError(this.source, `importItems: createdAt and updatedAt of ${JSON.stringify(item.key)} must be valid Dates`);
      const expires = item.expiresAt ?? null;
      if (expires !== null && !Number.isFinite(expires)) throw new InvalidArgumentError(this.source, `importItems: expiresAt of ${JSON.stringify(item.key)} must be epoch milliseconds or null`);
      const op: TtlPutOperation = { namespace: item.namespace, key: item.key, value: item.value };
      const json = this.checkPut(op, {});
      const put = this.preparePut({ ...op, ttl: null }, [...item.namespace], encodeNamespace(item.namespace), now, json);
      put.createdAt = createdAt;
      put.updatedAt = updatedAt;
      if (expires !== null) {
        put.expiresAt = expires;
        put.ttlMinutes = Math.max((expires - now) / 60_000, 1 / 60_000);
      }
      byKey.delete(`${put.ns}\u0000${put.key}`); // the last one of a key wins, in its position
      byKey.set(`${put.ns}\u0000${put.key}`, { put, op });
    }
    const entries = [...byKey.values()];
    plan.puts = entries.map((e) => e.put);
    await this.embed(plan, entries.map((e) => e.op));
    try {
      await this._executeBatch(plan);
    } catch (err) {
      throw this.mapError("importItems", err);
    }
  }

  /**
   * Throws `InvalidNamespaceError`, `InvalidArgumentError` or `SerializationError` for a put operation that
   * cannot be stored; returns the value's JSON (`undefined` for a delete). `rule`: `{}` (strict) for a put,
   * the read rule for a delete in `batch()` (as `delete()` has it).
   */
  private checkPut(p: TtlPutOperation, rule: NamespaceRuleOptions): string | undefined {
    validateNamespace(p.namespace, this.source, rule);
    this.checkKey(p.key);
    if (p.value !== null && (typeof p.value !== "object" || Array.isArray(p.value))) {
      throw new InvalidArgumentError(this.source, `put value must be a plain object or null (delete), got ${Array.isArray(p.value) ? "an array" : typeof p.value}`);
    }
    if (p.index !== undefined && p.index !== false && !(Array.isArray(p.index) && p.index.every((f) => typeof f === "string"))) {
      throw new InvalidArgumentError(this.source, "put index must be false or an array of field paths");
    }
    if ("ttl" in p) validateTtlMinutes(p.ttl, this.source);
    // Last, so a value is only walked once everything else about the put is known to be valid.
    return p.value === null ? undefined : storeValueJson(p.value, this.source, () => `put ${JSON.stringify(p.key)} in ${JSON.stringify(p.namespace)}`);
  }

  /** The plan entry of a validated put: its TTL resolved against the store's default. */
  private preparePut(op: TtlPutOperation, namespace: string[], ns: string, now: number, json: string | undefined): PreparedPut {
    const ttlMinutes = op.value === null ? null : "ttl" in op ? (op.ttl ?? null) : (this.ttlConfig?.defaultTtl ?? null);
    const put: PreparedPut = { namespace, ns, key: op.key, value: op.value, ttlMinutes, expiresAt: expiresAt(now, ttlMinutes) };
    if (json !== undefined) put.json = json;
    return put;
  }

  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    this.assertOpen();
    if (!Array.isArray(operations)) throw new InvalidArgumentError(this.source, "batch() takes an array of operations");
    const now = Date.now();
    const plan: BatchPlan = { now, refreshOnRead: this.ttlConfig?.refreshOnRead ?? false, gets: [], searches: [], listNamespaces: [], puts: [] };
    const slots: Array<{ kind: Kind; index: number }> = [];
    const putsByKey = new Map<string, { op: TtlPutOperation; namespace: string[]; ns: string; json: string | undefined }>();
    for (const op of operations) {
      const kind = kindOf(op);
      if (kind === "get") {
        const g = op as GetOperation;
        this.checkReadNamespace(g.namespace);
        this.checkKey(g.key);
        slots.push({ kind, index: plan.gets.length });
        plan.gets.push({ namespace: [...g.namespace], ns: encodeNamespace(g.namespace), key: g.key });
      } else if (kind === "search") {
        const s = op as SearchOperation;
        validateNamespacePrefix(s.namespacePrefix, this.source);
        const limit = this.checkCount(s.limit ?? 10, "search limit");
        const offset = this.checkCount(s.offset ?? 0, "search offset");
        if (s.query !== undefined && s.query !== null && typeof s.query !== "string") {
          throw new InvalidArgumentError(this.source, "search query must be a string");
        }
        slots.push({ kind, index: plan.searches.length });
        plan.searches.push({ namespacePrefix: [...s.namespacePrefix], conditions: this.parseFilter(s.filter), limit, offset, query: s.query || undefined });
      } else if (kind === "list") {
        const l = op as ListNamespacesOperation;
        for (const c of l.matchConditions ?? []) {
          if (c.matchType !== "prefix" && c.matchType !== "suffix") {
            throw new InvalidArgumentError(this.source, `matchType must be "prefix" or "suffix", got ${JSON.stringify(c.matchType)}`);
          }
          validateMatchPath(c.path, this.source);
        }
        if (l.maxDepth !== undefined && l.maxDepth !== null && (!Number.isInteger(l.maxDepth) || l.maxDepth < 1)) {
          throw new InvalidArgumentError(this.source, `maxDepth must be a positive integer, got ${String(l.maxDepth)}`);
        }
        slots.push({ kind, index: plan.listNamespaces.length });
        plan.listNamespaces.push({
          matchConditions: l.matchConditions?.map((c) => ({ matchType: c.matchType, path: [...c.path] })),
          maxDepth: l.maxDepth ?? undefined,
          limit: this.checkCount(l.limit ?? 100, "listNamespaces limit"),
          offset: this.checkCount(l.offset ?? 0, "listNamespaces offset"),
        });
      } else {
        const p = op as TtlPutOperation;
        const json = this.checkPut(p, p.value === null ? READ_NAMESPACE_RULE : {});
        const ns = encodeNamespace(p.namespace);
        const mapKey = `${ns}\u0000${p.key}`;
        putsByKey.delete(mapKey); // re-insert so the map keeps the order of the last write
        putsByKey.set(mapKey, { op: p, namespace: [...p.namespace], ns, json });
        slots.push({ kind, index: -1 });
      }
    }

    for (const { op, namespace, ns, json } of putsByKey.values()) plan.puts.push(this.preparePut(op, namespace, ns, now, json));
    await this.embed(plan, [...putsByKey.values()].map((p) => p.op));

    let result: BatchResult;
    try {
      result = await this._executeBatch(plan);
    } catch (err) {
      throw this.mapError("batch", err);
    }
    return slots.map((s) => {
      if (s.kind === "get") return result.gets[s.index];
      if (s.kind === "search") return result.searches[s.index];
      if (s.kind === "list") return result.listNamespaces[s.index];
      return undefined;
    }) as OperationResults<Op>;
  }

  /** One `embedDocuments` call for every text of the batch's puts; `embedQuery` for each search query. */
  private async embed(plan: BatchPlan, putOps: TtlPutOperation[]): Promise<void> {
    if (!this.index) return;
    const index = this.index;
    const docs: string[] = [];
    const owners: Array<{ put: PreparedPut; field: string; text: string }> = [];
    plan.puts.forEach((put, i) => {
      if (put.value === null) return;
      const op = putOps[i];
      put.embeddings = [];
      if (op.index === false) return;
      const fields = Array.isArray(op.index) ? op.index : index.fields;
      for (const t of textsToEmbed(put.value, fields)) {
        owners.push({ put, field: t.field, text: t.text });
        docs.push(t.text);
      }
    });
    const queries = plan.searches.filter((s) => s.query !== undefined);
    if (docs.length === 0 && queries.length === 0) return;
    const vectors = await embedBatch(index, docs, queries.map((q) => q.query!), this.source);

    owners.forEach((o, i) => o.put.embeddings!.push({ field: o.field, text: o.text, vector: vectors.documents[i] }));
    queries.forEach((q, i) => {
      q.queryVector = vectors.queries[i];
    });
  }

  private parseFilter(filter: Record<string, unknown> | undefined): FilterCondition[] {
    try {
      return parseFilter(filter);
    } catch (err) {
      throw reissue(err, this.source);
    }
  }

  private checkReadNamespace(namespace: unknown): void {
    validateNamespace(namespace, this.source, READ_NAMESPACE_RULE);
  }

  private checkKey(key: unknown): void {
    if (typeof key !== "string" || key === "") {
      throw new InvalidArgumentError(this.source, `Item key must be a non-empty string, got ${key === "" ? "an empty string" : typeof key}`);
    }
    if (key.includes("\u0000")) throw new InvalidArgumentError(this.source, "Item key cannot contain NUL characters (\\u0000)");
  }

  private checkCount(n: unknown, what: string): number {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new InvalidArgumentError(this.source, `${what} must be a non-negative integer, got ${String(n)}`);
    }
    return n;
  }
}

/**
 * Best score (see `similarity`) of any of an item's vectors against the query, for the store's
 * `distanceType` (default cosine); items with no vectors score `undefined`.
 */
export function scoreVectors(vectors: ReadonlyArray<ArrayLike<number>>, query: ArrayLike<number>, distanceType: DistanceType = "cosine"): number | undefined {
  let best: number | undefined;
  for (const v of vectors) {
    const s = similarity(distanceType, v, query);
    if (best === undefined || s > best) best = s;
  }
  return best;
}

/**
 * Orders candidate items the way every store orders search results: by score (desc) when a query
 * vector was given — unscored items after scored ones — else by `updatedAt` desc; then pages.
 */
export function rankAndPage<T extends { item: Item; score?: number }>(candidates: T[], search: PreparedSearch): SearchItem[] {
  const ranked = topRanked(
    candidates,
    search.offset + search.limit,
    (c) => c.score,
    (c) => c.item.updatedAt.getTime(),
    (c) => c.item.key,
    search.queryVector !== undefined,
  );
  return ranked.slice(search.offset).map((c) => (search.queryVector && c.score !== undefined ? { ...c.item, score: c.score } : { ...c.item }));
}

/**
 * The first `count` candidates in search order (score desc when `byScore`, unscored last; then
 * `updatedAt` desc; then key). Selects with a bounded insertion list when `count` is small, so a
 * `limit: 10` search over many candidates does not sort them all.
 */
export function topRanked<T>(
  candidates: readonly T[],
  count: number,
  score: (c: T) => number | undefined,
  updatedAt: (c: T) => number,
  key: (c: T) => string,
  byScore: boolean,
): T[] {
  const before = (a: T, b: T): boolean => {
    if (byScore) {
      const sa = score(a);
      const sb = score(b);
      if (sa !== undefined && sb !== undefined && sa !== sb) return sa > sb;
      if (sa !== undefined && sb === undefined) return true;
      if (sa === undefined && sb !== undefined) return false;
    }
    const ua = updatedAt(a);
    const ub = updatedAt(b);
    if (ua !== ub) return ua > ub;
    return key(a) < key(b);
  };
  if (count <= 0) return [];
  if (count > 256 || count * 8 >= candidates.length) {
    return [...candidates].sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0)).slice(0, count);
  }
  const top: T[] = [];
  for (const c of candidates) {
    if (top.length === count && !before(c, top[count - 1])) continue;
    let i = top.length === count ? count - 1 : top.length;
    if (top.length < count) top.push(c);
    while (i > 0 && before(c, top[i - 1])) {
      top[i] = top[i - 1];
      i--;
    }
    top[i] = c;
  }
  return top;
}
