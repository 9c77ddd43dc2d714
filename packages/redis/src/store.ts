import {
  PersistStore,
  putValueJson,
  decodeNamespace,
  literalPrefix,
  matchesConditions,
  minutesToMs,
  namespacePrefixRange,
  rankAndPage,
  scoreVectors,
  selectNamespaces,
  startSweeper,
  type BatchPlan,
  type BatchResult,
  type PersistenceError,
  type PreparedPut,
  type PreparedSearch,
  type StoreCapabilities,
} from "@langgraph-persist/core";
import type { Item, SearchItem } from "@langchain/langgraph-checkpoint";
import { RedisConnection, type RedisArg } from "./connection.js";
import { StoreKeys } from "./keys.js";
import type { RedisStoreOptions } from "./options.js";
import { STORE_BATCH, STORE_REFRESH, STORE_SWEEP, allScripts } from "./scripts.js";

const SOURCE = "@langgraph-persist/redis";
const EMPTY = Buffer.alloc(0);
/** Index entries one script call of the sweep examines. */
const SWEEP_STEP = 1000;
/** Index entries one background sweep examines (it resumes there next time). */
const SWEEP_BUDGET = 20_000;

/** One search hit as the batch script returns it: ns, key, value JSON, createdAt, updatedAt, definite, ttl ms, vectors. */
type Hit = [Buffer, Buffer, Buffer, Buffer, Buffer, number, Buffer, Buffer];
type BatchReply = [Array<[Buffer, Buffer, Buffer] | null>, Array<[number, number, Hit[]]>, Buffer[][]];

function encodeVectors(put: PreparedPut): Buffer {
  const vectors = put.embeddings ?? [];
  const size = vectors.reduce((n, e) => n + e.vector.length, 0);
  if (size === 0) return EMPTY;
  const buf = Buffer.alloc(size * 4);
  let off = 0;
  for (const e of vectors) for (const x of e.vector) off = buf.writeFloatLE(x, off);
  return buf;
}

function decodeVectors(buf: Buffer, dims: number): Float32Array[] {
  const out: Float32Array[] = [];
  const n = Math.floor(buf.length / 4);
  const all = new Float32Array(n);
  for (let i = 0; i < n; i++) all[i] = buf.readFloatLE(i * 4);
  for (let off = 0; off + dims <= n; off += dims) out.push(all.subarray(off, off + dims));
  return out;
}

function prefixArgs(prefix: readonly string[]): [string, string] {
  const range = namespacePrefixRange(prefix);
  return range ? ["1", range.exact] : ["0", ""];
}

function toItem(ns: string, key: string, value: Buffer, createdAt: Buffer, updatedAt: Buffer): Item {
  return {
    namespace: decodeNamespace(ns),
    key,
    value: JSON.parse(value.toString("utf8")) as Record<string, unknown>,
    createdAt: new Date(Number(createdAt.toString("latin1"))),
    updatedAt: new Date(Number(updatedAt.toString("latin1"))),
  };
}

/**
 * A LangGraph store on plain Redis, Valkey or Redis Cluster, with core commands only (no RediSearch or
 * RedisJSON). Items are hashes with their own expiry; each namespace keeps its keys ordered by
 * `updatedAt` in a sorted set, and a sorted set of namespaces serves prefix searches and
 * `listNamespaces`. A whole `batch()` — reads, then puts — is one atomic Lua script: filters are evaluated
 * inside it before limit/offset; semantic search ranks the prefix's candidates by the index's
 * `distanceType` (core `similarity`) over the float32 vectors stored with each item.
 *
 * @example
 * const store = RedisStore.fromConnString("redis://127.0.0.1:6379", {
 *   index: { dims: 1536, embeddings: new OpenAIEmbeddings(), fields: ["text"] },
 * });
 * await store.setup();
 * const graph = builder.compile({ checkpointer, store });
 */
export class RedisStore extends PersistStore {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: StoreCapabilities = { ttl: true, vectorSearch: true, multiProcess: true };
  /** The ioredis client in use (the caller's, or the one created from `url`). */
  readonly client: RedisConnection["client"];
  private readonly conn: RedisConnection;
  private readonly keys: StoreKeys;
  private stopSweeper: (() => void) | undefined;
  private sweepCursor: [RedisArg, number] = ["", 0];

  constructor(options: RedisStoreOptions) {
    super(options);
    this.conn = new RedisConnection(SOURCE, options);
    this.client = this.conn.client;
    this.keys = new StoreKeys(this.conn.prefix);
  }

  /**
   * A store on its own connection to `url` (closed by `close()`).
   *
   * @example
   * const store = RedisStore.fromConnString("redis://127.0.0.1:6379", { keyPrefix: "myapp", ttl: { defaultTtl: 60 } });
   * await store.setup();
   */
  static fromConnString(url: string, options: Omit<RedisStoreOptions, "url" | "client"> = {}): RedisStore {
    return new RedisStore({ ...options, url });
  }

  protected override mapError(action: string, err: unknown): PersistenceError {
    return this.conn.mapError(action, err);
  }

  protected async _setup(): Promise<void> {
    try {
      await this.conn.checkServer();
      await this.conn.migrate();
      await this.conn.loadScripts(allScripts());
    } catch (err) {
      throw this.conn.mapError("setup()", err);
    }
    if (this.ttlConfig && !this.stopSweeper) {
      this.stopSweeper = startSweeper(this.ttlConfig.sweepIntervalMinutes, () => this.sweep(SWEEP_BUDGET));
    }
  }

  protected async _close(): Promise<void> {
    this.stopSweeper?.();
    await this.conn.close();
  }

  /**
   * Drops index entries of expired items (Redis already deleted the items themselves). Reads never need
   * it — they skip and drop what expired — it only keeps the indexes from growing. Each call examines at
   * most `budget` entries, resuming where the previous call stopped; the default finishes a whole pass.
   * The background sweeper calls it with a bounded budget. Returns the number of entries removed.
   */
  async sweep(budget = Number.POSITIVE_INFINITY): Promise<number> {
    this.assertOpen();
    let removed = 0;
    let left = budget;
    do {
      const step = Math.min(left, SWEEP_STEP);
      const [ns, offset, n] = (await this.conn.eval(STORE_SWEEP, [this.keys.namespaces()], [this.sweepCursor[0], this.sweepCursor[1], step])) as [Buffer, number, number];
      removed += n;
      left -= step;
      this.sweepCursor = [ns, offset];
      if (ns.length === 0) break;
    } while (left > 0);
    return removed;
  }

  protected async _executeBatch(plan: BatchPlan): Promise<BatchResult> {
    this.assertOpen();
    const empty = plan.gets.length + plan.searches.length + plan.listNamespaces.length + plan.puts.length === 0;
    if (empty) return { gets: [], searches: [], listNamespaces: [] };
    if (!this.isSetUp) await this.conn.ensureLayout();

    const args: RedisArg[] = [String(plan.now), plan.refreshOnRead ? "1" : "0"];
    args.push(plan.gets.length);
    for (const g of plan.gets) args.push(g.ns, g.key);
    args.push(plan.searches.length);
    for (const s of plan.searches) {
      const conditions = s.conditions.length === 0 ? "" : JSON.stringify(s.conditions.map((c) => ({ p: c.path, o: c.op, v: c.value })));
      args.push(s.queryVector ? "v" : "p", ...prefixArgs(s.namespacePrefix), s.limit, s.offset, conditions);
    }
    args.push(plan.listNamespaces.length);
    for (const l of plan.listNamespaces) args.push(...prefixArgs(literalPrefix(l.matchConditions)));
    args.push(plan.puts.length);
    for (const p of plan.puts) {
      if (p.value === null) {
        args.push(p.ns, p.key, "d", "", "", "k", EMPTY);
        continue;
      }
      // Core refused what JSON cannot hold before the batch reached the store.
      const json = putValueJson(p);
      const ttl = p.ttlMinutes === null ? "" : String(Math.max(1, minutesToMs(p.ttlMinutes)));
      args.push(p.ns, p.key, "p", json, ttl, p.embeddings === undefined ? "k" : "r", encodeVectors(p));
    }

    const [gets, searches, lists] = (await this.conn.eval(STORE_BATCH, [this.keys.namespaces()], args)) as BatchReply;
    const refresh: RedisArg[] = [];
    const result: BatchResult = {
      gets: plan.gets.map((g, i) => {
        const r = gets[i];
        return r ? toItem(g.ns, g.key, r[0], r[1], r[2]) : null;
      }),
      searches: plan.searches.map((s, i) => this.finishSearch(s, searches[i], plan.refreshOnRead ? refresh : undefined)),
      listNamespaces: plan.listNamespaces.map((l, i) => selectNamespaces(lists[i].map((ns) => decodeNamespace(ns.toString("utf8"))), l)),
    };
    if (refresh.length > 0) await this.conn.eval(STORE_REFRESH, [this.keys.namespaces()], refresh);
    return result;
  }

  /**
   * Turns a search's script reply into the page. Hits the script was unsure about (see scripts.ts) are
   * re-checked with the core filter rules before paging, so limit/offset always count exact matches.
   */
  private finishSearch(s: PreparedSearch, reply: [number, number, Hit[]], refresh: RedisArg[] | undefined): SearchItem[] {
    const [skipped, refreshed, hits] = reply;
    const candidates: Array<{ item: Item; score?: number; hit: Hit }> = [];
    for (const hit of hits) {
      const [ns, key, value, createdAt, updatedAt, definite] = hit;
      const item = toItem(ns.toString("utf8"), key.toString("utf8"), value, createdAt, updatedAt);
      if (definite !== 1 && !matchesConditions(item.value, s.conditions)) continue;
      const score = s.queryVector && this.index ? scoreVectors(decodeVectors(hit[7], this.index.dims), s.queryVector, this.index.distanceType) : undefined;
      candidates.push({ item, score, hit });
    }
    let page: SearchItem[];
    let pageHits: Hit[];
    if (s.queryVector) {
      page = rankAndPage(candidates, s);
      const byKey = new Map(candidates.map((c) => [`${c.hit[0].toString("latin1")}\u0000${c.hit[1].toString("latin1")}`, c.hit]));
      pageHits = page.map((p) => byKey.get(`${Buffer.from(p.namespace.join("."), "utf8").toString("latin1")}\u0000${Buffer.from(p.key, "utf8").toString("latin1")}`)!);
    } else {
      const start = s.offset - skipped;
      const slice = candidates.slice(start, start + s.limit);
      page = slice.map((c) => ({ ...c.item }));
      pageHits = slice.map((c) => c.hit);
    }
    if (refresh && refreshed !== 1) {
      for (const h of pageHits) if (h && h[6].length > 0) refresh.push(h[0], h[1]);
    }
    return page;
  }
}
