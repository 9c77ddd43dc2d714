import type { PoolConfig } from "pg";
import { InvalidArgumentError, timeoutError, type TimeoutError } from "@langgraph-persist/core";

const SOURCE = "@langgraph-persist/postgres";

/** Connect timeout of a pool the adapter creates, unless the options, the URL or the PoolConfig set one. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Per-statement timeout of a pool the adapter creates, unless the options, the URL or the PoolConfig set one. */
export const DEFAULT_QUERY_TIMEOUT_MS = 60_000;

/** The timeouts in effect for one connection (`undefined`: none, or unknown for a caller's pool). */
export interface PgTimeouts {
  connectTimeoutMs: number | undefined;
  queryTimeoutMs: number | undefined;
  /** `host:port` the pool connects to, for error messages. */
  target: string;
}

/**
 * Checks that a connection string is one `pg` understands: a `postgres://` or `postgresql://` URL, a
 * `socket:` URL or a Unix socket path. Anything else (a typo, `"not a url"`, another database's URL) is
 * refused here instead of being read as the host `base`.
 */
export function checkConnectionString(conn: string): void {
  if (/^postgres(ql)?:\/\//i.test(conn) || /^socket:/i.test(conn) || conn.startsWith("/")) return;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(conn)?.[1];
  const got = scheme !== undefined ? `a ${scheme}: URL` : conn.includes("@") || conn.length > 60 ? "a string that is not a URL" : JSON.stringify(conn);
  throw new InvalidArgumentError(SOURCE, `connection string must be a URL like postgresql://user:password@host:5432/database (or postgres://...), got ${got}`);
}

function checkMs(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new InvalidArgumentError(SOURCE, `${name} must be a non-negative integer number of milliseconds (0: no timeout), got ${String(value)}`);
  }
  return value;
}

/** A URL parameter as a number (`connect_timeout` is in seconds, as in libpq), or `undefined`. */
function urlNumber(params: URLSearchParams | undefined, name: string, scale: number): number | undefined {
  const raw = params?.get(name);
  if (raw === null || raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(SOURCE, `the connection string's ${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return Math.round(n * scale);
}

function parseUrl(conn: string | undefined): URL | undefined {
  if (conn === undefined || !/^postgres(ql)?:\/\//i.test(conn)) return undefined;
  try {
    return new URL(conn);
  } catch {
    return undefined;
  }
}

function targetOf(url: URL | undefined, config: PoolConfig): string {
  const host = url?.searchParams.get("host") || (url ? decodeURIComponent(url.hostname).replace(/^\[(.+)\]$/, "$1") : "") || config.host || process.env.PGHOST || "localhost";
  const port = url?.searchParams.get("port") || url?.port || config.port || process.env.PGPORT || 5432;
  return `${host}:${port}`;
}

/**
 * The timeouts of a pool the adapter creates, most specific first: the adapter option, then the
 * `PoolConfig` field (`connectionTimeoutMillis`, `query_timeout`), then the URL parameter
 * (`connect_timeout` in seconds as libpq reads it, `query_timeout` in milliseconds as `pg` reads it),
 * then the default. `0` turns a timeout off.
 */
export function resolveTimeouts(
  config: PoolConfig,
  options: { connectTimeoutMs?: number; queryTimeoutMs?: number },
): PgTimeouts {
  const url = parseUrl(config.connectionString);
  const params = url?.searchParams;
  const connect =
    checkMs(options.connectTimeoutMs, "connectTimeoutMs") ??
    checkMs(config.connectionTimeoutMillis, "connectionTimeoutMillis") ??
    urlNumber(params, "connect_timeout", 1000) ??
    DEFAULT_CONNECT_TIMEOUT_MS;
  const query =
    checkMs(options.queryTimeoutMs, "queryTimeoutMs") ??
    checkMs(config.query_timeout, "query_timeout") ??
    urlNumber(params, "query_timeout", 1) ??
    DEFAULT_QUERY_TIMEOUT_MS;
  return { connectTimeoutMs: connect || undefined, queryTimeoutMs: query || undefined, target: targetOf(url, config) };
}

/** What a caller's pool was configured with (the adapter changes nothing on it). */
export function poolTimeouts(options: PoolConfig | undefined): PgTimeouts {
  const config = options ?? {};
  const url = parseUrl(config.connectionString);
  const query = config.query_timeout ?? (url?.searchParams.get("query_timeout") ? Number(url.searchParams.get("query_timeout")) : undefined);
  return { connectTimeoutMs: config.connectionTimeoutMillis || undefined, queryTimeoutMs: query || undefined, target: targetOf(url, config) };
}

/** What `pg` and `pg-pool` throw when their timers run out, by phase, and the setting behind each. */
const PG_TIMEOUTS = [
  {
    phase: "connect",
    message: /^(timeout exceeded when trying to connect|Connection terminated due to connection timeout|timeout expired)$/,
    limit: (t: PgTimeouts | undefined) => t?.connectTimeoutMs,
    setting: "connectTimeoutMs, or connect_timeout in the URL; also bounds the wait for a free connection of the pool",
  },
  {
    phase: "command",
    message: /^Query read timeout$/,
    limit: (t: PgTimeouts | undefined) => t?.queryTimeoutMs,
    setting: "queryTimeoutMs, or query_timeout in the URL",
  },
] as const;

/** A `TimeoutError` for a `pg` timeout error, or `undefined` for any other error. */
export function pgTimeoutError(action: string, err: unknown, timeouts: PgTimeouts | undefined): TimeoutError | undefined {
  const message = err instanceof Error ? err.message : "";
  const kind = PG_TIMEOUTS.find((k) => k.message.test(message));
  if (!kind) return undefined;
  return timeoutError(SOURCE, action, {
    phase: kind.phase,
    backend: "PostgreSQL",
    target: timeouts?.target ?? "the server",
    timeoutMs: kind.limit(timeouts),
    setting: kind.setting,
    cause: err,
  });
}
