import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The connection-loss tests start and stop their own redis-server; keep files sequential so the
    // shared servers see one test file at a time.
    fileParallelism: false,
  },
});
