import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError, InvalidArgumentError, PersistenceError } from "@langgraph-persist/core";
import { SqliteSaver, SqliteStore } from "../src/index.js";
import { config, writeChain } from "./helpers.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lgp-sqlite-paths-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome, "expected a rejection").toBeInstanceOf(PersistenceError);
  return outcome as Error;
}

/** Makes a directory unwritable even for root (immutable attribute); the undo function, or why not. */
function freeze(path: string): (() => void) | string {
  try {
    execFileSync("chattr", ["+i", path], { stdio: "ignore" });
    return () => execFileSync("chattr", ["-i", path], { stdio: "ignore" });
  } catch {
    if (process.getuid?.() === 0) return "running as root without chattr support: permissions cannot make a directory read-only";
    execFileSync("chmod", ["a-w", path]);
    return () => execFileSync("chmod", ["u+w", path]);
  }
}

describe("database paths", () => {
  it('fromConnString(".data/agent.db") works in a fresh directory: missing parent directories are created', async () => {
    const app = join(dir, "fresh-app");
    mkdirSync(app);
    // The README's relative path, resolved against a directory that has no .data/ yet.
    const file = relative(process.cwd(), join(app, ".data", "agent.db"));
    expect(existsSync(join(app, ".data"))).toBe(false);
    const saver = SqliteSaver.fromConnString(file);
    await saver.setup();
    const ids = await writeChain(saver, "t", 2);
    expect((await saver.getTuple(config("t")))?.checkpoint.id).toBe(ids[1]);
    await saver.close();
    const store = SqliteStore.fromConnString(`sqlite://${join(app, ".data", "deeper", "store.db")}`);
    await store.setup();
    await store.close();
    expect(existsSync(join(app, ".data", "agent.db"))).toBe(true);
    expect(existsSync(join(app, ".data", "deeper", "store.db"))).toBe(true);
  });

  it("a directory given as the path is InvalidArgumentError naming it", async () => {
    const folder = join(dir, "a-folder");
    mkdirSync(folder);
    for (const adapter of [SqliteSaver.fromConnString(folder), SqliteStore.fromConnString(folder)]) {
      const err = await rejection(adapter.setup());
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain(`Opening ${JSON.stringify(folder)} failed: it is a directory`);
      await adapter.close();
    }
  });

  it("a directory SQLite cannot write to: reads and setup() fail with BackendError naming the directory", async (ctx) => {
    const ro = join(dir, "read-only");
    mkdirSync(ro);
    const file = join(ro, "agent.db");
    const saver = SqliteSaver.fromConnString(file);
    await saver.setup();
    await writeChain(saver, "t", 1);
    await saver.close();
    const undo = freeze(ro);
    if (typeof undo === "string") return ctx.skip(undo);
    try {
      const reader = SqliteSaver.fromConnString(file);
      const err = await rejection(reader.getTuple(config("t")));
      expect(err).toBeInstanceOf(BackendError);
      expect(err.message).toContain(`the directory ${JSON.stringify(ro)} is not writable`);
      await reader.close();
      const fresh = SqliteStore.fromConnString(join(ro, "new.db"));
      const setupErr = await rejection(fresh.setup());
      expect(setupErr.message).toContain(`the directory ${JSON.stringify(ro)} is not writable`);
      await fresh.close();
    } finally {
      undo();
    }
  });
});
