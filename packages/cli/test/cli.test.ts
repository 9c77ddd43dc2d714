import { cpSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT, cli, runNode, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** One line on stderr, no stack frames. */
function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n").filter((l) => !/^\[WARN\]/.test(l));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^langgraph-persist: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe("help", () => {
  it("--help lists every command and the backend URLs, exit 0", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["demo", "copy", "inspect", "prune", "conformance", "postgres://", "redis+cluster://", "mongodb://", "sqlite:"]) expect(r.stdout).toContain(c);
  });

  it("no command prints the usage and exits 2", async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("Usage: langgraph-persist <command>");
  });

  it("every command has its own --help", async () => {
    for (const [command, needle] of [
      ["copy", "--dry-run"],
      ["inspect", "inspect thread <thread-id>"],
      ["prune", "--older-than <duration>"],
      ["conformance", "<harness-module | url>"],
      ["demo", "--backend <url>"],
    ]) {
      const r = await cli([command, "--help"]);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toContain(needle);
    }
  });
});

describe("errors a user can make: one line on stderr, non-zero exit", () => {
  it("unknown command", async () => {
    const r = await cli(["cpoy"]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /unknown command "cpoy"/);
  });

  it("unknown flag", async () => {
    const r = await cli(["inspect", "threads", "--url", "memory:", "--limt", "3"]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /Unknown option '--limt'/);
  });

  it("unknown URL scheme names the supported ones", async () => {
    const r = await cli(["inspect", "threads", "--url", "mysql://localhost/db"]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /unknown backend scheme "mysql:".*postgres:\/\/.*redis:\/\/.*mongodb:\/\//);
  });

  it("a SQLite file that does not exist is reported, not created", async () => {
    const file = join(tmp.dir, "typo.db");
    const r = await cli(["inspect", "threads", "--url", file]);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /no SQLite database at .*typo\.db/);
  });

  it("a database whose setup() never ran", async () => {
    const file = join(tmp.dir, "empty.db");
    writeFileSync(file, "");
    const r = await cli(["inspect", "threads", "--url", `sqlite:${file}`]);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /\[@langgraph-persist\/sqlite\] setup\(\) has not run.*nothing has been stored here yet/);
  });

  it("--verbose adds the stack trace", async () => {
    const file = join(tmp.dir, "empty2.db");
    writeFileSync(file, "");
    const r = await cli(["inspect", "threads", "--url", file, "--verbose"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^langgraph-persist: .*setup\(\) has not run/);
    expect(r.stderr).toMatch(/NotSetUpError/);
    expect(r.stderr).toMatch(/^\s+at /m);
  });

  it("an unreachable Postgres server", async () => {
    const r = await cli(["inspect", "threads", "--url", "postgres://postgres:secret@127.0.0.1:1/app"]);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /ECONNREFUSED.*is the server running/);
    expect(r.stderr).not.toContain("secret");
  });

  it("an unreachable Redis server", async () => {
    const r = await cli(["inspect", "threads", "--url", "redis://127.0.0.1:1"]);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /\[@langgraph-persist\/redis\].*(could not reach the server|is the server running)/);
  });

  it.skipIf(!process.env.TEST_POSTGRES_URL)("wrong Postgres credentials", async () => {
    const url = new URL(process.env.TEST_POSTGRES_URL!);
    url.username = "lgp_no_such_user";
    url.password = "wrong-password";
    const r = await cli(["inspect", "threads", "--url", url.toString()]);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /lgp_no_such_user.*check the user name and password/);
    expect(r.stderr).not.toContain("wrong-password");
  });

  it.skipIf(!process.env.TEST_REDIS_URL)("wrong Redis credentials", async () => {
    const url = new URL(process.env.TEST_REDIS_URL!);
    url.username = "lgp_no_such_user";
    url.password = "wrong-password";
    const r = await cli(["inspect", "threads", "--url", url.toString()]);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /WRONGPASS.*check the user name and password/);
  });

  it("bad values: --limit, --older-than, missing --to", async () => {
    const bad = [
      [["inspect", "threads", "--url", "memory:", "--limit", "0"], /--limit must be a positive integer/],
      [["prune", "--url", "memory:", "--older-than", "soon"], /invalid duration "soon"/],
      [["prune", "--url", "memory:"], /exactly one of --keep-latest and --older-than/],
      [["copy", "--from", "memory:"], /--from <url> and --to <url> are required/],
      [["inspect", "threads"], /--url <backend url> is required/],
    ] as const;
    for (const [args, pattern] of bad) {
      const r = await cli([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expectOneLine(r.stderr, pattern);
    }
  });
});

describe("missing packages", () => {
  /**
   * A copy of the built CLI next to a node_modules that has only what the CLI itself depends on, plus
   * (for the driver case) an adapter whose driver is absent.
   */
  function sandbox(withSqliteAdapter: boolean): string {
    const root = join(tmp.dir, `sandbox-${withSqliteAdapter ? "adapter" : "bare"}`);
    const modules = join(root, "node_modules");
    mkdirSync(join(modules, "@langgraph-persist"), { recursive: true });
    cpSync(join(PACKAGE_ROOT, "dist"), join(root, "dist"), { recursive: true });
    writeFileSync(join(root, "package.json"), JSON.stringify({ name: "sandbox", type: "module" }));
    symlinkSync(join(PACKAGE_ROOT, "node_modules", "@langchain"), join(modules, "@langchain"), "dir");
    symlinkSync(join(PACKAGE_ROOT, "node_modules", "zod"), join(modules, "zod"), "dir");
    symlinkSync(join(PACKAGE_ROOT, "node_modules", "@langgraph-persist", "core"), join(modules, "@langgraph-persist", "core"), "dir");
    if (withSqliteAdapter) {
      // Stands in for @langgraph-persist/sqlite installed without better-sqlite3.
      const fake = join(modules, "@langgraph-persist", "sqlite");
      mkdirSync(fake);
      writeFileSync(join(fake, "package.json"), JSON.stringify({ name: "@langgraph-persist/sqlite", type: "module", exports: "./index.js" }));
      writeFileSync(join(fake, "index.js"), `import Database from "better-sqlite3";\nexport class SqliteSaver {}\nexport class SqliteStore {}\n`);
    }
    return root;
  }

  it("an adapter package that is not installed: says which one to install", async () => {
    const root = sandbox(false);
    const r = await runNode(join(root, "dist", "cli.js"), ["inspect", "threads", "--url", "postgres://localhost/app"], { cwd: root });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /the postgres backend needs @langgraph-persist\/postgres, which is not installed: npm install @langgraph-persist\/postgres pg/);
  });

  it("a driver that is not installed: says which one to install", async () => {
    const root = sandbox(true);
    writeFileSync(join(root, "x.db"), "");
    const r = await runNode(join(root, "dist", "cli.js"), ["inspect", "threads", "--url", join(root, "x.db")], { cwd: root });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /the sqlite backend needs the "better-sqlite3" driver, which is not installed: npm install better-sqlite3/);
  });
});
