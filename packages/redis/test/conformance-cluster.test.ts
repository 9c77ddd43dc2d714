import { describe, it } from "vitest";
import { runCheckpointerConformance, runGraphConformance, runStoreConformance } from "@langgraph-persist/conformance";
import { CLUSTER_URL, SKIP_HINT, harnesses } from "./support.js";

if (CLUSTER_URL) {
  const { saver, store } = harnesses("redis-cluster", CLUSTER_URL, true);
  runCheckpointerConformance(saver);
  runStoreConformance(store);
  runGraphConformance({ name: "redis-cluster", saver, store });
} else {
  describe.skip(`redis cluster conformance [skipped: TEST_REDIS_CLUSTER_URL is not set; ${SKIP_HINT}]`, () => {
    it("needs a Redis Cluster", () => {});
  });
}
