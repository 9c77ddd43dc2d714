import type { PoolClient } from "pg";
import { zeroNorm, type Names } from "./sql.js";

/**
 * One schema change. The position of a migration in its list is its version number: never reorder,
 * edit or remove an entry that has shipped, only append.
 */
export interface Migration {
  description: string;
  statements(n: Names): string[];
}

/**
 * Checkpointer tables.
 * - Text keys use the "C" collation: checkpoint ids order byte-wise (as LangGraph compares them), and
 *   blob keys range-scan byte-wise (delta chains, below), never depending on the database locale.
 * - One blob row per (thread, namespace, channel, key): checkpoints that share a channel version share
 *   its blob. `blob_refs` is a JSON object with one key per channel: a channel version, or a delta-chain
 *   key `<base>~<seq>~<link>` whose chain is every blob of the channel keyed in `[<base>, key]`; a read
 *   fetches each chain with one index range scan.
 * - Values stored once: the checkpoint's id and channel values are not inside its bytes, JSON metadata
 *   lives only in `metadata_json` (a `json` column keeps the exact text; `metadata` bytes are `NULL`
 *   unless the serializer is not JSON), and a `NULL` type means "json". A JSON checkpoint is stored
 *   packed (`checkpoint_type` NULL, see pack.ts): its fixed field names take one byte each.
 * - `lgp_threads` is the thread index: latest checkpoint per thread (for `listThreads`) and TTL expiry.
 */
export const SAVER_MIGRATIONS: Migration[] = [
  {
    description: "checkpoints, blobs, writes and the thread index",
    statements: (n) => [
      `CREATE TABLE ${n.checkpoints} (
        thread_id text COLLATE "C" NOT NULL,
        checkpoint_ns text COLLATE "C" NOT NULL,
        checkpoint_id text COLLATE "C" NOT NULL,
        parent_checkpoint_id text COLLATE "C",
        run_id text COLLATE "C",
        checkpoint_type text,
        checkpoint bytea NOT NULL,
        metadata_type text,
        metadata bytea,
        metadata_json json NOT NULL,
        blob_refs json NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
      )`,
      `CREATE INDEX ${n.ix("lgp_checkpoints_run_id_idx")} ON ${n.checkpoints} (run_id) WHERE run_id IS NOT NULL`,
      `CREATE TABLE ${n.blobs} (
        thread_id text COLLATE "C" NOT NULL,
        checkpoint_ns text COLLATE "C" NOT NULL,
        channel text COLLATE "C" NOT NULL,
        version text COLLATE "C" NOT NULL,
        type text NOT NULL,
        blob bytea NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
      )`,
      `CREATE TABLE ${n.writes} (
        thread_id text COLLATE "C" NOT NULL,
        checkpoint_ns text COLLATE "C" NOT NULL,
        checkpoint_id text COLLATE "C" NOT NULL,
        task_id text COLLATE "C" NOT NULL,
        idx integer NOT NULL,
        channel text NOT NULL,
        type text NOT NULL,
        blob bytea NOT NULL,
        task_path text NOT NULL DEFAULT '',
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
      )`,
      `CREATE TABLE ${n.threads} (
        thread_id text COLLATE "C" PRIMARY KEY,
        latest_checkpoint_ns text COLLATE "C",
        latest_checkpoint_id text COLLATE "C",
        expires_at timestamptz
      )`,
      `CREATE INDEX ${n.ix("lgp_threads_latest_idx")} ON ${n.threads} (latest_checkpoint_id DESC, thread_id DESC) WHERE latest_checkpoint_id IS NOT NULL`,
      `CREATE INDEX ${n.ix("lgp_threads_expires_idx")} ON ${n.threads} (expires_at) WHERE expires_at IS NOT NULL`,
    ],
  },
];

/**
 * Store tables. The namespace is stored encoded (labels joined by "."; labels cannot contain ".") in a
 * "C"-collated column, so "everything under a prefix" is one index range scan, whatever the labels
 * contain (`%`, `_`, `\`, ...).
 */
export const STORE_MIGRATIONS: Migration[] = [
  {
    description: "store items",
    statements: (n) => [
      `CREATE TABLE ${n.store} (
        prefix text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        value jsonb NOT NULL,
        escaped boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        ttl_minutes double precision,
        expires_at timestamptz,
        PRIMARY KEY (prefix, key)
      )`,
      `CREATE INDEX ${n.ix("lgp_store_expires_idx")} ON ${n.store} (expires_at) WHERE expires_at IS NOT NULL`,
    ],
  },
  {
    // Equality filters add a containment test (`value @> {"a":{"b":v}}`) this index answers (see
    // `compileFilter` in sql.ts); jsonb_path_ops keeps it small (it serves `@>` only).
    description: "store value index for equality filters",
    statements: (n) => [`CREATE INDEX ${n.ix("lgp_store_value_idx")} ON ${n.store} USING gin (value jsonb_path_ops)`],
  },
];

/**
 * Embeddings (only created when a store has an `index`, so stores without one never need pgvector).
 * The column is an unsized `vector` with its dimension count alongside: stores with different `dims`
 * can share the table, and each (dims, distance) pair gets its own partial HNSW index over
 * `embedding::vector(dims)` (created by `setup()`, see `sql.ts`).
 */
export const VECTOR_MIGRATIONS: Migration[] = [
  {
    description: "store embeddings",
    statements: (n) => [
      `CREATE TABLE ${n.vectors} (
        prefix text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        field text NOT NULL,
        dims integer NOT NULL,
        embedding ${n.vectorType()} NOT NULL,
        FOREIGN KEY (prefix, key) REFERENCES ${n.store} (prefix, key) ON DELETE CASCADE
      )`,
      `CREATE INDEX ${n.ix("lgp_store_vectors_item_idx")} ON ${n.vectors} (prefix, key)`,
    ],
  },
  {
    // A cosine HNSW index leaves zero vectors out (they have no direction); searches find them
    // through this index instead. It holds only zero-norm rows, so it stays empty in normal use.
    description: "store embeddings: index of zero vectors",
    statements: (n) => [`CREATE INDEX ${n.ix("lgp_store_vectors_zero_idx")} ON ${n.vectors} (prefix, key) WHERE ${zeroNorm(n, "embedding")}`],
  },
];

export type Component = "saver" | "store" | "store_vectors";

const LISTS: Record<Component, Migration[]> = { saver: SAVER_MIGRATIONS, store: STORE_MIGRATIONS, store_vectors: VECTOR_MIGRATIONS };

/**
 * Applies the missing migrations of `components` in one transaction, holding a transaction-scoped
 * advisory lock keyed by the schema: concurrent `setup()` calls (threads, processes, machines) run
 * one after the other, and each later one finds every version applied. No `CONCURRENTLY`: index
 * builds run inside the transaction.
 */
export async function applyMigrations(client: PoolClient, n: Names, components: Component[], extra?: () => Promise<void>): Promise<void> {
  await lockSchema(client, n);
  // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the database even when the schema
  // exists, so a role that owns its schema but may not create schemas could never set up.
  const { rowCount } = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [n.schemaName]);
  if (rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${n.schema}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${n.migrations} (
    component text NOT NULL,
    version integer NOT NULL,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
  )`);
  const { rows } = await client.query<{ component: string; version: number }>(`SELECT component, version FROM ${n.migrations} WHERE component = ANY($1)`, [components]);
  const applied = new Set(rows.map((r) => `${r.component}:${r.version}`));
  for (const component of components) {
    const list = LISTS[component];
    for (let version = 1; version <= list.length; version++) {
      if (applied.has(`${component}:${version}`)) continue;
      const migration = list[version - 1];
      for (const statement of migration.statements(n)) await client.query(statement);
      await client.query(`INSERT INTO ${n.migrations} (component, version, description) VALUES ($1, $2, $3)`, [component, version, migration.description]);
    }
  }
  await extra?.();
}

/**
 * Takes the setup lock of a schema for the rest of the transaction (re-entrant within a session, so
 * a caller may take it before `applyMigrations` does).
 */
export async function lockSchema(client: PoolClient, n: Names): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock(hashtext('langgraph-persist'), hashtext($1))", [n.schemaName]);
}

/** The newest version of each component, for tests and diagnostics. */
export const LATEST_VERSIONS: Record<Component, number> = {
  saver: SAVER_MIGRATIONS.length,
  store: STORE_MIGRATIONS.length,
  store_vectors: VECTOR_MIGRATIONS.length,
};
