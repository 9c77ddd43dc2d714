import { Embeddings } from "@langchain/core/embeddings";
import { MongoDBStore, vectorSearchIndexDefinition } from "@langgraph-persist/mongodb";

/** Stand-in for a real model (OpenAIEmbeddings, VoyageEmbeddings, ...). */
class MyEmbeddings extends Embeddings {
  constructor() {
    super({});
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.map((t) => [t.length, 1, 0]);
  }
  async embedQuery(text: string): Promise<number[]> {
    return [text.length, 1, 0];
  }
}

const store = MongoDBStore.fromConnString("mongodb://localhost:27017", {
  dbName: "agents",
  index: { dims: 3, embeddings: new MyEmbeddings(), fields: ["text"] },
  ttl: { defaultTtl: 60 * 24 }, // items expire after a day unless read (refreshOnRead defaults to true)
});
await store.setup();

await store.put(["users", "u1", "memories"], "m1", { text: "likes pasta", kind: "food", rating: 9 });
await store.put(["users", "u1", "memories"], "m2", { text: "works at night", kind: "habit", rating: 4 });

// Exact ranking (cosine, the default distanceType) computed in the aggregation pipeline; the filter applies before the limit.
const hits = await store.search(["users", "u1"], { query: "what food?", filter: { rating: { $gte: 5 } }, limit: 5 });
console.log(hits.map((h) => [h.key, h.score]));

// On Atlas: create this index on `<prefix>store_vectors`, then pass `vectorIndexName: "store_vectors"`.
console.log(JSON.stringify(vectorSearchIndexDefinition({ dims: 3, filterFields: ["kind", "rating"] })));

await store.close();
