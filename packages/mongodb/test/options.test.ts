import { describe, expect, it, vi } from "vitest";
import { MongoClient } from "mongodb";
import { BackendError, ClientClosedError, InvalidArgumentError, NotSetUpError, PersistenceError } from "@langgraph-persist/core";
import { MongoDBSaver, MongoDBStore, vectorSearchIndexDefinition } from "../src/index.js";
import {
  canonicalJson,
  filterKv,
  metadataKv,
  namespacePrefixQuery,
  namespacePrefixes,
  saverCollections,
  saverIndexes,
  storeCollections,
  storeIndexes,
} from "../src/keys.js";

// Port 1 on localhost: nothing listens, so anything that reaches for the server fails fast.
const NOWHERE = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300";
const EMBEDDINGS = { embedDocuments: async (t: string[]) => t.map(() => [1, 0]), embedQuery: async () => [1, 0] };

function expectInvalid(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  expect((caught as Error).message).toMatch(/^\[@langgraph-persist\/mongodb\] /);
  expect((caught as Error).message).toMatch(message);
}

describe("saver options reach core", () => {
  it("linearStorage passes through the constructor (what the conformance harness relies on)", () => {
    expect(new MongoDBSaver({ url: NOWHERE, linearStorage: { snapshotEvery: 3 } }).linearStorage.snapshotEvery).toBe(3);
    expect(new MongoDBSaver({ url: NOWHERE }).linearStorage).toMatchObject({ enabled: true, snapshotEvery: 256 });
    expect(new MongoDBSaver({ url: NOWHERE, linearStorage: { enabled: false } }).linearStorage.enabled).toBe(false);
  });
});

describe("options are validated up front, with typed errors", () => {
  for (const Ctor of [MongoDBSaver, MongoDBStore] as const) {
    describe(Ctor.name, () => {
      it("needs exactly one of client and url", () => {
        expectInvalid(() => new Ctor({}), /Pass `client`/);
        expectInvalid(() => new Ctor({ url: NOWHERE, client: new MongoClient(NOWHERE) }), /not both/);
        expectInvalid(() => new Ctor(undefined as never), /options must be an object/);
      });

      it("rejects a client that is not a MongoClient and a url that is not a MongoDB connection string", () => {
        expectInvalid(() => new Ctor({ client: {} as MongoClient }), /MongoClient/);
        expectInvalid(() => new Ctor({ url: "postgres://localhost" }), /mongodb:\/\//);
        expectInvalid(() => new Ctor({ url: "mongodb://" }), /Invalid MongoDB connection string/);
      });

      it("checks dbName against MongoDB's rules", () => {
        for (const bad of ["", "a.b", "a/b", "a b", "a$b", 'a"b', "x".repeat(64)]) expectInvalid(() => new Ctor({ url: NOWHERE, dbName: bad }), /dbName/);
        expect(new Ctor({ url: NOWHERE, dbName: "agents_1" }).dbName).toBe("agents_1");
      });

      it("takes the database from the connection string by default", () => {
        expect(new Ctor({ url: "mongodb://127.0.0.1:1/fromurl" }).dbName).toBe("fromurl");
      });

      it("checks the collection prefix (portable characters, not system.) and the resulting namespace length", () => {
        for (const bad of ["a$", "a b", "ü", "system.x", 7 as unknown as string]) expectInvalid(() => new Ctor({ url: NOWHERE, collectionPrefix: bad }), /collectionPrefix/);
        expectInvalid(() => new Ctor({ url: NOWHERE, collectionPrefix: "p".repeat(240) }), /MongoDB allows 255/);
      });

      it("checks transactions and clientBulkWrite", () => {
        expectInvalid(() => new Ctor({ url: NOWHERE, transactions: "yes" as never }), /transactions/);
        expectInvalid(() => new Ctor({ url: NOWHERE, clientBulkWrite: true as never }), /clientBulkWrite/);
      });
    });
  }

  it("saver TTL settings go through the core validation", () => {
    expect(() => new MongoDBSaver({ url: NOWHERE, ttl: { defaultTtl: 0 } })).toThrow(InvalidArgumentError);
    expect(() => new MongoDBSaver({ url: NOWHERE, ttl: {} as never })).toThrow(InvalidArgumentError);
  });

  it("store vector-search settings need an index and are checked", () => {
    expectInvalid(() => new MongoDBStore({ url: NOWHERE, vectorIndexName: "v" }), /needs `index`/);
    const index = { dims: 2, embeddings: EMBEDDINGS as never };
    expectInvalid(() => new MongoDBStore({ url: NOWHERE, index, vectorIndexName: "" }), /vectorIndexName/);
    expectInvalid(() => new MongoDBStore({ url: NOWHERE, index, vectorFilterFields: ["kind"] }), /need vectorIndexName/);
    expectInvalid(() => new MongoDBStore({ url: NOWHERE, index, vectorIndexName: "v", vectorFilterFields: ["a..b"] }), /vectorFilterFields/);
    expectInvalid(() => new MongoDBStore({ url: NOWHERE, index, vectorIndexName: "v", vectorNumCandidates: 0 }), /vectorNumCandidates/);
    expect(new MongoDBStore({ url: NOWHERE, index, vectorIndexName: "v", vectorFilterFields: ["kind", "profile.age"] })).toBeInstanceOf(MongoDBStore);
  });

  it("an unknown index.distanceType is refused by the constructor", () => {
    const index = { dims: 2, embeddings: EMBEDDINGS as never };
    for (const bad of ["ip", "dot", "euclidean"]) expectInvalid(() => new MongoDBStore({ url: NOWHERE, index: { ...index, distanceType: bad as never } }), /distanceType/);
    for (const ok of ["cosine", "l2", "inner_product"] as const) expect(new MongoDBStore({ url: NOWHERE, index: { ...index, distanceType: ok } })).toBeInstanceOf(MongoDBStore);
  });
});

describe("lifecycle without a server", () => {
  it("operations before setup() reject with NotSetUpError, naming the fix", async () => {
    const saver = new MongoDBSaver({ url: NOWHERE });
    await expect(saver.getTuple({ configurable: { thread_id: "t" } })).rejects.toThrow(NotSetUpError);
    await expect(saver.getTuple({ configurable: { thread_id: "t" } })).rejects.toThrow("setup() has not run: call await saver.setup() first");
    await expect(saver.put({ configurable: { thread_id: "t" } }, { v: 4, id: "c", ts: "", channel_values: {}, channel_versions: {}, versions_seen: {} }, {} as never, {})).rejects.toThrow(NotSetUpError);
    const store = new MongoDBStore({ url: NOWHERE });
    await expect(store.get(["a"], "k")).rejects.toThrow(NotSetUpError);
    await saver.close();
    await store.close();
  });

  it("an unreachable server makes setup() reject with BackendError carrying the driver error", async () => {
    for (const instance of [new MongoDBSaver({ url: NOWHERE }), new MongoDBStore({ url: NOWHERE })]) {
      const err = await instance.setup().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BackendError);
      expect((err as Error).message).toMatch(/cannot reach MongoDB/);
      expect((err as Error).cause).toBeDefined();
      await instance.close();
    }
  }, 20_000);

  it("a caller's client that the caller already closed gives ClientClosedError", async () => {
    const client = new MongoClient(NOWHERE);
    await client.close();
    const saver = new MongoDBSaver({ client });
    await expect(saver.setup()).rejects.toThrow(ClientClosedError);
  });

  it("close() closes a client the saver created, never a caller's client", async () => {
    const owned = MongoDBSaver.fromConnString(NOWHERE);
    const ownedClose = vi.spyOn(owned.client, "close");
    await owned.close();
    expect(ownedClose).toHaveBeenCalledTimes(1);

    const client = new MongoClient(NOWHERE);
    const callerClose = vi.spyOn(client, "close");
    const saver = new MongoDBSaver({ client });
    const store = new MongoDBStore({ client });
    await saver.close();
    await store.close();
    expect(callerClose).not.toHaveBeenCalled();
    await client.close();
  });

  it("after close() every operation rejects with ClientClosedError", async () => {
    const saver = MongoDBSaver.fromConnString(NOWHERE);
    await saver.close();
    await expect(saver.getTuple({ configurable: { thread_id: "t" } })).rejects.toThrow(ClientClosedError);
    await expect(saver.setup()).rejects.toThrow(ClientClosedError);
    const store = MongoDBStore.fromConnString(NOWHERE);
    await store[Symbol.asyncDispose]();
    await expect(store.search(["a"])).rejects.toThrow(ClientClosedError);
    await expect(store.put(["a"], "k", { v: 1 })).rejects.toBeInstanceOf(PersistenceError);
  });
});

describe("collections, keys and indexes", () => {
  it("collection names share the prefix", () => {
    expect(saverCollections("langgraph_")).toEqual({
      checkpoints: "langgraph_checkpoints",
      blobs: "langgraph_checkpoint_blobs",
      writes: "langgraph_checkpoint_writes",
      threads: "langgraph_checkpoint_threads",
      migrations: "langgraph_migrations",
    });
    expect(storeCollections("x.")).toEqual({ items: "x.store", vectors: "x.store_vectors", migrations: "x.migrations" });
    expect(new MongoDBSaver({ url: NOWHERE }).collections.checkpoints).toBe("langgraph_checkpoints");
  });

  it("store items: unique (ns, key) and a TTL index on expire_at with expireAfterSeconds 0", () => {
    const c = storeCollections("p_");
    const specs = storeIndexes(c, true);
    expect(specs.p_store).toContainEqual({ name: "items_ns_key", key: { ns: 1, key: 1 }, unique: true });
    expect(specs.p_store).toContainEqual({ name: "items_ttl", key: { expire_at: 1 }, expireAfterSeconds: 0 });
    expect(specs.p_store_vectors).toContainEqual({ name: "vectors_ttl", key: { expire_at: 1 }, expireAfterSeconds: 0 });
    expect(storeIndexes(c, false).p_store_vectors).toBeUndefined();
  });

  it("saver indexes serve latest-of-namespace, newest-first per thread, runs and the thread index", () => {
    const specs = saverIndexes(saverCollections("p_"));
    expect(specs.p_checkpoints.map((i) => i.key)).toEqual([
      { "_id.thread_id": 1, "_id.checkpoint_ns": 1, "_id.checkpoint_id": -1 },
      { "_id.thread_id": 1, "_id.checkpoint_id": -1, "_id.checkpoint_ns": 1 },
      { run_id: 1 },
    ]);
    expect(specs.p_checkpoint_threads[0].key).toEqual({ "latest.checkpoint_id": -1, _id: 1 });
  });

  it("canonical JSON makes deep-equal values equal strings (key order ignored, array order kept)", () => {
    expect(canonicalJson({ b: 1, a: [2, { d: null, c: "x" }] })).toBe(canonicalJson({ a: [2, { c: "x", d: null }], b: 1 }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson(1)).not.toBe(canonicalJson("1"));
    expect(canonicalJson({ a: undefined, b: 1 })).toBe(canonicalJson({ b: 1 }));
  });

  it("metadata keys and filter keys line up, including nested objects in another key order", () => {
    const kv = metadataKv('{"source":"loop","step":3,"o":{"x":1,"y":[1,2]}}');
    expect(kv).toEqual(['["source","loop"]', '["step",3]', '["o",{"x":1,"y":[1,2]}]']);
    const wanted = filterKv([["o", '{"y":[1,2],"x":1}', null], ["step", "3", 3]]);
    expect(wanted.every((w) => kv.includes(w))).toBe(true);
    expect(filterKv([["step", '"3"', "3"]]).some((w) => kv.includes(w))).toBe(false);
    expect(metadataKv("null")).toEqual([]);
  });

  it("namespace helpers: every encoded prefix, and an exact-or-range query (never a regex)", () => {
    expect(namespacePrefixes(["a", "b", "c"])).toEqual(["a", "a.b", "a.b.c"]);
    expect(namespacePrefixQuery(["a", "b"])).toEqual({ $or: [{ ns: "a.b" }, { ns: { $gte: "a.b.", $lt: "a.b/" } }] });
    expect(namespacePrefixQuery([])).toEqual({});
    expect(JSON.stringify(namespacePrefixQuery(["a*", "(b)"]))).not.toContain("$regex");
  });

  it("the Atlas vector index definition declares the vector, the namespace prefixes and the filter fields", () => {
    expect(vectorSearchIndexDefinition({ dims: 3, filterFields: ["kind"] })).toEqual({
      fields: [
        { type: "vector", path: "embedding", numDimensions: 3, similarity: "cosine" },
        { type: "filter", path: "ns_prefixes" },
        { type: "filter", path: "value.kind" },
      ],
    });
    const similarityOf = (d: Parameters<typeof vectorSearchIndexDefinition>[0]) => (vectorSearchIndexDefinition(d).fields as Array<{ similarity?: string }>)[0].similarity;
    expect(similarityOf({ dims: 3, distanceType: "l2" })).toBe("euclidean");
    expect(similarityOf({ dims: 3, distanceType: "inner_product" })).toBe("dotProduct");
    expect(similarityOf({ dims: 3, distanceType: "l2", similarity: "cosine" })).toBe("cosine");
  });
});
