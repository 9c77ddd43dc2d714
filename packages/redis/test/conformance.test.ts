import { describe, it } from "vitest";
import { runCheckpointerConformance, runGraphConformance, runStoreConformance } from "@langgraph-persist/conformance";
import { CLUSTER_URL, REDIS_URL, SKIP_HINT, harnesses } from "./support.js";

/** The shared suite twice: against a single server and against a Redis Cluster, each under its own key prefix. */
const variants = [
  { name: "redis", url: REDIS_URL, cluster: false, env: "TEST_REDIS_URL", what: "a Redis server" },
  { name: "redis-cluster", url: CLUSTER_URL, cluster: true, env: "TEST_REDIS_CLUSTER_URL", what: "a Redis Cluster" },
];

for (const v of variants) {
  if (!v.url) {
    describe.skip(`${v.name} conformance [skipped: ${v.env} is not set; ${SKIP_HINT}]`, () => {
      it(`needs ${v.what}`, () => {});
    });
    continue;
  }
  const { saver, store } = harnesses(v.name, v.url, v.cluster);
  runCheckpointerConformance(saver);
  runStoreConformance(store);
  runGraphConformance({ name: v.name, saver, store });
}
