import { createRequire } from "node:module";
import { JsonPlusSerializer, TASKS, maxChannelVersion, type Checkpoint, type CheckpointMetadata, type CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { CheckpointSource, ItemSource, SourceCheckpoint, SourceItem } from "@langgraph-persist/core";
import { CliError } from "../errors.js";
import { officialTuple } from "./tuple.js";

/** The newest PostgresSaver migration (index into its list) this reader knows: @langchain/langgraph-checkpoint-postgres 1.0.x. */
export const KNOWN_SAVER_MIGRATION = 4;

interface PgClient {
  connect(): Promise<void>;
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): void;
}

async function loadPg(): Promise<{ Client: new (options: { connectionString: string; connectionTimeoutMillis?: number }) => PgClient }> {
  try {
    const require = createRequire(import.meta.resolve("@langgraph-persist/postgres"));
    return require("pg");
  } catch (err) {
    throw new CliError("reading an official Postgres source needs @langgraph-persist/postgres and pg: npm install @langgraph-persist/postgres pg", { cause: err });
  }
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const decoder = new TextDecoder();

interface StoreRow {
  namespace_path: string;
  key: string;
  value: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  expires_at: Date | null;
  bytes: string;
}

interface CheckpointRow {
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  checkpoint: Checkpoint;
  metadata: Record<string, unknown>;
  bytes: string;
}

/**
 * Reads the tables of the official `@langchain/langgraph-checkpoint-postgres` PostgresSaver
 * (`checkpoints`, `checkpoint_blobs`, `checkpoint_writes`, `checkpoint_migrations`) and PostgresStore
 * (`store`) of one schema, in one READ ONLY, REPEATABLE READ transaction (a consistent snapshot; the
 * source cannot be written to). A thread is read in pages of checkpoints, three queries per page
 * (checkpoints, the distinct blobs they reference, their writes), and decoded as the official saver
 * decodes them, with the upstream JsonPlusSerializer.
 */
export class OfficialPostgresSource implements CheckpointSource, ItemSource {
  private readonly serde = new JsonPlusSerializer();
  private readonly t: { checkpoints: string; blobs: string; writes: string; migrations: string; store: string; storeMigrations: string };
  hasSaver = false;
  hasStore = false;

  private constructor(
    private readonly client: PgClient,
    readonly schema: string,
    private readonly pageSize: number,
  ) {
    const s = ident(schema);
    this.t = {
      checkpoints: `${s}.checkpoints`,
      blobs: `${s}.checkpoint_blobs`,
      writes: `${s}.checkpoint_writes`,
      migrations: `${s}.checkpoint_migrations`,
      store: `${s}.store`,
      storeMigrations: `${s}.store_migrations`,
    };
  }

  static async open(connectionString: string, options: { schema?: string; pageSize?: number } = {}): Promise<OfficialPostgresSource> {
    const pg = await loadPg();
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
    client.on("error", () => {});
    await client.connect();
    const source = new OfficialPostgresSource(client, options.schema ?? "public", options.pageSize ?? 100);
    try {
      await client.query("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
      await source.inspect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return source;
  }

  /** Checks that the schema holds the official layout, at a migration version this reader knows. */
  private async inspect(): Promise<void> {
    const { rows } = await this.client.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = ANY($2)`,
      [this.schema, ["checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations", "store", "store_migrations"]],
    );
    const columns = new Map<string, Set<string>>();
    for (const r of rows) (columns.get(r.table_name) ?? columns.set(r.table_name, new Set()).get(r.table_name)!).add(r.column_name);
    const need: Record<string, string[]> = {
      checkpoints: ["thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id", "checkpoint", "metadata"],
      checkpoint_blobs: ["thread_id", "checkpoint_ns", "channel", "version", "type", "blob"],
      checkpoint_writes: ["thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx", "channel", "type", "blob"],
      checkpoint_migrations: ["v"],
    };
    const saverTables = Object.keys(need).filter((t) => columns.has(t));
    if (saverTables.length > 0) {
      for (const [table, cols] of Object.entries(need)) {
        const have = columns.get(table);
        if (!have) throw new CliError(`schema "${this.schema}" is not an official PostgresSaver layout: table ${table} is missing`);
        const missing = cols.filter((c) => !have.has(c));
        if (missing.length > 0) throw new CliError(`schema "${this.schema}" is not an official PostgresSaver layout: ${table} has no column ${missing.join(", ")}`);
      }
      const { rows: v } = await this.client.query<{ v: number | null }>(`SELECT max(v) AS v FROM ${this.t.migrations}`);
      const version = v[0]?.v ?? -1;
      if (version > KNOWN_SAVER_MIGRATION) {
        throw new CliError(`schema "${this.schema}" is at PostgresSaver migration ${version}, newer than this importer knows (${KNOWN_SAVER_MIGRATION}): upgrade @langgraph-persist/cli`);
      }
      this.hasSaver = true;
    }
    const store = columns.get("store");
    if (store) {
      const missing = ["namespace_path", "key", "value", "created_at", "updated_at", "expires_at"].filter((c) => !store.has(c));
      if (missing.length > 0) throw new CliError(`schema "${this.schema}" is not an official PostgresStore layout: store has no column ${missing.join(", ")}`);
      this.hasStore = true;
    }
    if (!this.hasSaver && !this.hasStore) throw new CliError(`schema "${this.schema}" holds no official PostgresSaver or PostgresStore tables (checkpoints, store)`);
  }

  async *threads(): AsyncIterable<string> {
    if (!this.hasSaver) return;
    let after: string | null = null;
    for (;;) {
      const { rows }: { rows: Array<{ thread_id: string }> } = await this.client.query(
        `SELECT DISTINCT thread_id FROM ${this.t.checkpoints} WHERE $1::text IS NULL OR thread_id > $1 ORDER BY thread_id LIMIT 1000`,
        [after],
      );
      for (const r of rows) yield r.thread_id;
      if (rows.length < 1000) return;
      after = rows[rows.length - 1].thread_id;
    }
  }

  async *readThread(threadId: string): AsyncIterable<SourceCheckpoint> {
    if (!this.hasSaver) return;
    let after: [string, string] | null = null;
    for (;;) {
      const { rows }: { rows: CheckpointRow[] } = await this.client.query(
        `SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata,
                octet_length(checkpoint::text) + octet_length(metadata::text) AS bytes
         FROM ${this.t.checkpoints}
         WHERE thread_id = $1 AND ($2::text IS NULL OR (checkpoint_ns, checkpoint_id) > ($2, $3))
         ORDER BY checkpoint_ns, checkpoint_id LIMIT $4`,
        [threadId, after?.[0] ?? null, after?.[1] ?? null, this.pageSize],
      );
      if (rows.length === 0) return;
      const first: CheckpointRow = rows[0];
      const last: CheckpointRow = rows[rows.length - 1];
      const range = [threadId, first.checkpoint_ns, first.checkpoint_id, last.checkpoint_ns, last.checkpoint_id];
      const [blobs, writes] = await Promise.all([
        this.client.query<{ checkpoint_ns: string; channel: string; version: string; type: string; blob: Buffer | null }>(
          `SELECT DISTINCT ON (bl.checkpoint_ns, bl.channel, bl.version) bl.checkpoint_ns, bl.channel, bl.version, bl.type, bl.blob
           FROM ${this.t.checkpoints} cp
           CROSS JOIN LATERAL jsonb_each_text(cp.checkpoint -> 'channel_versions') cv
           JOIN ${this.t.blobs} bl ON bl.thread_id = cp.thread_id AND bl.checkpoint_ns = cp.checkpoint_ns AND bl.channel = cv.key AND bl.version = cv.value
           WHERE cp.thread_id = $1 AND (cp.checkpoint_ns, cp.checkpoint_id) >= ($2, $3) AND (cp.checkpoint_ns, cp.checkpoint_id) <= ($4, $5)`,
          range,
        ),
        this.client.query<{ checkpoint_ns: string; checkpoint_id: string; task_id: string; idx: number; channel: string; type: string | null; blob: Buffer }>(
          `SELECT checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob FROM ${this.t.writes}
           WHERE thread_id = $1 AND (checkpoint_ns, checkpoint_id) >= ($2, $3) AND (checkpoint_ns, checkpoint_id) <= ($4, $5)
           ORDER BY checkpoint_ns, checkpoint_id, task_id, idx`,
          range,
        ),
      ]);
      // Each blob decoded once per page, though most are referenced by several checkpoints.
      const blobValues = new Map<string, { value: Promise<unknown> | undefined; bytes: number }>();
      for (const b of blobs.rows) {
        blobValues.set(`${b.checkpoint_ns}\u0000${b.channel}\u0000${b.version}`, {
          value: b.type === "empty" ? undefined : this.serde.loadsTyped(b.type, b.blob ?? new Uint8Array(0)),
          bytes: b.blob?.length ?? 0,
        });
      }
      const writesOf = new Map<string, typeof writes.rows>();
      for (const w of writes.rows) {
        const k = `${w.checkpoint_ns}\u0000${w.checkpoint_id}`;
        (writesOf.get(k) ?? writesOf.set(k, []).get(k)!).push(w);
      }
      for (const row of rows) yield await this.toCheckpoint(threadId, row, blobValues, writesOf.get(`${row.checkpoint_ns}\u0000${row.checkpoint_id}`) ?? []);
      if (rows.length < this.pageSize) return;
      after = [last.checkpoint_ns, last.checkpoint_id];
    }
  }

  private async toCheckpoint(
    threadId: string,
    row: CheckpointRow,
    blobValues: Map<string, { value: Promise<unknown> | undefined; bytes: number }>,
    writes: Array<{ task_id: string; channel: string; type: string | null; blob: Buffer }>,
  ): Promise<SourceCheckpoint> {
    const stored = row.checkpoint;
    let bytes = Number(row.bytes);
    const channelValues: Record<string, unknown> = {};
    for (const [channel, version] of Object.entries(stored.channel_versions ?? {})) {
      const blob = blobValues.get(`${row.checkpoint_ns}\u0000${channel}\u0000${String(version)}`);
      if (!blob) continue;
      bytes += blob.bytes;
      if (blob.value !== undefined) channelValues[channel] = await blob.value;
    }
    if (stored.v < 4 && row.parent_checkpoint_id != null) await this.migratePendingSends(threadId, row, channelValues);
    const checkpoint: Checkpoint = { ...stored, channel_versions: stored.channel_versions ?? {}, versions_seen: stored.versions_seen ?? {}, channel_values: channelValues };
    // The official saver reads metadata through a serde round trip of the stored JSON.
    const [mt, md] = await this.serde.dumpsTyped(row.metadata);
    const metadata = await this.serde.loadsTyped(mt, md);
    const storedWrites = writes.map((w) => ({ task_id: w.task_id, channel: w.channel, type: w.type, data: w.blob, bytes: w.blob.length }));
    return officialTuple(this.serde, threadId, row, checkpoint, metadata as CheckpointMetadata, storedWrites, bytes);
  }

  /** Checkpoints older than format v4 kept pending sends in the parent's TASKS writes; the official saver moves them into the channel. */
  private async migratePendingSends(threadId: string, row: CheckpointRow, channelValues: Record<string, unknown>): Promise<void> {
    const { rows } = await this.client.query<{ type: string; blob: Buffer }>(
      `SELECT type, blob FROM ${this.t.writes} WHERE thread_id = $1 AND checkpoint_id = $2 AND channel = $3 ORDER BY task_id, idx`,
      [threadId, row.parent_checkpoint_id, TASKS],
    );
    if (rows.length === 0) return;
    const sends = await Promise.all(rows.map((r) => this.serde.loadsTyped(r.type, r.blob)));
    const [t, d] = await this.serde.dumpsTyped(sends);
    channelValues[TASKS] = await this.serde.loadsTyped(t, d);
    const versions = Object.values(row.checkpoint.channel_versions ?? {});
    (row.checkpoint.channel_versions as Record<string, string | number>)[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : 1;
  }

  async *items(prefix: string[]): AsyncIterable<SourceItem[]> {
    if (!this.hasStore) return;
    const path = prefix.join(":");
    let after: [string, string] | null = null;
    for (;;) {
      const { rows }: { rows: StoreRow[] } = await this.client.query(
        `SELECT namespace_path, key, value, created_at, updated_at, expires_at, octet_length(value::text) AS bytes FROM ${this.t.store}
         WHERE ($1 = '' OR namespace_path = $1 OR left(namespace_path, length($1) + 1) = $1 || ':')
           AND ($2::text IS NULL OR (namespace_path, key) > ($2, $3))
         ORDER BY namespace_path, key LIMIT $4`,
        [path, after?.[0] ?? null, after?.[1] ?? null, 500],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => ({
        namespace: r.namespace_path.split(":"),
        key: r.key,
        value: r.value,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
        expiresAt: r.expires_at ? r.expires_at.getTime() : null,
        bytes: Number(r.bytes),
      }));
      if (rows.length < 500) return;
      const last: StoreRow = rows[rows.length - 1];
      after = [last.namespace_path, last.key];
    }
  }

  async close(): Promise<void> {
    await this.client.query("ROLLBACK").catch(() => {});
    await this.client.end().catch(() => {});
  }
}
