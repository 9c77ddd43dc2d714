import { defineConfig } from "vitest/config";
import { SkipReasonReporter } from "../../scripts/skip-reasons.mjs";

export default defineConfig({
  test: {
    // vitest's summary counts skipped tests; this adds why (e.g. the server URL that is unset).
    reporters: ["default", new SkipReasonReporter()],
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
