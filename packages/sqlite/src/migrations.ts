import { quoteIdent, type SaverTables, type StoreTables } from "./sql.js";

/**
 * Schema migrations. The position of a migration in its list is its version number (1-based): never
 * reorder or edit a released entry, append a new one. `setup()` applies the missing ones in a single
 * `BEGIN IMMEDIATE` transaction, which is the lock that makes concurrent setups from several processes
 * safe: the second one waits, then finds nothing left to do.
 */
export function saverMigrations(tables: SaverTables): string[] {
  const t = (k: keyof SaverTables) => quoteIdent(tables[k]);
  const i = (suffix: string) => quoteIdent(`${tables.checkpoints}_${suffix}`);
  return [
    // v1
    `CREATE TABLE ${t("checkpoints")} (
       thread_id TEXT NOT NULL,
       checkpoint_ns TEXT NOT NULL,
       checkpoint_id TEXT NOT NULL,
       parent_checkpoint_id TEXT,
       checkpoint_type TEXT NOT NULL,
       checkpoint BLOB NOT NULL,
       metadata_type TEXT NOT NULL,
       metadata BLOB NOT NULL,
       metadata_json TEXT NOT NULL,
       run_id TEXT,
       blob_refs TEXT NOT NULL,
       PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
     );
     -- list(thread) and list(all threads) read in index order: newest first without a sort.
     CREATE INDEX ${i("thread_idx")} ON ${t("checkpoints")} (thread_id, checkpoint_id DESC, checkpoint_ns);
     CREATE INDEX ${i("id_idx")} ON ${t("checkpoints")} (checkpoint_id DESC, thread_id, checkpoint_ns);
     CREATE INDEX ${i("run_idx")} ON ${t("checkpoints")} (run_id) WHERE run_id IS NOT NULL;
     -- One row per channel version: a step stores only the channels it changed.
     CREATE TABLE ${t("blobs")} (
       thread_id TEXT NOT NULL,
       checkpoint_ns TEXT NOT NULL,
       channel TEXT NOT NULL,
       version TEXT NOT NULL,
       type TEXT NOT NULL,
       data BLOB NOT NULL,
       PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
     );
     CREATE TABLE ${t("writes")} (
       thread_id TEXT NOT NULL,
       checkpoint_ns TEXT NOT NULL,
       checkpoint_id TEXT NOT NULL,
       task_id TEXT NOT NULL,
       idx INTEGER NOT NULL,
       channel TEXT NOT NULL,
       type TEXT NOT NULL,
       data BLOB NOT NULL,
       task_path TEXT NOT NULL DEFAULT '',
       PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
     );
     -- The thread index: latest checkpoint per thread (for listThreads) and the thread's expiry (TTL).
     CREATE TABLE ${t("threads")} (
       thread_id TEXT PRIMARY KEY,
       checkpoint_ns TEXT,
       checkpoint_id TEXT,
       expires_at INTEGER
     );
     CREATE INDEX ${quoteIdent(`${tables.threads}_latest_idx`)} ON ${t("threads")} (checkpoint_id DESC, thread_id) WHERE checkpoint_id IS NOT NULL;
     CREATE INDEX ${quoteIdent(`${tables.threads}_expiry_idx`)} ON ${t("threads")} (expires_at) WHERE expires_at IS NOT NULL;`,
    // v2: every table clustered on its primary key (WITHOUT ROWID): a put writes one b-tree per table
    // instead of a table plus a separate primary-key index, and reads find the row in the key lookup.
    [
      rebuild(
        tables.checkpoints,
        `thread_id TEXT NOT NULL,
         checkpoint_ns TEXT NOT NULL,
         checkpoint_id TEXT NOT NULL,
         parent_checkpoint_id TEXT, -- TEXT, or a BLOB relative to checkpoint_id (encoding.ts)
         checkpoint_type TEXT,
         checkpoint BLOB NOT NULL,
         metadata_type TEXT,
         metadata BLOB NOT NULL,
         metadata_json TEXT NOT NULL,
         run_id TEXT,
         blob_refs TEXT NOT NULL,
         PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)`,
        "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint, metadata_type, metadata, metadata_json, run_id, blob_refs",
      ),
      `-- list(thread) and list(all threads) read in index order: newest first without a sort.
       CREATE INDEX ${i("thread_idx")} ON ${t("checkpoints")} (thread_id, checkpoint_id DESC, checkpoint_ns);
       CREATE INDEX ${i("id_idx")} ON ${t("checkpoints")} (checkpoint_id DESC, thread_id, checkpoint_ns);
       CREATE INDEX ${i("run_idx")} ON ${t("checkpoints")} (run_id) WHERE run_id IS NOT NULL;`,
      // Keys are channel versions or chain keys (`<base>~<seq>~<link>`): a chain is one BINARY range of the key.
      rebuild(
        tables.blobs,
        `thread_id TEXT NOT NULL,
         checkpoint_ns TEXT NOT NULL,
         channel TEXT NOT NULL,
         version TEXT NOT NULL,
         type TEXT,
         data BLOB NOT NULL,
         PRIMARY KEY (thread_id, checkpoint_ns, channel, version)`,
        "thread_id, checkpoint_ns, channel, version, type, data",
      ),
      rebuild(
        tables.writes,
        `thread_id TEXT NOT NULL,
         checkpoint_ns TEXT NOT NULL,
         checkpoint_id TEXT NOT NULL,
         task_id TEXT NOT NULL,
         idx INTEGER NOT NULL,
         channel TEXT NOT NULL,
         type TEXT NOT NULL,
         data BLOB NOT NULL,
         task_path TEXT NOT NULL DEFAULT '',
         PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)`,
        "thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path",
      ),
      rebuild(
        tables.threads,
        `thread_id TEXT NOT NULL PRIMARY KEY,
         checkpoint_ns TEXT,
         checkpoint_id TEXT,
         expires_at INTEGER`,
        "thread_id, checkpoint_ns, checkpoint_id, expires_at",
      ),
      `CREATE INDEX ${quoteIdent(`${tables.threads}_latest_idx`)} ON ${t("threads")} (checkpoint_id DESC, thread_id) WHERE checkpoint_id IS NOT NULL;
       CREATE INDEX ${quoteIdent(`${tables.threads}_expiry_idx`)} ON ${t("threads")} (expires_at) WHERE expires_at IS NOT NULL;`,
    ].join("\n"),
    // v3: the checkpoint column may hold TEXT, JSON packed with core's fragment dictionary
    // (`storedCheckpoint` in encoding.ts). The tables do not change: the version keeps packages that
    // read the column as bytes only away from a file that has such rows.
    `-- v3: packed checkpoint JSON (no table changes)`,
  ];
}

/** Recreates a table with a new definition, keeping its rows (its indexes are dropped with it). */
function rebuild(table: string, columns: string, names: string): string {
  const next = quoteIdent(`${table}_next`);
  return `CREATE TABLE ${next} (${columns}) WITHOUT ROWID;
     INSERT INTO ${next} (${names}) SELECT ${names} FROM ${quoteIdent(table)};
     DROP TABLE ${quoteIdent(table)};
     ALTER TABLE ${next} RENAME TO ${quoteIdent(table)};`;
}

export function storeMigrations(tables: StoreTables): string[] {
  const t = (k: keyof StoreTables) => quoteIdent(tables[k]);
  const i = (suffix: string) => quoteIdent(`${tables.items}_${suffix}`);
  return [
    // v1
    `-- ns is the encoded namespace (labels joined by "."): prefix search is a BINARY range scan on the key.
     CREATE TABLE ${t("items")} (
       ns TEXT NOT NULL,
       key TEXT NOT NULL,
       value TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL,
       ttl_minutes REAL,
       expires_at INTEGER,
       PRIMARY KEY (ns, key)
     );
     CREATE INDEX ${i("updated_idx")} ON ${t("items")} (updated_at DESC);
     CREATE INDEX ${i("expiry_idx")} ON ${t("items")} (expires_at) WHERE expires_at IS NOT NULL;
     -- float32 little-endian vectors, one per embedded text; scored with sqlite-vec's vec_distance_cosine.
     CREATE TABLE ${t("vectors")} (
       ns TEXT NOT NULL,
       key TEXT NOT NULL,
       seq INTEGER NOT NULL,
       field TEXT NOT NULL,
       embedding BLOB NOT NULL,
       PRIMARY KEY (ns, key, seq)
     );`,
  ];
}
