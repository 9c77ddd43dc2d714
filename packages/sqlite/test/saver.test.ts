import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { SqliteSaver, SqliteStore, type SqliteDatabase } from "../src/index.js";
import { loadedCheckpoint, loadedRefs } from "../src/encoding.js";
import { saverSql, saverTableNames } from "../src/sql.js";
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
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE thread_id = 't'")).toBe(2 * 10 + 2 * 3);
    await saver.prune(["t"]);
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoints WHERE thread_id = 't'")).toBe(2);
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_writes WHERE thread_id = 't'")).toBe(2);
    // Per namespace the latest counter version and the whole messages chain (its base and every link):
    // 1 + 10 in the root namespace, 1 + 3 in child:1.
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE thread_id = 't'")).toBe(11 + 4);
    const links = raw.prepare("SELECT checkpoint_ns AS ns, version FROM checkpoint_blobs WHERE thread_id = 't' AND channel = 'messages' ORDER BY 1, 2").all() as Array<{ ns: string; version: string }>;
    const base = (ns: string) => links.find((l) => l.ns === ns && !l.version.includes("~"))!.version;
    expect(links.filter((l) => l.ns === "").every((l) => l.version.startsWith(base("")))).toBe(true);
    expect((await saver.getTuple(config("t")))?.checkpoint.channel_values.messages).toHaveLength(10);
    expect((await saver.getTuple(config("t", undefined, "child:1")))?.checkpoint.channel_values.messages).toHaveLength(3);
    await expect(new SqliteSaver(raw).getTuple(config("t"))).resolves.toMatchObject({ checkpoint: { channel_values: { counter: 9 } } });
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
    expect(run.map((e) => e.sql.trim().split(/\s+/)[0])).toEqual(["WITH", "BEGIN", "UPDATE", "COMMIT"]);
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

describe("saver: blob bytes, encodings and upgrades", () => {
  const binary = new Uint8Array([0, 1, 2, 0xff, 0xfe, 0xc3, 0x28, 0, 0x80, 10, 13, 0x5d, 0x5b]);

  /** Puts a chain with a growing `messages` array, a binary channel and a channel whose name needs JSON escaping. */
  async function mixedChain(saver: SqliteSaver, thread: string, steps: number, ns = ""): Promise<string[]> {
    const ids: string[] = [];
    let parent = config(thread, undefined, ns);
    let versions: Record<string, string | number> = {};
    for (let i = 0; i < steps; i++) {
      const cp = emptyCheckpoint();
      cp.id = uuid6(-1);
      const next: Record<string, string | number> = {
        messages: saver.getNextVersion(versions.messages),
        [`quote"d\\channel`]: saver.getNextVersion(versions[`quote"d\\channel`]),
      };
      if (i % 3 === 0) next.bin = saver.getNextVersion(versions.bin);
      versions = { ...versions, ...next };
      cp.channel_versions = { ...versions };
      cp.channel_values = { messages: Array.from({ length: i + 1 }, (_, k) => ({ k, text: `m\u0000${k} é \u{1F600}` })), bin: binary.slice(0, 1 + i), [`quote"d\\channel`]: i };
      parent = await saver.put(parent, cp, metadata(i), next);
      ids.push(cp.id);
    }
    return ids;
  }

  function expectMixed(values: Record<string, unknown>, step: number): void {
    expect(values.messages).toEqual(Array.from({ length: step + 1 }, (_, k) => ({ k, text: `m\u0000${k} é \u{1F600}` })));
    expect(Array.from(values.bin as Uint8Array)).toEqual(Array.from(binary.slice(0, 1 + step - (step % 3))));
    expect(values[`quote"d\\channel`]).toBe(step);
  }

  for (const encoding of ["UTF-8", "UTF-16le"]) {
    it(`binary and text values read back exactly from a ${encoding} database, by getTuple, list and after prune`, async () => {
      const raw = new Database(":memory:");
      raw.pragma(`encoding = '${encoding}'`);
      const saver = new SqliteSaver(raw, { linearStorage: { snapshotEvery: 4 } });
      await saver.setup();
      expect(raw.pragma("encoding", { simple: true })).toBe(encoding);
      const ids = await mixedChain(saver, "t", 10);
      await mixedChain(saver, "t", 3, "sub");
      // A fresh instance has nothing cached: every value comes from the stored chains.
      const reader = new SqliteSaver(raw);
      for (const [step, id] of ids.entries()) expectMixed((await reader.getTuple(config("t", id)))!.checkpoint.channel_values, step);
      const listed = await collect(reader.list({ configurable: { thread_id: "t" } }));
      expect(listed).toHaveLength(13);
      for (const t of listed.filter((x) => x.config.configurable?.checkpoint_ns === "")) {
        expectMixed(t.checkpoint.channel_values, ids.indexOf(t.checkpoint.id));
      }
      await saver.prune(["t"]);
      expectMixed((await new SqliteSaver(raw).getTuple(config("t")))!.checkpoint.channel_values, 9);
      // The escaped channel name is stored as JSON and still found by the range scan and by prune.
      expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoints WHERE blob_refs LIKE '[%'")).toBe(2);
      expect(count(raw, `SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE channel = 'quote"d\\channel'`)).toBe(2);
      await reader.close();
      await saver.close();
      raw.close();
    });
  }

  it("rows are stored compactly: json types as NULL, parent ids relative to the row id, references without JSON punctuation", async () => {
    const raw = new Database(":memory:");
    const saver = new SqliteSaver(raw);
    await saver.setup();
    const ids = await writeChain(saver, "t", 3);
    const rows = raw.prepare("SELECT checkpoint_id, parent_checkpoint_id AS parent, checkpoint_type, metadata_type, metadata, blob_refs FROM checkpoints ORDER BY checkpoint_id").all() as Array<Record<string, unknown>>;
    expect(rows.map((r) => [r.checkpoint_type, r.metadata_type, (r.metadata as Buffer).length])).toEqual([
      [null, null, 0],
      [null, null, 0],
      [null, null, 0],
    ]);
    expect(rows[0].parent).toBeNull();
    expect(Buffer.isBuffer(rows[1].parent) && (rows[1].parent as Buffer).length < ids[0].length).toBe(true);
    expect(rows.every((r) => !(r.blob_refs as string).startsWith("["))).toBe(true);
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE type IS NULL")).toBeGreaterThan(0);
    // The checkpoint JSON is packed into TEXT: the format's keys and version padding are one character each.
    const packed = raw.prepare("SELECT checkpoint FROM checkpoints").pluck().all() as string[];
    expect(packed.every((c) => typeof c === "string" && !c.includes('"channel_versions"'))).toBe(true);
    expect(packed.every((c) => c.length < loadedCheckpoint(null, c).data.length * 0.8)).toBe(true);
    const tuple = await new SqliteSaver(raw).getTuple(config("t", ids[2]));
    expect(Object.keys(tuple!.checkpoint.channel_versions).sort()).toEqual(["counter", "messages"]);
    expect(tuple!.checkpoint.versions_seen).toEqual({});
    expect(tuple?.parentConfig?.configurable?.checkpoint_id).toBe(ids[1]);
    expect(tuple?.metadata).toEqual(metadata(2, { parity: "even" }));
    expect((await saver.listThreads())[0].metadata).toEqual(metadata(2, { parity: "even" }));
    await saver.close();
    raw.close();
  });

  it("a database at schema version 1 is migrated with its rows, and they read back", async () => {
    const source = new Database(":memory:");
    const writer = new SqliteSaver(source);
    await writer.setup();
    const ids = await writeChain(writer, "t", 6);
    await writeChain(writer, "t", 2, "child:1");
    const expected = await collect(writer.list({ configurable: { thread_id: "t" } }));

    // The same rows in the version-1 layout: plain JSON references, explicit types, text parent ids.
    const old = new Database(":memory:");
    const { saverMigrations } = await import("../src/migrations.js");
    const { saverTableNames } = await import("../src/sql.js");
    const { loadedParent, loadedType } = await import("../src/encoding.js");
    old.exec("CREATE TABLE checkpoint_migrations (v INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    old.exec(saverMigrations(saverTableNames(""))[0]);
    old.prepare("INSERT INTO checkpoint_migrations VALUES (1, 0)").run();
    for (const r of source.prepare("SELECT * FROM checkpoints").all() as Array<Record<string, unknown>>) {
      old.prepare("INSERT INTO checkpoints VALUES (@thread_id, @checkpoint_ns, @checkpoint_id, @parent, @ct, @checkpoint, @mt, @metadata, @metadata_json, @run_id, @refs)").run({
        ...r,
        parent: loadedParent(r.checkpoint_id as string, r.parent_checkpoint_id),
        ct: loadedType(r.checkpoint_type as string | null),
        checkpoint: Buffer.from(loadedCheckpoint(r.checkpoint_type as string | null, r.checkpoint as string | Buffer).data),
        mt: loadedType(r.metadata_type as string | null),
        refs: JSON.stringify(loadedRefs(r.blob_refs as string)),
      });
    }
    for (const r of source.prepare("SELECT * FROM checkpoint_blobs").all() as Array<Record<string, unknown>>) {
      old.prepare("INSERT INTO checkpoint_blobs VALUES (@thread_id, @checkpoint_ns, @channel, @version, @type, @data)").run({ ...r, type: loadedType(r.type as string | null) });
    }
    for (const table of ["checkpoint_writes", "checkpoint_threads"]) {
      for (const r of source.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>) {
        old.prepare(`INSERT INTO ${table} VALUES (${Object.keys(r).map((k) => `@${k}`).join(", ")})`).run(r);
      }
    }

    const upgraded = new SqliteSaver(old);
    await upgraded.setup();
    expect(old.prepare("SELECT v FROM checkpoint_migrations ORDER BY v").all()).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
    expect(old.prepare("SELECT sql FROM sqlite_schema WHERE name = 'checkpoint_blobs'").pluck().get()).toMatch(/WITHOUT ROWID/);
    const listed = await collect(upgraded.list({ configurable: { thread_id: "t" } }));
    expect(listed.map((t) => [t.config, t.parentConfig, t.checkpoint, t.metadata, t.pendingWrites])).toEqual(
      expected.map((t) => [t.config, t.parentConfig, t.checkpoint, t.metadata, t.pendingWrites]),
    );
    // Old and new rows live side by side: the thread keeps growing and prunes by the same rules.
    await writeChain(upgraded, "t", 2);
    await upgraded.prune(["t"]);
    expect((await upgraded.getTuple(config("t")))?.checkpoint.channel_values.messages).toEqual(["message 0", "message 1"]);
    expect((await upgraded.getTuple(config("t", undefined, "child:1")))?.checkpoint.channel_values.messages).toEqual(["message 0", "message 1"]);
    expect(ids).toHaveLength(6);
    await upgraded.close();
    await writer.close();
    old.close();
    source.close();
  });
});

describe("saver: schema version 3", () => {
  it("a version-2 file (checkpoint JSON as BLOBs) is upgraded in place: old rows read back, new rows are packed", async () => {
    const source = new Database(":memory:");
    const writer = new SqliteSaver(source);
    await writer.setup();
    await writeChain(writer, "t", 4);
    const expected = await collect(writer.list(config("t")));
    const { saverMigrations } = await import("../src/migrations.js");

    const old = new Database(":memory:");
    old.exec("CREATE TABLE checkpoint_migrations (v INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    const [v1, v2] = saverMigrations(saverTableNames(""));
    old.exec(v1);
    old.exec(v2);
    old.prepare("INSERT INTO checkpoint_migrations VALUES (1, 0), (2, 0)").run();
    for (const table of ["checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_threads"]) {
      for (const r of source.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>) {
        // Version 2 stored the checkpoint's JSON bytes as they are.
        if (table === "checkpoints") r.checkpoint = Buffer.from(loadedCheckpoint(r.checkpoint_type as string | null, r.checkpoint as string).data);
        old.prepare(`INSERT INTO ${table} VALUES (${Object.keys(r).map((k) => `@${k}`).join(", ")})`).run(r);
      }
    }
    expect(count(old, "SELECT COUNT(*) AS n FROM checkpoints WHERE typeof(checkpoint) = 'blob'")).toBe(4);

    const upgraded = new SqliteSaver(old);
    await upgraded.setup();
    expect(old.prepare("SELECT v FROM checkpoint_migrations ORDER BY v").pluck().all()).toEqual([1, 2, 3]);
    const listed = await collect(upgraded.list(config("t")));
    expect(listed.map((t) => [t.config, t.checkpoint, t.metadata, t.pendingWrites])).toEqual(expected.map((t) => [t.config, t.checkpoint, t.metadata, t.pendingWrites]));
    await writeChain(upgraded, "t", 2);
    expect(count(old, "SELECT COUNT(*) AS n FROM checkpoints WHERE typeof(checkpoint) = 'text'")).toBe(2);
    expect((await collect(upgraded.list(config("t"))))).toHaveLength(6);
    expect((await upgraded.listThreads())[0].checkpointId).toBe((await upgraded.getTuple(config("t")))?.checkpoint.id);

    // A package that knows only version 2 would read TEXT as bytes: the version keeps it off the file.
    const { SqliteConnection } = await import("../src/connection.js");
    const olderPackage = new SqliteConnection("test", old, { busyTimeoutMs: 0, wal: false, tablePrefix: "" });
    expect(() => olderPackage.migrate("checkpoint_migrations", [v1, v2])).toThrow(/newer than this package knows/);
    await upgraded.close();
    await writer.close();
    old.close();
    source.close();
  });
});

describe("saver: the put statement's TEMP objects", () => {
  it("live on the saver's connection only: the file's schema is unchanged, savers with other prefixes on one handle keep apart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lgp-sqlite-temp-"));
    const file = join(dir, "temp.db");
    const raw = new Database(file);
    try {
      const a = new SqliteSaver(raw, { tablePrefix: "a_" });
      const b = new SqliteSaver(raw, { tablePrefix: "b_" });
      await a.setup();
      await b.setup();
      await writeChain(a, "t", 3);
      await writeChain(b, "t", 2);
      expect(count(raw, "SELECT COUNT(*) AS n FROM a_checkpoints")).toBe(3);
      expect(count(raw, "SELECT COUNT(*) AS n FROM b_checkpoints")).toBe(2);
      expect(raw.prepare("SELECT name FROM temp.sqlite_schema ORDER BY name").pluck().all()).toEqual([
        "a_checkpoints_put",
        "a_checkpoints_put_insert",
        "b_checkpoints_put",
        "b_checkpoints_put_insert",
      ]);
      // Another connection (another process) sees only the tables: nothing of the view or the trigger.
      const other = new Database(file, { readonly: true });
      expect(count(other, "SELECT COUNT(*) AS n FROM sqlite_schema WHERE name LIKE '%put%'")).toBe(0);
      other.close();
      const reader = new SqliteSaver(file, { tablePrefix: "a_" });
      expect((await reader.getTuple(config("t")))?.checkpoint.channel_values.messages).toHaveLength(3);
      await reader.close();
      await a.close();
      await b.close();
    } finally {
      raw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("saver: TTL without reads on the write path", () => {
  it("putWrites to an expired thread starts it afresh, like put", async () => {
    const raw = new Database(":memory:");
    const saver = new SqliteSaver(raw, { ttl: { defaultTtl: 0.002, sweepIntervalMinutes: 60 } });
    await saver.setup();
    const [id] = await writeChain(saver, "t", 1);
    await sleep(250);
    await saver.putWrites(config("t", id), [["late", 1]], "task-late");
    // The old checkpoint and its writes are gone; only the new write is left, under a live thread row.
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoints WHERE thread_id = 't'")).toBe(0);
    expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_writes WHERE thread_id = 't'")).toBe(1);
    expect(count(raw, "SELECT expires_at AS n FROM checkpoint_threads WHERE thread_id = 't'")).toBeGreaterThan(Date.now());
    await saver.close();
    raw.close();
  });
});

/** Appends `n` messages to the thread's latest checkpoint, one put each (a chain grows); returns the last id. */
async function extend(saver: SqliteSaver, thread: string, n: number): Promise<string> {
  let id = "";
  for (let i = 0; i < n; i++) {
    const last = (await saver.getTuple(config(thread)))!;
    const cp = emptyCheckpoint();
    cp.id = id = uuid6(-1);
    const version = saver.getNextVersion(last.checkpoint.channel_versions.messages as string);
    cp.channel_values = { ...last.checkpoint.channel_values, messages: [...(last.checkpoint.channel_values.messages as string[]), `extra ${i}`] };
    cp.channel_versions = { ...last.checkpoint.channel_versions, messages: version };
    await saver.put(last.config, cp, metadata(100 + i), { messages: version });
  }
  return id;
}

describe("saver: reads leave out the blobs the reader holds", () => {
  /** The blob versions a getTuple statement returns for the thread's latest checkpoint, given @known. */
  function fetchedVersions(raw: SqliteDatabase, thread: string, known: Array<[string, string]> | null): string[] {
    const sql = saverSql(saverTableNames(""), true).getLatest;
    const rows = raw.prepare(sql).raw(true).all({ thread, ns: "", now: Date.now(), known: known && JSON.stringify(known) }) as unknown[][];
    const blobs = rows.filter((r) => r[0] === 1);
    expect(blobs).toHaveLength(1);
    return JSON.parse(blobs[0][4] as string) as string[];
  }

  it("a reference listed in @known is not fetched, nor the rest of its chain; others are", async () => {
    const raw = new Database(":memory:");
    const saver = new SqliteSaver(raw);
    await saver.setup();
    await writeChain(saver, "t", 30);
    const refs = loadedRefs(raw.prepare("SELECT blob_refs FROM checkpoints WHERE thread_id = 't' ORDER BY checkpoint_id DESC LIMIT 1").pluck().get() as string);
    const messages = refs.find(([channel]) => channel === "messages")!;
    const counter = refs.find(([channel]) => channel === "counter")!;
    // Without @known: the messages chain (snapshot + 29 deltas) and the counter's blob.
    expect(fetchedVersions(raw, "t", null)).toHaveLength(31);
    expect(fetchedVersions(raw, "t", [])).toHaveLength(31);
    // The messages tip held: only the counter is fetched.
    expect(fetchedVersions(raw, "t", [messages])).toEqual([counter[1]]);
    expect(fetchedVersions(raw, "t", [messages, counter])).toEqual([]);
    // A held key of another channel, or an older link of the chain, does not count.
    expect(fetchedVersions(raw, "t", [["counter", messages[1]]])).toHaveLength(31);
    const older = raw.prepare("SELECT version FROM checkpoint_blobs WHERE channel = 'messages' AND version < ? ORDER BY version DESC LIMIT 1").pluck().get(messages[1]) as string;
    expect(fetchedVersions(raw, "t", [["messages", older]])).toHaveLength(31);

    // Through the saver: the writer holds the tip and reads the same tuple as a fresh instance.
    const log = new StatementLog();
    const writer = new SqliteSaver(log.wrap(raw));
    await writer.setup();
    await writeChain(writer, "u", 12);
    const fresh = new SqliteSaver(raw);
    const expected = await fresh.getTuple(config("u"));
    const run = await log.during(async () => {
      expect(await writer.getTuple(config("u"))).toEqual(expected);
    });
    expect(run.map((e) => e.method)).toEqual(["all"]);
    expect((expected?.checkpoint.channel_values.messages as string[]).length).toBe(12);
    await fresh.close();
    await writer.close();
    await saver.close();
    raw.close();
  });

  it("getTuple returns what another connection wrote since: a grown thread, a rewritten one, one deleted and rewritten", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lgp-sqlite-known-"));
    const file = join(dir, "known.db");
    const mine = SqliteSaver.fromConnString(file, { linearStorage: { snapshotEvery: 4 } });
    const other = SqliteSaver.fromConnString(file, { linearStorage: { snapshotEvery: 4 } });
    try {
      await mine.setup();
      await other.setup();
      const ids = await writeChain(mine, "t", 6);
      expect((await mine.getTuple(config("t")))?.checkpoint.channel_values.messages).toHaveLength(6);

      // Growth: the other connection appends to the chain this saver holds the tip of.
      const grown = await extend(other, "t", 3);
      const afterGrowth = await mine.getTuple(config("t"));
      expect(afterGrowth?.checkpoint.id).toBe(grown);
      expect(afterGrowth?.checkpoint.channel_values.messages).toEqual([...Array.from({ length: 6 }, (_, i) => `message ${i}`), "extra 0", "extra 1", "extra 2"]);
      // It grew the chain (delta links), not a new snapshot.
      const raw = new Database(file);
      expect(count(raw, "SELECT COUNT(*) AS n FROM checkpoint_blobs WHERE channel = 'messages' AND instr(version, '~') > 0 AND thread_id = 't'")).toBeGreaterThan(3);
      raw.close();
      // The checkpoint this saver wrote (whose values it holds) still reads back as it was.
      expect((await mine.getTuple(config("t", ids[5])))?.checkpoint.channel_values.messages).toHaveLength(6);

      // Delete and rewrite: same thread id, new chains.
      await other.deleteThread("t");
      await writeChain(other, "t", 2);
      const rewritten = await mine.getTuple(config("t"));
      expect(rewritten?.checkpoint.channel_values).toEqual({ counter: 1, messages: ["message 0", "message 1"] });
      expect(await mine.getTuple(config("t", ids[5]))).toBeUndefined();

      // The saver continues the rewritten thread from what it read.
      await writeChain(mine, "t", 1);
      const reader = SqliteSaver.fromConnString(file);
      expect((await reader.getTuple(config("t")))?.checkpoint.channel_values.messages).toEqual(["message 0"]);
      expect((await collect(reader.list(config("t"))))).toHaveLength(3);
      await reader.close();
    } finally {
      await mine.close();
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
