import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/cli.ts", "src/demo.ts", "src/harness.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  clean: true,
  sourcemap: true,
  target: "node20",
  // Adapters and their drivers are optional: they are imported lazily, only for the URLs that need them.
  external: [/^@langgraph-persist\//, "better-sqlite3", "pg", "ioredis", "mongodb", "vitest"],
});
