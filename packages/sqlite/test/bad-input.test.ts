import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import {
  BackendError,
  ClientClosedError,
  InvalidArgumentError,
  NotSetUpError,
  PersistenceError,
  SerializationError,
} from "@langgraph-persist/core";
import { SqliteSaver, SqliteStore } from "../src/index.js";
import { collect, config, metadata, writeChain } from "./helpers.js";

/** Serialisation happens in core's shared serializer, so its errors carry core's prefix. */
async function rejection(promise: Promise<unknown>, prefix = /^\[@langgraph-persist\/sqlite\] /): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome, "expected a rejection").toBeInstanceOf(PersistenceError);
  expect((outcome as Error).message).toMatch(prefix);
  return outcome as Error;
}
const ANY_PACKAGE = /^\[@langgraph-persist\/(sqlite|core)\] /;

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PersistenceError);
    return err as Error;
  }
  throw new Error("expected a throw");
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lgp-sqlite-bad-input-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Makes a file unwritable even for root (immutable attribute), or by permissions for other users.
 * Returns an undo function, or the reason this machine cannot do it.
 */
function makeReadOnly(file: string): (() => void) | string {
  try {
    execFileSync("chattr", ["+i", file], { stdio: "ignore" });
    return () => execFileSync("chattr", ["-i", file], { stdio: "ignore" });
  } catch {
    if (process.getuid?.() === 0) return "running as root without chattr support: file permissions cannot make a file read-only";
    chmodSync(file, 0o444);
    return () => chmodSync(file, 0o644);
  }
}
const readOnlyProbe = (() => {
  const probeDir = mkdtempSync(join(tmpdir(), "lgp-sqlite-ro-probe-"));
  const probe = join(probeDir, "probe");
  writeFileSync(probe, "x");
  const undo = makeReadOnly(probe);
  if (typeof undo === "function") undo();
  rmSync(probeDir, { recursive: true, force: true });
  return typeof undo === "string" ? undo : undefined;
})();

describe("bad input: options and construction", () => {
  it("rejects options that cannot be honoured with InvalidArgumentError, before touching any file", () => {
    const file = join(dir, "never-created.db");
    const cases: Array<() => unknown> = [
      () => new SqliteSaver(file, { tablePrefix: 'x"; DROP TABLE checkpoints; --' }),
      () => new SqliteSaver(file, { tablePrefix: "a-b" }),
      () => new SqliteStore(file, { busyTimeoutMs: -1 }),
      () => new SqliteStore(file, { busyTimeoutMs: 1.5 }),
      () => new SqliteSaver(file, { wal: "yes" as unknown as boolean }),
      () => new SqliteSaver(file, { ttl: { defaultTtl: -5 } }),
      () => new SqliteSaver(""),
      () => new SqliteSaver(42 as unknown as string),
      () => new SqliteStore({} as unknown as string),
      () => SqliteSaver.fromConnString("file:x.db?mode=ro"),
    ];
    for (const make of cases) expect(thrown(make)).toBeInstanceOf(InvalidArgumentError);
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
  });

  it("a path in a missing directory: the directories are created", async () => {
    const file = join(dir, "missing", "sub", "x.db");
    const saver = SqliteSaver.fromConnString(file);
    await saver.setup();
    await writeChain(saver, "t", 1);
    await saver.close();
    expect(readFileSync(file).subarray(0, 15).toString()).toBe("SQLite format 3");
    const store = new SqliteStore(join(dir, "missing", "other", "x.db"));
    await store.setup();
    await store.put(["a"], "k", { v: 1 });
    expect((await store.get(["a"], "k"))?.value).toEqual({ v: 1 });
    await store.close();
  });

  it("a path under a file (not a directory) rejects setup() with InvalidArgumentError naming the directory", async () => {
    writeFileSync(join(dir, "plain-file"), "x");
    const saver = SqliteSaver.fromConnString(join(dir, "plain-file", "x.db"));
    const err = await rejection(saver.setup());
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain(JSON.stringify(join(dir, "plain-file")));
    await saver.close();
  });

  it("accepts sqlite: and file: URLs as filenames", async () => {
    for (const url of [`sqlite://${join(dir, "url-a.db")}`, `file:${join(dir, "url-b.db")}`, "sqlite://:memory:"]) {
      const saver = SqliteSaver.fromConnString(url);
      await saver.setup();
      await writeChain(saver, "t", 1);
      expect(await saver.getTuple(config("t"))).toBeDefined();
      await saver.close();
    }
    expect(readFileSync(join(dir, "url-a.db")).subarray(0, 15).toString()).toBe("SQLite format 3");
  });
});

describe("bad input: database files", () => {
  it("a corrupt database file rejects setup() with BackendError and is left byte for byte as it was", async () => {
    const file = join(dir, "corrupt.db");
    const garbage = Buffer.from("this is not a database ".repeat(200));
    writeFileSync(file, garbage);
    for (const adapter of [SqliteSaver.fromConnString(file), SqliteStore.fromConnString(file)]) {
      const err = await rejection(adapter.setup());
      expect(err).toBeInstanceOf(BackendError);
      expect(err.message).toMatch(/not a SQLite database or is corrupt/);
      await adapter.close();
    }
    expect(readFileSync(file).equals(garbage)).toBe(true);
  });

  it("a caller's read-only handle: reads work, writes reject with BackendError and nothing stored is lost", async () => {
    const file = join(dir, "readonly-handle.db");
    const writer = SqliteSaver.fromConnString(file);
    await writer.setup();
    const ids = await writeChain(writer, "t", 3);
    await writer.close();

    const handle = new Database(file, { readonly: true });
    const saver = new SqliteSaver(handle);
    await saver.setup(); // nothing to migrate: no write needed
    expect((await saver.getTuple(config("t")))?.checkpoint.id).toBe(ids[2]);
    const err = await rejection(writeChain(saver, "t", 1));
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toMatch(/read-only/);
    await saver.close();
    handle.close();

    const again = SqliteSaver.fromConnString(file);
    expect((await collect(again.list(config("t")))).map((t) => t.checkpoint.id)).toEqual([...ids].reverse());
    await again.close();
  });

  it.skipIf(readOnlyProbe !== undefined)(`a read-only file: writes reject with BackendError, reads work, nothing is lost${readOnlyProbe ? ` [skipped: ${readOnlyProbe}]` : ""}`, async () => {
    const file = join(dir, "readonly-file.db");
    const writer = SqliteSaver.fromConnString(file);
    await writer.setup();
    const ids = await writeChain(writer, "t", 2);
    await writer.close();
    const storeWriter = SqliteStore.fromConnString(file);
    await storeWriter.setup();
    await storeWriter.put(["docs"], "k", { v: 1 });
    await storeWriter.close();

    const undo = makeReadOnly(file) as () => void;
    try {
      const saver = SqliteSaver.fromConnString(file);
      await saver.setup();
      expect((await saver.getTuple(config("t")))?.checkpoint.id).toBe(ids[1]);
      expect(await rejection(writeChain(saver, "t", 1))).toBeInstanceOf(BackendError);
      await saver.close();
      const store = SqliteStore.fromConnString(file);
      expect(await rejection(store.put(["docs"], "k", { v: 2 }))).toBeInstanceOf(BackendError);
      expect((await store.get(["docs"], "k"))?.value).toEqual({ v: 1 });
      await store.close();

      // A read-only file in rollback-journal mode cannot switch to WAL, and is still readable.
      const legacy = join(dir, "readonly-legacy.db");
      const legacyWriter = SqliteSaver.fromConnString(legacy, { wal: false });
      await legacyWriter.setup();
      const legacyIds = await writeChain(legacyWriter, "t", 1);
      await legacyWriter.close();
      const undoLegacy = makeReadOnly(legacy) as () => void;
      try {
        const legacyReader = SqliteSaver.fromConnString(legacy);
        await legacyReader.setup();
        expect((await legacyReader.getTuple(config("t")))?.checkpoint.id).toBe(legacyIds[0]);
        expect(await rejection(writeChain(legacyReader, "t", 1))).toBeInstanceOf(BackendError);
        await legacyReader.close();
      } finally {
        undoLegacy();
      }

      // A fresh read-only file that was never set up cannot get a schema.
      const empty = join(dir, "readonly-empty.db");
      new Database(empty).close();
      const undoEmpty = makeReadOnly(empty) as () => void;
      try {
        const fresh = SqliteSaver.fromConnString(empty);
        const err = await rejection(fresh.setup());
        expect(err).toBeInstanceOf(BackendError);
        expect(err.message).toMatch(/read-only/);
        await fresh.close();
      } finally {
        undoEmpty();
      }
    } finally {
      undo();
    }
    const reader = SqliteSaver.fromConnString(file);
    expect((await collect(reader.list(config("t")))).map((t) => t.checkpoint.id)).toEqual([...ids].reverse());
    await reader.close();
  });

  it("operations before setup() on an empty database reject with NotSetUpError", async () => {
    const saver = new SqliteSaver(":memory:");
    const err = await rejection(saver.getTuple(config("t")));
    expect(err).toBeInstanceOf(NotSetUpError);
    expect(err.message).toBe("[@langgraph-persist/sqlite] setup() has not run: call await saver.setup() first");
    expect(await rejection(collect(saver.list(config("t"))))).toBeInstanceOf(NotSetUpError);
    expect(await rejection(saver.listThreads())).toBeInstanceOf(NotSetUpError);
    await saver.close();
    const store = new SqliteStore(":memory:");
    expect(await rejection(store.put(["a"], "k", { v: 1 }))).toBeInstanceOf(NotSetUpError);
    expect(await rejection(store.search(["a"]))).toBeInstanceOf(NotSetUpError);
    await store.close();
  });

  it("a schema newer than the package rejects setup() with BackendError", async () => {
    const db = new Database(":memory:");
    const saver = new SqliteSaver(db);
    await saver.setup();
    db.prepare("INSERT INTO checkpoint_migrations (v, applied_at) VALUES (99, 0)").run();
    const other = new SqliteSaver(db);
    const err = await rejection(other.setup());
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toMatch(/version 99, newer than this package knows/);
    await saver.close();
    db.close();
  });
});

describe("bad input: caller-owned handles", () => {
  it("close() leaves a caller's Database open; the caller closing it gives ClientClosedError", async () => {
    const db = new Database(":memory:");
    const saver = new SqliteSaver(db);
    const store = new SqliteStore(db);
    await saver.setup();
    await store.setup();
    await writeChain(saver, "t", 1);
    await store.put(["a"], "k", { v: 1 });
    await saver.close();
    await store.close();
    expect(db.open).toBe(true);
    expect((db.prepare("SELECT COUNT(*) AS n FROM checkpoints").get() as { n: number }).n).toBe(1);

    const again = new SqliteSaver(db);
    const againStore = new SqliteStore(db);
    await again.setup();
    await againStore.setup();
    db.close();
    expect(await rejection(again.getTuple(config("t")))).toBeInstanceOf(ClientClosedError);
    expect(await rejection(writeChain(again, "t", 1))).toBeInstanceOf(ClientClosedError);
    expect(await rejection(againStore.get(["a"], "k"))).toBeInstanceOf(ClientClosedError);
    await again.close();
    await againStore.close();
  });

  it("an adapter-opened file is closed by close()", async () => {
    const saver = SqliteSaver.fromConnString(join(dir, "owned.db"));
    await saver.setup();
    await saver.close();
    expect(await rejection(saver.getTuple(config("t")))).toBeInstanceOf(ClientClosedError);
  });
});

describe("bad input: values that cannot be serialised", () => {
  it("a checkpoint value that cannot be serialised rejects with SerializationError; the stored thread is intact", async () => {
    const saver = new SqliteSaver(":memory:");
    await saver.setup();
    const ids = await writeChain(saver, "t", 2);
    const before = await saver.getTuple(config("t"));

    class Holder {
      big = 1n;
    }
    const circular: Record<string, unknown> = {};
    circular.self = { circular, holder: new Holder() };
    for (const bad of [{ holder: new Holder() }, circular]) {
      const cp = emptyCheckpoint();
      cp.id = uuid6(-1);
      const v = saver.getNextVersion(undefined);
      cp.channel_values = { counter: bad };
      cp.channel_versions = { counter: v };
      const err = await rejection(saver.put(config("t", ids[1]), cp, metadata(2), { counter: v }), ANY_PACKAGE);
      expect(err).toBeInstanceOf(SerializationError);
      const w = await rejection(saver.putWrites(config("t", ids[1]), [["counter", bad]], "task-bad"), ANY_PACKAGE);
      expect(w).toBeInstanceOf(SerializationError);
    }
    expect(await saver.getTuple(config("t"))).toEqual(before);
    expect((await collect(saver.list(config("t")))).map((t) => t.checkpoint.id)).toEqual([...ids].reverse());
    await saver.close();
  });

  it("a store value that cannot be serialised rejects with SerializationError; the batch writes nothing", async () => {
    const store = new SqliteStore(":memory:");
    await store.setup();
    await store.put(["a"], "k", { v: 1 });
    const circular: Record<string, unknown> = { v: 2 };
    circular.self = circular;
    for (const bad of [{ v: 10n }, circular, { f: () => 1 }, { s: Symbol("x") }]) {
      const err = await rejection(
        store.batch([
          { namespace: ["a"], key: "other", value: { ok: true } },
          { namespace: ["a"], key: "k", value: bad as Record<string, unknown> },
        ]),
      );
      expect(err).toBeInstanceOf(SerializationError);
    }
    expect((await store.get(["a"], "k"))?.value).toEqual({ v: 1 });
    expect(await store.get(["a"], "other")).toBeNull();
    await store.close();
  });
});
