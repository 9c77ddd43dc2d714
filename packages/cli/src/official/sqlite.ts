import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { JsonPlusSerializer, TASKS, maxChannelVersion, type Checkpoint, type CheckpointMetadata, type CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { CheckpointSource, SourceCheckpoint } from "@langgraph-persist/core";
import { CliError } from "../errors.js";
import { officialTuple } from "./tuple.js";

interface Statement {
  all(...params: unknown[]): unknown[];
}
interface Database {
  prepare(sql: string): Statement;
  close(): void;
}
type DatabaseConstructor = new (path: string, options: { readonly: boolean; fileMustExist: boolean }) => Database;

function loadBetterSqlite(): DatabaseConstructor {
  try {
    const require = createRequire(import.meta.resolve("@langgraph-persist/sqlite"));
    return require("better-sqlite3");
  } catch (err) {
    throw new CliError("reading an official SQLite source needs @langgraph-persist/sqlite and better-sqlite3: npm install @langgraph-persist/sqlite better-sqlite3", { cause: err });
  }
}

interface CheckpointRow {
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  type: string | null;
  checkpoint: Buffer;
  metadata: Buffer;
}

interface WriteRow {
  checkpoint_ns: string;
  checkpoint_id: string;
  task_id: string;
  channel: string;
  type: string | null;
  value: string | null;
  bytes: number;
}

/**
 * Reads a database file of the official `@langchain/langgraph-checkpoint-sqlite` SqliteSaver (tables
 * `checkpoints` and `writes`), opened read-only. A thread is read in pages of checkpoints with one
 * query for the writes of the whole page, decoded as the official saver decodes them (upstream
 * JsonPlusSerializer; writes read as text, as it reads them).
 */
export class OfficialSqliteSource implements CheckpointSource {
  private readonly serde = new JsonPlusSerializer();
  private readonly pageStmt: Statement;
  private readonly writesStmt: Statement;
  private readonly threadsStmt: Statement;
  private readonly sendsStmt: Statement;

  private constructor(
    private readonly db: Database,
    private readonly pageSize: number,
  ) {
    this.threadsStmt = db.prepare(`SELECT DISTINCT thread_id FROM checkpoints WHERE thread_id > ? ORDER BY thread_id LIMIT 1000`);
    this.pageStmt = db.prepare(
      `SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints
       WHERE thread_id = ? AND (checkpoint_ns, checkpoint_id) > (?, ?) ORDER BY checkpoint_ns, checkpoint_id LIMIT ?`,
    );
    this.writesStmt = db.prepare(
      `SELECT checkpoint_ns, checkpoint_id, task_id, channel, type, CAST(value AS TEXT) AS value, length(value) AS bytes FROM writes
       WHERE thread_id = ? AND (checkpoint_ns, checkpoint_id) >= (?, ?) AND (checkpoint_ns, checkpoint_id) <= (?, ?)
       ORDER BY checkpoint_ns, checkpoint_id, task_id, idx`,
    );
    this.sendsStmt = db.prepare(`SELECT type, CAST(value AS TEXT) AS value FROM writes WHERE thread_id = ? AND checkpoint_id = ? AND channel = ? ORDER BY idx`);
  }

  static open(path: string, options: { pageSize?: number } = {}): OfficialSqliteSource {
    const abs = resolve(path);
    if (!existsSync(abs)) throw new CliError(`no SQLite database at ${abs}`);
    const Database = loadBetterSqlite();
    const db = new Database(abs, { readonly: true, fileMustExist: true });
    try {
      const columns = (table: string) => new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>).map((r) => r.name));
      const need: Record<string, string[]> = {
        checkpoints: ["thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id", "type", "checkpoint", "metadata"],
        writes: ["thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx", "channel", "type", "value"],
      };
      for (const [table, cols] of Object.entries(need)) {
        const have = columns(table);
        if (have.size === 0) throw new CliError(`${abs} is not an official SqliteSaver database: table ${table} is missing`);
        const missing = cols.filter((c) => !have.has(c));
        if (missing.length > 0) throw new CliError(`${abs} is not an official SqliteSaver database: ${table} has no column ${missing.join(", ")}`);
      }
      return new OfficialSqliteSource(db, options.pageSize ?? 200);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async *threads(): AsyncIterable<string> {
    let after = "";
    for (;;) {
      const rows = this.threadsStmt.all(after) as Array<{ thread_id: string }>;
      for (const r of rows) yield r.thread_id;
      if (rows.length < 1000) return;
      after = rows[rows.length - 1].thread_id;
    }
  }

  async *readThread(threadId: string): AsyncIterable<SourceCheckpoint> {
    // Checkpoint ids are never empty, so ("", "") lies before every row of the thread.
    let after: [string, string] = ["", ""];
    for (;;) {
      const rows = this.pageStmt.all(threadId, after[0], after[1], this.pageSize) as CheckpointRow[];
      if (rows.length === 0) return;
      const first = rows[0];
      const last = rows[rows.length - 1];
      const writes = this.writesStmt.all(threadId, first.checkpoint_ns, first.checkpoint_id, last.checkpoint_ns, last.checkpoint_id) as WriteRow[];
      const writesOf = new Map<string, WriteRow[]>();
      for (const w of writes) {
        const k = `${w.checkpoint_ns}\u0000${w.checkpoint_id}`;
        (writesOf.get(k) ?? writesOf.set(k, []).get(k)!).push(w);
      }
      for (const row of rows) yield await this.toCheckpoint(threadId, row, writesOf.get(`${row.checkpoint_ns}\u0000${row.checkpoint_id}`) ?? []);
      if (rows.length < this.pageSize) return;
      after = [last.checkpoint_ns, last.checkpoint_id];
    }
  }

  private async toCheckpoint(threadId: string, row: CheckpointRow, writes: WriteRow[]): Promise<SourceCheckpoint> {
    const type = row.type ?? "json";
    const checkpoint = (await this.serde.loadsTyped(type, row.checkpoint)) as Checkpoint;
    if (checkpoint.v < 4 && row.parent_checkpoint_id != null) {
      const sends = this.sendsStmt.all(threadId, row.parent_checkpoint_id, TASKS) as Array<{ type: string; value: string }>;
      checkpoint.channel_values ??= {};
      (checkpoint.channel_values as Record<string, unknown>)[TASKS] = await Promise.all(sends.map((s) => this.serde.loadsTyped(s.type, s.value)));
      const versions = Object.values(checkpoint.channel_versions);
      (checkpoint.channel_versions as Record<string, string | number>)[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : 1;
    }
    const metadata = await this.serde.loadsTyped(type, row.metadata);
    const bytes = (row.checkpoint?.length ?? 0) + (row.metadata?.length ?? 0);
    const storedWrites = writes.map((w) => ({ task_id: w.task_id, channel: w.channel, type: w.type, data: w.value ?? "", bytes: w.bytes ?? 0 }));
    return officialTuple(this.serde, threadId, row, checkpoint, metadata as CheckpointMetadata, storedWrites, bytes);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
