import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteSaver, SqliteStore } from "../src/index.js";
import { collect, config, writeChain } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, "fixtures", "child.ts");

/** Runs the child script in a new Node process (TypeScript through tsx); resolves with its stdout. */
function child(args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: join(here, ".."), timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`child ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lgp-sqlite-processes-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("several processes on one database file", () => {
  it("four processes and this one writing checkpoints, writes and items to one file concurrently all land", async () => {
    const file = join(dir, "shared.db");
    // The shared checkpoint exists before the children start, so they all add writes to the same rows.
    const saver = SqliteSaver.fromConnString(file);
    await saver.setup();
    const [sharedId] = await writeChain(saver, "shared", 1);

    const names = ["a", "b", "c", "d"];
    const steps = 25;
    const running = names.map((n) => child(["write", file, n, String(steps)]));
    // This process writes too, while the children run.
    const mine = await writeChain(saver, "parent", steps);
    const results = (await Promise.all(running)).map((out) => JSON.parse(out) as { name: string; ids: string[] });

    for (const { name, ids } of results) {
      expect(ids).toHaveLength(steps);
      const listed = await collect(saver.list(config(`proc-${name}`)));
      expect(listed.map((t) => t.checkpoint.id).sort()).toEqual([...ids].sort());
    }
    expect((await collect(saver.list(config("parent")))).map((t) => t.checkpoint.id)).toEqual([...mine].reverse());
    const shared = await saver.getTuple(config("shared", sharedId));
    expect(shared?.pendingWrites?.filter(([task]) => task.startsWith("task-") && task !== "task-0")).toHaveLength(names.length * steps);

    const store = SqliteStore.fromConnString(file);
    for (const name of names) expect(await store.search(["procs", name], { limit: 100 })).toHaveLength(steps);
    expect(await store.listNamespaces({ prefix: ["procs"] })).toEqual(names.map((n) => ["procs", n]));
    await store.close();
    await saver.close();

    const db = new Database(file, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.prepare("SELECT v FROM checkpoint_migrations").all()).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
    expect(db.prepare("SELECT v FROM store_migrations").all()).toEqual([{ v: 1 }]);
    db.close();
  }, 120_000);

  it("ten processes running setup() on one fresh file at once leave one applied migration", async () => {
    const file = join(dir, "setup-race.db");
    const outputs = await Promise.all(Array.from({ length: 10 }, (_, i) => child(["write", file, `s${i}`, "1"])));
    expect(outputs.map((o) => (JSON.parse(o) as { ids: string[] }).ids)).toHaveLength(10);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT v FROM checkpoint_migrations").all()).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
    expect(db.prepare("SELECT v FROM store_migrations").all()).toEqual([{ v: 1 }]);
    expect((db.prepare("SELECT COUNT(DISTINCT thread_id) AS n FROM checkpoints").get() as { n: number }).n).toBe(10);
    db.close();
  }, 120_000);

  it("a process whose saver and store have TTL sweepers exits on its own: the timers are unref'd", async () => {
    await expect(child(["idle", join(dir, "idle.db"), "x"], 30_000)).resolves.toBe("idle");
  }, 60_000);
});
