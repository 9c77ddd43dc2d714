import {
  CapabilityError,
  InvalidArgumentError,
  PersistStore,
  decodeNamespace,
  literalPrefix,
  matchesConditions,
  namespacePrefixRange,
  putValueJson,
  selectNamespaces,
  startSweeper,
  type BatchPlan,
  type BatchResult,
  type PersistenceError,
  type PreparedListNamespaces,
  type PreparedSearch,
  type StoreCapabilities,
} from "@langgraph-persist/core";
import type { Item, SearchItem } from "@langchain/langgraph-checkpoint";
import type { Pool, PoolClient } from "pg";
import { PgConnection, SOURCE, checkPrepared, checkSchema, mapPgError } from "./client.js";
import { applyMigrations, lockSchema, type Component } from "./migrations.js";
import type { HnswIndexOptions, PostgresConnection, PostgresStoreOptions } from "./options.js";
import { toJsonbText, unescapeJsonValue } from "./json.js";
import * as sql from "./sql.js";

const SWEEP_BATCH = 1000;
/** HNSW indexes `vector` columns of at most this many dimensions. */
const HNSW_MAX_DIMS = 2000;

const INSTALL_PGVECTOR =
  "Install pgvector on the server (https://github.com/pgvector/pgvector#installation: e.g. the postgresql-<version>-pgvector " +
  "package, or the pgvector/pgvector Docker image), then run CREATE EXTENSION vector as a role allowed to; " +
  "or remove `index` from the store options (a store without an index does not need pgvector).";

/**
 * The error for a `CREATE EXTENSION vector` that PostgreSQL refused: when the role may not create it
 * (42501) or the server does not have it (0A000, 58P01: no control file), a CapabilityError saying
 * what the operator has to do; anything else is mapped like every other failure of setup().
 */
export function vectorExtensionError(err: unknown, database: string, role: string): PersistenceError {
  const e = err as { code?: unknown; message?: unknown; hint?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const reported = `${typeof e?.message === "string" ? e.message : String(err)}${typeof e?.hint === "string" && e.hint !== "" ? `; ${e.hint}` : ""}`;
  if (code === "42501") {
    return new CapabilityError(
      SOURCE,
      `setup(): this store has an \`index\` (semantic search), which needs the pgvector extension in database "${database}", and role "${role}" may not create it (SQLSTATE 42501: ${reported}). ` +
        `Have a superuser run CREATE EXTENSION vector; in database "${database}" (once per database, e.g. psql -d "${database}" -c "CREATE EXTENSION vector"), then call setup() again; ` +
        "or remove `index` from the store options (a store without an index does not need pgvector).",
      { cause: err },
    );
  }
  if (code === "0A000" || code === "58P01") {
    return new CapabilityError(
      SOURCE,
      `setup(): this store has an \`index\` (semantic search), which needs the pgvector extension, and PostgreSQL cannot create it in database "${database}" because the server does not have it (SQLSTATE ${code}: ${reported}). ${INSTALL_PGVECTOR}`,
      { cause: err },
    );
  }
  return mapPgError("setup() (enabling pgvector: CREATE EXTENSION vector)", err, "store");
}

function valueOf(row: sql.StoreRow): Record<string, unknown> {
  return row.escaped ? unescapeJsonValue(row.value) : row.value;
}

function toItem(row: sql.StoreRow): Item {
  return { namespace: decodeNamespace(row.prefix), key: row.key, value: valueOf(row), createdAt: row.created_at, updatedAt: row.updated_at };
}

/**
 * A LangGraph store on PostgreSQL (`pg` ^8), with pgvector semantic search.
 *
 * `batch()` sends one statement for all gets, one per search, one per listNamespaces and one for all
 * puts; filters run inside SQL on `jsonb`; namespaces match segment by segment through an index range
 * (labels may contain `%`, `_`, `\`); item TTL in minutes with `refreshOnRead` and a sweeper.
 *
 * @example
 * const store = PostgresStore.fromConnString("postgres://user:pass@localhost:5432/app", {
 *   index: { dims: 1536, embeddings: new OpenAIEmbeddings(), fields: ["text"] },
 * });
 * await store.setup();
 * const graph = builder.compile({ checkpointer, store });
 */
export class PostgresStore extends PersistStore {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: StoreCapabilities = { ttl: true, vectorSearch: true, multiProcess: true, importTimestamps: true };

  /** The schema this store's tables live in. */
  readonly schema: string;
  private n: sql.Names;
  private readonly vectorIndex: Required<HnswIndexOptions> | { type: "none" };
  private readonly oversampling: number;
  private readonly conn: PgConnection;
  private readonly prepared: boolean;
  /** Whether the server's pgvector has iterative index scans (0.8+); learnt by `setup()`. */
  private iterativeScans = false;
  private stopSweeper: (() => void) | undefined;

  /**
   * @param connection a `pg.Pool` (yours: `close()` leaves it open), or a connection string / `PoolConfig`
   *   (the store creates a pool and ends it on `close()`).
   */
  constructor(connection: PostgresConnection, options: PostgresStoreOptions = {}) {
    super(options);
    this.schema = checkSchema(options.schema);
    this.n = sql.names(this.schema);
    this.vectorIndex = resolveVectorIndex(options.vectorIndex, this.index?.dims);
    const oversampling = options.vectorOversampling ?? 4;
    if (!Number.isInteger(oversampling) || oversampling < 1) {
      throw new InvalidArgumentError(SOURCE, `vectorOversampling must be a positive integer, got ${String(oversampling)}`);
    }
    this.oversampling = oversampling;
    this.prepared = checkPrepared(options.preparedStatements);
    this.conn = new PgConnection(connection, options);
  }

  /**
   * A store with its own pool, ended by `close()`.
   * @example
   * const store = PostgresStore.fromConnString(process.env.DATABASE_URL!, { ttl: { defaultTtl: 60 * 24 } });
   * await store.setup();
   */
  static fromConnString(url: string, options: PostgresStoreOptions = {}): PostgresStore {
    if (typeof url !== "string" || url === "") throw new InvalidArgumentError(SOURCE, "fromConnString: url must be a non-empty connection string");
    return new PostgresStore(url, options);
  }

  /** The pool statements go through (yours, or the one the store created). */
  get pool(): Pool {
    return this.conn.pool;
  }

  protected override mapError(action: string, err: unknown): PersistenceError {
    return mapPgError(action, err, "store", this.conn.timeouts);
  }

  protected async _setup(): Promise<void> {
    // What setup() was doing, for the error message if it fails.
    let step = "opening the setup transaction";
    try {
      await this.conn.transaction(async (client) => {
        step = "taking the setup lock";
        await lockSchema(client, this.n);
        const components: Component[] = ["store"];
        if (this.index) {
          step = "enabling pgvector";
          await this.prepareVector(client);
          components.push("store_vectors");
        }
        step = "applying the store migrations";
        await applyMigrations(client, this.n, components);
        if (this.index && this.vectorIndex.type === "hnsw") {
          const { m, efConstruction } = this.vectorIndex;
          const o = { distance: this.index.distanceType, dims: this.index.dims, m, efConstruction };
          step = `creating the HNSW index ${sql.hnswIndexName(o.distance, o.dims)}`;
          await client.query(sql.createHnswIndex(this.n, o));
        }
        step = "committing";
      }, { untimed: true });
    } catch (err) {
      throw mapPgError(`setup() (${step})`, err, "store", this.conn.timeouts);
    }
    if (this.ttlConfig) this.stopSweeper = startSweeper(this.ttlConfig.sweepIntervalMinutes, () => this.sweep());
  }

  /**
   * Makes sure pgvector is installed in the database and learns where (its objects get qualified).
   * When it is not, runs CREATE EXTENSION vector (in the schema search_path gives), which needs a
   * role allowed to create it: a superuser, as pgvector is not a trusted extension.
   */
  private async prepareVector(client: PoolClient): Promise<void> {
    let ext = await client.query<{ schema: string; version: string }>(sql.VECTOR_EXTENSION);
    if (ext.rows.length === 0) {
      const available = await client.query(sql.VECTOR_AVAILABLE);
      if (available.rows.length === 0) {
        throw new CapabilityError(SOURCE, `setup(): this store has an \`index\` (semantic search), which needs the pgvector extension, and this PostgreSQL server does not have it. ${INSTALL_PGVECTOR}`);
      }
      // Asked first: once CREATE EXTENSION fails, the transaction answers nothing more.
      const who = await client.query<{ database: string; role: string }>("SELECT current_database() AS database, current_user AS role");
      try {
        await client.query("CREATE EXTENSION IF NOT EXISTS vector");
      } catch (err) {
        throw vectorExtensionError(err, who.rows[0].database, who.rows[0].role);
      }
      ext = await client.query<{ schema: string; version: string }>(sql.VECTOR_EXTENSION);
    }
    const { schema, version } = ext.rows[0];
    this.n = sql.names(this.schema, schema);
    const [major, minor] = version.split(".").map((x) => Number.parseInt(x, 10));
    this.iterativeScans = major > 0 || minor >= 8;
  }

  protected async _close(): Promise<void> {
    this.stopSweeper?.();
    await this.conn.end();
  }

  /** Deletes every expired item; returns how many. Runs on a timer when `ttl` is set. */
  async sweep(): Promise<number> {
    this.assertOpen();
    try {
      let total = 0;
      for (;;) {
        const res = await this.conn.query(sql.sweepItems(this.n), [new Date(), SWEEP_BATCH]);
        total += res.rowCount ?? 0;
        if ((res.rowCount ?? 0) < SWEEP_BATCH) return total;
      }
    } catch (err) {
      throw mapPgError("sweep", err, "store", this.conn.timeouts);
    }
  }

  protected async _executeBatch(plan: BatchPlan): Promise<BatchResult> {
    const now = new Date(plan.now);
    const result: BatchResult = { gets: plan.gets.map(() => null), searches: [], listNamespaces: [] };
    // Reads first (concurrently, each on whatever connection the pool hands out), so they see the
    // state before this batch's puts; then every put in one statement.
    const reads: Array<Promise<void>> = [];
    if (plan.gets.length > 0) reads.push(this.runGets(plan, now, result));
    plan.searches.forEach((s, i) => reads.push(this.runSearch(s, plan, now).then((items) => void (result.searches[i] = items))));
    plan.listNamespaces.forEach((l, i) => reads.push(this.runListNamespaces(l, now).then((found) => void (result.listNamespaces[i] = found))));
    await Promise.all(reads);
    if (plan.puts.length > 0) await this.runPuts(plan, now);
    return result;
  }

  private async runGets(plan: BatchPlan, now: Date, result: BatchResult): Promise<void> {
    const q = sql.getItems(this.n, { prefixes: plan.gets.map((g) => g.ns), keys: plan.gets.map((g) => g.key), now, refresh: plan.refreshOnRead });
    // Two texts (with or without refreshing TTLs) serve every get: prepared, they are planned once per connection.
    const { rows } = await this.conn.execute<sql.StoreRow>(q.text, q.values, this.prepared);
    for (const row of rows) result.gets[Number(row.ord) - 1] = toItem(row);
  }

  private async runSearch(s: PreparedSearch, plan: BatchPlan, now: Date): Promise<SearchItem[]> {
    const input: sql.SearchInput = {
      range: namespacePrefixRange(s.namespacePrefix),
      conditions: s.conditions,
      limit: s.limit,
      offset: s.offset,
      now,
      refresh: plan.refreshOnRead,
    };
    if (s.queryVector && this.index) {
      const settings: Array<[string, string]> = [];
      if (this.vectorIndex.type === "hnsw") {
        if (this.iterativeScans && this.vectorIndex.iterativeScan !== "off") settings.push(["hnsw.iterative_scan", this.vectorIndex.iterativeScan]);
        if (this.vectorIndex.efSearch > 0) settings.push(["hnsw.ef_search", String(this.vectorIndex.efSearch)]);
      }
      // A zero query (in float32, as pgvector reads it) is equally far from everything under cosine
      // and inner product (every item scores 0): no nearest neighbours to ask an index for.
      const zeroQuery = this.index.distanceType !== "l2" && s.queryVector.every((x) => Math.fround(x) === 0);
      input.vector = {
        query: s.queryVector,
        dims: this.index.dims,
        distance: this.index.distanceType,
        mode: this.vectorIndex.type === "hnsw" && !zeroQuery ? "ann" : "exact",
        candidates: (s.offset + s.limit) * this.oversampling,
        settings,
      };
    }
    const scored = input.vector !== undefined;
    const asItem = (row: sql.StoreRow): SearchItem => (scored && row.score !== null && row.score !== undefined ? { ...toItem(row), score: row.score } : toItem(row));
    if (s.limit === 0) return [];
    const paged = sql.searchItems(this.n, input, true);
    if (paged.exactFilter) {
      const { rows } = await this.conn.query<sql.StoreRow>(paged.text, paged.values);
      return rows.map(asItem);
    }
    // A filter SQL can only narrow down (operands jsonb cannot represent exactly): fetch the superset
    // in rank order, re-check each row exactly, then page.
    if (input.vector) input.vector = { ...input.vector, mode: "exact" };
    const q = sql.searchItems(this.n, input, false);
    const { rows } = await this.conn.query<sql.StoreRow>(q.text, q.values);
    const page = rows.filter((r) => matchesConditions(valueOf(r), s.conditions)).slice(s.offset, s.offset + s.limit);
    if (plan.refreshOnRead && page.length > 0) {
      await this.conn.query(sql.refreshItems(this.n), [page.map((r) => r.prefix), page.map((r) => r.key), now]);
    }
    return page.map(asItem);
  }

  private async runListNamespaces(l: PreparedListNamespaces, now: Date): Promise<string[][]> {
    const lit = literalPrefix(l.matchConditions);
    const q = sql.listNamespaces(this.n, { range: namespacePrefixRange(lit), now });
    const { rows } = await this.conn.query<{ prefix: string }>(q.text, q.values);
    return selectNamespaces(
      rows.map((r) => decodeNamespace(r.prefix)),
      l,
    );
  }

  private async runPuts(plan: BatchPlan, now: Date): Promise<void> {
    const json = plan.puts.map((p) => (p.value === null ? null : toJsonbText(putValueJson(p))));
    const input: sql.PutItemsInput = {
      prefixes: plan.puts.map((p) => p.ns),
      keys: plan.puts.map((p) => p.key),
      values: json.map((j) => j?.text ?? null),
      escaped: json.map((j) => j?.escaped ?? false),
      ttlMinutes: plan.puts.map((p) => (p.value === null ? null : p.ttlMinutes)),
      expiresAt: plan.puts.map((p) => (p.expiresAt === null ? null : new Date(p.expiresAt))),
      now,
    };
    if (plan.puts.some((p) => p.createdAt !== undefined || p.updatedAt !== undefined)) {
      input.imported = {
        createdAt: plan.puts.map((p) => new Date(p.createdAt ?? plan.now)),
        updatedAt: plan.puts.map((p) => new Date(p.updatedAt ?? plan.now)),
      };
    }
    if (this.index) {
      const vectors: NonNullable<sql.PutItemsInput["vectors"]> = { reindex: [], prefixes: [], keys: [], fields: [], embeddings: [], dims: this.index.dims };
      for (const p of plan.puts) {
        vectors.reindex.push(p.embeddings !== undefined);
        for (const e of p.embeddings ?? []) {
          vectors.prefixes.push(p.ns);
          vectors.keys.push(p.key);
          vectors.fields.push(e.field);
          vectors.embeddings.push(JSON.stringify(e.vector));
        }
      }
      input.vectors = vectors;
    }
    const q = sql.putItems(this.n, input);
    await this.conn.query(q.text, q.values);
  }
}

function resolveVectorIndex(options: PostgresStoreOptions["vectorIndex"], dims: number | undefined): Required<HnswIndexOptions> | { type: "none" } {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new InvalidArgumentError(SOURCE, "vectorIndex must be { type: \"hnsw\", ... } or { type: \"none\" }");
  }
  const type = options?.type ?? "hnsw";
  if (type === "none") return { type: "none" };
  if (type !== "hnsw") throw new InvalidArgumentError(SOURCE, `vectorIndex.type must be "hnsw" or "none", got ${JSON.stringify(type)}`);
  const o = (options ?? { type: "hnsw" }) as HnswIndexOptions;
  // The ranges pgvector accepts.
  const int = (v: unknown, name: string, fallback: number, min: number, max: number) => {
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(SOURCE, `vectorIndex.${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
    return v;
  };
  const iterativeScan = o.iterativeScan ?? "strict_order";
  if (!["strict_order", "relaxed_order", "off"].includes(iterativeScan)) {
    throw new InvalidArgumentError(SOURCE, `vectorIndex.iterativeScan must be "strict_order", "relaxed_order" or "off", got ${JSON.stringify(iterativeScan)}`);
  }
  if (dims !== undefined && dims > HNSW_MAX_DIMS) {
    throw new InvalidArgumentError(SOURCE, `an HNSW index supports at most ${HNSW_MAX_DIMS} dimensions (index.dims is ${dims}); use vectorIndex: { type: "none" } for exact search`);
  }
  return {
    type: "hnsw",
    m: int(o.m, "m", 16, 2, 100),
    efConstruction: int(o.efConstruction, "efConstruction", 64, 4, 1000),
    efSearch: int(o.efSearch, "efSearch", 0, 1, 1000),
    iterativeScan,
  };
}
