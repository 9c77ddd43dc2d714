/**
 * Every statement the Postgres adapter sends, in one place. Shapes are chosen for round trips: each
 * public operation is one statement (CTEs chain the steps, and one statement is atomic by itself),
 * except `setup()` (a migration transaction) and `copyThread()` (a short transaction).
 */
import type { FilterCondition } from "@langgraph-persist/core";
import { quoteIdent } from "./client.js";
import { escapeJsonValue, escapeString, toJsonbText } from "./json.js";

/** Quoted, schema-qualified names of everything the adapter creates. */
export interface Names {
  /** The raw schema name (for the advisory lock key). */
  schemaName: string;
  schema: string;
  migrations: string;
  checkpoints: string;
  blobs: string;
  writes: string;
  threads: string;
  store: string;
  vectors: string;
  /** An index name (indexes live in their table's schema, so they are never qualified). */
  ix(name: string): string;
  /** The pgvector `vector` type, qualified with the extension's schema once known. */
  vectorType(dims?: number): string;
  /** A pgvector operator, operator class or function, qualified with the extension's schema once known. */
  vectorOp(op: string): string;
  vectorOpclass(name: string): string;
  vectorFn(name: string): string;
}

export function names(schema: string, vectorSchema?: string): Names {
  const s = quoteIdent(schema);
  const vs = vectorSchema === undefined ? undefined : quoteIdent(vectorSchema);
  return {
    schemaName: schema,
    schema: s,
    migrations: `${s}.lgp_migrations`,
    checkpoints: `${s}.lgp_checkpoints`,
    blobs: `${s}.lgp_checkpoint_blobs`,
    writes: `${s}.lgp_checkpoint_writes`,
    threads: `${s}.lgp_threads`,
    store: `${s}.lgp_store`,
    vectors: `${s}.lgp_store_vectors`,
    ix: (name) => quoteIdent(name),
    vectorType: (dims) => `${vs ? `${vs}.` : ""}vector${dims === undefined ? "" : `(${dims})`}`,
    vectorOp: (op) => (vs ? `OPERATOR(${vs}.${op})` : op),
    vectorOpclass: (name) => (vs ? `${vs}.${name}` : name),
    vectorFn: (name) => (vs ? `${vs}.${name}` : name),
  };
}

/** Collects positional parameters while a statement is assembled. */
export class Params {
  readonly values: unknown[] = [];
  /** Adds a value and returns its placeholder (`$n`). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

// ====================================================================== checkpointer

/**
 * One result row of a checkpoint read, as an array (`rowMode: "array"`). A read returns, in one
 * statement, three kinds of rows (a UNION ALL): the checkpoints (kind 0), the blobs they need (kind 1:
 * one row per blob range, see `refRanges`, so each blob comes once even when several checkpoints of the
 * page share its chain) and their pending writes (kind 2). Bytes travel as plain `bytea` columns (one
 * hex decode per value in node-pg; arrays or JSON of bytes would be far slower), and a range's blobs
 * as one concatenation with their keys and types (one text, concatenated too) and the lengths of
 * all three beside it: a 200-link chain is one row, not 200, and `string_agg` of plain text costs the
 * server a fraction of building a JSON array per blob.
 *
 * | column | kind 0 (checkpoint) | kind 1 (blobs of one range) | kind 2 (write) |
 * | --- | --- | --- | --- |
 * | 0 | 0 | 1 | 2 |
 * | 1, 2 | thread_id, checkpoint_ns | thread_id, checkpoint_ns | thread_id, checkpoint_ns |
 * | 3 | checkpoint_id | | checkpoint_id |
 * | 4 | parent_checkpoint_id | channel | task_id |
 * | 5 | checkpoint_type (null: packed json, see pack.ts) | | channel |
 * | 6 | metadata_type (null: json) | | type |
 * | 7 | run_id | per blob, `key length,type length,byte length,` (characters; commas between) | task_path |
 * | 8 | metadata_json (text) | per blob, its key then its type, concatenated | |
 * | 9 | position in the page | | idx |
 * | 10 | checkpoint | the blobs' bytes, concatenated | blob |
 * | 11 | metadata (null: empty) | | |
 * | 12 | blob_refs (JSON object) | | |
 */
export type ReadRow = [
  kind: number,
  threadId: string,
  checkpointNs: string,
  checkpointId: string | null,
  s1: string | null,
  s2: string | null,
  s3: string | null,
  s4: string | null,
  s5: string | null,
  n: number | null,
  d1: Buffer | null,
  d2: Buffer | null,
  j: Record<string, string> | null,
];

/** Rows of threads whose expiry has passed are invisible to every read. */
function liveThread(n: Names, alias: string, now: string): string {
  return `NOT EXISTS (SELECT 1 FROM ${n.threads} t WHERE t.thread_id = ${alias}.thread_id AND t.expires_at <= ${now})`;
}

/**
 * Metadata filter: deep equality of each listed top-level key (compared as `jsonb`, so key order and
 * number formatting do not matter).
 */
function metadataFilter(alias: string, filter: Array<[string, string, unknown]> | undefined, p: Params): string[] {
  return (filter ?? []).map(([key, json]) => `(${alias}.metadata_json -> ${p.add(escapeString(key))}::text)::jsonb = ${p.add(toJsonbText(json).text)}::jsonb`);
}

export interface CheckpointReadQuery {
  threadId?: string;
  checkpointNs?: string;
  checkpointId?: string;
  before?: string;
  /** Keyset cursor: the (checkpoint_id, thread_id, checkpoint_ns) of the last row of the previous page. */
  after?: [string, string, string];
  filter?: Array<[string, string, unknown]>;
  limit: number;
  now: Date;
  /** New expiry for threads that have one (TTL with `refreshOnRead`); omitted: reads do not touch threads. */
  refreshTo?: Date;
  /**
   * Blob references (`channels[i]`, `keys[i]`) whose values the reader already holds: a checkpoint
   * reference equal to one of them gets no range (its chain is not fetched).
   */
  known?: { channels: string[]; keys: string[] };
}

/**
 * The blob ranges a set of checkpoint rows needs: one per (thread, namespace, channel, chain base),
 * up to the highest key referenced. A chain key `<base>~<seq>~<link>` needs the chain's links, every
 * one keyed `<base>~...` at most the key, and its base snapshot keyed `<base>`; a plain key needs
 * itself (`lo = hi`). So every blob a read needs, and every blob a checkpoint keeps alive, is a blob
 * whose key's text before the first `~` is `lo` and whose key is at most `hi`: checkpoints of a page
 * that share a chain share one range, each blob is fetched once, and reachability is an equi-join.
 */
function refRanges(from: string, skip?: string): string {
  return `SELECT f.thread_id, f.checkpoint_ns, r.key COLLATE "C" AS channel, split_part(r.value, '~', 1) COLLATE "C" AS lo,
           max(r.value COLLATE "C") AS hi
    FROM ${from} f CROSS JOIN LATERAL json_each_text(f.blob_refs) r${skip ? `
    WHERE ${skip}` : ""}
    GROUP BY 1, 2, 3, 4`;
}

/** The blobs of `ranges` (alias `r`): an index range scan of the blob key per range. */
function inRange(b: string, r: string): string {
  return `${b}.thread_id = ${r}.thread_id AND ${b}.checkpoint_ns = ${r}.checkpoint_ns AND ${b}.channel = ${r}.channel
      AND ${b}.version >= ${r}.lo AND ${b}.version <= ${r}.hi AND split_part(${b}.version, '~', 1) = ${r}.lo`;
}

/** One page of checkpoints, newest first, with their blobs and writes: `getTuple` and every `list` page. */
export function readCheckpoints(n: Names, q: CheckpointReadQuery): { text: string; values: unknown[] } {
  const p = new Params();
  const now = `${p.add(q.now)}::timestamptz`;
  const where: string[] = [liveThread(n, "c", now)];
  if (q.threadId !== undefined) where.push(`c.thread_id = ${p.add(q.threadId)}`);
  if (q.checkpointNs !== undefined) where.push(`c.checkpoint_ns = ${p.add(q.checkpointNs)}`);
  if (q.checkpointId !== undefined) where.push(`c.checkpoint_id = ${p.add(q.checkpointId)}`);
  if (q.before !== undefined) where.push(`c.checkpoint_id < ${p.add(q.before)}`);
  if (q.after !== undefined) {
    where.push(`(c.checkpoint_id, c.thread_id, c.checkpoint_ns) < (${p.add(q.after[0])}, ${p.add(q.after[1])}, ${p.add(q.after[2])})`);
  }
  where.push(...metadataFilter("c", q.filter, p));
  const touch =
    q.refreshTo === undefined
      ? ""
      : `, touch AS (
    UPDATE ${n.threads} t SET expires_at = ${p.add(q.refreshTo)}::timestamptz
    WHERE t.thread_id IN (SELECT DISTINCT thread_id FROM page) AND t.expires_at IS NOT NULL
  )`;
  // References the reader holds get no range: `r` is the reference (channel `key`, blob key `value`).
  const skip =
    q.known && q.known.channels.length > 0
      ? `NOT EXISTS (SELECT 1 FROM unnest(${p.add(q.known.channels)}::text[], ${p.add(q.known.keys)}::text[]) k(channel, key)
                     WHERE k.channel = r.key AND k.key = r.value)`
      : undefined;
  const text = `WITH page AS (
    SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint_type, c.metadata_type,
           c.run_id, c.metadata_json, c.checkpoint, c.metadata, c.blob_refs
    FROM ${n.checkpoints} c
    WHERE ${where.join(" AND ")}
    ORDER BY c.checkpoint_id DESC, c.thread_id DESC, c.checkpoint_ns DESC
    LIMIT ${p.add(q.limit)}
  ), ranges AS (
    ${refRanges("page", skip)}
  )${touch}
  SELECT 0 AS kind, thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, metadata_type, run_id,
         metadata_json::text, (row_number() OVER (ORDER BY checkpoint_id DESC, thread_id DESC, checkpoint_ns DESC))::integer,
         checkpoint, metadata, blob_refs
  FROM page
  UNION ALL
  SELECT 1, r.thread_id, r.checkpoint_ns, NULL, r.channel, NULL, NULL, b.lengths, b.keys, NULL, b.data, NULL, NULL
  FROM ranges r CROSS JOIN LATERAL (
    SELECT string_agg(length(b.version)::text || ',' || length(b.type)::text || ',' || length(b.blob)::text, ',') AS lengths,
           string_agg(b.version || b.type, '') AS keys, string_agg(b.blob, ''::bytea) AS data
    FROM ${n.blobs} b WHERE ${inRange("b", "r")}
  ) b
  WHERE b.lengths IS NOT NULL
  UNION ALL
  SELECT 2, w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.channel, w.type, w.task_path, NULL, w.idx, w.blob, NULL, NULL
  FROM page pg JOIN ${n.writes} w
    ON w.thread_id = pg.thread_id AND w.checkpoint_ns = pg.checkpoint_ns AND w.checkpoint_id = pg.checkpoint_id`;
  return { text, values: p.values };
}

/**
 * Before a write lands in a thread whose TTL has passed but which the sweeper has not removed yet, the
 * old rows go: the thread starts over instead of resurrecting expired checkpoints. (All CTEs of a
 * statement see the same snapshot, so these deletes never touch the rows the statement inserts.)
 */
function purgeExpired(n: Names, thread: string, now: string): string {
  return `expired AS (
    SELECT 1 FROM ${n.threads} WHERE thread_id = ${thread} AND expires_at <= ${now}
  ), purge_checkpoints AS (
    DELETE FROM ${n.checkpoints} WHERE thread_id = ${thread} AND EXISTS (SELECT 1 FROM expired)
  ), purge_blobs AS (
    DELETE FROM ${n.blobs} WHERE thread_id = ${thread} AND EXISTS (SELECT 1 FROM expired)
  ), purge_writes AS (
    DELETE FROM ${n.writes} WHERE thread_id = ${thread} AND EXISTS (SELECT 1 FROM expired)
  )`;
}

/**
 * Which checkpoint describes a thread in `listThreads`: the newest of the root namespace, or the newest
 * of any namespace while the thread has no root checkpoint.
 */
function newerLatest(current: string, incomingNs: string, incomingId: string): string {
  return `(${current}.latest_checkpoint_id IS NULL
    OR (${incomingNs} = '' AND (${current}.latest_checkpoint_ns <> '' OR ${incomingId} >= ${current}.latest_checkpoint_id))
    OR (${incomingNs} <> '' AND ${current}.latest_checkpoint_ns <> '' AND ${incomingId} >= ${current}.latest_checkpoint_id))`;
}

/**
 * `put`: the new blobs (insert-if-absent, so checkpoints sharing a version share its row), the
 * checkpoint row and the thread index, in one statement. Parameters:
 * $1 thread, $2 namespace, $3 checkpoint id, $4 now, $5 new thread expiry (null: keep), $6 parent id,
 * $7 run id, $8 checkpoint type (null: JSON packed by pack.ts), $9 checkpoint, $10 metadata type (null: json),
 * $11 metadata bytes (null: none), $12 metadata JSON, $13 blob refs JSON, $14-$18 the new blobs'
 * channels, keys, types, offsets and lengths, $19 their bytes concatenated (one binary parameter
 * instead of a hex-encoded `bytea[]`).
 *
 * Two shapes with the same parameters:
 * - `fast` writes nothing when the thread's TTL has passed (but the sweeper has not removed it yet)
 *   and returns `expired`; the saver then sends the `purge` shape. The thread index upsert runs first
 *   and is the expiry check: it touches only a live row (or inserts a new one) and returns it, and the
 *   blob and checkpoint inserts run only when it did. Only when it left a live row alone (this
 *   checkpoint is not the thread's latest and the expiry is kept) does the statement look the thread up
 *   again. So the common put probes the thread index once and has no purge steps to plan and start.
 * - `purge` first deletes the expired thread's rows, so the thread starts over instead of
 *   resurrecting expired checkpoints.
 */
export function putCheckpoint(n: Names, shape: "fast" | "purge"): string {
  const [thread, ns, id, now, exp] = ["$1::text", "$2::text", "$3::text", "$4::timestamptz", "$5::timestamptz"];
  const insertBlobs = (where: string) => `INSERT INTO ${n.blobs} (thread_id, checkpoint_ns, channel, version, type, blob)
    SELECT ${thread}, ${ns}, u.channel, u.version, u.type, substring($19::bytea FROM u.off + 1 FOR u.len)
    FROM unnest($14::text[], $15::text[], $16::text[], $17::integer[], $18::integer[]) AS u(channel, version, type, off, len)
    ${where}
    ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING`;
  const insertCheckpoint = (where: string) => `INSERT INTO ${n.checkpoints} (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint_type,
                                  checkpoint, metadata_type, metadata, metadata_json, blob_refs)
    SELECT ${thread}, ${ns}, ${id}, $6::text, $7::text, $8::text, $9::bytea, $10::text, $11::bytea, $12::json, $13::json
    ${where}
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
      parent_checkpoint_id = excluded.parent_checkpoint_id, run_id = excluded.run_id,
      checkpoint_type = excluded.checkpoint_type, checkpoint = excluded.checkpoint,
      metadata_type = excluded.metadata_type, metadata = excluded.metadata,
      metadata_json = excluded.metadata_json, blob_refs = excluded.blob_refs`;
  const newer = newerLatest("cur", "excluded.latest_checkpoint_ns", "excluded.latest_checkpoint_id");
  if (shape === "fast") {
    // The thread index moves to this checkpoint when it is the thread's latest; the row is rewritten
    // only when that or its expiry changes, and never when the thread has expired.
    return `WITH thread AS (
    INSERT INTO ${n.threads} AS cur (thread_id, latest_checkpoint_ns, latest_checkpoint_id, expires_at)
    VALUES (${thread}, ${ns}, ${id}, ${exp})
    ON CONFLICT (thread_id) DO UPDATE SET
      latest_checkpoint_ns = CASE WHEN ${newer} THEN excluded.latest_checkpoint_ns ELSE cur.latest_checkpoint_ns END,
      latest_checkpoint_id = CASE WHEN ${newer} THEN excluded.latest_checkpoint_id ELSE cur.latest_checkpoint_id END,
      expires_at = COALESCE(${exp}, cur.expires_at)
    WHERE (cur.expires_at IS NULL OR cur.expires_at > ${now}) AND (${newer} OR ${exp} IS NOT NULL)
    RETURNING 1
  ), live AS (
    SELECT EXISTS (SELECT 1 FROM thread)
        OR NOT EXISTS (SELECT 1 FROM ${n.threads} WHERE thread_id = ${thread} AND expires_at <= ${now}) AS live
  ), new_blobs AS (
    ${insertBlobs("WHERE (SELECT live FROM live)")}
  ), new_checkpoint AS (
    ${insertCheckpoint("WHERE (SELECT live FROM live)")}
  )
  SELECT NOT (SELECT live FROM live) AS expired`;
  }
  // After the purge the thread starts over: its index row points at this checkpoint.
  const fresh = `(cur.expires_at <= ${now} OR ${newer})`;
  return `WITH ${purgeExpired(n, thread, now)}, new_blobs AS (
    ${insertBlobs("")}
  ), new_checkpoint AS (
    ${insertCheckpoint("")}
  ), thread AS (
    INSERT INTO ${n.threads} AS cur (thread_id, latest_checkpoint_ns, latest_checkpoint_id, expires_at)
    SELECT ${thread}, ${ns}, ${id}, ${exp}
    ON CONFLICT (thread_id) DO UPDATE SET
      latest_checkpoint_ns = CASE WHEN ${fresh} THEN excluded.latest_checkpoint_ns ELSE cur.latest_checkpoint_ns END,
      latest_checkpoint_id = CASE WHEN ${fresh} THEN excluded.latest_checkpoint_id ELSE cur.latest_checkpoint_id END,
      expires_at = COALESCE(${exp}, CASE WHEN cur.expires_at <= ${now} THEN NULL ELSE cur.expires_at END)
    WHERE ${fresh} OR ${exp} IS NOT NULL
  )
  SELECT false AS expired`;
}

/**
 * `putWrites`: one multi-row insert. Regular writes (idx >= 0) are insert-if-absent (the first writer
 * wins, so a retried task does not duplicate); special ones (idx < 0: error, interrupt, ...) replace.
 * With a TTL (`withTtl`), a write restarts the thread's clock. Parameters: $1 thread, $2 now,
 * $3 namespace, $4 checkpoint id, $5-$11 the writes' task ids, idxs, channels, types, task paths,
 * offsets and lengths, $12 their bytes concatenated, $13 the new expiry (only `withTtl`). Shapes as
 * for `putCheckpoint`: `fast` writes nothing to an expired thread and says so, `purge` resets it.
 */
export function putWrites(n: Names, withTtl: boolean, shape: "fast" | "purge"): string {
  const [thread, now] = ["$1::text", "$2::timestamptz"];
  const live = shape === "fast" ? "WHERE NOT EXISTS (SELECT 1 FROM expired)" : "";
  const head =
    shape === "fast"
      ? `WITH expired AS (
    SELECT 1 FROM ${n.threads} WHERE thread_id = ${thread} AND expires_at <= ${now}
  )`
      : `WITH ${purgeExpired(n, thread, now)}`;
  const threadStep = withTtl
    ? `, thread AS (
    INSERT INTO ${n.threads} AS cur (thread_id, expires_at) SELECT ${thread}, $13::timestamptz
    ${live}
    ON CONFLICT (thread_id) DO UPDATE SET expires_at = excluded.expires_at,
      latest_checkpoint_ns = CASE WHEN cur.expires_at <= ${now} THEN NULL ELSE cur.latest_checkpoint_ns END,
      latest_checkpoint_id = CASE WHEN cur.expires_at <= ${now} THEN NULL ELSE cur.latest_checkpoint_id END
  )`
    : shape === "purge"
      ? `, thread AS (
    UPDATE ${n.threads} SET expires_at = NULL, latest_checkpoint_ns = NULL, latest_checkpoint_id = NULL
    WHERE thread_id = ${thread} AND expires_at <= ${now}
  )`
      : "";
  return `${head}${threadStep}, new_writes AS (
    INSERT INTO ${n.writes} AS w (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
    SELECT ${thread}, $3::text, $4::text, u.task_id, u.idx, u.channel, u.type, substring($12::bytea FROM u.off + 1 FOR u.len), u.task_path
    FROM unnest($5::text[], $6::integer[], $7::text[], $8::text[], $9::text[], $10::integer[], $11::integer[])
         AS u(task_id, idx, channel, type, task_path, off, len)
    ${live}
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO UPDATE SET
      channel = excluded.channel, type = excluded.type, blob = excluded.blob, task_path = excluded.task_path
    WHERE w.idx < 0
  )
  SELECT ${shape === "fast" ? "EXISTS (SELECT 1 FROM expired)" : "false"} AS expired`;
}

export function getWrites(n: Names): string {
  return `SELECT task_id, idx, channel, type, blob, task_path FROM ${n.writes}
  WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3`;
}

/** `deleteThread` / `prune(..., "delete")`: every row of the threads, one statement. */
export function deleteThreads(n: Names): string {
  return `WITH c AS (DELETE FROM ${n.checkpoints} WHERE thread_id = ANY($1::text[])),
  b AS (DELETE FROM ${n.blobs} WHERE thread_id = ANY($1::text[])),
  w AS (DELETE FROM ${n.writes} WHERE thread_id = ANY($1::text[]))
  DELETE FROM ${n.threads} WHERE thread_id = ANY($1::text[])`;
}

/**
 * Deletes the blobs of `target` that no checkpoint whose ranges are in `live` (see `refRanges`) needs:
 * a blob lives while some kept checkpoint of its thread and namespace references, on its channel, its
 * key or a chain it belongs to.
 */
function deleteUnreachable(n: Names, target: { using?: string; where: string }, live: string): string {
  return `DELETE FROM ${n.blobs} b${target.using ? ` USING ${target.using}` : ""}
  WHERE ${target.where}
    AND NOT EXISTS (SELECT 1 FROM ${live} l WHERE l.thread_id = b.thread_id AND l.checkpoint_ns = b.checkpoint_ns AND l.channel = b.channel
                                         AND l.lo = split_part(b.version, '~', 1) AND b.version <= l.hi)`;
}

/**
 * `deleteForRuns`: the runs' checkpoints and writes, the blobs no remaining checkpoint of the same
 * thread/namespace needs, and the thread index of the threads touched (a thread left without
 * checkpoints leaves the index) — one statement, so every step works from the same snapshot
 * ("remaining" = not matched by the run ids).
 */
export function deleteForRuns(n: Names): string {
  const remaining = `(c.run_id IS NULL OR NOT (c.run_id = ANY($1::text[])))`;
  return `WITH doomed AS (
    SELECT thread_id, checkpoint_ns, checkpoint_id FROM ${n.checkpoints} WHERE run_id = ANY($1::text[])
  ), del_checkpoints AS (
    DELETE FROM ${n.checkpoints} c USING doomed d
    WHERE c.thread_id = d.thread_id AND c.checkpoint_ns = d.checkpoint_ns AND c.checkpoint_id = d.checkpoint_id
  ), del_writes AS (
    DELETE FROM ${n.writes} w USING doomed d
    WHERE w.thread_id = d.thread_id AND w.checkpoint_ns = d.checkpoint_ns AND w.checkpoint_id = d.checkpoint_id
  ), scopes AS (
    SELECT DISTINCT thread_id, checkpoint_ns FROM doomed
  ), kept AS (
    SELECT c.thread_id, c.checkpoint_ns, c.blob_refs
    FROM ${n.checkpoints} c JOIN scopes s ON s.thread_id = c.thread_id AND s.checkpoint_ns = c.checkpoint_ns
    WHERE ${remaining}
  ), live AS (
    ${refRanges("kept")}
  ), del_blobs AS (
    ${deleteUnreachable(n, { using: "scopes s", where: "b.thread_id = s.thread_id AND b.checkpoint_ns = s.checkpoint_ns" }, "live")}
  ), touched AS (
    SELECT DISTINCT thread_id FROM doomed
  ), new_latest AS (
    SELECT DISTINCT ON (c.thread_id) c.thread_id, c.checkpoint_ns, c.checkpoint_id
    FROM ${n.checkpoints} c JOIN touched t ON t.thread_id = c.thread_id
    WHERE ${remaining}
    ORDER BY c.thread_id, (c.checkpoint_ns <> ''), c.checkpoint_id DESC
  ), relatest AS (
    UPDATE ${n.threads} th SET latest_checkpoint_ns = nl.checkpoint_ns, latest_checkpoint_id = nl.checkpoint_id
    FROM new_latest nl WHERE th.thread_id = nl.thread_id
  )
  DELETE FROM ${n.threads} th USING touched t
  WHERE th.thread_id = t.thread_id AND NOT EXISTS (SELECT 1 FROM new_latest nl WHERE nl.thread_id = t.thread_id)`;
}

/** `prune(..., "keep_latest")`: keep the newest checkpoint per namespace, its writes and the blobs it needs. */
export function pruneKeepLatest(n: Names): string {
  return `WITH keep AS (
    SELECT DISTINCT ON (thread_id, checkpoint_ns) thread_id, checkpoint_ns, checkpoint_id, blob_refs
    FROM ${n.checkpoints} WHERE thread_id = ANY($1::text[])
    ORDER BY thread_id, checkpoint_ns, checkpoint_id DESC
  ), del_checkpoints AS (
    DELETE FROM ${n.checkpoints} c WHERE c.thread_id = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM keep k WHERE k.thread_id = c.thread_id AND k.checkpoint_ns = c.checkpoint_ns AND k.checkpoint_id = c.checkpoint_id)
  ), del_writes AS (
    DELETE FROM ${n.writes} w WHERE w.thread_id = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM keep k WHERE k.thread_id = w.thread_id AND k.checkpoint_ns = w.checkpoint_ns AND k.checkpoint_id = w.checkpoint_id)
  ), live AS (
    ${refRanges("keep")}
  )
  ${deleteUnreachable(n, { where: "b.thread_id = ANY($1::text[])" }, "live")}`;
}

/** First statement of `copyThread`: reset an expired target, and tell whether the source is live. */
export function copyThreadPrepare(n: Names): string {
  return `WITH ${purgeExpired(n, "$2::text", "$3::timestamptz")}, reset AS (
    DELETE FROM ${n.threads} WHERE thread_id = $2 AND expires_at <= $3::timestamptz
  )
  SELECT NOT EXISTS (SELECT 1 FROM ${n.threads} WHERE thread_id = $1 AND expires_at <= $3::timestamptz) AS source_live`;
}

/** Second statement of `copyThread`: every row of the source under the target id (ids and blob keys kept). */
export function copyThread(n: Names): string {
  const fresh = newerLatest("cur", "excluded.latest_checkpoint_ns", "excluded.latest_checkpoint_id");
  return `WITH cps AS (
    INSERT INTO ${n.checkpoints} (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint_type,
                                  checkpoint, metadata_type, metadata, metadata_json, blob_refs)
    SELECT $2::text, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint_type, checkpoint, metadata_type,
           metadata, metadata_json, blob_refs
    FROM ${n.checkpoints} WHERE thread_id = $1::text
    ON CONFLICT DO NOTHING
  ), blobs AS (
    INSERT INTO ${n.blobs} (thread_id, checkpoint_ns, channel, version, type, blob)
    SELECT $2::text, checkpoint_ns, channel, version, type, blob FROM ${n.blobs} WHERE thread_id = $1::text
    ON CONFLICT DO NOTHING
  ), writes AS (
    INSERT INTO ${n.writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
    SELECT $2::text, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path FROM ${n.writes} WHERE thread_id = $1::text
    ON CONFLICT DO NOTHING
  )
  INSERT INTO ${n.threads} AS cur (thread_id, latest_checkpoint_ns, latest_checkpoint_id, expires_at)
  SELECT $2::text, latest_checkpoint_ns, latest_checkpoint_id, $3::timestamptz FROM ${n.threads}
  WHERE thread_id = $1::text AND latest_checkpoint_id IS NOT NULL
  ON CONFLICT (thread_id) DO UPDATE SET
    latest_checkpoint_ns = CASE WHEN ${fresh} THEN excluded.latest_checkpoint_ns ELSE cur.latest_checkpoint_ns END,
    latest_checkpoint_id = CASE WHEN ${fresh} THEN excluded.latest_checkpoint_id ELSE cur.latest_checkpoint_id END,
    expires_at = COALESCE(excluded.expires_at, cur.expires_at)`;
}

export interface ThreadRow {
  thread_id: string;
  latest_checkpoint_ns: string;
  latest_checkpoint_id: string;
  checkpoint_type: string | null;
  checkpoint: Buffer;
  metadata_type: string | null;
  metadata: Buffer | null;
  metadata_json: string;
}

/** `listThreads`: walks the thread index newest first (keyset on the latest checkpoint id). */
export function listThreads(n: Names, o: { limit: number; before?: string; filter?: Array<[string, string, unknown]>; now: Date }): { text: string; values: unknown[] } {
  const p = new Params();
  const where = [`t.latest_checkpoint_id IS NOT NULL`, `(t.expires_at IS NULL OR t.expires_at > ${p.add(o.now)}::timestamptz)`];
  if (o.before !== undefined) where.push(`t.latest_checkpoint_id < ${p.add(o.before)}`);
  where.push(...metadataFilter("c", o.filter, p));
  const text = `SELECT t.thread_id, t.latest_checkpoint_ns, t.latest_checkpoint_id, c.checkpoint_type, c.checkpoint, c.metadata_type, c.metadata,
         c.metadata_json::text AS metadata_json
  FROM ${n.threads} t
  JOIN ${n.checkpoints} c
    ON c.thread_id = t.thread_id AND c.checkpoint_ns = t.latest_checkpoint_ns AND c.checkpoint_id = t.latest_checkpoint_id
  WHERE ${where.join(" AND ")}
  ORDER BY t.latest_checkpoint_id DESC, t.thread_id DESC
  LIMIT ${p.add(o.limit)}`;
  return { text, values: p.values };
}

/** Removes up to `$2` expired threads (all their rows); concurrent sweepers skip each other's rows. */
export function sweepThreads(n: Names): string {
  return `WITH dead AS (
    SELECT thread_id FROM ${n.threads} WHERE expires_at <= $1::timestamptz
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
  ), c AS (DELETE FROM ${n.checkpoints} WHERE thread_id IN (SELECT thread_id FROM dead)),
  b AS (DELETE FROM ${n.blobs} WHERE thread_id IN (SELECT thread_id FROM dead)),
  w AS (DELETE FROM ${n.writes} WHERE thread_id IN (SELECT thread_id FROM dead))
  DELETE FROM ${n.threads} WHERE thread_id IN (SELECT thread_id FROM dead)`;
}

// ====================================================================== store

const CANONICAL_INDEX = /^(0|[1-9]\d*)$/;

/**
 * Whether a filter operand is plain JSON that jsonb represents exactly (no Dates, undefined, NaN or
 * lone surrogates). Only such operands are compared in SQL.
 */
function isPlainJson(v: unknown): boolean {
  if (v === null || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (typeof v === "string") return isJsonbString(v);
  if (Array.isArray(v)) return v.every(isPlainJson);
  if (typeof v === "object") {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.entries(v as Record<string, unknown>).every(([k, x]) => isJsonbString(k) && x !== undefined && isPlainJson(x));
  }
  return false;
}

function isJsonbString(s: string): boolean {
  // jsonb rejects unpaired surrogates (NUL characters are escaped, see json.ts).
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** A filter operand as jsonb text, escaped like stored values. */
function operand(value: unknown): string {
  return JSON.stringify(escapeJsonValue(value));
}

/** `{"a":{"b":<value>}}` for the path `a.b`, escaped like stored values. */
function containing(path: readonly string[], value: unknown): string {
  let json = operand(value);
  for (let i = path.length - 1; i >= 0; i--) json = `{${JSON.stringify(escapeString(path[i]))}:${json}}`;
  return json;
}

/**
 * The jsonb value at a filter path, with the same rules as core `getPath`: a canonical non-negative
 * integer segment indexes arrays (`#>`, which also reads it as an object key); any other segment is an
 * object key only (`->` with a text operand yields NULL on arrays). A missing path is SQL NULL.
 */
function pathExpr(column: string, path: readonly string[], p: Params): string {
  let expr = column;
  for (const part of path) {
    expr = CANONICAL_INDEX.test(part) ? `(${expr} #> ARRAY[${p.add(part)}::text])` : `(${expr} -> ${p.add(escapeString(part))}::text)`;
  }
  return expr;
}

const RANGE_OPS = { $gt: ">", $gte: ">=", $lt: "<", $lte: "<=" } as const;

/**
 * Compiles filter conditions to SQL over a jsonb column. `exact` is false when some condition could only
 * be pushed down as a superset (exotic operands); the caller then re-checks rows with core
 * `matchesConditions` before paging.
 */
export function compileFilter(conditions: readonly FilterCondition[], column: string, p: Params): { sql: string[]; exact: boolean } {
  const sql: string[] = [];
  let exact = true;
  for (const c of conditions) {
    // Path parameters are added only by conditions that use the path (an unused parameter has no type).
    let path: string | undefined;
    const at = () => (path ??= pathExpr(column, c.path, p));
    switch (c.op) {
      case "$exists":
        sql.push(c.value ? `${at()} IS NOT NULL` : `${at()} IS NULL`);
        break;
      case "$eq":
        if (isPlainJson(c.value)) {
          sql.push(`${at()} = ${p.add(operand(c.value))}::jsonb`);
          // A row equal at an object-keys path contains `{"a":{"b":v}}`: a superset test the value's GIN
          // index answers, so the planner can skip rows instead of scanning the namespace.
          if (c.path.length > 0 && !c.path.some((part) => CANONICAL_INDEX.test(part))) sql.push(`${column} @> ${p.add(containing(c.path, c.value))}::jsonb`);
        } else {
          sql.push(`${at()} IS NOT NULL`);
          exact = false;
        }
        break;
      case "$ne":
        if (isPlainJson(c.value)) sql.push(`(${at()} IS NULL OR ${at()} <> ${p.add(operand(c.value))}::jsonb)`);
        else exact = false;
        break;
      case "$in": {
        const values = c.value as unknown[];
        const plain = values.filter(isPlainJson);
        if (plain.length !== values.length) exact = false;
        if (plain.length === values.length) sql.push(`${at()} IN (SELECT jsonb_array_elements(${p.add(operand(plain))}::jsonb))`);
        else sql.push(`${at()} IS NOT NULL`);
        break;
      }
      case "$nin": {
        const values = c.value as unknown[];
        if (values.every(isPlainJson)) sql.push(`(${at()} IS NULL OR ${at()} NOT IN (SELECT jsonb_array_elements(${p.add(operand(values))}::jsonb)))`);
        else exact = false;
        break;
      }
      default: {
        const op = RANGE_OPS[c.op];
        // Numbers compare as numbers (numeric, exact for every double); strings byte-wise in "C" order,
        // which equals JavaScript's UTF-16 order unless the operand has characters from U+D800 up.
        if (typeof c.value === "number") {
          sql.push(`CASE WHEN jsonb_typeof(${at()}) = 'number' THEN (${at()})::numeric ${op} ${p.add(String(c.value))}::numeric ELSE false END`);
        } else if (typeof c.value === "string" && !/[\uD800-\uFFFF]/.test(c.value)) {
          sql.push(`CASE WHEN jsonb_typeof(${at()}) = 'string' THEN (${at()} #>> '{}') COLLATE "C" ${op} ${p.add(escapeString(c.value))}::text ELSE false END`);
        } else {
          sql.push(`jsonb_typeof(${at()}) = 'string'`);
          exact = false;
        }
      }
    }
  }
  return { sql, exact };
}

/** Items under a namespace prefix: one index range on the encoded namespace (see `namespacePrefixRange`). */
export function namespaceCondition(column: string, range: { exact: string; lower: string; upper: string } | null, p: Params): string[] {
  if (range === null) return [];
  return [`(${column} = ${p.add(range.exact)} OR (${column} >= ${p.add(range.lower)} AND ${column} < ${p.add(range.upper)}))`];
}

export function liveItem(alias: string, now: string): string {
  return `(${alias}.expires_at IS NULL OR ${alias}.expires_at > ${now})`;
}

/** Extends the expiry of the items a read returned (TTL `refreshOnRead`), inside the read statement. */
export function touchItems(n: Names, from: string, now: string): string {
  return `touch AS (
    UPDATE ${n.store} s SET expires_at = ${now} + s.ttl_minutes * interval '1 minute'
    FROM ${from} r WHERE s.prefix = r.prefix AND s.key = r.key AND s.ttl_minutes IS NOT NULL
  )`;
}

export interface StoreRow {
  prefix: string;
  key: string;
  value: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  /** The value went through the NUL escape (json.ts). */
  escaped: boolean;
  ord?: string | number;
  dist?: number | null;
  score?: number | null;
}

/** All gets of a batch, one statement (rows carry the position of the get they answer). */
export function getItems(n: Names, o: { prefixes: string[]; keys: string[]; now: Date; refresh: boolean }): { text: string; values: unknown[] } {
  if (o.keys.length === 1) {
    // One key (every `store.get`): a plain primary-key lookup plans and runs about twice as fast as the join.
    const text = `WITH found AS (
    SELECT 1 AS ord, s.prefix, s.key, s.value, s.escaped, s.created_at, s.updated_at FROM ${n.store} s
    WHERE s.prefix = $1 AND s.key = $2 AND ${liveItem("s", "$3::timestamptz")}
  )${o.refresh ? `, ${touchItems(n, "found", "$3::timestamptz")}` : ""}
  SELECT * FROM found`;
    return { text, values: [o.prefixes[0], o.keys[0], o.now] };
  }
  const p = new Params();
  const prefixes = p.add(o.prefixes);
  const keys = p.add(o.keys);
  const now = `${p.add(o.now)}::timestamptz`;
  const text = `WITH req AS (
    SELECT * FROM unnest(${prefixes}::text[], ${keys}::text[]) WITH ORDINALITY AS r(prefix, key, ord)
  ), found AS (
    SELECT r.ord, s.prefix, s.key, s.value, s.escaped, s.created_at, s.updated_at
    FROM req r JOIN ${n.store} s ON s.prefix = r.prefix AND s.key = r.key
    WHERE ${liveItem("s", now)}
  )${o.refresh ? `, ${touchItems(n, "found", now)}` : ""}
  SELECT * FROM found`;
  return { text, values: p.values };
}

export interface PutItemsInput {
  prefixes: string[];
  keys: string[];
  /** JSON text (escaped for jsonb), or null to delete. */
  values: Array<string | null>;
  escaped: boolean[];
  ttlMinutes: Array<number | null>;
  expiresAt: Array<Date | null>;
  now: Date;
  /** `importItems`: each item's own created/updated times, which replace what the store has. */
  imported?: { createdAt: Date[]; updatedAt: Date[] };
  /** Present when the store has an index: the items whose vectors are replaced, and the new vectors. */
  vectors?: {
    reindex: boolean[];
    prefixes: string[];
    keys: string[];
    fields: string[];
    embeddings: string[];
    dims: number;
  };
}

/**
 * Every put of a batch in one statement: deletes, one multi-row upsert (`created_at` survives updates
 * of a live item), and the replaced embeddings. Foreign-key checks run at the end of the statement, so
 * vectors of items inserted by the same statement are accepted.
 */
export function putItems(n: Names, i: PutItemsInput): { text: string; values: unknown[] } {
  const p = new Params();
  const im = i.imported;
  // An import brings every item's own times: the batch's time would be a parameter without a use (and a type).
  const now = im ? "" : `${p.add(i.now)}::timestamptz`;
  const v = i.vectors;
  const vectorSteps = v
    ? `, vec_delete AS (
    DELETE FROM ${n.vectors} vv USING input i
    WHERE i.reindex AND i.value IS NOT NULL AND vv.prefix = i.prefix AND vv.key = i.key
  ), vec_insert AS (
    INSERT INTO ${n.vectors} (prefix, key, field, dims, embedding)
    SELECT e.prefix, e.key, e.field, ${v.dims}, e.embedding::${n.vectorType()}
    FROM unnest(${p.add(v.prefixes)}::text[], ${p.add(v.keys)}::text[], ${p.add(v.fields)}::text[], ${p.add(v.embeddings)}::text[])
         AS e(prefix, key, field, embedding)
  )`
    : "";
  const text = `WITH input AS (
    SELECT * FROM unnest(${p.add(i.prefixes)}::text[], ${p.add(i.keys)}::text[], ${p.add(i.values)}::jsonb[],
                         ${p.add(i.escaped)}::boolean[], ${p.add(i.ttlMinutes)}::float8[], ${p.add(i.expiresAt)}::timestamptz[]
                         ${v ? `, ${p.add(v.reindex)}::boolean[]` : ""}${im ? `, ${p.add(im.createdAt)}::timestamptz[], ${p.add(im.updatedAt)}::timestamptz[]` : ""})
         AS u(prefix, key, value, escaped, ttl_minutes, expires_at${v ? ", reindex" : ""}${im ? ", created, updated" : ""})
  ), deleted AS (
    DELETE FROM ${n.store} s USING input i WHERE i.value IS NULL AND s.prefix = i.prefix AND s.key = i.key
  ), upserted AS (
    INSERT INTO ${n.store} AS s (prefix, key, value, escaped, created_at, updated_at, ttl_minutes, expires_at)
    SELECT prefix, key, value, escaped, ${im ? "created, updated" : `${now}, ${now}`}, ttl_minutes, expires_at FROM input WHERE value IS NOT NULL
    ON CONFLICT (prefix, key) DO UPDATE SET
      value = excluded.value, escaped = excluded.escaped, updated_at = excluded.updated_at, ttl_minutes = excluded.ttl_minutes,
      expires_at = excluded.expires_at,
      created_at = ${im ? "excluded.created_at" : "CASE WHEN s.expires_at <= excluded.updated_at THEN excluded.created_at ELSE s.created_at END"}
  )${vectorSteps}
  SELECT 1`;
  return { text, values: p.values };
}

/** Distinct live namespaces (optionally under a literal prefix) for `listNamespaces`. */
export function listNamespaces(n: Names, o: { range: { exact: string; lower: string; upper: string } | null; now: Date }): { text: string; values: unknown[] } {
  const p = new Params();
  const where = [liveItem("s", `${p.add(o.now)}::timestamptz`), ...namespaceCondition("s.prefix", o.range, p)];
  return { text: `SELECT DISTINCT s.prefix FROM ${n.store} s WHERE ${where.join(" AND ")}`, values: p.values };
}

export interface SearchInput {
  range: { exact: string; lower: string; upper: string } | null;
  conditions: readonly FilterCondition[];
  limit: number;
  offset: number;
  now: Date;
  refresh: boolean;
  /** Semantic search: the query embedding and how to rank. */
  vector?: {
    query: number[];
    dims: number;
    distance: "cosine" | "l2" | "inner_product";
    /** HNSW-shaped query (ANN scan, then grouping by item), or an exact scan of the candidates. */
    mode: "ann" | "exact";
    /** Vectors read by the ANN scan. */
    candidates: number;
    /** `SET LOCAL`-equivalents for the ANN scan, e.g. `hnsw.iterative_scan`. */
    settings: Array<[string, string]>;
  };
}

export const DISTANCE_OPERATORS = { cosine: "<=>", l2: "<->", inner_product: "<#>" } as const;
export const DISTANCE_OPCLASSES = { cosine: "vector_cosine_ops", l2: "vector_l2_ops", inner_product: "vector_ip_ops" } as const;

/** Name of the partial HNSW index serving one (distance, dims) pair. */
export function hnswIndexName(distance: keyof typeof DISTANCE_OPERATORS, dims: number): string {
  return `lgp_store_vectors_hnsw_${distance}_${dims}`;
}

export function createHnswIndex(n: Names, o: { distance: keyof typeof DISTANCE_OPERATORS; dims: number; m: number; efConstruction: number }): string {
  return `CREATE INDEX IF NOT EXISTS ${n.ix(hnswIndexName(o.distance, o.dims))} ON ${n.vectors}
  USING hnsw ((embedding::${n.vectorType(o.dims)}) ${n.vectorOpclass(DISTANCE_OPCLASSES[o.distance])})
  WITH (m = ${o.m}, ef_construction = ${o.efConstruction})
  WHERE dims = ${o.dims}`;
}

/** The expression of a zero-norm embedding, as the partial index `lgp_store_vectors_zero_idx` states it. */
export function zeroNorm(n: Names, col: string): string {
  return `${n.vectorFn("vector_norm")}(${col}) = 0`;
}

/**
 * One search. Without a query vector: filtered items by `updated_at` desc. With one:
 * - "ann": the nearest vectors of matching items (`ORDER BY embedding <op> q LIMIT k`, which the
 *   partial HNSW index serves, the filter inside the same scan), plus — for cosine, whose HNSW index
 *   leaves zero vectors out — the matching items' zero vectors (through the partial index of zero-norm
 *   embeddings, so a normal search reads none), grouped per item (best vector wins), then — only when
 *   that scan was not cut short — the matching items without vectors, after them;
 * - "exact": every matching item with its best distance (no index; exact).
 * Scores follow core `similarity` (higher = more similar): `1 - <=>` for cosine (a zero vector, whose
 * pgvector distance is NaN, counts as distance 1: score 0), `0 - <->` for l2, `0 - <#>` for
 * inner_product (`<#>` is the negated inner product). Ranking by distance ascending is ranking by score
 * descending. `exactFilter` is false when the filter could only be pushed down as a superset: the
 * caller then asks again with `paged: false` (every candidate, in rank order) and re-checks rows in
 * JavaScript before paging.
 */
export function searchItems(n: Names, s: SearchInput, paged: boolean): { text: string; values: unknown[]; exactFilter: boolean } {
  const p = new Params();
  const now = `${p.add(s.now)}::timestamptz`;
  const filter = compileFilter(s.conditions, "s.value", p);
  const itemWhere = [liveItem("s", now), ...namespaceCondition("s.prefix", s.range, p), ...filter.sql].join(" AND ");
  const cols = "s.prefix, s.key, s.value, s.escaped, s.created_at, s.updated_at";
  const page = paged ? `OFFSET ${p.add(s.offset)} LIMIT ${p.add(s.limit)}` : "";
  const refresh = s.refresh && paged ? `, ${touchItems(n, "page", now)}` : "";
  if (!s.vector) {
    const text = `WITH page AS (
    SELECT ${cols} FROM ${n.store} s WHERE ${itemWhere}
    ORDER BY s.updated_at DESC, s.key, s.prefix ${page}
  )${refresh}
  SELECT * FROM page ORDER BY updated_at DESC, key, prefix`;
    return { text, values: p.values, exactFilter: filter.exact };
  }
  const v = s.vector;
  const vt = n.vectorType(v.dims);
  const q = `${p.add(JSON.stringify(v.query))}::${vt}`;
  const dist = (col: string) => `(${col}::${vt} ${n.vectorOp(DISTANCE_OPERATORS[v.distance])} ${q})`;
  // The cosine distance of a zero vector (stored or queried) is NaN in pgvector; core scores it 0,
  // which is distance 1. Applied per vector, before the best vector of an item is chosen.
  const rankDist = (d: string) => (v.distance === "cosine" ? `COALESCE(NULLIF(${d}, 'NaN'), 1)` : d);
  // `0 - d` (not `-d`): an exact l2 match scores 0, not -0. NULL (no vectors) stays NULL.
  const score = v.distance === "cosine" ? "1 - c.dist" : "0 - c.dist";
  let candidates: string;
  if (v.mode === "ann") {
    // One vector more than needed tells "the scan ran out" (every scored item is known, unscored ones
    // may follow) from "the scan was cut short".
    const k = p.add(v.candidates);
    const kPlusOne = p.add(v.candidates + 1);
    // Uncorrelated scalar subqueries become an InitPlan run before the scan starts: the settings apply
    // to this statement's index scan only (transaction-local, so a pooler never leaks them).
    const gate = v.settings.length
      ? `(SELECT ${v.settings.map(([name, value]) => `set_config(${p.add(name)}, ${p.add(value)}, true)`).join(" || ")}) IS NOT NULL AND `
      : "";
    const vectorWhere = [`vv.dims = ${v.dims}`, ...namespaceCondition("vv.prefix", s.range, p)].join(" AND ");
    // A cosine HNSW index never returns zero vectors (it does not index them). They score 0
    // (distance 1): they belong to the ranking when the scan ran out or reached distance 1. They are
    // read through the partial index of zero-norm embeddings; each item is checked with a
    // primary-key lookup (a lateral subquery the planner cannot flatten), whatever the estimates.
    // All of them tie at distance 1, so only the newest `offset + limit` can reach the page: the LIMIT
    // also keeps the planner's row estimate for this branch (no statistics on vector norms) small.
    const zeros =
      v.distance === "cosine"
        ? `, zeros AS (
    SELECT z.prefix, z.key, 1::float8 AS dist
    FROM (SELECT DISTINCT vv.prefix, vv.key FROM ${n.vectors} vv
          WHERE ${zeroNorm(n, "vv.embedding")} AND ${vectorWhere}
            AND ((SELECT count(*) FROM hits) <= ${k} OR (SELECT max(dist) FROM hits) >= 1)) z,
         LATERAL (SELECT s.updated_at FROM ${n.store} s WHERE s.prefix = z.prefix AND s.key = z.key AND ${itemWhere} OFFSET 0) live
    ORDER BY live.updated_at DESC, z.key, z.prefix
    ${paged ? `LIMIT ${p.add(s.offset + s.limit)}` : ""}
  )`
        : "";
    const ranked = zeros ? "(SELECT prefix, key, dist FROM hits UNION ALL SELECT prefix, key, dist FROM zeros) h" : "hits";
    candidates = `hits AS (
    SELECT vv.prefix, vv.key, ${dist("vv.embedding")} AS dist
    FROM ${n.vectors} vv JOIN ${n.store} s ON s.prefix = vv.prefix AND s.key = vv.key
    WHERE ${gate}${vectorWhere} AND ${itemWhere}
    ORDER BY ${dist("vv.embedding")}
    LIMIT ${kPlusOne}
  )${zeros}, candidates AS (
    SELECT ${cols}, b.dist FROM (SELECT prefix, key, min(${rankDist("dist")}) AS dist FROM ${ranked} GROUP BY prefix, key) b
    JOIN ${n.store} s ON s.prefix = b.prefix AND s.key = b.key
    UNION ALL
    (SELECT ${cols}, NULL::float8 FROM ${n.store} s
     WHERE ${itemWhere} AND (SELECT count(*) FROM hits) <= ${k}
       AND NOT EXISTS (SELECT 1 FROM ${n.vectors} vv WHERE vv.prefix = s.prefix AND vv.key = s.key AND vv.dims = ${v.dims})
     ORDER BY s.updated_at DESC, s.key, s.prefix
     ${paged ? `LIMIT ${p.add(s.offset + s.limit)}` : ""})
  )`;
  } else {
    candidates = `candidates AS (
    SELECT ${cols}, (SELECT min(${rankDist(dist("vv.embedding"))}) FROM ${n.vectors} vv
                     WHERE vv.prefix = s.prefix AND vv.key = s.key AND vv.dims = ${v.dims}) AS dist
    FROM ${n.store} s WHERE ${itemWhere}
  )`;
  }
  const text = `WITH ${candidates}, page AS (
    SELECT c.*, ${score} AS score FROM candidates c
    ORDER BY c.dist ASC NULLS LAST, c.updated_at DESC, c.key, c.prefix ${page}
  )${refresh}
  SELECT * FROM page ORDER BY dist ASC NULLS LAST, updated_at DESC, key, prefix`;
  return { text, values: p.values, exactFilter: filter.exact };
}

/** Extends the expiry of the listed items (TTL `refreshOnRead` after a search paged in JavaScript). */
export function refreshItems(n: Names): string {
  return `UPDATE ${n.store} s SET expires_at = $3::timestamptz + s.ttl_minutes * interval '1 minute'
  FROM unnest($1::text[], $2::text[]) AS r(prefix, key)
  WHERE s.prefix = r.prefix AND s.key = r.key AND s.ttl_minutes IS NOT NULL`;
}

/** Removes up to `$2` expired items (their vectors go by cascade). */
export function sweepItems(n: Names): string {
  return `DELETE FROM ${n.store} s USING (
    SELECT prefix, key FROM ${n.store} WHERE expires_at <= $1::timestamptz ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
  ) d WHERE s.prefix = d.prefix AND s.key = d.key`;
}

/** Where the pgvector extension lives (its objects are qualified with that schema). */
export const VECTOR_EXTENSION = `SELECT n.nspname AS schema, e.extversion AS version
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`;
export const VECTOR_AVAILABLE = `SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`;
