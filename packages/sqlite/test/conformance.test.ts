import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { runCheckpointerConformance, runGraphConformance, runStoreConformance, type SaverHarness, type StoreHarness } from "@langgraph-persist/conformance";
import { SqliteSaver, SqliteStore, type SqliteDatabase } from "../src/index.js";

const THREAD_ROWS = `SELECT
  (SELECT COUNT(*) FROM checkpoints WHERE thread_id = @t) + (SELECT COUNT(*) FROM checkpoint_blobs WHERE thread_id = @t) +
  (SELECT COUNT(*) FROM checkpoint_writes WHERE thread_id = @t) + (SELECT COUNT(*) FROM checkpoint_threads WHERE thread_id = @t) AS n`;

const saverCapabilities = new SqliteSaver(":memory:").capabilities;
const storeCapabilities = new SqliteStore(":memory:").capabilities;

/**
 * `:memory:` variant: one in-memory database per group, passed to every instance as an existing
 * `Database` (the instances never close it), so peers share data the way two connections to a file do.
 */
function memoryHarnesses(): { saver: SaverHarness<SqliteSaver>; store: StoreHarness<SqliteStore> } {
  let saverDb: SqliteDatabase | undefined;
  let storeDb: SqliteDatabase | undefined;
  const saver: SaverHarness<SqliteSaver> = {
    name: "sqlite :memory:",
    async setup() {
      saverDb = new Database(":memory:");
    },
    async teardown() {
      saverDb?.close();
    },
    async create(options) {
      const s = new SqliteSaver(saverDb!, options);
      await s.setup();
      return s;
    },
    async createPeer(options) {
      const s = new SqliteSaver(saverDb!, options);
      await s.setup();
      return s;
    },
    async countThreadArtifacts(_saver, threadId) {
      return (saverDb!.prepare(THREAD_ROWS).get({ t: threadId }) as { n: number }).n;
    },
    capabilities: saverCapabilities,
  };
  const store: StoreHarness<SqliteStore> = {
    name: "sqlite :memory:",
    async setup() {
      storeDb = new Database(":memory:");
    },
    async teardown() {
      storeDb?.close();
    },
    async create(options) {
      const s = new SqliteStore(storeDb!, options);
      await s.setup();
      return s;
    },
    capabilities: storeCapabilities,
  };
  return { saver, store };
}

/** File variant: every instance opens its own connection to one WAL file per group. */
function fileHarnesses(): { saver: SaverHarness<SqliteSaver>; store: StoreHarness<SqliteStore> } {
  let dir: string | undefined;
  const file = () => join(dir!, "conformance.db");
  const setup = async () => {
    dir ??= mkdtempSync(join(tmpdir(), "lgp-sqlite-conformance-"));
  };
  const teardown = async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };
  const saver: SaverHarness<SqliteSaver> = {
    name: "sqlite file",
    setup,
    teardown,
    async create(options) {
      const s = SqliteSaver.fromConnString(file(), options);
      await s.setup();
      return s;
    },
    async createPeer(options) {
      const s = SqliteSaver.fromConnString(file(), options);
      await s.setup();
      return s;
    },
    async countThreadArtifacts(_saver, threadId) {
      const db = new Database(file(), { readonly: true });
      try {
        return (db.prepare(THREAD_ROWS).get({ t: threadId }) as { n: number }).n;
      } finally {
        db.close();
      }
    },
    capabilities: saverCapabilities,
  };
  const store: StoreHarness<SqliteStore> = {
    name: "sqlite file",
    setup,
    teardown,
    async create(options) {
      const s = SqliteStore.fromConnString(file(), options);
      await s.setup();
      return s;
    },
    capabilities: storeCapabilities,
  };
  return { saver, store };
}

const memory = memoryHarnesses();
runCheckpointerConformance(memory.saver);
runStoreConformance(memory.store);
runGraphConformance({ name: "sqlite :memory:", saver: memory.saver, store: memory.store });

const file = fileHarnesses();
runCheckpointerConformance(file.saver);
runStoreConformance(file.store);
runGraphConformance({ name: "sqlite file", saver: file.saver, store: file.store });
