import * as sqliteVec from "sqlite-vec";
import {
  CapabilityError,
  PersistStore,
  decodeNamespace,
  literalPrefix,
  matchesConditions,
  namespacePrefixRange,
  selectNamespaces,
  putValueJson,
  euclideanDistance,
  startSweeper,
  vectorToBytes,
  type BatchPlan,
  type BatchResult,
  type DistanceType,
  type PersistenceError,
  type PreparedPut,
  type PreparedSearch,
  type StoreCapabilities,
} from "@langgraph-persist/core";
import type { Item, SearchItem } from "@langchain/langgraph-checkpoint";
import { SqliteConnection, mapSqliteError, resolveConnectionOptions, type SqliteDatabase } from "./connection.js";
import { storeMigrations } from "./migrations.js";
import type { SqliteStoreOptions } from "./options.js";
import { namespacesSql, searchSql, storeSql, storeTableNames, type SearchQuery, type StoreStatements, type StoreTables } from "./sql.js";

const SOURCE = "@langgraph-persist/sqlite";
const NOT_SET_UP = "setup() has not run: call await store.setup() first";

interface ItemRow {
  ns: string;
  key: string;
  value: string;
  created_at: number;
  updated_at: number;
  ttl_minutes: number | null;
  score?: number | null;
  pos?: number;
}

/** Loads sqlite-vec (shipped in its npm package) unless the handle already has it. */
function loadVectorExtension(db: SqliteDatabase): void {
  try {
    db.prepare("SELECT vec_version()").get();
    return;
  } catch {
    // not loaded yet
  }
  try {
    sqliteVec.load(db);
  } catch (err) {
    throw new CapabilityError(SOURCE, `Semantic search needs the sqlite-vec extension, which could not be loaded: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

function toItem(row: ItemRow): Item {
  return {
    namespace: decodeNamespace(row.ns),
    key: row.key,
    value: JSON.parse(row.value) as Record<string, unknown>,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function blob(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The query as the statement binds it: float32 bytes (as stored vectors are) and their norm. */
function searchQuery(vector: number[], distanceType: DistanceType): SearchQuery {
  const f32 = Float32Array.from(vector);
  return { vector: blob(new Uint8Array(f32.buffer)), distanceType, norm: euclideanDistance(f32, new Float32Array(f32.length)) };
}

/**
 * A LangGraph store on SQLite (better-sqlite3): JSON values with filters evaluated in SQL, segment-safe
 * namespace prefixes, exact semantic search scored by the index's `distanceType` with `sqlite-vec`, and
 * per-item TTL.
 *
 * @example
 * const store = SqliteStore.fromConnString("./agent.db", {
 *   index: { dims: 1536, embeddings: new OpenAIEmbeddings(), fields: ["text"] },
 * });
 * await store.setup();
 * const graph = builder.compile({ checkpointer, store });
 */
export class SqliteStore extends PersistStore {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: StoreCapabilities = { ttl: true, vectorSearch: true, multiProcess: true, importTimestamps: true };
  private readonly connection: SqliteConnection;
  private readonly tables: StoreTables;
  private readonly sql: StoreStatements;
  private stopSweeper: (() => void) | undefined;

  /**
   * @param database a better-sqlite3 `Database` you own (the store never closes it), or a filename /
   *   `":memory:"` the store opens and closes.
   */
  constructor(database: SqliteDatabase | string, options: SqliteStoreOptions = {}) {
    super(options);
    const resolved = resolveConnectionOptions(SOURCE, options);
    this.tables = storeTableNames(resolved.tablePrefix);
    this.sql = storeSql(this.tables);
    this.connection = new SqliteConnection(SOURCE, database, resolved, this.index ? loadVectorExtension : undefined);
  }

  /**
   * A store on a database file it opens (and closes on `close()`).
   *
   * @example
   * const store = SqliteStore.fromConnString("./memories.db", { ttl: { defaultTtl: 60 } });
   * await store.setup();
   */
  static fromConnString(filename: string, options: SqliteStoreOptions = {}): SqliteStore {
    return new SqliteStore(filename, options);
  }

  protected override mapError(action: string, err: unknown): PersistenceError {
    return mapSqliteError(this.source, action, err, NOT_SET_UP);
  }

  protected async _setup(): Promise<void> {
    try {
      this.connection.migrate(this.tables.migrations, storeMigrations(this.tables));
    } catch (err) {
      throw this.mapError("setup()", err);
    }
    if (this.ttlConfig) this.stopSweeper = startSweeper(this.ttlConfig.sweepIntervalMinutes, async () => this.sweep());
  }

  protected async _close(): Promise<void> {
    this.stopSweeper?.();
    this.connection.close();
  }

  /** Deletes expired items (and their vectors); returns how many items. Runs on a timer when `ttl` is set. */
  async sweep(now = Date.now()): Promise<number> {
    this.assertOpen();
    try {
      return this.connection.write(() => {
        this.connection.stmt(this.sql.sweepVectors).run({ now });
        return this.connection.stmt(this.sql.sweepItems).run({ now }).changes;
      });
    } catch (err) {
      throw this.mapError("sweep", err);
    }
  }

  protected async _executeBatch(plan: BatchPlan): Promise<BatchResult> {
    this.assertOpen();
    // Everything that can fail without the database fails here, before any row is touched.
    const values = plan.puts.map((p) => (p.value === null ? null : this.serialize(p)));
    const refreshes = plan.refreshOnRead && (plan.gets.length > 0 || plan.searches.length > 0);
    // All gets share one statement; several read statements share one snapshot.
    const readStatements = (plan.gets.length > 0 ? 1 : 0) + plan.searches.length + plan.listNamespaces.length;
    const body = (): BatchResult => {
      const touched: Array<[string, string]> = [];
      const result: BatchResult = {
        gets: this.runGets(plan, touched),
        searches: plan.searches.map((s) => this.runSearch(s, plan.now, touched)),
        listNamespaces: plan.listNamespaces.map((l) => {
          const { sql, params } = namespacesSql(this.tables, namespacePrefixRange(literalPrefix(l.matchConditions)));
          const rows = this.connection.stmt(sql).all({ ...params, now: plan.now }) as Array<{ ns: string }>;
          return selectNamespaces(
            rows.map((r) => decodeNamespace(r.ns)),
            l,
          );
        }),
      };
      if (refreshes && touched.length > 0) this.connection.stmt(this.sql.refresh).run({ pairs: JSON.stringify(touched), now: plan.now });
      plan.puts.forEach((p, i) => this.applyPut(p, values[i], plan.now));
      return result;
    };
    if (plan.puts.length > 0 || refreshes) return this.connection.write(body);
    return readStatements > 1 ? this.connection.read(body) : body();
  }

  /** The value's JSON text. Core refused what JSON cannot hold before the batch reached the store. */
  private serialize(p: PreparedPut): string {
    return putValueJson(p);
  }

  private runGets(plan: BatchPlan, touched: Array<[string, string]>): Array<Item | null> {
    if (plan.gets.length === 0) return [];
    const out: Array<Item | null> = plan.gets.map(() => null);
    if (plan.gets.length === 1) {
      const g = plan.gets[0];
      const row = this.connection.stmt(this.sql.getOne).get({ ns: g.ns, key: g.key, now: plan.now }) as ItemRow | undefined;
      if (row) {
        out[0] = toItem(row);
        touched.push([row.ns, row.key]);
      }
      return out;
    }
    const pairs = JSON.stringify(plan.gets.map((g) => [g.ns, g.key]));
    for (const row of this.connection.stmt(this.sql.getMany).all({ pairs, now: plan.now }) as ItemRow[]) {
      out[row.pos!] = toItem(row);
      touched.push([row.ns, row.key]);
    }
    return out;
  }

  private runSearch(s: PreparedSearch, now: number, touched: Array<[string, string]>): SearchItem[] {
    const query = s.queryVector && this.index ? searchQuery(s.queryVector, this.index.distanceType) : undefined;
    const compiled = searchSql(this.tables, { range: namespacePrefixRange(s.namespacePrefix), conditions: s.conditions, limit: s.limit, offset: s.offset }, query);
    const params = { ...compiled.params, now };
    let rows: ItemRow[];
    if (compiled.exact) {
      rows = this.connection.stmt(compiled.sql).all(params) as ItemRow[];
    } else {
      // Part of the filter needs JS: the query returns a superset in rank order and paging happens here.
      rows = [];
      let skip = s.offset;
      if (s.limit > 0) {
        for (const row of this.connection.iterable(compiled.sql).iterate(params) as IterableIterator<ItemRow>) {
          if (!matchesConditions(JSON.parse(row.value), s.conditions)) continue;
          if (skip > 0) {
            skip--;
            continue;
          }
          rows.push(row);
          if (rows.length >= s.limit) break;
        }
      }
    }
    return rows.map((row) => {
      touched.push([row.ns, row.key]);
      const item = toItem(row);
      return query && row.score !== null && row.score !== undefined ? { ...item, score: row.score } : item;
    });
  }

  private applyPut(p: PreparedPut, json: string | null, now: number): void {
    const key = { ns: p.ns, key: p.key };
    if (json === null) {
      this.connection.stmt(this.sql.deleteItem).run(key);
      this.connection.stmt(this.sql.deleteVectors).run(key);
      return;
    }
    if (p.createdAt !== undefined || p.updatedAt !== undefined) {
      // importItems: the item's own timestamps, also over an item the store already holds.
      this.connection.stmt(this.sql.importUpsert).run({ ...key, value: json, createdAt: p.createdAt ?? now, updatedAt: p.updatedAt ?? now, ttlMinutes: p.ttlMinutes, expiresAt: p.expiresAt });
    } else this.connection.stmt(this.sql.upsert).run({ ...key, value: json, now, ttlMinutes: p.ttlMinutes, expiresAt: p.expiresAt });
    if (p.embeddings === undefined) return;
    this.connection.stmt(this.sql.deleteVectors).run(key);
    const insert = this.connection.stmt(this.sql.insertVector);
    p.embeddings.forEach((e, seq) => insert.run({ ...key, seq, field: e.field, embedding: blob(vectorToBytes(e.vector)) }));
  }
}
