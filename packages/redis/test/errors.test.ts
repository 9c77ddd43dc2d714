import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { emptyCheckpoint } from "@langchain/langgraph-checkpoint";
import {
  BackendError,
  CapabilityError,
  ClientClosedError,
  InvalidArgumentError,
  NotSetUpError,
  PersistenceError,
} from "@langgraph-persist/core";
import { RedisSaver, RedisStore } from "../src/index.js";
import { MetaKeys, SaverKeys } from "../src/keys.js";
import { CLUSTER_URL, REDIS_URL, deleteKeys, testPrefix, missingServer } from "./support.js";

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PersistenceError);
    return err as Error;
  }
  throw new Error("expected a rejection");
}

const config = (thread: string) => ({ configurable: { thread_id: thread, checkpoint_ns: "" } });

describe("options", () => {
  const bad: Array<[string, unknown]> = [
    ["no options", undefined],
    ["neither client nor url", {}],
    ["both client and url", { client: new Redis({ lazyConnect: true }), url: "redis://127.0.0.1:6379" }],
    ["a client that is not ioredis", { client: { get() {} } }],
    ["a url that is not a string", { url: 42 }],
    ["a url that does not parse", { url: "not a url" }],
    ["a url with another scheme", { url: "http://127.0.0.1:6379" }],
    ["an empty keyPrefix", { url: "redis://127.0.0.1:6379", keyPrefix: "" }],
    ["a keyPrefix with a brace", { url: "redis://127.0.0.1:6379", keyPrefix: "a{b}" }],
    ["a keyPrefix with a colon", { url: "redis://127.0.0.1:6379", keyPrefix: "a:b" }],
    ["a keyPrefix with a space", { url: "redis://127.0.0.1:6379", keyPrefix: "a b" }],
    ["a non-boolean cluster flag", { url: "redis://127.0.0.1:6379", cluster: "yes" }],
  ];
  for (const [what, options] of bad) {
    it(`rejects ${what} with InvalidArgumentError (saver and store)`, () => {
      expect(() => new RedisSaver(options as never)).toThrow(InvalidArgumentError);
      expect(() => new RedisStore(options as never)).toThrow(InvalidArgumentError);
    });
  }

  it("rejects a bad ttl with InvalidArgumentError before connecting", () => {
    expect(() => new RedisSaver({ url: "redis://127.0.0.1:1", ttl: { defaultTtl: -1 } })).toThrow(InvalidArgumentError);
    expect(() => new RedisStore({ url: "redis://127.0.0.1:1", ttl: { defaultTtl: 0 } })).toThrow(InvalidArgumentError);
  });
});

describe("an unreachable server", () => {
  it("fails setup() and operations with BackendError (with the driver error as cause), never hangs", async () => {
    const redisOptions = { maxRetriesPerRequest: 1, retryStrategy: () => 20, connectTimeout: 500 };
    const saver = RedisSaver.fromConnString("redis://127.0.0.1:1", { redisOptions });
    const store = RedisStore.fromConnString("redis://127.0.0.1:1", { redisOptions });
    const err = await rejection(saver.setup());
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toMatch(/^\[@langgraph-persist\/redis\] /);
    expect((err as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);
    expect(await rejection(saver.getTuple(config("t")))).toBeInstanceOf(BackendError);
    expect(await rejection(store.setup())).toBeInstanceOf(BackendError);
    expect(await rejection(store.get(["a"], "k"))).toBeInstanceOf(BackendError);
    await saver.close();
    await store.close();
    expect(await rejection(saver.getTuple(config("t")))).toBeInstanceOf(ClientClosedError);
    expect(await rejection(store.get(["a"], "k"))).toBeInstanceOf(ClientClosedError);
  });
});

if (!REDIS_URL) {
  missingServer("errors against a server", "TEST_REDIS_URL");
} else {
  const url = REDIS_URL;
  describe("errors against a server", () => {
    const keyPrefix = testPrefix("err");
    let admin: Redis;
    beforeAll(() => {
      admin = new Redis(url);
    });
    afterAll(async () => {
      await deleteKeys(admin, new SaverKeys(keyPrefix).allPattern());
      await admin.quit();
    });

    it("close() leaves a caller's client open and quits a client it created", async () => {
      const client = new Redis(url);
      const saver = new RedisSaver({ client, keyPrefix });
      const store = new RedisStore({ client, keyPrefix });
      await saver.setup();
      await store.setup();
      await saver.close();
      await store.close();
      expect(await client.ping()).toBe("PONG");
      await client.quit();

      const owned = RedisSaver.fromConnString(url, { keyPrefix });
      await owned.setup();
      await owned.close();
      expect(owned.client.status).toBe("end");
    });

    it("a caller's client that was quit gives ClientClosedError", async () => {
      const client = new Redis(url);
      const saver = new RedisSaver({ client, keyPrefix });
      const store = new RedisStore({ client, keyPrefix });
      await saver.setup();
      await store.setup();
      await client.quit();
      const err = await rejection(saver.getTuple(config("t")));
      expect(err).toBeInstanceOf(ClientClosedError);
      expect(err.message).toContain("Redis client has been closed");
      expect(await rejection(saver.put(config("t"), emptyCheckpoint(), { source: "loop", step: 0, parents: {} }, {}))).toBeInstanceOf(ClientClosedError);
      expect(await rejection(store.get(["a"], "k"))).toBeInstanceOf(ClientClosedError);
      expect(await rejection(new RedisSaver({ client, keyPrefix }).setup())).toBeInstanceOf(ClientClosedError);
    });

    it("a client in subscriber mode gives InvalidArgumentError that says so", async () => {
      const client = new Redis(url);
      const saver = new RedisSaver({ client, keyPrefix });
      const store = new RedisStore({ client, keyPrefix });
      await saver.setup();
      await store.setup();
      await client.subscribe(`${keyPrefix}-channel`);
      const err = await rejection(saver.getTuple(config("t")));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain("subscriber mode");
      expect(await rejection(store.search(["a"]))).toBeInstanceOf(InvalidArgumentError);
      await client.quit();
    });

    it("operations on a prefix nobody set up give NotSetUpError; after setup() anywhere they work", async () => {
      const prefix = testPrefix("nosetup");
      const saver = RedisSaver.fromConnString(url, { keyPrefix: prefix });
      const store = RedisStore.fromConnString(url, { keyPrefix: prefix });
      const err = await rejection(saver.getTuple(config("t")));
      expect(err).toBeInstanceOf(NotSetUpError);
      expect(err.message).toContain("setup() has not run");
      expect(await rejection(store.get(["a"], "k"))).toBeInstanceOf(NotSetUpError);
      const other = RedisSaver.fromConnString(url, { keyPrefix: prefix });
      await other.setup();
      await other.close();
      expect(await saver.getTuple(config("t"))).toBeUndefined();
      expect(await store.get(["a"], "k")).toBeNull();
      await saver.close();
      await store.close();
      await deleteKeys(admin, new SaverKeys(prefix).allPattern());
    });

    it("setup() from ten instances at once writes the layout version once and releases the lock", async () => {
      const prefix = testPrefix("setup10");
      const savers = Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0 ? RedisSaver.fromConnString(url, { keyPrefix: prefix }) : RedisStore.fromConnString(url, { keyPrefix: prefix }),
      );
      await Promise.all(savers.map((s) => s.setup()));
      const meta = new MetaKeys(prefix);
      expect(await admin.get(meta.version())).toBe("1");
      expect(await admin.exists(meta.lock())).toBe(0);
      await Promise.all(savers.map((s) => s.close()));
      await deleteKeys(admin, new SaverKeys(prefix).allPattern());
    });

    it("a layout version newer than this package is refused with CapabilityError", async () => {
      const prefix = testPrefix("future");
      await admin.set(new MetaKeys(prefix).version(), "999");
      const saver = RedisSaver.fromConnString(url, { keyPrefix: prefix });
      expect(await rejection(saver.setup())).toBeInstanceOf(CapabilityError);
      await saver.close();
      await admin.del(new MetaKeys(prefix).version());
    });

    it("a checkpoint id containing NUL is refused with InvalidArgumentError", async () => {
      const saver = RedisSaver.fromConnString(url, { keyPrefix });
      await saver.setup();
      const cp = emptyCheckpoint();
      cp.id = "bad\u0000id";
      expect(await rejection(saver.put(config("t-nul"), cp, { source: "loop", step: 0, parents: {} }, {}))).toBeInstanceOf(InvalidArgumentError);
      await saver.close();
    });

    it.skipIf(!CLUSTER_URL)("a plain client pointed at a Cluster node is refused with CapabilityError", async () => {
      const saver = RedisSaver.fromConnString(CLUSTER_URL!, { keyPrefix });
      const err = await rejection(saver.setup());
      expect(err).toBeInstanceOf(CapabilityError);
      expect(err.message).toContain("Cluster");
      await saver.close();
    });
  });
}
