import { defineConfig } from "vitest/config";
import { SkipReasonReporter } from "../../scripts/skip-reasons.mjs";

export default defineConfig({
  test: {
    // vitest's summary counts skipped tests; this adds why (e.g. the server URL that is unset).
    reporters: ["default", new SkipReasonReporter()],
    include: ["test/**/*.test.ts"],
    // Finds (or, on a Debian machine, installs and starts) PostgreSQL with pgvector when
    // TEST_POSTGRES_URL is not set, through the repository's scripts/services.sh.
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
