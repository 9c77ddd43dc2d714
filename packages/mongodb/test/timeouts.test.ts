import { MongoClient, MongoNetworkTimeoutError } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError, InvalidArgumentError, TimeoutError } from "@langgraph-persist/core";
import { localTcpServer, rejectionOf, type LocalTcpServer } from "@langgraph-persist/conformance";
import { MongoDBSaver, MongoDBStore } from "../src/index.js";
import { TIMEOUT_DEFAULTS, mapMongoError, withTimeoutDefaults } from "../src/connection.js";

/** A local TCP server that accepts connections and never answers: a hung host, a dropped firewall rule. */
let hung: LocalTcpServer;
let hungPort = 0;

beforeAll(async () => {
  hung = await localTcpServer();
  hungPort = hung.port;
});

afterAll(async () => {
  await hung.close();
});

describe("timeouts of a client created from url", () => {
  it("defaults reach the MongoClient constructor; the URL and clientOptions win over them", async () => {
    const byDefault = new MongoDBSaver({ url: "mongodb://127.0.0.1:1/app" });
    expect(byDefault.client.options).toMatchObject({ serverSelectionTimeoutMS: 10_000, connectTimeoutMS: 10_000, socketTimeoutMS: 60_000 });
    const fromUrl = new MongoDBStore({ url: "mongodb://127.0.0.1:1/app?serverselectiontimeoutms=700&socketTimeoutMS=0" });
    expect(fromUrl.client.options).toMatchObject({ serverSelectionTimeoutMS: 700, connectTimeoutMS: 10_000, socketTimeoutMS: 0 });
    const fromOptions = MongoDBSaver.fromConnString("mongodb://127.0.0.1:1/app?connectTimeoutMS=500", { clientOptions: { connectTimeoutMS: 1234, serverSelectionTimeoutMS: 2345 } });
    expect(fromOptions.client.options).toMatchObject({ serverSelectionTimeoutMS: 2345, connectTimeoutMS: 1234, socketTimeoutMS: 60_000 });
    await Promise.all([byDefault.close(), fromUrl.close(), fromOptions.close()]);

    expect(withTimeoutDefaults("mongodb://h/db", undefined)).toEqual(TIMEOUT_DEFAULTS);
    expect(withTimeoutDefaults("mongodb://h/db?connectTimeoutMS=1", { socketTimeoutMS: undefined, appName: "x" })).toEqual({
      appName: "x",
      serverSelectionTimeoutMS: 10_000,
      socketTimeoutMS: 60_000,
    });
  });

  it("a caller's MongoClient keeps its own settings", async () => {
    const client = new MongoClient("mongodb://127.0.0.1:1/app");
    const saver = new MongoDBSaver({ client });
    expect(saver.client).toBe(client);
    expect(client.options.serverSelectionTimeoutMS).toBe(30_000);
    expect(client.options.socketTimeoutMS).toBe(0);
    await saver.close();
    await client.close();
  });

  it("setup() against a host that accepts TCP and never answers fails with TimeoutError (connect, host:port, after how long)", async () => {
    const saver = MongoDBSaver.fromConnString(`mongodb://user:secret@127.0.0.1:${hungPort}/app?serverSelectionTimeoutMS=600&connectTimeoutMS=300&directConnection=true`);
    const err = await rejectionOf(saver.setup());
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(BackendError);
    const t = err as TimeoutError;
    expect([t.phase, t.target, t.timeoutMs]).toEqual(["connect", `127.0.0.1:${hungPort}`, 600]);
    expect(t.message).toContain(`setup() failed: connecting to MongoDB at 127.0.0.1:${hungPort} timed out after 600 ms`);
    expect(t.message).not.toContain("secret");
    await saver.close();

    const store = new MongoDBStore({ url: `mongodb://127.0.0.1:${hungPort}/app?directConnection=true`, clientOptions: { serverSelectionTimeoutMS: 600, connectTimeoutMS: 300 } });
    const storeErr = await rejectionOf(store.setup());
    expect(storeErr).toBeInstanceOf(TimeoutError);
    expect((storeErr as TimeoutError).phase).toBe("connect");
    await store.close();
  }, 60_000);

  it("a socket timeout during an operation is TimeoutError (command); during the handshake (connect)", () => {
    const during = mapMongoError("@langgraph-persist/mongodb", "put", new MongoNetworkTimeoutError("connection 3 to 10.0.0.5:27017 timed out"));
    expect(during).toBeInstanceOf(TimeoutError);
    expect([(during as TimeoutError).phase, (during as TimeoutError).target]).toEqual(["command", "10.0.0.5:27017"]);
    expect(during.message).toContain("put failed: a command to MongoDB at 10.0.0.5:27017 got no answer (socketTimeoutMS");
    const handshake = mapMongoError("@langgraph-persist/mongodb", "setup()", new MongoNetworkTimeoutError("connection timed out", { beforeHandshake: true }));
    expect((handshake as TimeoutError).phase).toBe("connect");
    expect(handshake.message).toContain("connectTimeoutMS");
  });

  it("a url that is not a MongoDB connection string is InvalidArgumentError naming the expected form", () => {
    for (const bad of ["not a url", "localhost:27017", "postgres://u:pw@h/db"]) {
      let thrown: unknown;
      try {
        MongoDBSaver.fromConnString(bad);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, bad).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as Error).message).toContain("mongodb://[user:password@]host:27017/[database]");
      expect((thrown as Error).message).not.toContain("pw@");
    }
  });
});
