import type { Embeddings } from "@langchain/core/embeddings";
import type { SearchItem } from "@langchain/langgraph-checkpoint";
import { RedisStore } from "@langgraph-persist/redis";

/**
 * Semantic search and TTL without RediSearch. `embeddings` is any LangChain embeddings model, e.g.
 * `new OpenAIEmbeddings({ model: "text-embedding-3-small" })` with `dims: 1536`.
 */
export async function semanticStore(embeddings: Embeddings, dims: number, url = "redis://127.0.0.1:6379", keyPrefix = "lgp"): Promise<SearchItem[]> {
  const store = RedisStore.fromConnString(url, {
    keyPrefix,
    index: { dims, embeddings, fields: ["text"] }, // vectors are stored with each item
    ttl: { defaultTtl: 7 * 24 * 60, refreshOnRead: true }, // a week after the last write or read
  });
  await store.setup();

  await store.put(["users", "u1", "memories"], "m1", { text: "prefers short answers", kind: "style" });
  await store.put(["users", "u1", "memories"], "m2", { text: "lives in Lisbon", kind: "fact" });
  const hits = await store.search(["users", "u1"], { query: "where does the user live?", filter: { kind: "fact" }, limit: 3 });

  await store.close();
  return hits; // m2, with its cosine similarity as `score`
}
