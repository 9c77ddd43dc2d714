import { accessSync, constants as fsConstants, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import type BetterSqlite3 from "better-sqlite3";
import {
  BackendError,
  CapabilityError,
  ClientClosedError,
  InvalidArgumentError,
  NotSetUpError,
  PersistenceError,
  toPersistenceError,
} from "@langgraph-persist/core";
import type { ResolvedConnectionOptions, SqliteConnectionOptions } from "./options.js";
import { migrationSql } from "./sql.js";

/** A better-sqlite3 `Database`. */
export type SqliteDatabase = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

const MAX_CACHED_STATEMENTS = 500;

const DEFAULTS: ResolvedConnectionOptions = { busyTimeoutMs: 5000, wal: true, tablePrefix: "" };

export function resolveConnectionOptions(source: string, options: SqliteConnectionOptions): ResolvedConnectionOptions {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULTS.busyTimeoutMs;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > 2 ** 31 - 1) {
    throw new InvalidArgumentError(source, `busyTimeoutMs must be a non-negative integer, got ${String(options.busyTimeoutMs)}`);
  }
  const wal = options.wal ?? DEFAULTS.wal;
  if (typeof wal !== "boolean") throw new InvalidArgumentError(source, `wal must be a boolean, got ${typeof wal}`);
  const tablePrefix = options.tablePrefix ?? DEFAULTS.tablePrefix;
  if (typeof tablePrefix !== "string" || !/^[A-Za-z0-9_]*$/.test(tablePrefix) || tablePrefix.length > 64) {
    throw new InvalidArgumentError(source, `tablePrefix may contain only letters, digits and "_" (at most 64), got ${JSON.stringify(tablePrefix)}`);
  }
  return { busyTimeoutMs, wal, tablePrefix };
}

/**
 * Turns what a user passes into a filename: a path, `":memory:"`, or a `sqlite:` / `file:` URL
 * without query parameters.
 */
export function filenameFromConnString(source: string, conn: unknown): string {
  if (typeof conn !== "string" || conn.trim() === "") {
    throw new InvalidArgumentError(source, `Expected a database filename or ":memory:", got ${conn === "" ? "an empty string" : typeof conn}`);
  }
  let name = conn;
  const m = /^(?:sqlite:(?:\/\/)?|file:)(.*)$/.exec(conn);
  if (m) name = m[1];
  if (name === "" || name.includes("?")) {
    throw new InvalidArgumentError(source, `Cannot use ${JSON.stringify(conn)} as a database: give a path or ":memory:" (query parameters are not supported)`);
  }
  return name;
}

function isDatabase(value: unknown): value is SqliteDatabase {
  return typeof value === "object" && value !== null && typeof (value as { prepare?: unknown }).prepare === "function" && typeof (value as { exec?: unknown }).exec === "function";
}

/**
 * One SQLite connection as the adapters use it: opened lazily (so a bad path surfaces as a typed
 * rejection of `setup()` or the first call), statements prepared once and reused, write transactions
 * started with `BEGIN IMMEDIATE` so two processes on one file queue on the busy timeout instead of
 * failing on a lock upgrade.
 */
export class SqliteConnection {
  readonly owned: boolean;
  private readonly filename: string | undefined;
  private db: SqliteDatabase | undefined;
  private readonly external: SqliteDatabase | undefined;
  private readonly cache = new Map<string, Statement>();
  private ended = false;

  constructor(
    private readonly source: string,
    input: SqliteDatabase | string,
    private readonly options: ResolvedConnectionOptions,
    /** Runs once on the handle before first use (e.g. loading an extension). */
    private readonly prepareHandle?: (db: SqliteDatabase) => void,
  ) {
    if (typeof input === "string") {
      this.owned = true;
      this.filename = filenameFromConnString(source, input);
    } else if (isDatabase(input)) {
      this.owned = false;
      this.external = input;
    } else {
      throw new InvalidArgumentError(source, `Expected a better-sqlite3 Database or a filename, got ${input === null ? "null" : typeof input}`);
    }
  }

  /** The open handle; opens the file on first use. */
  get database(): SqliteDatabase {
    if (this.ended) throw new ClientClosedError(this.source, "The database connection has been closed");
    if (this.db) {
      if (!this.db.open) throw new ClientClosedError(this.source, "The database connection is not open (it was closed by its owner)");
      return this.db;
    }
    if (this.external) {
      if (!this.external.open) throw new ClientClosedError(this.source, "The database connection is not open (it was closed by its owner)");
      this.prepareHandle?.(this.external);
      this.db = this.external;
      return this.db;
    }
    const filename = this.filename!;
    if (!isMemory(filename)) prepareLocation(this.source, filename);
    let db: SqliteDatabase;
    try {
      db = new Database(filename, { timeout: this.options.busyTimeoutMs });
    } catch (err) {
      throw locationError(this.source, filename, err) ?? mapSqliteError(this.source, `Opening ${JSON.stringify(filename)}`, err, "");
    }
    try {
      // Reading the header here makes a corrupt or foreign file fail now, before anything else runs.
      if (this.options.wal && !isMemory(filename)) {
        try {
          db.pragma("journal_mode = WAL");
        } catch (err) {
          // A read-only file stays readable in its current journal mode; writes fail with a typed error.
          if (!String((err as { code?: unknown }).code).startsWith("SQLITE_READONLY")) throw err;
        }
      }
      db.prepare("SELECT count(*) FROM sqlite_schema").get();
      this.prepareHandle?.(db);
    } catch (err) {
      db.close();
      throw locationError(this.source, filename, err) ?? mapSqliteError(this.source, `Opening ${JSON.stringify(filename)}`, err, "");
    }
    this.db = db;
    return db;
  }

  /** A cached prepared statement. */
  stmt(sql: string): Statement {
    const db = this.database;
    let s = this.cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      // Filters make the SQL text vary with their shape (values are always bound): keep the cache bounded.
      if (this.cache.size >= MAX_CACHED_STATEMENTS) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(sql, s);
    }
    return s;
  }

  /** A statement to iterate: the cached one, or a fresh one while the cached one is still iterating. */
  iterable(sql: string): Statement {
    const s = this.stmt(sql);
    return s.busy ? this.database.prepare(sql) : s;
  }

  /** Runs `fn` in one write transaction (`BEGIN IMMEDIATE`), or a savepoint inside a caller's transaction. */
  write<T>(fn: () => T): T {
    return this.transaction("BEGIN IMMEDIATE", fn);
  }

  /** Runs several reads against one snapshot. */
  read<T>(fn: () => T): T {
    return this.transaction("BEGIN", fn);
  }

  private transaction<T>(begin: string, fn: () => T): T {
    const db = this.database;
    if (db.inTransaction) {
      this.stmt("SAVEPOINT langgraph_persist").run();
      try {
        const result = fn();
        this.stmt("RELEASE langgraph_persist").run();
        return result;
      } catch (err) {
        this.stmt("ROLLBACK TO langgraph_persist").run();
        this.stmt("RELEASE langgraph_persist").run();
        throw err;
      }
    }
    this.stmt(begin).run();
    try {
      const result = fn();
      this.stmt("COMMIT").run();
      return result;
    } catch (err) {
      if (db.inTransaction) this.stmt("ROLLBACK").run();
      throw err;
    }
  }

  /** Applies the missing migrations of one list in one write transaction (the cross-process lock). */
  migrate(table: string, migrations: readonly string[]): void {
    const sql = migrationSql(table);
    this.write(() => {
      this.database.exec(sql.create);
      const current = (this.stmt(sql.current).get() as { v: number }).v;
      if (current > migrations.length) {
        throw new BackendError(this.source, `The schema in ${table} is at version ${current}, newer than this package knows (${migrations.length}); upgrade the package`);
      }
      for (let v = current + 1; v <= migrations.length; v++) {
        this.database.exec(migrations[v - 1]);
        this.stmt(sql.record).run(v, Date.now());
      }
    });
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    const db = this.db;
    this.cache.clear();
    if (!db) return;
    if (this.owned && db.open) db.close();
  }
}

function isMemory(filename: string): boolean {
  return filename === ":memory:";
}

/**
 * Before a file database is opened: a directory given as the path is refused with a clear message, and
 * missing parent directories are created (so `".data/agent.db"` works in a fresh checkout).
 */
function prepareLocation(source: string, filename: string): void {
  const what = `Opening ${JSON.stringify(filename)}`;
  let isDirectory = false;
  try {
    isDirectory = statSync(filename).isDirectory();
  } catch {
    // Missing (or unreadable): SQLite creates or reports it.
  }
  if (isDirectory) {
    throw new InvalidArgumentError(source, `${what} failed: it is a directory; give the path of a database file, e.g. ${JSON.stringify(join(filename, "agent.db"))}`);
  }
  const dir = dirname(resolve(filename));
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ENOTDIR" || code === "EEXIST") {
      throw new InvalidArgumentError(source, `${what} failed: a part of the directory ${JSON.stringify(dir)} is a file, not a directory`, { cause: err });
    }
    throw new BackendError(source, `${what} failed: cannot create the directory ${JSON.stringify(dir)} (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/**
 * An opening failure explained by the database's directory: SQLite creates its journal files (`-wal`,
 * `-shm`, `-journal`) next to the database, so a directory it cannot write to fails even reads, with
 * "unable to open database file" or "attempt to write a readonly database".
 */
function locationError(source: string, filename: string, err: unknown): PersistenceError | undefined {
  const code = String((err as { code?: unknown } | null)?.code ?? "");
  if (isMemory(filename) || !(code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_READONLY"))) return undefined;
  const dir = dirname(resolve(filename));
  try {
    accessSync(dir, fsConstants.W_OK);
    return undefined;
  } catch {
    return new BackendError(
      source,
      `Opening ${JSON.stringify(filename)} failed: the directory ${JSON.stringify(dir)} is not writable, and SQLite creates its journal files (-wal, -shm) next to the database, even to read it; make the directory writable or copy the database to one that is (${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
}

/** Maps better-sqlite3 / SQLite failures to the typed errors of core. */
export function mapSqliteError(source: string, action: string, err: unknown, notSetUpMessage: string): PersistenceError {
  if (err instanceof PersistenceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = typeof (err as { code?: unknown } | null)?.code === "string" ? (err as { code: string }).code : "";
  const cause = { cause: err };
  if (err instanceof TypeError && /database connection is not open/i.test(message)) {
    return new ClientClosedError(source, `${action} failed: the database connection is not open (it was closed by its owner)`, cause);
  }
  if (err instanceof TypeError && /directory does not exist/i.test(message)) {
    return new InvalidArgumentError(source, `${action} failed: the directory of the database file does not exist`, cause);
  }
  if (/no such table/i.test(message) && notSetUpMessage) return new NotSetUpError(source, notSetUpMessage, cause);
  if (/no such function: vec_/i.test(message)) {
    return new CapabilityError(source, `${action} failed: the sqlite-vec extension is not loaded on this connection`, cause);
  }
  if (code.startsWith("SQLITE_NOTADB") || code.startsWith("SQLITE_CORRUPT")) {
    return new BackendError(source, `${action} failed: the file is not a SQLite database or is corrupt (${message}); it was left untouched`, cause);
  }
  if (code.startsWith("SQLITE_READONLY")) {
    return new BackendError(source, `${action} failed: the database is read-only (${message}); nothing was written`, cause);
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new BackendError(source, `${action} failed: the database stayed locked by another connection for longer than busyTimeoutMs (${message})`, cause);
  }
  if (code.startsWith("SQLITE_CANTOPEN")) {
    return new BackendError(source, `${action} failed: cannot open the database file (${message})`, cause);
  }
  return toPersistenceError(source, action, err);
}
