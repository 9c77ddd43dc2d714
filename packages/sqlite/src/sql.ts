import type { DistanceType, FilterCondition, ListQuery } from "@langgraph-persist/core";
import { refsJson } from "./encoding.js";

/**
 * Every statement the adapter runs, in one place. Schema DDL lives in `migrations.ts`.
 *
 * Conventions: identifiers are always quoted with `quoteIdent`; values are always bound parameters;
 * times are epoch milliseconds in INTEGER columns; text comparisons use the default BINARY collation
 * (byte order of UTF-8), never LIKE/GLOB.
 */

/** Quotes an SQL identifier (table, index) so no name can break out of it. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface SaverTables {
  checkpoints: string;
  blobs: string;
  writes: string;
  threads: string;
  migrations: string;
}

export interface StoreTables {
  items: string;
  vectors: string;
  migrations: string;
}

/** Raw (unquoted) table names for a prefix. */
export function saverTableNames(prefix: string): SaverTables {
  return {
    checkpoints: `${prefix}checkpoints`,
    blobs: `${prefix}checkpoint_blobs`,
    writes: `${prefix}checkpoint_writes`,
    threads: `${prefix}checkpoint_threads`,
    migrations: `${prefix}checkpoint_migrations`,
  };
}

export function storeTableNames(prefix: string): StoreTables {
  return {
    items: `${prefix}store_items`,
    vectors: `${prefix}store_vectors`,
    migrations: `${prefix}store_migrations`,
  };
}

function quoted<T extends object>(names: T): T {
  return Object.fromEntries(Object.entries(names).map(([k, v]) => [k, quoteIdent(v as string)])) as T;
}

// ---------------------------------------------------------------------------------------- migrations

export function migrationSql(table: string) {
  const t = quoteIdent(table);
  return {
    create: `CREATE TABLE IF NOT EXISTS ${t} (v INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
    current: `SELECT COALESCE(MAX(v), 0) AS v FROM ${t}`,
    record: `INSERT INTO ${t} (v, applied_at) VALUES (?, ?)`,
  };
}

// ---------------------------------------------------------------------------------------- saver

/** The lowest blob key a reference may need (core `chainLowerBound`): the text before the first `~`. */
function chainLowerBound(key: string): string {
  return `CASE WHEN instr(${key}, '~') > 0 THEN substr(${key}, 1, instr(${key}, '~') - 1) ELSE ${key} END`;
}

/**
 * The blob ranges a set of checkpoint rows needs: one `[lo, hi]` per (thread, namespace, channel, chain
 * base). Every reference `[channel, key]` needs the blobs of its channel whose version lies (BINARY
 * order) in `[chainLowerBound(key), key]`; references sharing a lower bound have nested ranges, so
 * their union is `[lo, max(key)]`. Keys without `~` are exact lookups (`lo = hi`).
 */
function chainRanges(source: string, where = ""): string {
  return `SELECT thread_id, checkpoint_ns, channel, lo, max(k) AS hi FROM (
      SELECT s.thread_id, s.checkpoint_ns, r.value ->> 0 AS channel, r.value ->> 1 AS k, ${chainLowerBound("(r.value ->> 1)")} AS lo
        FROM ${source} s, json_each(${refsJson("s.blob_refs")}) r ${where})
    GROUP BY thread_id, checkpoint_ns, channel, lo`;
}

/**
 * Leaves out the references listed in @known (JSON `[[channel, key], ...]` or NULL): blobs the reader
 * already holds in full, so neither they nor the rest of their chains are fetched.
 */
const UNKNOWN_REFS = `WHERE NOT EXISTS (SELECT 1 FROM json_each(@known) k WHERE k.value ->> 0 = r.value ->> 0 AND k.value ->> 1 = r.value ->> 1)`;

/** Columns of the checkpoint rows a read returns (`kind` 0). */
const CHECKPOINT_COLUMNS = `thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint,
  metadata_type, metadata, metadata_json, run_id, blob_refs`;

/**
 * How a page statement returns blobs. `thread` / `ns`: the query pins the thread / namespace, so the
 * blob lists leave it out. `utf8`: the database encoding is UTF-8, so BLOB bytes concatenate as they
 * are (text functions pass UTF-8 bytes through untouched); otherwise they travel hex-encoded.
 */
export interface PageShape {
  thread: boolean;
  ns: boolean;
  utf8: boolean;
}

/**
 * One statement that returns a page of checkpoints with everything needed to rebuild them, as rows
 * `[kind, ...]`:
 * - kind 0, one per checkpoint, in list order: its columns;
 * - kind 1, exactly one: every blob in the page's chain ranges (fetched once for the whole page,
 *   however many checkpoints share a chain) as parallel JSON arrays — thread ids and namespaces (NULL
 *   when pinned), channels, versions, types, byte lengths — and all their bytes concatenated in the same
 *   order: a handful of values instead of one row and one buffer per blob;
 * - kind 2, one per pending write of the page's checkpoints.
 * With `known`, references listed in @known are left out of the ranges (see `UNKNOWN_REFS`).
 * The page is materialised once; blobs and writes are primary-key range lookups driven by it
 * (`CROSS JOIN` pins that loop order).
 */
function pageSql(t: SaverTables, pageWhere: string, order: string, limit: string, shape: PageShape, known = false): string {
  const data = shape.utf8 ? "CAST(group_concat(b.data, '') AS BLOB)" : "group_concat(hex(b.data), '')";
  return `WITH page AS MATERIALIZED (
      SELECT ${CHECKPOINT_COLUMNS} FROM ${t.checkpoints} c WHERE ${pageWhere} ORDER BY ${order}${limit}),
    ranges AS MATERIALIZED (${chainRanges("page", known ? UNKNOWN_REFS : "")})
    SELECT 0 AS kind, ${CHECKPOINT_COLUMNS} FROM page
    UNION ALL
    SELECT 1, ${shape.thread ? "NULL" : "json_group_array(g.thread_id)"}, ${shape.ns ? "NULL" : "json_group_array(g.checkpoint_ns)"},
           json_group_array(b.channel), json_group_array(b.version), json_group_array(b.type), json_group_array(length(b.data)), ${data},
           NULL, NULL, NULL, NULL
      FROM ranges g CROSS JOIN ${t.blobs} b
     WHERE b.thread_id = g.thread_id AND b.checkpoint_ns = g.checkpoint_ns AND b.channel = g.channel AND b.version >= g.lo AND b.version <= g.hi
    UNION ALL
    SELECT 2, w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx, w.channel, w.type, w.data, w.task_path, NULL, NULL
      FROM page p CROSS JOIN ${t.writes} w
     WHERE w.thread_id = p.thread_id AND w.checkpoint_ns = p.checkpoint_ns AND w.checkpoint_id = p.checkpoint_id`;
}

/** A thread whose expiry has passed is invisible to every read, before the sweeper deletes it. */
function liveThread(t: SaverTables, c: string): string {
  return `NOT EXISTS (SELECT 1 FROM ${t.threads} x WHERE x.thread_id = ${c}.thread_id AND x.expires_at <= @now)`;
}

/** A JSON array bound as `@ids`, so one statement serves any number of ids. */
const IDS = `SELECT value FROM json_each(@ids)`;

/** Blobs of the (thread, namespace) pairs in @pairs that no remaining checkpoint of the pair reaches. */
function unreachableBlobs(t: SaverTables, pairs: string): string {
  return `WITH p(thread_id, checkpoint_ns) AS MATERIALIZED (${pairs}),
    ranges AS MATERIALIZED (${chainRanges(`(SELECT c.thread_id, c.checkpoint_ns, c.blob_refs FROM p CROSS JOIN ${t.checkpoints} c
                                              WHERE c.thread_id = p.thread_id AND c.checkpoint_ns = p.checkpoint_ns)`)}),
    live AS MATERIALIZED (SELECT b.thread_id, b.checkpoint_ns, b.channel, b.version FROM ranges g CROSS JOIN ${t.blobs} b
      WHERE b.thread_id = g.thread_id AND b.checkpoint_ns = g.checkpoint_ns AND b.channel = g.channel AND b.version >= g.lo AND b.version <= g.hi)
    DELETE FROM ${t.blobs} WHERE (thread_id, checkpoint_ns) IN (SELECT thread_id, checkpoint_ns FROM p)
      AND (thread_id, checkpoint_ns, channel, version) NOT IN (SELECT thread_id, checkpoint_ns, channel, version FROM live)`;
}

export function saverSql(names: SaverTables, utf8: boolean) {
  const t = quoted(names);
  const pinned: PageShape = { thread: true, ns: true, utf8 };
  const put = quoteIdent(`${names.checkpoints}_put`);
  return {
    // Both take @known: the `[channel, key]` references whose blobs the reader holds (JSON, or NULL).
    getById: pageSql(t, `c.thread_id = @thread AND c.checkpoint_ns = @ns AND c.checkpoint_id = @id AND ${liveThread(t, "c")}`, "c.checkpoint_id", "", pinned, true),
    // The primary key (thread_id, checkpoint_ns, checkpoint_id) read backwards: no sort.
    getLatest: pageSql(t, `c.thread_id = @thread AND c.checkpoint_ns = @ns AND ${liveThread(t, "c")}`, "c.checkpoint_id DESC", " LIMIT 1", pinned, true),

    /**
     * A put as one statement: an INSERT into a view of the connection's TEMP schema whose INSTEAD OF
     * trigger writes the thread index row, the new blobs and the checkpoint row. One statement is one
     * transaction (autocommit takes the write lock when it starts, like `BEGIN IMMEDIATE`), so the three
     * writes are atomic without `BEGIN` / `COMMIT`. TEMP objects belong to the connection, not to the
     * file: they are created when the saver first needs them and leave the schema untouched.
     *
     * The thread index row points at the checkpoint `listThreads` reports: the newest of the root
     * namespace, or the newest of any namespace while the thread has no root checkpoint (`TAKE_NEW`), so
     * `listThreads` never scans checkpoints. Blobs are immutable per (thread, ns, channel, version): a
     * second put of the same version keeps the first.
     *
     * Blobs come as @blobs, JSON `[[channel, version, type, start, length], ...]`, slicing @blobData (the
     * blobs' bytes concatenated; `start` is 1-based). A thread whose TTL passed before it was swept
     * aborts the statement with `EXPIRED_THREAD`, before anything is written: the caller deletes the
     * thread and runs it again, so the write starts a new thread instead of reviving the old state.
     */
    putObjects: `CREATE TEMP VIEW IF NOT EXISTS ${put} (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type,
        checkpoint, metadata_type, metadata, metadata_json, run_id, blob_refs, expires_at, now, blobs, blob_data)
      AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
    CREATE TEMP TRIGGER IF NOT EXISTS ${quoteIdent(`${names.checkpoints}_put_insert`)} INSTEAD OF INSERT ON ${put} BEGIN
      SELECT RAISE(ABORT, '${EXPIRED_THREAD}') FROM ${t.threads} WHERE thread_id = NEW.thread_id AND expires_at <= NEW.now;
      INSERT INTO ${t.threads} (thread_id, checkpoint_ns, checkpoint_id, expires_at)
        VALUES (NEW.thread_id, NEW.checkpoint_ns, NEW.checkpoint_id, NEW.expires_at)
        ON CONFLICT (thread_id) DO UPDATE SET
          checkpoint_ns = CASE WHEN ${TAKE_NEW} THEN excluded.checkpoint_ns ELSE checkpoint_ns END,
          checkpoint_id = CASE WHEN ${TAKE_NEW} THEN excluded.checkpoint_id ELSE checkpoint_id END,
          expires_at = excluded.expires_at;
      INSERT OR IGNORE INTO ${t.blobs} (thread_id, checkpoint_ns, channel, version, type, data)
        SELECT NEW.thread_id, NEW.checkpoint_ns, b.value ->> 0, b.value ->> 1, b.value ->> 2, substr(NEW.blob_data, b.value ->> 3, b.value ->> 4)
          FROM json_each(NEW.blobs) b;
      INSERT INTO ${t.checkpoints}
        (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint, metadata_type, metadata, metadata_json, run_id, blob_refs)
        VALUES (NEW.thread_id, NEW.checkpoint_ns, NEW.checkpoint_id, NEW.parent_checkpoint_id, NEW.checkpoint_type, NEW.checkpoint,
                NEW.metadata_type, NEW.metadata, NEW.metadata_json, NEW.run_id, NEW.blob_refs)
        ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
          parent_checkpoint_id = excluded.parent_checkpoint_id, checkpoint_type = excluded.checkpoint_type,
          checkpoint = excluded.checkpoint, metadata_type = excluded.metadata_type, metadata = excluded.metadata,
          metadata_json = excluded.metadata_json, run_id = excluded.run_id, blob_refs = excluded.blob_refs;
    END;`,
    put: `INSERT INTO ${put} (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint, metadata_type,
        metadata, metadata_json, run_id, blob_refs, expires_at, now, blobs, blob_data)
      VALUES (@thread, @ns, @id, @parent, @checkpointType, @checkpoint, @metadataType, @metadata, @metadataJson, @runId, @blobRefs,
        @expiresAt, @now, @blobs, @blobData)`,
    getWrites: `SELECT task_id, idx, channel, type, data, task_path FROM ${t.writes}
      WHERE thread_id = @thread AND checkpoint_ns = @ns AND checkpoint_id = @id`,

    threadExpiry: `SELECT expires_at FROM ${t.threads} WHERE thread_id = @thread`,
    /**
     * The thread index row for writes and copies (a thread with only writes still has a row, for its
     * expiry). It runs first in the write transaction and also answers whether the thread had expired
     * (not yet swept): then it returns `expires_at` = @expired and the caller purges the thread and runs
     * it again. The update is skipped when the expiry would not change, so then no row comes back and no
     * page is written.
     */
    touchThread: `INSERT INTO ${t.threads} (thread_id, checkpoint_ns, checkpoint_id, expires_at) VALUES (@thread, NULL, NULL, @expiresAt)
      ON CONFLICT (thread_id) DO UPDATE SET expires_at = CASE WHEN expires_at <= @now THEN @expired ELSE excluded.expires_at END
        WHERE expires_at IS NOT excluded.expires_at OR expires_at <= @now
      RETURNING expires_at`,
    refreshThreads: `UPDATE ${t.threads} SET expires_at = @expiresAt
      WHERE thread_id IN (${IDS}) AND (expires_at IS NULL OR expires_at > @now)`,
    /** Recomputes the index row after deletes; same preference as the put trigger's upsert (`TAKE_NEW`). */
    recomputeThread: `UPDATE ${t.threads} SET (checkpoint_ns, checkpoint_id) = (
        SELECT c.checkpoint_ns, c.checkpoint_id FROM ${t.checkpoints} c WHERE c.thread_id = ${t.threads}.thread_id
        ORDER BY c.checkpoint_ns <> '', c.checkpoint_id DESC LIMIT 1)
      WHERE thread_id IN (${IDS})`,
    /** A thread left with no checkpoint and no write has nothing to index. */
    dropEmptyThreads: `DELETE FROM ${t.threads} WHERE thread_id IN (${IDS}) AND checkpoint_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM ${t.writes} w WHERE w.thread_id = ${t.threads}.thread_id)`,
    // Special writes (idx < 0: error, interrupt, ...) replace; regular ones keep the first writer.
    insertWrite: `INSERT OR IGNORE INTO ${t.writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path)
      VALUES (@thread, @ns, @id, @taskId, @idx, @channel, @type, @data, @taskPath)`,
    replaceWrite: `INSERT OR REPLACE INTO ${t.writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path)
      VALUES (@thread, @ns, @id, @taskId, @idx, @channel, @type, @data, @taskPath)`,

    deleteThreads: [
      `DELETE FROM ${t.writes} WHERE thread_id IN (${IDS})`,
      `DELETE FROM ${t.blobs} WHERE thread_id IN (${IDS})`,
      `DELETE FROM ${t.checkpoints} WHERE thread_id IN (${IDS})`,
      `DELETE FROM ${t.threads} WHERE thread_id IN (${IDS})`,
    ],
    expiredThreads: `SELECT thread_id FROM ${t.threads} WHERE expires_at IS NOT NULL AND expires_at <= @now`,

    runNamespaces: `SELECT DISTINCT thread_id, checkpoint_ns FROM ${t.checkpoints} WHERE run_id IN (${IDS})`,
    deleteRunWrites: `DELETE FROM ${t.writes} WHERE (thread_id, checkpoint_ns, checkpoint_id) IN
      (SELECT thread_id, checkpoint_ns, checkpoint_id FROM ${t.checkpoints} WHERE run_id IN (${IDS}))`,
    deleteRunCheckpoints: `DELETE FROM ${t.checkpoints} WHERE run_id IN (${IDS})`,
    /**
     * Blob reachability after deletes, for the (thread, namespace) pairs in @pairs (JSON `[[thread, ns], ...]`):
     * a blob stays while a remaining checkpoint of its pair references its channel with a key whose
     * range `[chainLowerBound(key), key]` contains its version (the read rule). One range lookup per
     * distinct chain, then one pass over the pairs' blobs.
     */
    deleteUnreachableBlobs: unreachableBlobs(t, `SELECT DISTINCT value ->> 0, value ->> 1 FROM json_each(@pairs)`),
    /** Same, for every namespace of the threads in @ids. */
    deleteUnreachableThreadBlobs: unreachableBlobs(t, `SELECT DISTINCT b.thread_id, b.checkpoint_ns FROM json_each(@ids) j CROSS JOIN ${t.blobs} b
      WHERE b.thread_id = j.value`),

    pruneWrites: `DELETE FROM ${t.writes} WHERE thread_id IN (${IDS}) AND checkpoint_id <> (
        SELECT MAX(c.checkpoint_id) FROM ${t.checkpoints} c
         WHERE c.thread_id = ${t.writes}.thread_id AND c.checkpoint_ns = ${t.writes}.checkpoint_ns)`,
    pruneCheckpoints: `DELETE FROM ${t.checkpoints} WHERE thread_id IN (${IDS}) AND checkpoint_id < (
        SELECT MAX(c.checkpoint_id) FROM ${t.checkpoints} c
         WHERE c.thread_id = ${t.checkpoints}.thread_id AND c.checkpoint_ns = ${t.checkpoints}.checkpoint_ns)`,

    copyCheckpoints: `INSERT OR REPLACE INTO ${t.checkpoints}
      (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint, metadata_type, metadata, metadata_json, run_id, blob_refs)
      SELECT @target, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint, metadata_type, metadata, metadata_json, run_id, blob_refs
        FROM ${t.checkpoints} WHERE thread_id = @source`,
    copyBlobs: `INSERT OR IGNORE INTO ${t.blobs} (thread_id, checkpoint_ns, channel, version, type, data)
      SELECT @target, checkpoint_ns, channel, version, type, data FROM ${t.blobs} WHERE thread_id = @source`,
    copyWrites: `INSERT OR REPLACE INTO ${t.writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path)
      SELECT @target, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path FROM ${t.writes} WHERE thread_id = @source`,

    countThreadRows: `SELECT
      (SELECT COUNT(*) FROM ${t.checkpoints} WHERE thread_id = @thread) +
      (SELECT COUNT(*) FROM ${t.blobs} WHERE thread_id = @thread) +
      (SELECT COUNT(*) FROM ${t.writes} WHERE thread_id = @thread) +
      (SELECT COUNT(*) FROM ${t.threads} WHERE thread_id = @thread) AS n`,
  };
}

/** The message a put aborts with when its thread had expired (see `putObjects`). */
export const EXPIRED_THREAD = "langgraph-persist: thread expired";

const TAKE_NEW = `(checkpoint_id IS NULL
  OR (excluded.checkpoint_ns = '' AND (checkpoint_ns <> '' OR excluded.checkpoint_id >= checkpoint_id))
  OR (excluded.checkpoint_ns <> '' AND checkpoint_ns <> '' AND excluded.checkpoint_id >= checkpoint_id))`;

export type SaverStatements = ReturnType<typeof saverSql>;

/** Compiled SQL with its named parameters. */
export interface Compiled {
  sql: string;
  params: Record<string, unknown>;
  /** False when part of the filter could not be expressed exactly: rows must be re-checked in JS. */
  exact: boolean;
}

/** Where the next list page starts: strictly after this row in list order. */
export interface ListPosition {
  checkpointId: string;
  threadId: string;
  checkpointNs: string;
}

/**
 * One `list` page (see `pageSql`): newest first (`checkpoint_id DESC`, then thread and namespace for
 * ties across threads), at most @limit checkpoints after `after`. Each filter shape has an index whose
 * order is the list order, so SQLite reads the page without a sort: thread+ns → primary key backwards;
 * thread → (thread_id, checkpoint_id DESC, checkpoint_ns); all threads → (checkpoint_id DESC, thread_id,
 * checkpoint_ns). The blobs of the page's chains are fetched once per page.
 */
export function listSql(names: SaverTables, query: ListQuery, after: ListPosition | undefined, limit: number, utf8 = true): Compiled & { shape: PageShape } {
  const t = quoted(names);
  const where = [liveThread(t, "c")];
  const params: Record<string, unknown> = { limit };
  if (query.threadId !== undefined) {
    where.push("c.thread_id = @thread");
    params.thread = query.threadId;
  }
  if (query.checkpointNs !== undefined) {
    where.push("c.checkpoint_ns = @ns");
    params.ns = query.checkpointNs;
  }
  if (query.checkpointId !== undefined) {
    where.push("c.checkpoint_id = @id");
    params.id = query.checkpointId;
  }
  if (query.before !== undefined) {
    where.push("c.checkpoint_id < @before");
    params.before = query.before;
  }
  if (after) {
    where.push(`c.checkpoint_id <= @afterId AND (c.checkpoint_id < @afterId
      OR (c.checkpoint_id = @afterId AND (c.thread_id > @afterThread OR (c.thread_id = @afterThread AND c.checkpoint_ns > @afterNs))))`);
    params.afterId = after.checkpointId;
    params.afterThread = after.threadId;
    params.afterNs = after.checkpointNs;
  }
  const filter = metadataFilterSql("c.metadata_json", query.filter, params);
  if (filter.sql) where.push(filter.sql);
  const shape: PageShape = { thread: query.threadId !== undefined, ns: query.checkpointNs !== undefined, utf8 };
  const sql = pageSql(t, where.join(" AND "), "c.checkpoint_id DESC, c.thread_id, c.checkpoint_ns", " LIMIT @limit", shape);
  return { sql, params, exact: filter.exact, shape };
}

/** `listThreads` reads the thread index (newest latest-checkpoint first), joined to that one checkpoint. */
export function listThreadsSql(names: SaverTables, options: { limit: number; before?: string; filter?: ListQuery["filter"] }): Compiled {
  const t = quoted(names);
  const params: Record<string, unknown> = {};
  const where = ["x.checkpoint_id IS NOT NULL", "(x.expires_at IS NULL OR x.expires_at > @now)"];
  if (options.before !== undefined) {
    where.push("x.checkpoint_id < @before");
    params.before = options.before;
  }
  const filter = metadataFilterSql("c.metadata_json", options.filter, params);
  if (filter.sql) where.push(filter.sql);
  let sql = `SELECT x.thread_id, c.checkpoint_ns, c.checkpoint_id, c.checkpoint_type, c.checkpoint, c.metadata_type, c.metadata, c.metadata_json
    FROM ${t.threads} x
    JOIN ${t.checkpoints} c ON c.thread_id = x.thread_id AND c.checkpoint_ns = x.checkpoint_ns AND c.checkpoint_id = x.checkpoint_id
    WHERE ${where.join(" AND ")}
    ORDER BY x.checkpoint_id DESC, x.thread_id`;
  if (filter.exact) {
    sql += " LIMIT @limit";
    params.limit = options.limit;
  }
  return { sql, params, exact: filter.exact };
}

// ---------------------------------------------------------------------------------------- JSON filters

/**
 * A JSON path for one object key, or undefined when SQLite's path syntax could read it differently
 * from `getPath` in core: quotes and backslashes are escapes there, and an all-digit segment may
 * address an array element in JS while `$."0"` only reads object keys.
 */
function jsonPath(segments: readonly string[], allowIndexLike: boolean): string | undefined {
  let path = "$";
  for (const s of segments) {
    if (/["\\\u0000-\u001f]/.test(s)) return undefined;
    if (!allowIndexLike && /^(0|[1-9]\d*)$/.test(s)) return undefined;
    path += `."${s}"`;
  }
  return path;
}

/** True when JS `<` on UTF-16 code units and SQLite's UTF-8 byte order agree for comparisons against `s`. */
function utf8OrderSafe(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return false;
  return true;
}

class Params {
  constructor(private readonly params: Record<string, unknown>) {}
  add(value: unknown): string {
    const name = `p${Object.keys(this.params).length}`;
    this.params[name] = value;
    return `@${name}`;
  }
}

/**
 * Exact SQL for "the JSON value at `path` deep-equals `value`" when `value` is a scalar; never NULL.
 * Types are checked with `json_type` first, so the number 1, the string "1" and `true` never match each
 * other. Objects and arrays return undefined (deep equality is re-checked in JS).
 */
function scalarEquals(doc: string, path: string, value: unknown, p: Params): string | undefined {
  const at = p.add(path);
  if (value === null) return `COALESCE(json_type(${doc}, ${at}) = 'null', 0)`;
  if (value === true) return `COALESCE(json_type(${doc}, ${at}) = 'true', 0)`;
  if (value === false) return `COALESCE(json_type(${doc}, ${at}) = 'false', 0)`;
  if (typeof value === "number" && Number.isFinite(value)) {
    return `COALESCE(json_type(${doc}, ${at}) IN ('integer', 'real') AND json_extract(${doc}, ${at}) = ${p.add(value)}, 0)`;
  }
  if (typeof value === "string") {
    return `COALESCE(json_type(${doc}, ${at}) = 'text' AND json_extract(${doc}, ${at}) = ${p.add(value)}, 0)`;
  }
  return undefined;
}

/**
 * `list` / `listThreads` filters: deep equality per top-level metadata key. Scalars are matched exactly
 * in SQL; objects and arrays are narrowed to "present with the right JSON type" and re-checked in JS.
 */
export function metadataFilterSql(doc: string, filter: ListQuery["filter"], params: Record<string, unknown>): { sql: string; exact: boolean } {
  if (!filter || filter.length === 0) return { sql: "", exact: true };
  const p = new Params(params);
  const parts: string[] = [];
  let exact = true;
  for (const [key, json] of filter) {
    const path = jsonPath([key], true);
    if (path === undefined) {
      exact = false;
      continue;
    }
    const value: unknown = JSON.parse(json);
    const eq = scalarEquals(doc, path, value, p);
    if (eq !== undefined) parts.push(eq);
    else {
      exact = false;
      parts.push(`COALESCE(json_type(${doc}, ${p.add(path)}) = ${p.add(Array.isArray(value) ? "array" : "object")}, 0)`);
    }
  }
  return { sql: parts.join(" AND "), exact };
}

/**
 * Store filter conditions as SQL over the item's JSON value, with the semantics of core
 * `matchesConditions`: numbers compare only with numbers (`json_type` integer/real), strings only with
 * strings (`json_type` text, byte order, used only where it equals JS code-unit order), a missing field
 * only satisfies `$ne`, `$nin` and `$exists: false`. A condition that SQL cannot express exactly becomes
 * a superset (or nothing) and `exact` is false, so the caller re-checks in JS before paging.
 */
export function storeFilterSql(doc: string, conditions: readonly FilterCondition[], params: Record<string, unknown>): { sql: string; exact: boolean } {
  const p = new Params(params);
  const parts: string[] = [];
  let exact = true;
  for (const cond of conditions) {
    const path = jsonPath(cond.path, false);
    if (path === undefined) {
      exact = false;
      continue;
    }
    const compiled = compileCondition(doc, path, cond, p);
    if (compiled.sql) parts.push(compiled.sql);
    if (!compiled.exact) exact = false;
  }
  return { sql: parts.join(" AND "), exact };
}

function compileCondition(doc: string, path: string, cond: FilterCondition, p: Params): { sql: string; exact: boolean } {
  const at = () => p.add(path);
  switch (cond.op) {
    case "$exists":
      return { sql: cond.value ? `json_type(${doc}, ${at()}) IS NOT NULL` : `json_type(${doc}, ${at()}) IS NULL`, exact: true };
    case "$eq": {
      const eq = scalarEquals(doc, path, cond.value, p);
      if (eq !== undefined) return { sql: eq, exact: true };
      const kind = Array.isArray(cond.value) ? "array" : "object";
      return { sql: `COALESCE(json_type(${doc}, ${at()}) = ${p.add(kind)}, 0)`, exact: false };
    }
    case "$ne": {
      const eq = scalarEquals(doc, path, cond.value, p);
      return eq !== undefined ? { sql: `NOT ${eq}`, exact: true } : { sql: "", exact: false };
    }
    case "$in":
    case "$nin": {
      const values = cond.value as unknown[];
      const eqs = values.map((v) => scalarEquals(doc, path, v, p));
      if (eqs.some((e) => e === undefined)) return { sql: "", exact: false };
      const any = eqs.length === 0 ? "0" : `(${eqs.join(" OR ")})`;
      return { sql: cond.op === "$in" ? any : `NOT ${any}`, exact: true };
    }
    default: {
      const op = { $gt: ">", $gte: ">=", $lt: "<", $lte: "<=" }[cond.op];
      if (typeof cond.value === "number") {
        const a = at();
        return { sql: `COALESCE(json_type(${doc}, ${a}) IN ('integer', 'real') AND json_extract(${doc}, ${a}) ${op} ${p.add(cond.value)}, 0)`, exact: true };
      }
      const a = at();
      const typed = `json_type(${doc}, ${a}) = 'text'`;
      if (typeof cond.value === "string" && utf8OrderSafe(cond.value)) {
        return { sql: `COALESCE(${typed} AND json_extract(${doc}, ${a}) ${op} ${p.add(cond.value)}, 0)`, exact: true };
      }
      return { sql: `COALESCE(${typed}, 0)`, exact: false };
    }
  }
}

// ---------------------------------------------------------------------------------------- store

/** An item is visible until its expiry passes, whether or not the sweeper has deleted it yet. */
const LIVE_ITEM = "(i.expires_at IS NULL OR i.expires_at > @now)";
const ITEM_COLUMNS = "i.ns, i.key, i.value, i.created_at, i.updated_at, i.ttl_minutes";

/** `(ns, key)` pairs as JSON `[[ns, key], ...]`. */
const PAIRS = `SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(@pairs)`;

export function storeSql(names: StoreTables) {
  const t = quoted(names);
  return {
    getOne: `SELECT ${ITEM_COLUMNS} FROM ${t.items} i WHERE i.ns = @ns AND i.key = @key AND ${LIVE_ITEM}`,
    // Many gets in one statement: `j.key` is the position in the @pairs array.
    getMany: `SELECT j.key AS pos, ${ITEM_COLUMNS} FROM json_each(@pairs) j
      JOIN ${t.items} i ON i.ns = json_extract(j.value, '$[0]') AND i.key = json_extract(j.value, '$[1]')
      WHERE ${LIVE_ITEM}`,
    refresh: `UPDATE ${t.items} SET expires_at = @now + CAST(round(ttl_minutes * 60000) AS INTEGER)
      WHERE ttl_minutes IS NOT NULL AND (expires_at IS NULL OR expires_at > @now) AND (ns, key) IN (${PAIRS})`,
    /** `created_at` survives updates, unless the old row had already expired (then it is a new item). */
    upsert: `INSERT INTO ${t.items} (ns, key, value, created_at, updated_at, ttl_minutes, expires_at)
      VALUES (@ns, @key, @value, @now, @now, @ttlMinutes, @expiresAt)
      ON CONFLICT (ns, key) DO UPDATE SET
        value = excluded.value,
        created_at = CASE WHEN expires_at IS NOT NULL AND expires_at <= excluded.updated_at THEN excluded.created_at ELSE created_at END,
        updated_at = excluded.updated_at, ttl_minutes = excluded.ttl_minutes, expires_at = excluded.expires_at`,
    /** An imported item (`importItems`): its own created/updated times replace what the store has. */
    importUpsert: `INSERT INTO ${t.items} (ns, key, value, created_at, updated_at, ttl_minutes, expires_at)
      VALUES (@ns, @key, @value, @createdAt, @updatedAt, @ttlMinutes, @expiresAt)
      ON CONFLICT (ns, key) DO UPDATE SET
        value = excluded.value, created_at = excluded.created_at,
        updated_at = excluded.updated_at, ttl_minutes = excluded.ttl_minutes, expires_at = excluded.expires_at`,
    deleteItem: `DELETE FROM ${t.items} WHERE ns = @ns AND key = @key`,
    deleteVectors: `DELETE FROM ${t.vectors} WHERE ns = @ns AND key = @key`,
    insertVector: `INSERT INTO ${t.vectors} (ns, key, seq, field, embedding) VALUES (@ns, @key, @seq, @field, @embedding)`,
    sweepVectors: `DELETE FROM ${t.vectors} WHERE (ns, key) IN (SELECT ns, key FROM ${t.items} WHERE expires_at IS NOT NULL AND expires_at <= @now)`,
    sweepItems: `DELETE FROM ${t.items} WHERE expires_at IS NOT NULL AND expires_at <= @now`,
  };
}

export type StoreStatements = ReturnType<typeof storeSql>;

/** Encoded-namespace range: exact match or `lower <= ns < upper` (BINARY order), never LIKE/GLOB. */
function namespaceWhere(range: { exact: string; lower: string; upper: string } | null, params: Record<string, unknown>): string | undefined {
  if (!range) return undefined;
  params.nsExact = range.exact;
  params.nsLower = range.lower;
  params.nsUpper = range.upper;
  return "(i.ns = @nsExact OR (i.ns >= @nsLower AND i.ns < @nsUpper))";
}

/** A search's query vector: float32 bytes, the measure to score with and the vector's norm. */
export interface SearchQuery {
  vector: Uint8Array;
  distanceType: DistanceType;
  /** Euclidean norm of the float32 query (used by `inner_product`). */
  norm: number;
}

/**
 * The score of one stored vector `v.embedding` against `@query`, as core `similarity` defines it,
 * with sqlite-vec's functions (float32 arithmetic):
 * - cosine: `1 - vec_distance_cosine`; a zero vector has no direction: sqlite-vec gives NULL, core 0;
 * - l2: `0 - vec_distance_l2` (an exact match scores 0, not -0);
 * - inner_product (sqlite-vec has no dot product): cosine similarity × ‖v‖ × ‖query‖, with
 *   ‖v‖ = `vec_distance_l2(v, 0)`; 0 when either vector is zero, as the dot product is.
 */
function vectorScoreSql(query: SearchQuery, params: Record<string, unknown>): string {
  const cosine = "(1 - COALESCE(vec_distance_cosine(v.embedding, @query), 1))";
  if (query.distanceType === "l2") return "0 - vec_distance_l2(v.embedding, @query)";
  if (query.distanceType === "inner_product") {
    params.zero = Buffer.alloc(query.vector.byteLength);
    params.queryNorm = query.norm;
    return `${cosine} * vec_distance_l2(v.embedding, @zero) * @queryNorm`;
  }
  return cosine;
}

/**
 * `search`: namespace range, filter and ranking in one statement. With a query vector the score is the
 * best score for the index's `distanceType` (see `vectorScoreSql`) over the item's vectors, computed only
 * for rows that passed the namespace and filter conditions; unscored items sort after scored ones.
 * Without one, newest `updated_at` first. LIMIT/OFFSET apply after the filter, in SQL when the filter is
 * exact.
 */
export function searchSql(
  names: StoreTables,
  search: { range: { exact: string; lower: string; upper: string } | null; conditions: readonly FilterCondition[]; limit: number; offset: number },
  query: SearchQuery | undefined,
): Compiled {
  const t = quoted(names);
  const params: Record<string, unknown> = {};
  const where = [LIVE_ITEM];
  const ns = namespaceWhere(search.range, params);
  if (ns) where.push(ns);
  const filter = storeFilterSql("i.value", search.conditions, params);
  if (filter.sql) where.push(filter.sql);
  let score = "";
  let order = "i.updated_at DESC, i.key, i.ns";
  if (query) {
    params.query = query.vector;
    params.queryBytes = query.vector.byteLength;
    score = `, (SELECT MAX(${vectorScoreSql(query, params)}) FROM ${t.vectors} v
        WHERE v.ns = i.ns AND v.key = i.key AND length(v.embedding) = @queryBytes) AS score`;
    order = `score IS NULL, score DESC, ${order}`;
  }
  let sql = `SELECT ${ITEM_COLUMNS}${score} FROM ${t.items} i WHERE ${where.join(" AND ")} ORDER BY ${order}`;
  if (filter.exact) {
    sql += " LIMIT @limit OFFSET @offset";
    params.limit = search.limit;
    params.offset = search.offset;
  }
  return { sql, params, exact: filter.exact };
}

/** Distinct live namespaces under the literal prefix of the match conditions. */
export function namespacesSql(names: StoreTables, range: { exact: string; lower: string; upper: string } | null): Compiled {
  const t = quoted(names);
  const params: Record<string, unknown> = {};
  const where = [LIVE_ITEM];
  const ns = namespaceWhere(range, params);
  if (ns) where.push(ns);
  return { sql: `SELECT DISTINCT i.ns FROM ${t.items} i WHERE ${where.join(" AND ")}`, params, exact: true };
}
