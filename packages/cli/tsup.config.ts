import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/cli.ts", "src/demo.ts", "src/harness.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  clean: true,
  sourcemap: true,
  target: "node20",
  // Exported classes keep their own names (a class that a static method refers to would otherwise be emitted as `_Name`).
  keepNames: true,
  // Adapters and their drivers are optional: they are imported lazily, only for the URLs that need them.
  external: [/^@langgraph-persist\//, "better-sqlite3", "pg", "ioredis", "mongodb", "vitest"],
});
