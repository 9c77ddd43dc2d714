import { describe, it } from "vitest";
import { runCheckpointerConformance, runGraphConformance, runStoreConformance } from "@langgraph-persist/conformance";
import { REDIS_URL, SKIP_HINT, harnesses } from "./support.js";

if (REDIS_URL) {
  const { saver, store } = harnesses("redis", REDIS_URL, false);
  runCheckpointerConformance(saver);
  runStoreConformance(store);
  runGraphConformance({ name: "redis", saver, store });
} else {
  describe.skip(`redis conformance [skipped: TEST_REDIS_URL is not set; ${SKIP_HINT}]`, () => {
    it("needs a Redis server", () => {});
  });
}
