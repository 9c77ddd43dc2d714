import pg from "pg";
import { afterAll, describe, inject, it } from "vitest";

/** The server under test, or "" (then every Postgres test file reports a skip with the reason). */
export const POSTGRES_URL = inject("postgresUrl");

/** `REQUIRE_POSTGRES=1` (set by CI jobs that provide the server): a missing server fails instead of skipping. */
export const POSTGRES_REQUIRED = process.env.REQUIRE_POSTGRES === "1" || process.env.REQUIRE_POSTGRES === "true";

/**
 * `describe` when a server is available. Otherwise `describe.skip` with the reason in the title, or,
 * with `REQUIRE_POSTGRES=1`, one failing test with the reason, so a job that provides PostgreSQL
 * cannot pass without running the suite.
 */
export function describePg(title: string, body: () => void): void {
  const reason = inject("postgresSkipReason") || "TEST_POSTGRES_URL is not set";
  if (POSTGRES_URL) describe(title, body);
  else if (POSTGRES_REQUIRED) {
    describe(title, () => {
      it("needs a PostgreSQL server", () => {
        throw new Error(`REQUIRE_POSTGRES=1 but ${reason}`);
      });
    });
  } else describe.skip(`${title} [skipped: ${reason}]`, body);
}

/** A PgBouncer in transaction pooling mode in front of `POSTGRES_URL`'s server, or "". */
export const PGBOUNCER_URL = inject("pgbouncerUrl");

/** `REQUIRE_PGBOUNCER=1`: a missing PgBouncer fails instead of skipping. */
export const PGBOUNCER_REQUIRED = process.env.REQUIRE_PGBOUNCER === "1" || process.env.REQUIRE_PGBOUNCER === "true";

/** `describePg` for suites that go through PgBouncer: they need both the server and the pooler. */
export function describePgBouncer(title: string, body: () => void): void {
  const reason = POSTGRES_URL
    ? inject("pgbouncerSkipReason") || "TEST_PGBOUNCER_URL is not set"
    : inject("postgresSkipReason") || "TEST_POSTGRES_URL is not set";
  if (POSTGRES_URL && PGBOUNCER_URL) describe(title, body);
  else if (PGBOUNCER_REQUIRED) {
    describe(title, () => {
      it("needs PgBouncer in front of a PostgreSQL server", () => {
        throw new Error(`REQUIRE_PGBOUNCER=1 but ${reason}`);
      });
    });
  } else describe.skip(`${title} [skipped: ${reason}]`, body);
}

/** A schema name no other test run uses. */
export function uniqueSchema(tag = "t"): string {
  return `lgp_test_${tag}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** A pool for the test's own queries (inspection, setup, killing connections). */
export function adminPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  pool.on("error", () => {});
  return pool;
}

/** Drops the schemas created by this file when it finishes. */
export function dropSchemasAfterAll(...schemas: Array<string | (() => string[])>): void {
  afterAll(async () => {
    if (!POSTGRES_URL) return;
    const admin = adminPool();
    try {
      for (const s of schemas.flatMap((x) => (typeof x === "function" ? x() : [x]))) {
        await admin.query(`DROP SCHEMA IF EXISTS "${s.replace(/"/g, '""')}" CASCADE`);
      }
    } finally {
      await admin.end();
    }
  });
}

/** Statements sent through pools built by `countingPool`. */
export interface StatementLog {
  statements: string[];
  /** Parameters of each statement (same positions as `statements`). */
  values: unknown[][];
  /** Prepared-statement name of each statement (undefined: unnamed). */
  names: Array<string | undefined>;
  reset(): void;
  readonly count: number;
}

/**
 * A real `pg.Pool` whose clients record every statement they send to the server (pool.query and
 * checked-out clients alike), so tests can assert round-trip budgets.
 */
export function countingPool(config: pg.PoolConfig = {}): { pool: pg.Pool; log: StatementLog } {
  const log: StatementLog = {
    statements: [],
    values: [],
    names: [],
    reset() {
      this.statements.length = 0;
      this.values.length = 0;
      this.names.length = 0;
    },
    get count() {
      return this.statements.length;
    },
  };
  class CountingClient extends pg.Client {
    override query(...args: unknown[]): never {
      const first = args[0] as string | { text?: string; name?: string; values?: unknown[] };
      log.statements.push(typeof first === "string" ? first : (first?.text ?? "<query object>"));
      log.values.push(Array.isArray(args[1]) ? (args[1] as unknown[]) : typeof first === "object" && Array.isArray(first?.values) ? first.values : []);
      log.names.push(typeof first === "object" ? first?.name : undefined);
      return (super.query as (...a: unknown[]) => never)(...args);
    }
  }
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, ...config, Client: CountingClient });
  pool.on("error", () => {});
  return { pool, log };
}
