import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { SqliteSaver, SqliteStore, type SqliteDatabase } from "../src/index.js";
import { StatementLog, collect, config, metadata, writeChain } from "./helpers.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function count(db: SqliteDatabase, sql: string, params: Record<string, unknown> = {}): number {
  return (db.prepare(sql).get(params) as { n: number }).n;
}

describe("saver: storage layout", () => {
  let raw: SqliteDatabase;
  let saver: SqliteSaver;

  beforeEach(async () => {
    raw = new Database(":memory:");
    saver = new SqliteSaver(raw);
    await saver.setup();
  });

  afterEach(async () => {
    await saver.close();
    raw.close();
  });

  it("stores one blob per changed channel version, and a growing array as appended items only", async () => {
    const ids = await writeChain(saver, "t", 30);
    // counter and messages change at every step: 2 blobs per checkpoint, none copied forward.
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE thread_id = 't'")).toBe(60);
    const messageBytes = count(raw, "SELECT SUM(length(data)) AS n FROM checkpoint_blobs WHERE thread_id = 't' AND channel = 'messages'");
    const lastMessages = JSON.stringify(Array.from({ length: 30 }, (_, i) => `message ${i}`)).length;
    expect(messageBytes).toBeLessThan(lastMessages * 2);
    // A new saver (nothing cached) rebuilds every checkpoint from the stored chains.
    const reader = new SqliteSaver(raw);
    const listed = await collect(reader.list(config("t")));
    expect(listed.map((t) => t.checkpoint.id)).toEqual([...ids].reverse());
    listed.forEach((t, i) => {
      const step = 29 - i;
      expect(t.checkpoint.channel_values).toEqual({ counter: step, messages: Array.from({ length: step + 1 }, (_, j) => `message ${j}`) });
      expect(t.pendingWrites).toEqual([[`task-${step}`, "counter", step + 1]]);
    });
    await reader.close();
  });

  it("prune keeps the latest checkpoint per namespace with every blob its chains need and drops the rest", async () => {
    await writeChain(saver, "t", 10);
    await writeChain(saver, "t", 3, "child:1");
    await writeChain(saver, "other", 3);
    const otherRows = count(raw, "SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE thread_id = 'other'");
    await saver.prune(["t"]);
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoints WHERE thread_id = 't'")).toBe(2);
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_writes WHERE thread_id = 't'")).toBe(2);
    const refs = count(
      raw,
      "SELECT COUNT(*) AS n FROM checkpoints c, json_each(c.blob_refs) WHERE c.thread_id = 't'",
    );
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE thread_id = 't'")).toBe(refs);
    expect((await saver.getTuple(config("t")))?.checkpoint.channel_values.messages).toHaveLength(10);
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE thread_id = 'other'")).toBe(otherRows);
  });

  it("deleteForRuns drops only blobs no surviving checkpoint references and re-points the thread index", async () => {
    const cp = (values: Record<string, unknown>, versions: Record<string, string | number>) => {
      const c = emptyCheckpoint();
      c.id = uuid6(-1);
      c.channel_values = values;
      c.channel_versions = versions;
      return c;
    };
    const v1 = saver.getNextVersion(undefined);
    const first = await saver.put(config("t"), cp({ a: "kept", b: 1 }, { a: v1, b: v1 }), metadata(0, { run_id: "keep" }), { a: v1, b: v1 });
    const v2 = saver.getNextVersion(v1);
    await saver.put(first, cp({ a: "kept", b: 2 }, { a: v1, b: v2 }), metadata(1, { run_id: "drop" }), { b: v2 });
    expect((await saver.listThreads())[0].metadata.run_id).toBe("drop");
    await saver.deleteForRuns(["drop"]);
    expect((await saver.getTuple(config("t")))?.checkpoint.channel_values).toEqual({ a: "kept", b: 1 });
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE thread_id = 't'")).toBe(2);
    const threads = await saver.listThreads();
    expect(threads.map((t) => [t.threadId, t.checkpointId])).toEqual([["t", first.configurable?.checkpoint_id]]);
  });

  it("listThreads reports a thread by its root namespace, or its newest subgraph checkpoint while it has none", async () => {
    const [child] = await writeChain(saver, "sub-only", 1, "child:1");
    const [root] = await writeChain(saver, "with-root", 1);
    await writeChain(saver, "with-root", 1, "child:1");
    const threads = await saver.listThreads();
    expect(threads.map((t) => [t.threadId, t.checkpointNs, t.checkpointId])).toEqual([
      ["with-root", "", root],
      ["sub-only", "child:1", child],
    ]);
    expect((await saver.listThreads({ before: root })).map((t) => t.threadId)).toEqual(["sub-only"]);
    expect((await saver.listThreads({ filter: { parity: "even" }, limit: 1 })).map((t) => t.threadId)).toEqual(["with-root"]);
  });
});

describe("saver: list cursors and writes on the same connection", () => {
  let raw: SqliteDatabase;
  let saver: SqliteSaver;

  beforeEach(async () => {
    raw = new Database(":memory:");
    saver = new SqliteSaver(raw);
    await saver.setup();
  });

  afterEach(async () => {
    await saver.close();
    raw.close();
  });

  it("writes made while a list is being consumed succeed, and the list continues where it was", async () => {
    const ids = await writeChain(saver, "t", 12);
    const seen: string[] = [];
    for await (const tuple of saver.list(config("t"))) {
      seen.push(tuple.checkpoint.id);
      await saver.putWrites(tuple.config, [["late", seen.length]], "late-task");
      await writeChain(saver, `side-${seen.length}`, 1);
    }
    expect(seen).toEqual([...ids].reverse());
    expect((await saver.getTuple(config("t", ids[0])))?.pendingWrites).toContainEqual(["late-task", "late", 12]);
    expect(await saver.listThreads({ limit: 100 })).toHaveLength(13);
  });

  it("two lists consumed in lockstep and a store on the same handle do not block each other", async () => {
    const store = new SqliteStore(raw);
    await store.setup();
    const a = await writeChain(saver, "a", 5);
    const b = await writeChain(saver, "b", 5);
    const ia = saver.list(config("a"))[Symbol.asyncIterator]();
    const ib = saver.list(config("b"))[Symbol.asyncIterator]();
    const got: string[][] = [[], []];
    for (let i = 0; i < 5; i++) {
      got[0].push((await ia.next()).value.checkpoint.id);
      await store.put(["side"], `k${i}`, { i });
      got[1].push((await ib.next()).value.checkpoint.id);
    }
    expect((await ia.next()).done).toBe(true);
    expect((await ib.next()).done).toBe(true);
    expect(got).toEqual([[...a].reverse(), [...b].reverse()]);
    expect(await store.search(["side"], { limit: 10 })).toHaveLength(5);
    await store.close();
  });

  it("a list with a limit, broken off early, releases the connection for writes", async () => {
    await writeChain(saver, "t", 5);
    for await (const tuple of saver.list(config("t"), { limit: 3 })) {
      expect(tuple).toBeDefined();
      break;
    }
    await expect(writeChain(saver, "t", 1)).resolves.toHaveLength(1);
  });
});

describe("saver: TTL", () => {
  it("sweep() deletes every row of expired threads; a write to an expired thread starts it afresh", async () => {
    const raw = new Database(":memory:");
    const saver = new SqliteSaver(raw, { ttl: { defaultTtl: 0.002, sweepIntervalMinutes: 60 } });
    await saver.setup();
    await writeChain(saver, "old", 3);
    await writeChain(saver, "revived", 3);
    await sleep(250);
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoints")).toBe(6);
    const [fresh] = await writeChain(saver, "revived", 1);
    expect((await collect(saver.list(config("revived")))).map((t) => t.checkpoint.id)).toEqual([fresh]);
    expect(await saver.sweep()).toBe(1);
    for (const table of ["checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_threads"]) {
      expect(count(raw, `SELECT COUNT(*) AS n FROM ${table} WHERE thread_id = 'old'`), table).toBe(0);
    }
    await saver.close();
    raw.close();
  });

  it("with refreshOnRead, getTuple costs one read plus one expiry update", async () => {
    const raw = new Database(":memory:");
    const log = new StatementLog();
    const saver = new SqliteSaver(log.wrap(raw), { ttl: { defaultTtl: 10, refreshOnRead: true } });
    await saver.setup();
    await writeChain(saver, "t", 1);
    const before = count(raw, "SELECT expires_at AS n FROM checkpoint_threads WHERE thread_id = 't'");
    await sleep(5);
    const run = await log.during(() => saver.getTuple(config("t")));
    expect(run.map((e) => e.sql.trim().split(/\s+/)[0])).toEqual(["SELECT", "BEGIN", "UPDATE", "COMMIT"]);
    expect(count(raw, "SELECT expires_at AS n FROM checkpoint_threads WHERE thread_id = 't'")).toBeGreaterThan(before);
    await saver.close();
    raw.close();
  });

  it("the sweeper timer starts with setup() and close() stops it", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const saver = new SqliteSaver(":memory:", { ttl: { defaultTtl: 1, sweepIntervalMinutes: 1 } });
      await saver.setup();
      expect(vi.getTimerCount()).toBe(1);
      await saver.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
