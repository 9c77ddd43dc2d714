import type { Embeddings } from "@langchain/core/embeddings";
import { SqliteStore } from "@langgraph-persist/sqlite";

export async function semanticStore(embeddings: Embeddings, filename = ".data/memories.db") {
  // #region store
  const store = SqliteStore.fromConnString(filename, {
    index: { dims: 1536, embeddings, fields: ["text"] }, // e.g. new OpenAIEmbeddings()
    ttl: { defaultTtl: 60 * 24 * 30 }, // minutes; refreshed on read by default
  });
  await store.setup();

  await store.put(["users", "42", "memories"], "m1", { text: "prefers window seats", kind: "travel", priority: 2 });
  await store.put(["users", "42", "memories"], "m2", { text: "allergic to peanuts", kind: "health", priority: 5 });

  const hits = await store.search(["users", "42"], {
    query: "where does the user like to sit?",
    filter: { priority: { $gte: 1 }, kind: { $in: ["travel", "food"] } }, // evaluated in SQL, before the limit
    limit: 5,
  });
  console.log(hits.map((h) => [h.key, h.score]));
  await store.close();
  // #endregion store
  return hits;
}
