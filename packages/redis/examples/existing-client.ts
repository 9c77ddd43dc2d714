import { Cluster, Redis } from "ioredis";
import { RedisSaver, RedisStore } from "@langgraph-persist/redis";

/** Adapters on your own client: they use it and never close it. Returns the client's PING after they closed. */
export async function existingClient(url = "redis://127.0.0.1:6379"): Promise<string> {
  const client = new Redis(url);
  const checkpointer = new RedisSaver({ client, keyPrefix: "support-bot" });
  const store = new RedisStore({ client, keyPrefix: "support-bot" });
  await Promise.all([checkpointer.setup(), store.setup()]);

  // ... compile graphs with { checkpointer, store } ...

  await Promise.all([checkpointer.close(), store.close()]);
  const pong = await client.ping(); // still open: you created it, you quit it
  await client.quit();
  return pong;
}

/** Redis Cluster: pass a Cluster client (or `{ url, cluster: true }`); every thread's keys share one slot. */
export async function clusterClient(seed = { host: "127.0.0.1", port: 7000 }): Promise<string> {
  const cluster = new Cluster([seed]);
  const checkpointer = new RedisSaver({ client: cluster, keyPrefix: "support-bot" });
  await checkpointer.setup();
  await checkpointer.close();
  const pong = await cluster.ping();
  await cluster.quit();
  return pong;
}
