import type { Embeddings } from "@langchain/core/embeddings";
import { InMemoryStore } from "@langgraph-persist/memory";

/** Long-term memory with semantic search and a per-item TTL (minutes). */
export async function semanticStore(embeddings: Embeddings) {
  const store = new InMemoryStore({
    index: { dims: 64, embeddings, fields: ["text"] },
    ttl: { defaultTtl: 60 * 24 * 30, refreshOnRead: true },
  });
  await store.setup();
  await store.put(["memories", "user-1"], "m1", { text: "My name is Bob and I like chess", kind: "profile" });
  await store.put(["memories", "user-1"], "m2", { text: "Prefers short answers", kind: "style" }, undefined, { ttl: 60 });
  const hits = await store.search(["memories", "user-1"], { query: "what is my name?", filter: { kind: "profile" }, limit: 3 });
  await store.close();
  return hits;
}
