import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError, InvalidArgumentError, TimeoutError } from "@langgraph-persist/core";
import { localTcpServer, rejectionOf, type LocalTcpServer } from "@langgraph-persist/conformance";
import { RedisSaver, RedisStore } from "../src/index.js";

/**
 * Local TCP servers standing in for an unreachable Redis: `hung` accepts connections and never answers
 * (a hung host, a dropped firewall rule); `silent` answers the client's handshake (CLIENT SETINFO and the
 * ready check's INFO) and then never answers a command (a server that stops mid-session).
 */
let hung: LocalTcpServer;
let silent: LocalTcpServer;
let hungPort = 0;
let silentPort = 0;

const INFO = "# Server\r\nredis_version:7.2.0\r\nloading:0\r\n";

beforeAll(async () => {
  hung = await localTcpServer();
  silent = await localTcpServer((socket) => {
    let ready = false;
    socket.on("data", (chunk) => {
      for (const [, name] of chunk.toString("latin1").matchAll(/\*\d+\r\n\$\d+\r\n([^\r]*)\r\n/g)) {
        if (ready) return; // silent from now on
        if (name.toLowerCase() === "info") {
          socket.write(`$${Buffer.byteLength(INFO)}\r\n${INFO}\r\n`);
          ready = true;
        } else socket.write("+OK\r\n");
      }
    });
  });
  hungPort = hung.port;
  silentPort = silent.port;
});

afterAll(async () => {
  await Promise.all([hung.close(), silent.close()]);
});

const config = { configurable: { thread_id: "t", checkpoint_ns: "" } };

describe("timeouts against a host that accepts TCP and never answers", () => {
  it("setup() and a first operation of a saver fail with TimeoutError (connect, host:port, after how long)", async () => {
    const saver = RedisSaver.fromConnString(`redis://:secret@127.0.0.1:${hungPort}`, { connectTimeoutMs: 300 });
    const err = await rejectionOf(saver.setup());
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(BackendError);
    const t = err as TimeoutError;
    expect([t.phase, t.target, t.timeoutMs]).toEqual(["connect", `127.0.0.1:${hungPort}`, 300]);
    expect(t.message).toContain(`setup() failed: connecting to Redis at 127.0.0.1:${hungPort} timed out after 300 ms`);
    expect(t.message).not.toContain("secret");
    expect(await rejectionOf(saver.getTuple(config))).toBeInstanceOf(TimeoutError);
    await saver.close();
  }, 60_000);

  it("a store honours ?connectTimeout= in the URL", async () => {
    const store = RedisStore.fromConnString(`redis://127.0.0.1:${hungPort}/0?connectTimeout=300`);
    const err = await rejectionOf(store.setup());
    expect(err).toBeInstanceOf(TimeoutError);
    expect([(err as TimeoutError).phase, (err as TimeoutError).timeoutMs]).toEqual(["connect", 300]);
    await store.close();
  }, 60_000);

  it("a Redis Cluster client created from the URL fails setup() with TimeoutError", async () => {
    const saver = RedisSaver.fromConnString(`redis://127.0.0.1:${hungPort}`, { cluster: true, connectTimeoutMs: 300 });
    const err = await rejectionOf(saver.setup());
    expect(err).toBeInstanceOf(TimeoutError);
    expect([(err as TimeoutError).phase, (err as TimeoutError).target]).toEqual(["connect", `127.0.0.1:${hungPort}`]);
    expect(err.message).toContain("Redis Cluster");
    await saver.close();
  }, 60_000);

  it("a command that gets no answer after the handshake fails with TimeoutError (command)", async () => {
    const saver = RedisSaver.fromConnString(`redis://127.0.0.1:${silentPort}`, { commandTimeoutMs: 300 });
    const err = await rejectionOf(saver.setup());
    expect(err).toBeInstanceOf(TimeoutError);
    const t = err as TimeoutError;
    expect([t.phase, t.target, t.timeoutMs]).toEqual(["command", `127.0.0.1:${silentPort}`, 300]);
    expect(t.message).toContain(`a command to Redis at 127.0.0.1:${silentPort} got no answer after 300 ms`);
    await saver.close();
    const store = RedisStore.fromConnString(`redis://127.0.0.1:${silentPort}?commandTimeout=300`);
    const storeErr = await rejectionOf(store.setup());
    expect(storeErr).toBeInstanceOf(TimeoutError);
    expect((storeErr as TimeoutError).timeoutMs).toBe(300);
    await store.close();
  }, 60_000);

  it("a caller's client keeps its own settings; its command timeout still surfaces as TimeoutError", async () => {
    const client = new Redis(silentPort, "127.0.0.1", { commandTimeout: 300, maxRetriesPerRequest: 1 });
    client.on("error", () => {});
    const saver = new RedisSaver({ client, connectTimeoutMs: 5, commandTimeoutMs: 5 });
    expect(client.options.commandTimeout).toBe(300);
    expect(client.options.connectTimeout).toBe(10_000);
    const err = await rejectionOf(saver.setup());
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(300);
    await saver.close();
    client.disconnect();
  }, 60_000);
});

describe("connection settings", () => {
  it("a client the adapter creates has connect and command timeouts by default; options beat redisOptions, which beat the URL", async () => {
    const url = `redis://127.0.0.1:${hungPort}`;
    const byDefault = RedisSaver.fromConnString(url);
    expect([(byDefault.client as Redis).options.connectTimeout, (byDefault.client as Redis).options.commandTimeout]).toEqual([10_000, 10_000]);
    const fromOptions = RedisSaver.fromConnString(`${url}?connectTimeout=7000&commandTimeout=8000`, {
      connectTimeoutMs: 1000,
      commandTimeoutMs: 2000,
      redisOptions: { connectTimeout: 3000, commandTimeout: 4000 },
    });
    expect([(fromOptions.client as Redis).options.connectTimeout, (fromOptions.client as Redis).options.commandTimeout]).toEqual([1000, 2000]);
    const fromRedisOptions = RedisStore.fromConnString(`${url}?connectTimeout=7000`, { redisOptions: { connectTimeout: 3000 } });
    expect((fromRedisOptions.client as Redis).options.connectTimeout).toBe(3000);
    const fromUrl = RedisStore.fromConnString(`${url}?connectTimeout=7000&commandTimeout=8000`);
    expect([(fromUrl.client as Redis).options.connectTimeout, (fromUrl.client as Redis).options.commandTimeout]).toEqual([7000, 8000]);
    await Promise.all([byDefault, fromOptions, fromRedisOptions, fromUrl].map((x) => x.close()));
  });

  it("bad timeout values are InvalidArgumentError", () => {
    expect(() => RedisSaver.fromConnString("redis://127.0.0.1:1", { connectTimeoutMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => RedisSaver.fromConnString("redis://127.0.0.1:1", { commandTimeoutMs: 0.5 })).toThrow(InvalidArgumentError);
    expect(() => RedisStore.fromConnString("redis://127.0.0.1:1?commandTimeout=soon")).toThrow(InvalidArgumentError);
  });

  it("a url that is not a redis:// URL is InvalidArgumentError naming the expected form, before any connection", () => {
    for (const bad of ["not a url", "localhost:6379", "http://localhost:6379", "postgres://u:pw@h/db", "redis://"]) {
      let thrown: unknown;
      try {
        RedisSaver.fromConnString(bad);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, bad).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as Error).message).toContain("redis://[user:password@]host:6379[/db]");
      expect((thrown as Error).message).not.toContain("pw@");
    }
  });
});
