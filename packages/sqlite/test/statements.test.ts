import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { HashEmbeddings } from "@langgraph-persist/conformance";
import { SqliteSaver, SqliteStore, type SqliteDatabase } from "../src/index.js";
import { listSql, listThreadsSql, saverTableNames } from "../src/sql.js";
import { StatementLog, collect, config, isBegin, isCommit, metadata, writeChain, type Execution } from "./helpers.js";

/** Statements a call ran, without the transaction bracket. */
function inner(executions: Execution[]): Execution[] {
  return executions.filter((e) => !isBegin(e) && !isCommit(e));
}

function expectOneTransaction(executions: Execution[]): void {
  expect(executions.filter(isBegin).map((e) => e.sql)).toEqual(["BEGIN IMMEDIATE"]);
  expect(executions.filter(isCommit)).toHaveLength(1);
  expect(isBegin(executions[0])).toBe(true);
  expect(isCommit(executions[executions.length - 1])).toBe(true);
}

describe("statement budgets: saver", () => {
  let raw: SqliteDatabase;
  let log: StatementLog;
  let saver: SqliteSaver;

  beforeEach(async () => {
    raw = new Database(":memory:");
    log = new StatementLog();
    saver = new SqliteSaver(log.wrap(raw));
    await saver.setup();
  });

  afterEach(async () => {
    await saver.close();
    raw.close();
  });

  it("put is one statement (its own transaction), for the first and for later checkpoints", async () => {
    const blobs = () => (raw.prepare("SELECT COUNT(*) AS n FROM checkpoint_blobs").get() as { n: number }).n;
    const first = emptyCheckpoint();
    first.id = uuid6(-1);
    first.channel_values = { a: 1, b: "x", c: [1, 2] };
    first.channel_versions = { a: saver.getNextVersion(undefined), b: saver.getNextVersion(undefined), c: saver.getNextVersion(undefined) };
    let stored = config("t1");
    const firstRun = await log.during(async () => {
      stored = await saver.put(stored, first, metadata(0), first.channel_versions);
    });
    // The thread index row, the blobs and the checkpoint row, written by the trigger of one INSERT.
    expect(firstRun.map((e) => [e.method, e.sql.trim().split(/\s+/).slice(0, 3).join(" ")])).toEqual([["run", 'INSERT INTO "checkpoints_put"']]);
    expect(blobs()).toBe(3);

    const second = emptyCheckpoint();
    second.id = uuid6(-1);
    const a2 = saver.getNextVersion(first.channel_versions.a);
    second.channel_values = { a: 2, b: "x", c: [1, 2] };
    second.channel_versions = { ...first.channel_versions, a: a2 };
    const secondRun = await log.during(() => saver.put(stored, second, metadata(1), { a: a2 }));
    expect(secondRun.map((e) => e.method)).toEqual(["run"]);
    // Only the changed channel gets a blob: no full-state copy per step.
    expect(blobs()).toBe(4);
    expect((await saver.getTuple(stored))?.checkpoint.channel_values).toEqual({ a: 1, b: "x", c: [1, 2] });
    expect((await saver.getTuple(config("t1")))?.checkpoint.channel_values).toEqual({ a: 2, b: "x", c: [1, 2] });
  });

  it("putWrites is one transaction however many writes it stores", async () => {
    const [id] = await writeChain(saver, "t1", 1);
    const run = await log.during(() =>
      saver.putWrites(
        config("t1", id),
        Array.from({ length: 12 }, (_, i) => [`ch${i}`, i] as [string, unknown]),
        "task-x",
      ),
    );
    expectOneTransaction(run);
    // One thread index upsert, then one insert per write: no expiry read.
    expect(inner(run).map((e) => e.sql.trim().split(/\s+/)[0])).toEqual(["INSERT", ...Array<string>(12).fill("INSERT")]);
  });

  it("getTuple is one statement, latest or by id, with its blobs and writes", async () => {
    const ids = await writeChain(saver, "t1", 5);
    const latest = await log.during(async () => {
      const t = await saver.getTuple(config("t1"));
      expect(t?.checkpoint.channel_values).toEqual({ counter: 4, messages: ["message 0", "message 1", "message 2", "message 3", "message 4"] });
      expect(t?.pendingWrites).toEqual([["task-4", "counter", 5]]);
    });
    expect(latest.map((e) => e.method)).toEqual(["all"]);
    const byId = await log.during(async () => {
      expect((await saver.getTuple(config("t1", ids[1])))?.checkpoint.channel_values.counter).toBe(1);
    });
    expect(byId.map((e) => e.method)).toEqual(["all"]);
  });

  it("list is one statement per page: the limit, or 16 then doubling pages", async () => {
    await writeChain(saver, "t1", 30);
    await writeChain(saver, "t2", 5);
    const cases: Array<[string, () => AsyncIterable<unknown>, number, number]> = [
      ["whole thread", () => saver.list(config("t1")), 30, 2],
      ["limit 1", () => saver.list(config("t1"), { limit: 1 }), 1, 1],
      ["limit 10", () => saver.list(config("t1"), { limit: 10 }), 10, 1],
      ["limit 30", () => saver.list(config("t1"), { limit: 30 }), 30, 1],
      ["filter", () => saver.list(config("t1"), { filter: { parity: "odd" } }), 15, 1],
      ["filter + limit", () => saver.list(config("t1"), { filter: { parity: "odd" }, limit: 3 }), 3, 1],
      ["thread without namespace", () => saver.list({ configurable: { thread_id: "t1" } }), 30, 2],
      ["every thread", () => saver.list({}), 35, 2],
    ];
    for (const [name, list, expected, statements] of cases) {
      const run = await log.during(async () => {
        expect(await collect(list()), name).toHaveLength(expected);
      });
      expect(run.map((e) => e.method), name).toEqual(Array<string>(statements).fill("all"));
    }
  });

  it("a list page fetches each chain once, not once per checkpoint", async () => {
    await writeChain(saver, "t1", 30);
    const tables = saverTableNames("");
    const page = listSql(tables, { threadId: "t1", checkpointNs: "" }, undefined, 10);
    const rows = raw.prepare(page.sql).raw(true).all({ ...page.params, now: Date.now() }) as unknown[][];
    expect(rows.filter((r) => r[0] === 0)).toHaveLength(10);
    const blobs = rows.filter((r) => r[0] === 1);
    expect(blobs).toHaveLength(1);
    const versions = JSON.parse(blobs[0][4] as string) as string[];
    // messages: the one chain (base + 29 links) once; counter: the 10 versions the page references.
    expect(versions).toHaveLength(30 + 10);
    expect(new Set(versions).size).toBe(versions.length);
    const tuples = await collect(saver.list(config("t1"), { limit: 10 }));
    expect(tuples.map((t) => (t.checkpoint.channel_values.messages as string[]).length)).toEqual([30, 29, 28, 27, 26, 25, 24, 23, 22, 21]);
  });

  it("listThreads is one statement on the thread index", async () => {
    for (let i = 0; i < 4; i++) await writeChain(saver, `t${i}`, 3);
    const run = await log.during(async () => {
      expect((await saver.listThreads({ limit: 10 })).map((t) => t.threadId)).toEqual(["t3", "t2", "t1", "t0"]);
    });
    expect(run.map((e) => e.method)).toEqual(["iterate"]);
    expect(run[0].sql).toMatch(/FROM "checkpoint_threads" x/);
  });

  it("list and listThreads read rows in index order: SQLite plans no sort", () => {
    const tables = saverTableNames("");
    const queries = [
      listSql(tables, { threadId: "t", checkpointNs: "" }, undefined, 10),
      listSql(tables, { threadId: "t" }, undefined, 10),
      listSql(tables, {}, undefined, 10),
      listSql(tables, { threadId: "t", checkpointNs: "", before: "x" }, { checkpointId: "y", threadId: "t", checkpointNs: "" }, 16),
      listThreadsSql(tables, { limit: 10 }),
    ];
    for (const q of queries) {
      const plan = (raw.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all({ ...q.params, now: 0 }) as Array<{ detail: string }>).map((r) => r.detail);
      // Checkpoints are never sorted (the only temporary b-tree groups the page's few references).
      expect(plan.join("\n"), q.sql).not.toMatch(/TEMP B-TREE FOR (ORDER BY|DISTINCT)/);
      // The rows come from an index or the primary key, never from a scan of the table itself.
      expect(plan.join("\n"), q.sql).toMatch(/^(SEARCH|SCAN) (c|x) USING (INDEX|PRIMARY KEY)/m);
      if (q.sql.includes("checkpoint_blobs")) {
        // A chain is one range of the blobs' primary key.
        expect(plan.join("\n"), q.sql).toMatch(/SEARCH b USING PRIMARY KEY \(thread_id=\? AND checkpoint_ns=\? AND channel=\? AND version>\? AND version<\?\)/);
        expect(plan.join("\n"), q.sql).toMatch(/SEARCH w USING PRIMARY KEY \(thread_id=\? AND checkpoint_ns=\? AND checkpoint_id=\?\)/);
      }
    }
  });
});

describe("statement budgets: store", () => {
  let raw: SqliteDatabase;
  let log: StatementLog;
  let store: SqliteStore;

  beforeEach(async () => {
    raw = new Database(":memory:");
    log = new StatementLog();
    store = new SqliteStore(log.wrap(raw), { index: { dims: 32, embeddings: new HashEmbeddings(32), fields: ["text"] } });
    await store.setup();
  });

  afterEach(async () => {
    await store.close();
    raw.close();
  });

  it("a batch of puts is one transaction; a batch of gets is one statement", async () => {
    const puts = Array.from({ length: 10 }, (_, i) => ({ namespace: ["docs", `n${i % 3}`], key: `k${i}`, value: { text: `document number ${i}`, i } }));
    expectOneTransaction(await log.during(() => store.batch(puts)));
    const gets = await log.during(async () => {
      const got = await store.batch(puts.map((p) => ({ namespace: p.namespace, key: p.key })));
      expect(got.map((g) => (g as { value: { i: number } } | null)?.value.i)).toEqual(puts.map((p) => p.value.i));
    });
    expect(gets.map((e) => e.method)).toEqual(["all"]);
  });

  it("a search with a filter and a query is one statement", async () => {
    for (let i = 0; i < 20; i++) await store.put(["docs"], `k${i}`, { text: i % 2 ? "blue whales swim" : "red apples fall", i });
    const run = await log.during(async () => {
      const hits = await store.search(["docs"], { query: "whales", filter: { i: { $gte: 10 } }, limit: 3 });
      expect(hits.map((h) => h.value.i).every((i) => i >= 10 && i % 2 === 1)).toBe(true);
      expect(hits).toHaveLength(3);
    });
    expect(run.map((e) => e.method)).toEqual(["all"]);
  });
});
