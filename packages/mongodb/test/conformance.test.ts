import { afterAll } from "vitest";
import { MongoClient } from "mongodb";
import { runCheckpointerConformance, runGraphConformance, runStoreConformance, type SaverHarness, type StoreHarness } from "@langgraph-persist/conformance";
import { MongoDBSaver, MongoDBStore } from "../src/index.js";
import { TEST_DB, dropPrefix, missingServer, mongoUrl, runPrefix } from "./support/server.js";

const url = mongoUrl();

if (url === undefined) {
  missingServer("mongodb conformance", "checkpointer, store and graph suites against a real MongoDB");
} else {
  // One client for the caller-owned instances, one collection prefix for this run (dropped at the end).
  const client = new MongoClient(url);
  const collectionPrefix = runPrefix("conf");

  afterAll(async () => {
    await dropPrefix(client, collectionPrefix);
    await client.close();
  }, 60_000);

  const saver: SaverHarness<MongoDBSaver> = {
    name: "mongodb",
    async create(options) {
      const s = new MongoDBSaver({ client, dbName: TEST_DB, collectionPrefix, ...options });
      await s.setup();
      return s;
    },
    // Another "process": its own client from the connection string, owned (and closed) by the saver.
    async createPeer(options) {
      const s = MongoDBSaver.fromConnString(url, { dbName: TEST_DB, collectionPrefix, ...options });
      await s.setup();
      return s;
    },
    countThreadArtifacts: (s, threadId) => s.countThreadDocuments(threadId),
    capabilities: new MongoDBSaver({ client, dbName: TEST_DB, collectionPrefix }).capabilities,
  };

  const store: StoreHarness<MongoDBStore> = {
    name: "mongodb",
    async create(options) {
      const s = new MongoDBStore({ client, dbName: TEST_DB, collectionPrefix, ...options });
      await s.setup();
      return s;
    },
    async createPeer(options) {
      const s = MongoDBStore.fromConnString(url, { dbName: TEST_DB, collectionPrefix, ...options });
      await s.setup();
      return s;
    },
    capabilities: new MongoDBStore({ client, dbName: TEST_DB, collectionPrefix }).capabilities,
  };

  runCheckpointerConformance(saver);
  runStoreConformance(store);
  runGraphConformance({ name: "mongodb", saver, store });
}
