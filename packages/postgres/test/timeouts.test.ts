import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError, InvalidArgumentError, TimeoutError } from "@langgraph-persist/core";
import { localTcpServer, rejectionOf, type LocalTcpServer } from "@langgraph-persist/conformance";
import { PostgresSaver, PostgresStore } from "../src/index.js";

/**
 * Local TCP servers standing in for an unreachable database: `hung` accepts connections and never
 * answers (a hung host, a dropped firewall rule); `silent` completes PostgreSQL's startup handshake
 * (AuthenticationOk, ReadyForQuery) and then never answers a statement (a server that stops mid-session).
 */
let hung: LocalTcpServer;
let silent: LocalTcpServer;
let hungPort = 0;
let silentPort = 0;

beforeAll(async () => {
  hung = await localTcpServer();
  silent = await localTcpServer((socket) => {
    let started = false;
    socket.on("data", () => {
      if (started) return; // every statement after the handshake goes unanswered
      started = true;
      const auth = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]); // 'R' AuthenticationOk
      const ready = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // 'Z' ReadyForQuery, idle
      socket.write(Buffer.concat([auth, ready]));
    });
  });
  hungPort = hung.port;
  silentPort = silent.port;
});

afterAll(async () => {
  await Promise.all([hung.close(), silent.close()]);
});

const url = (port: number, query = "") => `postgres://user:secret@127.0.0.1:${port}/app${query}`;

describe("timeouts against a host that accepts TCP and never answers", () => {
  it("setup() of a saver fails with TimeoutError (connect, host:port, after how long)", async () => {
    const saver = new PostgresSaver(url(hungPort), { connectTimeoutMs: 300 });
    const err = await rejectionOf(saver.setup());
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(BackendError);
    const t = err as TimeoutError;
    expect([t.phase, t.target, t.timeoutMs]).toEqual(["connect", `127.0.0.1:${hungPort}`, 300]);
    expect(t.message).toContain(`connecting to PostgreSQL at 127.0.0.1:${hungPort} timed out after 300 ms`);
    expect(t.message).not.toContain("secret");
    await saver.close();
  }, 60_000);

  it("setup() of a store fails with TimeoutError; ?connect_timeout= in the URL is honoured (seconds)", async () => {
    const store = PostgresStore.fromConnString(url(hungPort, "?connect_timeout=1"));
    expect(store.pool.options.connectionTimeoutMillis).toBe(1000);
    const err = await rejectionOf(store.setup());
    expect(err).toBeInstanceOf(TimeoutError);
    expect([(err as TimeoutError).phase, (err as TimeoutError).timeoutMs]).toEqual(["connect", 1000]);
    await store.close();
  }, 60_000);

  it("an operation after the handshake that gets no answer fails with TimeoutError (command)", async () => {
    const saver = new PostgresSaver(url(silentPort), { queryTimeoutMs: 300 });
    const err = await rejectionOf(saver.getTuple({ configurable: { thread_id: "t" } }));
    expect(err).toBeInstanceOf(TimeoutError);
    const t = err as TimeoutError;
    expect([t.phase, t.target, t.timeoutMs]).toEqual(["command", `127.0.0.1:${silentPort}`, 300]);
    expect(t.message).toContain("getTuple failed: a command to PostgreSQL");
    const store = new PostgresStore(url(silentPort, "?query_timeout=300"));
    const storeErr = await rejectionOf(store.get(["ns"], "k"));
    expect(storeErr).toBeInstanceOf(TimeoutError);
    expect((storeErr as TimeoutError).phase).toBe("command");
    await Promise.all([saver.close(), store.close()]);
  }, 60_000);

  it("a caller's pool keeps its own settings; its own timeouts still surface as TimeoutError", async () => {
    const untouched = new pg.Pool({ connectionString: url(hungPort) });
    const saver = new PostgresSaver(untouched, { connectTimeoutMs: 5 });
    expect(untouched.options.connectionTimeoutMillis).toBeUndefined();
    await saver.close();
    await untouched.end();

    const pool = new pg.Pool({ connectionString: url(hungPort), connectionTimeoutMillis: 300 });
    pool.on("error", () => {});
    const store = new PostgresStore(pool);
    const err = await rejectionOf(store.setup());
    expect(err).toBeInstanceOf(TimeoutError);
    expect([(err as TimeoutError).phase, (err as TimeoutError).timeoutMs]).toEqual(["connect", 300]);
    await store.close();
    await pool.end();
  }, 60_000);
});

describe("connection settings", () => {
  it("a pool the adapter creates has a connect timeout by default; options beat the PoolConfig, which beats the URL", async () => {
    const byDefault = new PostgresSaver(url(hungPort));
    expect(byDefault.pool.options.connectionTimeoutMillis).toBe(10_000);
    const fromOption = new PostgresSaver(url(hungPort, "?connect_timeout=3"), { connectTimeoutMs: 1500 });
    expect(fromOption.pool.options.connectionTimeoutMillis).toBe(1500);
    const fromConfig = new PostgresStore({ connectionString: url(hungPort, "?connect_timeout=3"), connectionTimeoutMillis: 2500 });
    expect(fromConfig.pool.options.connectionTimeoutMillis).toBe(2500);
    const fromUrl = new PostgresStore({ connectionString: url(hungPort, "?connect_timeout=0.5") });
    expect(fromUrl.pool.options.connectionTimeoutMillis).toBe(500);
    const off = new PostgresSaver(url(hungPort), { connectTimeoutMs: 0 });
    expect(off.pool.options.connectionTimeoutMillis).toBe(0);
    await Promise.all([byDefault, fromOption, fromConfig, fromUrl, off].map((x) => x.close()));
  });

  it("bad timeout values are InvalidArgumentError", () => {
    expect(() => new PostgresSaver(url(hungPort), { connectTimeoutMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => new PostgresSaver(url(hungPort), { queryTimeoutMs: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new PostgresStore(url(hungPort, "?connect_timeout=soon"))).toThrow(InvalidArgumentError);
  });

  it("a connection string that is not a PostgreSQL URL is InvalidArgumentError naming the expected form, before any connection", () => {
    for (const bad of ["not a url", "localhost:5432/app", "mysql://root@localhost/app", "user:pw@db/app"]) {
      let thrown: unknown;
      try {
        PostgresSaver.fromConnString(bad);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, bad).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as Error).message).toContain("postgresql://user:password@host:5432/database");
      expect((thrown as Error).message).not.toContain("pw@");
    }
    expect(() => PostgresStore.fromConnString("not a url")).toThrow(InvalidArgumentError);
    expect(() => new PostgresStore({ connectionString: "not a url" })).toThrow(InvalidArgumentError);
    for (const good of ["postgres://u@h/db", "postgresql://h:5433/db?sslmode=disable", "POSTGRES://h/db", "socket:/var/run/postgresql?db=app", "/var/run/postgresql app"]) {
      expect(() => new PostgresSaver(good), good).not.toThrow();
    }
  });
});
