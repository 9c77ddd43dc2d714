import pg from "pg";
import { afterAll, afterEach, beforeEach, expect, it } from "vitest";
import type { RunnableConfig } from "@langchain/core/runnables";
import { emptyCheckpoint, uuid6, type CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import { PostgresSaver, PostgresStore } from "../src/index.js";
import { LATEST_VERSIONS } from "../src/migrations.js";
import { PGBOUNCER_URL, adminPool, countingPool, describePg, describePgBouncer, dropSchemasAfterAll, uniqueSchema } from "./helpers.js";

const schemas: string[] = [];
dropSchemasAfterAll(() => schemas);
const newSchema = () => {
  const s = uniqueSchema("pgb");
  schemas.push(s);
  return s;
};

const pools: pg.Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

let seq = 0;
const config = (thread: string): RunnableConfig => ({ configurable: { thread_id: thread, checkpoint_ns: "" } });
const threadId = () => `thread-${Date.now().toString(36)}-${++seq}`;

async function putOne(saver: PostgresSaver, thread: string, value: number): Promise<void> {
  const cp = emptyCheckpoint();
  cp.id = uuid6(-1);
  cp.channel_values = { value };
  cp.channel_versions = { value: `v${value}` };
  await saver.put(config(thread), cp, { source: "loop", step: value, parents: {} } as CheckpointMetadata, { value: `v${value}` });
}

/** The `LGP_PG_UNNAMED_STATEMENTS` warnings emitted while a test runs. */
const warnings: Error[] = [];
const onWarning = (w: Error) => {
  if ((w as { code?: string }).code === "LGP_PG_UNNAMED_STATEMENTS") warnings.push(w);
};
beforeEach(() => {
  warnings.length = 0;
  process.on("warning", onWarning);
});
afterEach(() => {
  process.off("warning", onWarning);
});
const warned = () => new Promise((resolve) => setImmediate(resolve)).then(() => warnings.length);

describePg("postgres: named statements a pooler lost", () => {
  it("26000 (the connection no longer has the statement): the statement runs again unnamed, and every later one on that pool", async () => {
    const { pool, log } = countingPool({ max: 1 });
    pools.push(pool);
    const saver = new PostgresSaver(pool, { schema: newSchema() });
    await saver.setup();
    const thread = threadId();
    await putOne(saver, thread, 1);
    expect((await saver.getTuple(config(thread)))?.checkpoint.channel_values).toEqual({ value: 1 });
    // What a transaction-mode pooler does: the next statement lands on a server connection without it.
    await pool.query("DEALLOCATE ALL");
    log.reset();
    expect((await saver.getTuple(config(thread)))?.checkpoint.channel_values).toEqual({ value: 1 });
    expect(log.names[0]).toMatch(/^lgp_/);
    expect(log.names.slice(1)).toEqual([undefined]);
    // A store on the same pool learns it too.
    const store = new PostgresStore(pool, { schema: newSchema() });
    await store.setup();
    await putOne(saver, thread, 2);
    await store.put(["a"], "k", { v: 1 });
    log.reset();
    expect((await store.get(["a"], "k"))?.value).toEqual({ v: 1 });
    expect((await saver.getTuple(config(thread)))?.checkpoint.channel_values).toEqual({ value: 2 });
    expect(log.names.every((n) => n === undefined)).toBe(true);
    expect(await warned(), "one warning per pool").toBe(1);
    expect(warnings[0].message).toMatch(/does not exist.*PgBouncer.*preparedStatements: false/s);
  });

  it("42P05 (another client prepared that name on this connection): the statement runs again unnamed", async () => {
    const { pool, log } = countingPool({ max: 1 });
    pools.push(pool);
    const schema = newSchema();
    const saver = new PostgresSaver(pool, { schema });
    await saver.setup();
    const thread = threadId();
    await putOne(saver, thread, 1);
    await saver.getTuple(config(thread));
    const names = log.names.filter((n): n is string => n !== undefined);
    expect(names.length).toBeGreaterThan(0);
    // A second pool of one connection, whose server connection already holds those names.
    const { pool: other, log: otherLog } = countingPool({ max: 1 });
    pools.push(other);
    for (const name of new Set(names)) await other.query(`PREPARE ${name} AS SELECT 1`);
    const peer = new PostgresSaver(other, { schema });
    await putOne(peer, thread, 2);
    expect((await peer.getTuple(config(thread)))?.checkpoint.channel_values).toEqual({ value: 2 });
    expect(otherLog.names.filter((n) => n !== undefined)).toHaveLength(1);
    expect(await warned()).toBe(1);
    expect(warnings[0].message).toMatch(/already exists/);
  });

  it("a pool that keeps its statements is never switched", async () => {
    const { pool, log } = countingPool({ max: 2 });
    pools.push(pool);
    const saver = new PostgresSaver(pool, { schema: newSchema() });
    await saver.setup();
    const thread = threadId();
    await Promise.all(Array.from({ length: 20 }, (_, i) => putOne(saver, `${thread}-${i}`, i)));
    log.reset();
    await Promise.all(Array.from({ length: 20 }, (_, i) => saver.getTuple(config(`${thread}-${i}`))));
    expect(log.names.every((n) => typeof n === "string")).toBe(true);
    expect(await warned()).toBe(0);
  });
});

describePgBouncer("postgres through PgBouncer (pool_mode = transaction)", () => {
  const bouncerPool = (max = 10) => {
    const counted = countingPool({ connectionString: PGBOUNCER_URL, max });
    pools.push(counted.pool);
    return counted;
  };

  it("the pooler multiplexes: 10 client connections share at most default_pool_size server connections", async () => {
    const { pool } = bouncerPool(10);
    const clients = await Promise.all(Array.from({ length: 10 }, () => pool.connect()));
    try {
      const pids = new Set<number>();
      for (let round = 0; round < 3; round++) {
        const rows = await Promise.all(clients.map((c) => c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")));
        for (const r of rows) pids.add(r.rows[0].pid);
      }
      expect(pids.size).toBeLessThan(10);
    } finally {
      for (const c of clients) c.release();
    }
  });

  it("setup() from 8 savers and 8 stores at once: the transaction-scoped advisory lock serializes them", async () => {
    const schema = newSchema();
    const { pool } = bouncerPool(16);
    const savers = Array.from({ length: 8 }, () => new PostgresSaver(pool, { schema }));
    const stores = Array.from({ length: 8 }, () => new PostgresStore(pool, { schema }));
    await Promise.all([...savers.map((s) => s.setup()), ...stores.map((s) => s.setup())]);
    const admin = adminPool();
    try {
      const { rows } = await admin.query<{ component: string; n: string }>(
        `SELECT component, count(*) AS n FROM "${schema}".lgp_migrations GROUP BY component ORDER BY component`,
      );
      expect(rows.map((r) => [r.component, Number(r.n)])).toEqual([
        ["saver", LATEST_VERSIONS.saver],
        ["store", LATEST_VERSIONS.store],
      ]);
    } finally {
      await admin.end();
    }
  });

  it("preparedStatements: false sends no named statement and needs no detection", async () => {
    const { pool, log } = bouncerPool(10);
    const saver = new PostgresSaver(pool, { schema: newSchema(), preparedStatements: false });
    const store = new PostgresStore(pool, { schema: newSchema(), preparedStatements: false });
    await Promise.all([saver.setup(), store.setup()]);
    const thread = threadId();
    await Promise.all(Array.from({ length: 30 }, (_, i) => putOne(saver, `${thread}-${i}`, i)));
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.put(["ns"], `k${i}`, { i })));
    const tuples = await Promise.all(Array.from({ length: 30 }, (_, i) => saver.getTuple(config(`${thread}-${i}`))));
    const items = await Promise.all(Array.from({ length: 30 }, (_, i) => store.get(["ns"], `k${i}`)));
    expect(tuples.map((t) => t?.checkpoint.channel_values)).toEqual(Array.from({ length: 30 }, (_, i) => ({ value: i })));
    expect(items.map((x) => x?.value)).toEqual(Array.from({ length: 30 }, (_, i) => ({ i })));
    expect(log.names.every((n) => n === undefined)).toBe(true);
    expect(await warned()).toBe(0);
  });
});
