import { createHash } from "node:crypto";
import pg from "pg";
import type { Pool, PoolClient, PoolConfig, QueryResultRow } from "pg";
import {
  BackendError,
  ClientClosedError,
  InvalidArgumentError,
  NotSetUpError,
  PersistenceError,
} from "@langgraph-persist/core";
import type { PostgresConnection } from "./options.js";
import { checkConnectionString, pgTimeoutError, poolTimeouts, resolveTimeouts, type PgTimeouts } from "./timeouts.js";

/** Package name used in every error message. */
export const SOURCE = "@langgraph-persist/postgres";

function isPool(value: unknown): value is Pool {
  const v = value as Partial<Pool> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.connect === "function" &&
    typeof v.query === "function" &&
    typeof v.end === "function" &&
    typeof (v as { totalCount?: unknown }).totalCount === "number"
  );
}

function looksLikeClient(value: unknown): boolean {
  const v = value as { query?: unknown; connectionParameters?: unknown } | null;
  return typeof v === "object" && v !== null && typeof v.query === "function" && "connectionParameters" in v;
}

/** The `preparedStatements` option: a boolean, `true` when unset. */
export function checkPrepared(value: unknown): boolean {
  if (value !== undefined && typeof value !== "boolean") {
    throw new InvalidArgumentError(SOURCE, `preparedStatements must be a boolean, got ${typeof value}`);
  }
  return value ?? true;
}

/** Validates a schema name: anything Postgres accepts as a quoted identifier. */
export function checkSchema(schema: unknown): string {
  if (schema === undefined) return "public";
  if (typeof schema !== "string" || schema === "") {
    throw new InvalidArgumentError(SOURCE, `schema must be a non-empty string, got ${schema === "" ? "an empty string" : typeof schema}`);
  }
  if (schema.includes("\u0000")) throw new InvalidArgumentError(SOURCE, "schema cannot contain NUL characters");
  if (Buffer.byteLength(schema, "utf8") > 63) {
    throw new InvalidArgumentError(SOURCE, `schema must be at most 63 bytes (Postgres truncates longer identifiers), got ${JSON.stringify(schema)}`);
  }
  return schema;
}

/** Quotes an identifier (`"a""b"`), so any schema name is safe to interpolate. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The pool an adapter talks through, and whether the adapter owns it. Single statements go through
 * `pool.query` (the pool checks a client out and back in around each one, so nothing is held between
 * statements and a pool of one connection never deadlocks); only `setup()` holds a client, for its
 * migration transaction.
 */
export class PgConnection {
  readonly pool: Pool;
  readonly owned: boolean;
  /** The timeouts in effect: the adapter's for a pool it creates, the caller's settings for a caller's pool. */
  readonly timeouts: PgTimeouts;
  /** Sent with each statement of a pool the adapter creates; `undefined` for a caller's pool (its settings apply). */
  private readonly queryTimeoutMs: number | undefined;

  constructor(connection: PostgresConnection, options: { connectTimeoutMs?: number; queryTimeoutMs?: number } = {}) {
    if (typeof connection === "string") {
      if (connection === "") throw new InvalidArgumentError(SOURCE, "connection string must not be empty");
      checkConnectionString(connection);
      this.timeouts = resolveTimeouts({ connectionString: connection }, options);
      this.pool = new pg.Pool({ connectionString: connection, connectionTimeoutMillis: this.timeouts.connectTimeoutMs ?? 0 });
      this.owned = true;
    } else if (isPool(connection)) {
      this.pool = connection;
      this.owned = false;
      this.timeouts = poolTimeouts((connection as { options?: PoolConfig }).options);
    } else if (looksLikeClient(connection)) {
      throw new InvalidArgumentError(SOURCE, "pass a pg.Pool, a connection string or a PoolConfig, not a pg.Client (the adapter runs statements concurrently)");
    } else if (typeof connection === "object" && connection !== null && !Array.isArray(connection)) {
      const config = connection as PoolConfig;
      if (typeof config.connectionString === "string" && config.connectionString !== "") checkConnectionString(config.connectionString);
      this.timeouts = resolveTimeouts(config, options);
      this.pool = new pg.Pool({ ...config, connectionTimeoutMillis: this.timeouts.connectTimeoutMs ?? 0 });
      this.owned = true;
    } else {
      throw new InvalidArgumentError(SOURCE, `expected a pg.Pool, a connection string or a PoolConfig, got ${connection === null ? "null" : typeof connection}`);
    }
    // An idle client of our own pool that loses its connection (server restart, pg_terminate_backend)
    // makes the pool emit "error"; without a listener that would crash the process. The pool drops
    // the client and the next statement opens a new connection. A caller's pool keeps the caller's
    // listeners.
    if (this.owned) this.pool.on("error", () => {});
    this.queryTimeoutMs = this.owned ? this.timeouts.queryTimeoutMs : undefined;
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.queryTimeoutMs === undefined) return this.pool.query<R>(text, values);
    return this.pool.query<R>({ text, values, query_timeout: this.queryTimeoutMs } as pg.QueryConfig);
  }

  /**
   * Runs a statement as a named prepared statement (parsed and planned once per connection, then only
   * bound and executed), or unnamed when `prepared` is false. The name is derived from the text, so
   * two texts never share a name.
   *
   * A pool whose connections lose their named statements between two statements (a transaction-mode
   * pooler such as PgBouncer before 1.21: each statement may run on another server connection) answers
   * a named statement with SQLSTATE 26000 or 42P05, before executing anything. The statement then runs
   * again unnamed, and so does every later statement on that pool (`unnamedPools`).
   */
  async execute<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[], prepared: boolean): Promise<pg.QueryResult<R>> {
    const timeout = this.queryTimeoutMs === undefined ? {} : { query_timeout: this.queryTimeoutMs };
    return this.named(text, prepared, (name) => this.pool.query<R>((name ? { name, text, values, ...timeout } : { text, values, ...timeout }) as pg.QueryConfig));
  }

  /** `execute` with rows as arrays (no per-row objects). */
  async executeArrays<R extends unknown[]>(text: string, values: unknown[], prepared: boolean): Promise<R[]> {
    return this.named(text, prepared, async (name) => {
      const config: pg.QueryArrayConfig = name ? { name, text, values, rowMode: "array" } : { text, values, rowMode: "array" };
      if (this.queryTimeoutMs !== undefined) (config as { query_timeout?: number }).query_timeout = this.queryTimeoutMs;
      return (await this.pool.query(config)).rows as R[];
    });
  }

  private async named<T>(text: string, prepared: boolean, send: (name: string | undefined) => Promise<T>): Promise<T> {
    if (!prepared || unnamedPools.has(this.pool)) return send(undefined);
    try {
      return await send(statementName(text));
    } catch (err) {
      if (!isLostStatement(err)) throw err;
      if (!unnamedPools.has(this.pool)) {
        unnamedPools.add(this.pool);
        process.emitWarning(
          `${SOURCE}: ${(err as Error).message} - the connections of this pool do not keep named prepared statements between statements ` +
            "(a pooler in transaction mode, e.g. PgBouncer before 1.21 or without max_prepared_statements). " +
            "Its statements are sent unnamed from now on; pass preparedStatements: false to skip this detection.",
          { code: "LGP_PG_UNNAMED_STATEMENTS" },
        );
      }
      return send(undefined);
    }
  }

  /**
   * Runs `fn` inside BEGIN/COMMIT on one client. A client that failed mid-transaction is destroyed,
   * not returned to the pool. Each statement gets the query timeout (of a pool the adapter created)
   * unless `untimed` (schema migrations, which may wait for another process's setup lock or build an
   * index for a long time).
   */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>, options: { untimed?: boolean } = {}): Promise<T> {
    const raw = await this.pool.connect();
    const client = this.queryTimeoutMs !== undefined && !options.untimed ? withQueryTimeout(raw, this.queryTimeoutMs) : raw;
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    // A checked-out client has no pool listener: without this one, a connection killed by the
    // server during the transaction would crash the process instead of failing the call.
    raw.on("error", onError);
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      broken ??= await client.query("ROLLBACK").then(
        () => undefined,
        (rollbackErr: Error) => rollbackErr,
      );
      throw err;
    } finally {
      raw.removeListener("error", onError);
      raw.release(broken ?? undefined);
    }
  }

  async end(): Promise<void> {
    if (this.owned) await this.pool.end();
  }
}

/** `client` with `query` sending every statement with `query_timeout` (pg's client-side timeout). */
function withQueryTimeout(client: PoolClient, ms: number): PoolClient {
  const query = (textOrConfig: string | pg.QueryConfig, values?: unknown[]) =>
    client.query((typeof textOrConfig === "string" ? { text: textOrConfig, values, query_timeout: ms } : { ...textOrConfig, query_timeout: ms }) as pg.QueryConfig);
  return new Proxy(client, { get: (target, prop) => (prop === "query" ? query : Reflect.get(target, prop, target)) });
}

/**
 * Pools (shared by every saver and store using them) whose connections were found not to keep named
 * prepared statements: their statements go unnamed.
 */
const unnamedPools = new WeakSet<Pool>();

/**
 * "prepared statement ... does not exist" (26000: Bind on a server connection that never parsed it)
 * or "... already exists" (42P05: Parse on a server connection another client parsed it on). Both are
 * raised before the statement executes, so sending it again unnamed is safe.
 */
function isLostStatement(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "26000" || code === "42P05";
}

const names = new Map<string, string>();

/** A prepared statement's name: a hash of its text (the texts of one process are few and fixed). */
export function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `lgp_${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
    if (names.size >= 10_000) names.clear();
    names.set(text, name);
  }
  return name;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN"]);

/**
 * Maps what `pg` throws to the typed errors of `@langgraph-persist/core`: missing schema objects mean
 * `setup()` has not run (except inside `setup()` itself: an `action` starting with "setup()" reports
 * what failed), an ended pool means the client is closed, everything else (lost connection, timeout,
 * constraint) is a `BackendError` carrying the original error as `cause`.
 */
export function mapPgError(action: string, err: unknown, what: "saver" | "store", timeouts?: PgTimeouts): PersistenceError {
  if (err instanceof PersistenceError) return err;
  // pg's own timers ran out (connect, waiting for a pooled connection, a statement's answer).
  const timedOut = pgTimeoutError(action, err, timeouts);
  if (timedOut) return timedOut;
  const e = err as { code?: string; message?: string } | null;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = typeof e?.message === "string" ? e.message : String(err);
  // undefined_table, invalid_schema_name, undefined_object (the vector type)
  if (code === "42P01" || code === "3F000" || code === "42704") {
    if (action.startsWith("setup()")) {
      return new BackendError(SOURCE, `${action} failed: PostgreSQL reports a missing object (SQLSTATE ${code}): ${message}`, { cause: err });
    }
    return new NotSetUpError(SOURCE, `setup() has not run: call await ${what}.setup() first (${message})`, { cause: err });
  }
  // NUL in a text parameter (ids, namespaces, keys, channel names): PostgreSQL text cannot hold it.
  if (code === "22021" && /0x00/.test(message)) {
    return new InvalidArgumentError(SOURCE, `${action}: PostgreSQL text cannot contain NUL characters (\\u0000) in ids, namespaces, keys or channel names`, { cause: err });
  }
  // jsonb rejects unpaired UTF-16 surrogates (JSON.stringify writes them as \udXXX escapes); vector
  // input rejects non-finite numbers.
  if (code === "22P02" || code === "22P05") {
    return new InvalidArgumentError(SOURCE, `${action}: PostgreSQL rejected a value (${message}): strings must be well-formed UTF-16 (no unpaired surrogates), embeddings finite numbers`, { cause: err });
  }
  if (message === "Cannot use a pool after calling end on the pool" || message === "Client was closed and is not queryable") {
    return new ClientClosedError(SOURCE, `${action} failed: the pg.Pool has been ended`, { cause: err });
  }
  if (code === "57014") {
    return new BackendError(SOURCE, `${action} failed: the statement was cancelled (statement_timeout or a cancel request): ${message}`, { cause: err });
  }
  if (code?.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || (code !== undefined && CONNECTION_CODES.has(code)) || /Connection terminated|connection error/i.test(message)) {
    return new BackendError(SOURCE, `${action} failed: the connection to PostgreSQL was lost or refused (${message}); the next call uses a new connection`, { cause: err });
  }
  return new BackendError(SOURCE, `${action} failed: ${message}`, { cause: err });
}
