import { defineConfig } from "vitest/config";
import { SkipReasonReporter } from "../../scripts/skip-reasons.mjs";

export default defineConfig({
  test: {
    // vitest's summary counts skipped tests; this adds why (e.g. the server URL that is unset).
    reporters: ["default", new SkipReasonReporter()],
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The connection-loss tests start and stop their own redis-server; keep files sequential so the
    // shared servers see one test file at a time.
    fileParallelism: false,
  },
});
