import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { SkipReasonReporter } from "../../scripts/skip-reasons.mjs";

export default defineConfig({
  resolve: {
    // The examples import the package by name, as users do; point that at the sources.
    alias: { "@langgraph-persist/sqlite": fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
  },
  test: {
    // vitest's summary counts skipped tests; this adds why (e.g. the server URL that is unset).
    reporters: ["default", new SkipReasonReporter()],
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
