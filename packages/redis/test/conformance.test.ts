import { describe, it } from "vitest";
import { runCheckpointerConformance, runGraphConformance, runStoreConformance } from "@langgraph-persist/conformance";
import { CLUSTER_URL, REDIS_URL, harnesses, missingServer, type ServerEnv } from "./support.js";

/** The shared suite twice: against a single server and against a Redis Cluster, each under its own key prefix. */
const variants = [
  { name: "redis", url: REDIS_URL, cluster: false, env: "TEST_REDIS_URL" as ServerEnv, what: "a Redis server" },
  { name: "redis-cluster", url: CLUSTER_URL, cluster: true, env: "TEST_REDIS_CLUSTER_URL" as ServerEnv, what: "a Redis Cluster" },
];

for (const v of variants) {
  if (!v.url) {
    missingServer(`${v.name} conformance`, v.env, `needs ${v.what}`);
    continue;
  }
  const { saver, store } = harnesses(v.name, v.url, v.cluster);
  runCheckpointerConformance(saver);
  runStoreConformance(store);
  runGraphConformance({ name: v.name, saver, store });
}
