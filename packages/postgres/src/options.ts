import type { PersistSaverOptions, PersistStoreOptions } from "@langgraph-persist/core";
import type { Pool, PoolConfig } from "pg";

/**
 * Where the adapter gets its connections:
 * - a `pg.Pool` — the caller owns it: `close()` leaves it open;
 * - a connection string or a `pg.PoolConfig` — the adapter creates its own pool and ends it on `close()`.
 */
export type PostgresConnection = Pool | string | PoolConfig;

/** Options shared by `PostgresSaver` and `PostgresStore`. */
export interface PostgresCommonOptions {
  /**
   * Schema holding the adapter's tables (created by `setup()` when missing). Any name is accepted: it is
   * always quoted. Use one schema per application (or per test run) to keep data apart.
   * @default "public"
   */
  schema?: string;
  /**
   * Send the hot statements (saver: `put`, `putWrites`, `getTuple`, `list` pages; store: `get`) as named
   * prepared statements: each connection parses and plans them once, then only binds and executes.
   *
   * Behind a pooler that cannot follow them (PgBouncer in transaction mode before 1.21, or without
   * `max_prepared_statements`) a named statement fails with SQLSTATE 26000 or 42P05 before it runs; the
   * adapter then sends it again unnamed, sends every later statement of that `pg.Pool` unnamed, and
   * emits one process warning (`LGP_PG_UNNAMED_STATEMENTS`). `false` sends them unnamed from the start
   * (no failed round trip, no warning): the setting for such a pooler.
   * @default true
   */
  preparedStatements?: boolean;
  /**
   * How long opening a connection may take — TCP, TLS and the server's answer to the startup message —
   * before the call fails with `TimeoutError` (`phase: "connect"`). It also bounds the wait for a free
   * connection when every connection of the pool is busy (pg's `connectionTimeoutMillis`). `0`: no limit.
   * Applies to a pool the adapter creates (from a connection string or a `PoolConfig`); a `pg.Pool` you
   * pass keeps its own settings. Order: this option, then `connectionTimeoutMillis` of a `PoolConfig`,
   * then `?connect_timeout=<seconds>` in the URL.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * How long one statement may wait for its answer before the call fails with `TimeoutError`
   * (`phase: "command"`; pg's client-side `query_timeout`, so a server that stops answering cannot hang a
   * call). `0`: no limit. `setup()` is not bounded by it (a migration may wait for another process's
   * setup or build an index for a long time). Applies to a pool the adapter creates; a `pg.Pool` you pass
   * keeps its own settings. Order: this option, then `query_timeout` of a `PoolConfig`, then
   * `?query_timeout=<ms>` in the URL.
   * @default 60000
   */
  queryTimeoutMs?: number;
}

/** Options of `PostgresSaver`. */
export interface PostgresSaverOptions extends PersistSaverOptions, PostgresCommonOptions {
  /**
   * Checkpoints fetched per round trip by `list()` (keyset pages, so a long thread is never held in
   * memory at once). `getDeltaChannelHistory` walks ancestors with the same page size.
   * @default 50
   */
  listPageSize?: number;
}

/** HNSW index parameters (pgvector). */
export interface HnswIndexOptions {
  type: "hnsw";
  /**
   * Maximum connections per layer (`m`).
   * @default 16
   */
  m?: number;
  /**
   * Candidate list size while building (`ef_construction`).
   * @default 64
   */
  efConstruction?: number;
  /**
   * Candidate list size while searching (`hnsw.ef_search`), set for the search statement only.
   * @default 40 (the pgvector default)
   */
  efSearch?: number;
  /**
   * pgvector 0.8 iterative index scans, set for the search statement only, so a filtered search keeps
   * scanning the graph until it has enough matches. `"off"` restores plain HNSW behaviour (a selective
   * filter may then return fewer results than exist).
   * @default "strict_order"
   */
  iterativeScan?: "strict_order" | "relaxed_order" | "off";
}

/** How the embedding column is indexed. */
export type VectorIndexOptions = HnswIndexOptions | { type: "none" };

/** Options of `PostgresStore`. */
export interface PostgresStoreOptions extends PersistStoreOptions, PostgresCommonOptions {
  /**
   * The pgvector index used by semantic search (only with `index`). `{ type: "none" }` searches exactly
   * (a scan of the candidate items), which is right for small stores or more than 2000 dimensions.
   * @default { type: "hnsw", m: 16, efConstruction: 64, iterativeScan: "strict_order" }
   */
  vectorIndex?: VectorIndexOptions;
  /**
   * With an HNSW index, the vector scan of a search reads `(offset + limit) × vectorOversampling` nearest
   * vectors before grouping them by item (an item can have several embedded fields).
   * @default 4
   */
  vectorOversampling?: number;
}
