import type { Embeddings } from "@langchain/core/embeddings";
import { PostgresStore } from "@langgraph-persist/postgres";

/** `embeddings`: any LangChain embeddings, e.g. `new OpenAIEmbeddings({ model: "text-embedding-3-small" })`. */
export async function rememberAndRecall(embeddings: Embeddings): Promise<void> {
  const store = PostgresStore.fromConnString(process.env.DATABASE_URL!, {
    index: {
      dims: 1536,
      embeddings,
      fields: ["text"], // what to embed; "$" (the default) embeds the whole value
      distanceType: "cosine", // the score and the HNSW operator class: "cosine", "l2" or "inner_product"
    },
    vectorIndex: { type: "hnsw", m: 16, efConstruction: 64 },
  });
  await store.setup(); // needs pgvector: without it, a CapabilityError says how to install it

  await store.put(["users", "u1", "memories"], "m1", { text: "Prefers window seats", kind: "travel" });
  await store.put(["users", "u1", "memories"], "m2", { text: "Allergic to peanuts", kind: "health" });

  const hits = await store.search(["users", "u1"], { query: "where does the user like to sit?", filter: { kind: "travel" }, limit: 5 });
  console.log(hits.map((h) => [h.key, h.score]));

  await store.close();
}
