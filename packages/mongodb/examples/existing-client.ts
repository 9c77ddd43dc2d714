import { MongoClient } from "mongodb";
import { MongoDBSaver, MongoDBStore } from "@langgraph-persist/mongodb";

// Your application's client: the saver and the store use it and never close it.
const client = new MongoClient(process.env.MONGODB_URL ?? "mongodb://localhost:27017");

const checkpointer = new MongoDBSaver({
  client,
  dbName: "agents",
  collectionPrefix: "support_bot_",
  ttl: { defaultTtl: 60 * 24 * 30, refreshOnRead: true }, // threads idle for 30 days disappear
});
const store = new MongoDBStore({ client, dbName: "agents", collectionPrefix: "support_bot_" });
await Promise.all([checkpointer.setup(), store.setup()]);

// ... compile graphs with { checkpointer, store } ...

await checkpointer.close();
await store.close();
await client.close(); // yours to close
