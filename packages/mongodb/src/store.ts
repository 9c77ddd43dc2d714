import {
  InvalidArgumentError,
  NotSetUpError,
  PersistStore,
  matchesConditions,
  putValueCopy,
  selectNamespaces,
  type BatchPlan,
  type BatchResult,
  type PersistenceError,
  type PreparedListNamespaces,
  type PreparedSearch,
  type StoreCapabilities,
} from "@langgraph-persist/core";
import type { Item, SearchItem } from "@langchain/langgraph-checkpoint";
import type { Collection, Document } from "mongodb";
import { Connection, mapMongoError, resolveConnection } from "./connection.js";
import { readValue } from "./escape.js";
import { SERVER_NOW, SOURCE, checkNamespaceLengths, storeCollections, storeIndexes, type Clock, type ItemDoc, type StoreCollections } from "./keys.js";
import { STORE_MIGRATIONS, applyMigrations, ensureCollections, ensureIndexes } from "./migrations.js";
import type { MongoDBStoreOptions } from "./options.js";
import { MAX_NUM_CANDIDATES, SCORE_FIELD, atlasSearchPipeline, getsQuery, listNamespacesPipeline, searchPipeline, vectorSearchSizes } from "./query.js";
import { planRefresh, planStorePuts, type WriteModel } from "./writes.js";

type ItemRow = ItemDoc & { [SCORE_FIELD]?: number | null };

const itemKey = (ns: string, key: string) => JSON.stringify([ns, key]);

function toItem(doc: ItemRow): Item {
  return { namespace: doc.namespace, key: doc.key, value: readValue(doc), createdAt: doc.created_at, updatedAt: doc.updated_at };
}

function toSearchItem(doc: ItemRow, ranked: boolean): SearchItem {
  const item: SearchItem = toItem(doc);
  const score = doc[SCORE_FIELD];
  if (ranked && typeof score === "number") item.score = score;
  return item;
}

const FIELD_PATH = /^[^.$][^.]*(\.[^.]+)*$/;

interface VectorSearchSettings {
  indexName: string;
  filterFields: string[];
  numCandidates?: number;
}

function resolveVectorSearch(options: MongoDBStoreOptions, hasIndex: boolean): VectorSearchSettings | undefined {
  const { vectorIndexName, vectorFilterFields, vectorNumCandidates } = options;
  if (vectorIndexName === undefined) {
    if (vectorFilterFields !== undefined || vectorNumCandidates !== undefined) {
      throw new InvalidArgumentError(SOURCE, "vectorFilterFields and vectorNumCandidates need vectorIndexName");
    }
    return undefined;
  }
  if (typeof vectorIndexName !== "string" || vectorIndexName === "") throw new InvalidArgumentError(SOURCE, "vectorIndexName must be a non-empty string");
  if (!hasIndex) throw new InvalidArgumentError(SOURCE, "vectorIndexName needs `index` (embeddings and dims) to be configured");
  const filterFields = vectorFilterFields ?? [];
  if (!Array.isArray(filterFields) || !filterFields.every((f) => typeof f === "string" && FIELD_PATH.test(f))) {
    throw new InvalidArgumentError(SOURCE, "vectorFilterFields must be an array of dotted value paths such as \"kind\" or \"profile.age\"");
  }
  if (vectorNumCandidates !== undefined && (!Number.isInteger(vectorNumCandidates) || vectorNumCandidates <= 0 || vectorNumCandidates > MAX_NUM_CANDIDATES)) {
    throw new InvalidArgumentError(
      SOURCE,
      `vectorNumCandidates must be an integer from 1 to ${MAX_NUM_CANDIDATES} (Atlas $vectorSearch's limit), got ${String(vectorNumCandidates)}`,
    );
  }
  return { indexName: vectorIndexName, filterFields: [...filterFields], numCandidates: vectorNumCandidates };
}

/**
 * A LangGraph store on MongoDB. One document per item: the namespace as labels and as its encoded
 * path (exact and segment-safe prefix matching on the `(ns, key)` index), the value, timestamps, the
 * expiry (a TTL index deletes expired items; reads hide them before that) and its vectors.
 *
 * Filters become one `$expr` over the value with core's semantics (numbers compare only with
 * numbers, strings with strings, deep equality for objects and arrays), applied before sorting and
 * paging. Semantic search ranks by the exact score of the index's `distanceType` (core `similarity`)
 * computed in the aggregation pipeline, or through Atlas `$vectorSearch` (candidates, then the same
 * exact score) with the filter as a pre-filter when `vectorIndexName` is set.
 *
 * @example
 * const store = MongoDBStore.fromConnString("mongodb://localhost:27017", {
 *   dbName: "agents",
 *   index: { dims: 1536, embeddings: new OpenAIEmbeddings(), fields: ["text"] },
 * });
 * await store.setup();
 * const graph = builder.compile({ checkpointer, store });
 */
export class MongoDBStore extends PersistStore {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: StoreCapabilities = { ttl: true, vectorSearch: true, multiProcess: true };
  /** Collection names of this store. */
  readonly collections: StoreCollections;
  protected readonly connection: Connection;
  private readonly vectorSearch: VectorSearchSettings | undefined;

  constructor(options: MongoDBStoreOptions) {
    super(options);
    const resolved = resolveConnection(options);
    this.vectorSearch = resolveVectorSearch(options, this.index !== undefined);
    this.collections = storeCollections(resolved.collectionPrefix);
    checkNamespaceLengths(resolved.dbName, { ...this.collections });
    this.connection = new Connection(resolved);
  }

  /**
   * A store that owns its client, created from a connection string.
   *
   * @example
   * const store = MongoDBStore.fromConnString(process.env.MONGODB_URL!, { dbName: "agents", ttl: { defaultTtl: 60 } });
   * await store.setup();
   */
  static fromConnString(url: string, options: Omit<MongoDBStoreOptions, "url" | "client"> = {}): MongoDBStore {
    return new MongoDBStore({ ...options, url });
  }

  /** The MongoClient in use (the caller's, or the one this store created). */
  get client() {
    return this.connection.client;
  }

  /** The database holding the collections. */
  get dbName(): string {
    return this.connection.dbName;
  }

  protected async _setup(): Promise<void> {
    try {
      await this.connection.detect();
      const { items, vectors, migrations } = this.collections;
      await ensureCollections(this.connection, this.vectorSearch ? [items, vectors, migrations] : [items, migrations]);
      await applyMigrations(this.connection, this.collections.migrations, "store", STORE_MIGRATIONS, this.collections);
      if (this.vectorSearch) {
        const specs = storeIndexes(this.collections, true);
        await ensureIndexes(this.connection, { [this.collections.vectors]: specs[this.collections.vectors] });
      }
    } catch (err) {
      throw this.mapError("setup()", err);
    }
  }

  protected async _close(): Promise<void> {
    await this.connection.close();
  }

  protected override mapError(action: string, err: unknown): PersistenceError {
    return mapMongoError(this.source, action, err, this.client);
  }

  private items(): Collection<ItemDoc> {
    return this.connection.collection<ItemDoc>(this.collections.items);
  }

  /**
   * Reads first, all in parallel and all against the state before the batch's puts (gets: one query
   * for the batch; each search and listNamespaces: one aggregation). Then one write: the TTL refresh of
   * what was read and every put, in a transaction where the deployment has them. Expiry is the
   * server's clock throughout (reads compare with `$$NOW`, puts and refreshes write `$$NOW` + TTL), as
   * the TTL index's deletions are; `created_at`/`updated_at` are the batch's time.
   */
  protected async _executeBatch(plan: BatchPlan): Promise<BatchResult> {
    this.assertOpen();
    if (!this.isSetUp) throw new NotSetUpError(this.source, "setup() has not run: call await store.setup() first");
    const now = new Date(plan.now);
    const [getRows, searchRows, namespaces] = await Promise.all([
      plan.gets.length > 0 ? this.items().find(getsQuery(plan.gets, SERVER_NOW), { projection: { embeddings: 0 } }).toArray() : Promise.resolve([]),
      Promise.all(plan.searches.map((s) => this.runSearch(s, SERVER_NOW))),
      Promise.all(plan.listNamespaces.map((l) => this.listNamespacesOf(l, SERVER_NOW))),
    ]);

    const byKey = new Map(getRows.map((d) => [itemKey(d.ns, d.key), d]));
    const gets = plan.gets.map((g) => {
      const d = byKey.get(itemKey(g.ns, g.key));
      return d ? toItem(d) : null;
    });

    const models: WriteModel[] = [];
    if (plan.refreshOnRead) {
      const written = new Set(plan.puts.map((p) => itemKey(p.ns, p.key)));
      const touched = new Map<string, { ns: string; key: string }>();
      for (const d of [...getRows, ...searchRows.flatMap((s) => s.rows)]) {
        const k = itemKey(d.ns, d.key);
        if (d.ttl_minutes !== null && d.ttl_minutes !== undefined && !written.has(k)) touched.set(k, { ns: d.ns, key: d.key });
      }
      const keys = [...touched.values()];
      for (const collection of this.vectorSearch ? [this.collections.items, this.collections.vectors] : [this.collections.items]) {
        const refresh = planRefresh(collection, keys);
        if (refresh) models.push(refresh);
      }
    }
    // Values are stored as their JSON round trip (a Date as its string), so they read back as on every other backend.
    const puts = plan.puts.map((p) => (p.value === null ? p : { ...p, value: putValueCopy(p) }));
    models.push(...planStorePuts(this.collections, puts, now, this.vectorSearch !== undefined));
    await this.connection.writeAtomically(models, { ordered: false });

    return { gets, searches: searchRows.map((s) => s.items), listNamespaces: namespaces };
  }

  private async runSearch(s: PreparedSearch, now: Clock): Promise<{ items: SearchItem[]; rows: ItemRow[] }> {
    if (s.limit === 0) return { items: [], rows: [] };
    const ranked = s.queryVector !== undefined;
    // Pages deeper than `$vectorSearch` can rank (offset + limit above its candidates) use the exact ranking.
    const atlas = ranked && this.vectorSearch !== undefined && vectorSearchSizes(s.offset + s.limit, this.vectorSearch.numCandidates) !== undefined;
    const distanceType = this.index?.distanceType ?? "cosine";
    const { pipeline, exact } = atlas
      ? atlasSearchPipeline(this.collections, s, now, { ...this.vectorSearch!, distanceType })
      : searchPipeline(s, now, distanceType);
    const source = atlas ? this.connection.collection(this.collections.vectors) : this.items();
    const cursor = source.aggregate<ItemRow>(pipeline, { allowDiskUse: true });
    let rows: ItemRow[];
    if (exact) {
      rows = await cursor.toArray();
    } else {
      // The filter was widened: re-check each candidate in sorted order, stop once the page is full.
      rows = [];
      let skipped = 0;
      try {
        for await (const d of cursor) {
          if (!matchesConditions(readValue(d), s.conditions)) continue;
          if (skipped < s.offset) {
            skipped++;
            continue;
          }
          rows.push(d);
          if (rows.length >= s.limit) break;
        }
      } finally {
        await cursor.close();
      }
    }
    return { items: rows.map((d) => toSearchItem(d, ranked)), rows };
  }

  private async listNamespacesOf(l: PreparedListNamespaces, now: Clock): Promise<string[][]> {
    const groups = await this.items().aggregate<{ _id: string[] }>(listNamespacesPipeline(l, now), { allowDiskUse: true }).toArray();
    return selectNamespaces(
      groups.map((g) => g._id),
      l,
    );
  }

  /**
   * Deletes expired items now (the TTL index does it within a minute anyway); returns how many.
   * Expiry is judged by the server's clock (`hello.localTime`), as the TTL index does, unless `now` is given.
   */
  async sweep(now?: Date): Promise<number> {
    this.assertOpen();
    try {
      const at = now ?? (await this.connection.serverTime());
      const res = await this.items().deleteMany({ expire_at: { $lte: at } });
      if (this.vectorSearch) await this.connection.collection(this.collections.vectors).deleteMany({ expire_at: { $lte: at } });
      return res.deletedCount;
    } catch (err) {
      throw this.mapError("sweep", err);
    }
  }
}

