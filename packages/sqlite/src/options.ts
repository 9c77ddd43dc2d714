import type { PersistSaverOptions, PersistStoreOptions } from "@langgraph-persist/core";

/** How the adapter uses its SQLite connection. Shared by the saver and the store. */
export interface SqliteConnectionOptions {
  /**
   * How long a statement waits for another connection's write lock before failing with `BackendError`
   * (milliseconds). Applied to databases the adapter opens; a `Database` you pass keeps its own
   * `timeout`.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * Switch a file database the adapter opens to write-ahead logging, so readers never block the writer
   * and several processes can share the file. Ignored for `":memory:"` and for a `Database` you pass.
   * @default true
   */
  wal?: boolean;
  /**
   * Prefix of every table and index name, for sharing one database file with other data.
   * Letters, digits and `_` only.
   * @default ""
   */
  tablePrefix?: string;
}

/** Options of `SqliteSaver`. */
export interface SqliteSaverOptions extends PersistSaverOptions, SqliteConnectionOptions {}

/** Options of `SqliteStore`. */
export interface SqliteStoreOptions extends PersistStoreOptions, SqliteConnectionOptions {}

export interface ResolvedConnectionOptions {
  busyTimeoutMs: number;
  wal: boolean;
  tablePrefix: string;
}
