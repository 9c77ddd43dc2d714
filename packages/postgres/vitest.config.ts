import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Finds (or, on a Debian machine, installs and starts) PostgreSQL with pgvector when
    // TEST_POSTGRES_URL is not set, through the repository's scripts/services.sh.
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
